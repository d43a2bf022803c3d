"""Benchmark of `make run`'s start: from a fresh run folder to the first page, and to a demo login.

Each run starts the command `make run` runs (`.venv/bin/python scripts/run_stack.py`; `--make` goes
through make itself) in a process group of its own, with a new, empty run folder (PORTAL_RUN_DIR:
SQLite database, embedded Redis, simulator data, generated demo password) and free ports. With
DATABASE_URL set (PostgreSQL), each run gets a new, empty database on that server, dropped after.
Figures, in seconds from the start of the command:

- first page: the login page's first 200 (polled every 25 ms);
- demo login: `make run` prints the demo logins once they work; then one login as user1 with the
  generated password (the login page's form, CSRF included) must succeed at the first try (a
  failed login would count against the login throttle, so it is not polled);
- the milestones in the output: migrations applied, the web server listening, presets loaded, the
  worker ready;
- stop: Ctrl-C (SIGINT to the group) until the command has exited. Nothing may be left behind:
  every process of the run is looked for afterwards (and killed, and reported, if found).

Prints a table, then as the LAST line one JSON object with the figures and `targets`
(`first_page<=6s`: every run's first page within 6 s).

    .venv/bin/python benchmarks/startup.py [--runs 3] [--make | --script PATH] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tracking import PY, REPO, free_port, machine, run_and_report  # noqa: E402

FIRST_PAGE_TARGET_S = 6.0
# What a session of the caller may have set for its own stack, which a fresh one must not share.
NOT_INHERITED = ("REDIS_URL", "EMBEDDED_REDIS_URL", "IES_BASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE",
                 "PORTAL_DEMO_PASSWORD", "PORTAL_RUN_DIR", "PORT", "IES_SIM_PORT", "EMBEDDED_REDIS_PORT",
                 "RUN_MAIN")
MILESTONES = {
    "migrated": re.compile(r"^\s*setup \|\s+Applying .* OK$"),  # the last one counts
    "web_listening": re.compile(r"^\s*web \| Starting development server|^\s*web \| Starting WSGI development server"),
    "presets_loaded": re.compile(r"^\s*setup \| Presets loaded"),
    "logins_printed": re.compile(r"^\s*setup \| Demo logins (on|\(password)"),  # now; before issue 14
    "worker_ready": re.compile(r"^\s*worker \| .*\bready\.$"),
}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Output:
    """The command's lines, each with its time since the start."""

    def __init__(self, stream, t0: float, log: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self.t0 = t0
        self.log = log
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        with self.log.open("w") as log:
            for line in stream:
                at = time.monotonic() - self.t0
                self.lines.append((at, line.rstrip("\n")))
                log.write(f"{at:7.2f} {line}")

    def milestone(self, name: str) -> float | None:
        found = [at for at, line in list(self.lines) if MILESTONES[name].search(line)]
        if not found:
            return None
        return found[-1] if name == "migrated" else found[0]


def fresh_database(base_url: str, name: str) -> str:
    """A new, empty database on DATABASE_URL's server (made from its maintenance database)."""
    import psycopg

    with psycopg.connect(base_url, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path="/" + name))


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def login_works(base: str, password: str) -> bool:
    with requests.Session() as session:
        page = session.get(base + "login/", timeout=10)
        token = CSRF_FIELD.search(page.text)
        if page.status_code != 200 or not token:
            return False
        answer = session.post(base + "login/", timeout=30, allow_redirects=False,
                              data={"csrfmiddlewaretoken": token.group(1), "username": "user1", "password": password},
                              headers={"Referer": base + "login/"})
        return answer.status_code == 302 and "/login/" not in answer.headers.get("Location", "")


def one_run(args: argparse.Namespace, run_dir: Path, number: int) -> dict[str, object]:
    run_dir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    web_port = free_port()
    env.update(PORTAL_RUN_DIR=str(run_dir), PORT=str(web_port), IES_SIM_PORT=str(free_port()),
               EMBEDDED_REDIS_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    database = None
    if os.environ.get("DATABASE_URL"):
        database = f"startup_bench_{os.getpid()}_{number}_{secrets.token_hex(3)}"
        env["DATABASE_URL"] = fresh_database(os.environ["DATABASE_URL"], database)
    argv = ["make", "-s", "run"] if args.make else [PY, args.script]
    base = f"http://127.0.0.1:{web_port}/"
    figures: dict[str, object] = {"run": number, "load_1m_before": round(os.getloadavg()[0], 2)}
    seen: dict[int, psutil.Process] = {}

    def note_processes() -> None:
        try:
            for child in psutil.Process(proc.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = Output(proc.stdout, t0, run_dir.parent / f"run-{number}.log")
    try:
        deadline = t0 + args.timeout
        while figures.get("first_page_s") is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"run {number}: no login page within {args.timeout:.0f} s; see {output.log}")
            try:
                if requests.get(base + "login/", timeout=2).status_code == 200:
                    figures["first_page_s"] = round(time.monotonic() - t0, 2)
            except requests.RequestException:
                pass
            note_processes()
            time.sleep(0.025)
        while output.milestone("logins_printed") is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"run {number}: no demo logins within {args.timeout:.0f} s; see {output.log}")
            note_processes()
            time.sleep(0.05)
        password = (run_dir / "demo-password").read_text().strip()
        figures["demo_login_ok"] = login_works(base, password)
        figures["demo_login_s"] = round(time.monotonic() - t0, 2)
        while output.milestone("worker_ready") is None and time.monotonic() < deadline and proc.poll() is None:
            note_processes()
            time.sleep(0.05)
        note_processes()
        for name in MILESTONES:
            at = output.milestone(name)
            figures[f"{name}_s"] = None if at is None else round(at, 2)
    finally:
        stopping = time.monotonic()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            figures["exit_code"] = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            figures["exit_code"] = proc.wait()
        figures["stop_s"] = round(time.monotonic() - stopping, 2)
        output.thread.join(timeout=10)
        left = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in left:
            p.kill()
        figures["left_behind"] = [" ".join(p.cmdline()[:3]) for p in left]
        if database:
            drop_database(os.environ["DATABASE_URL"], database)
    figures["load_1m_after"] = round(os.getloadavg()[0], 2)
    return figures


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(args, tmp / f"run-{number}", number))
        shutil.rmtree(tmp / f"run-{number}", ignore_errors=True)
        time.sleep(args.pause)
    first = [float(r["first_page_s"]) for r in runs]
    login = [float(r["demo_login_s"]) for r in runs]
    return {
        "machine": machine(),
        "database": "PostgreSQL (a new database per run)" if os.environ.get("DATABASE_URL") else "SQLite",
        "command": "make -s run" if args.make else f".venv/bin/python {args.script}",
        "runs": runs,
        "first_page_s": {"median": statistics.median(first), "max": max(first)},
        "demo_login_s": {"median": statistics.median(login), "max": max(login)},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def verdicts(f: dict) -> dict[str, bool]:
    return {f"first_page<={FIRST_PAGE_TARGET_S:g}s": f["first_page_s"]["max"] <= FIRST_PAGE_TARGET_S}


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"make run from a fresh run folder: {f['command']}, {f['database']}; {m['nproc']} CPUs, "
          f"Python {m['python']}")

    def cell(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    head = ("run", "load", "migrated", "web up", "1st page", "presets", "logins", "login ok", "worker",
            "stop", "left")
    print("".join(f"{h:>10}" for h in head))
    for r in f["runs"]:
        row = (str(r["run"]), f"{r['load_1m_before']:.2f}", cell(r["migrated_s"]), cell(r["web_listening_s"]),
               cell(r["first_page_s"]), cell(r["presets_loaded_s"]), cell(r["demo_login_s"]),
               "yes" if r["demo_login_ok"] else "NO", cell(r["worker_ready_s"]), cell(r["stop_s"]),
               str(len(r["left_behind"])))
        print("".join(f"{c:>10}" for c in row))
    print(f"first page: median {f['first_page_s']['median']:.2f} s, max {f['first_page_s']['max']:.2f} s; "
          f"demo login: median {f['demo_login_s']['median']:.2f} s, max {f['demo_login_s']['max']:.2f} s "
          f"(seconds from the command's start; load = 1-minute load average before the run)")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--make", action="store_true", help="start `make -s run` rather than the script it runs")
    parser.add_argument("--script", default="scripts/run_stack.py",
                        help="another copy of run_stack.py to time (an older one, for comparison)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take to be fully up")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    run_and_report("bench-startup-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
