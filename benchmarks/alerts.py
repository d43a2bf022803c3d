"""Benchmark of the alerts' beat tick: 5,000 connections × 3 rules, and how soon a webhook says so.

It starts everything it needs in a temporary folder, with the plumbing of `benchmarks/tracking.py`:
the IES simulator, an embedded Redis (or REDIS_URL), a SQLite database (or, with DATABASE_URL set, a
new database on that PostgreSQL server, dropped at the end) and a Celery worker as deployed
(`python -m portal.worker`: 4 threads in one process). No beat: the benchmark sends `alerts.tick`
itself (the Celery app's `send_task`, to the run's queue) at each wall-clock minute boundary, as the
beat's schedule does (`crontab()`, second 0 of each minute), the moment a minute of IES traffic
becomes final (`SETTLE_S`, 120 s after its end; `watch.last_closed_minute`), which is when a
condition can first be seen to hold; sending them itself, it knows each tick's boundary exactly
and runs nothing else of the beat's (no service sync, no sweeper) beside the ticks.

Data: --tenants simulator tenants (--connections in all, split evenly) of Site2DC services created
a day ago (`POST /rest/_sim/services/bulk` with `age_days=1`: their connections have traffic),
mirrored into the portal by the list task's own function; per tenant a member, three rules made
through the rule form and `rule_save`, each on every service of the tenant: bandwidth utilisation
(either direction, warning 80 %, critical 95 %, the form's clear level 70 %, window 2 min), quiet
(below 1 kbit/s for 2 min) and service state (window 2 min); a generic webhook endpoint
(`webhook_create`, events alert.firing and alert.cleared) pointing at an HTTP receiver this process
runs (a ThreadingHTTPServer on loopback: it notes each POST's arrival and checks its signature;
WEBHOOK_ALLOW_PRIVATE_ADDRESSES=1); and, unless --no-mail, the member's e-mail subscription (warning
and up; Django's file backend), so each alert also costs an `alerts.mail` task, as deployed.

Conditions: the first tick is sent at the minute boundary B0 (its cache cold: nothing cached by a
chart or a policy before it). Before B0, --loaded connections spread over every tenant get a
simulator load rule (`POST /rest/_sim/traffic/load`) of 97 % utilisation (both directions) from
T0 = B0 on. Their utilisation rule's 2-minute window [T0, T0 + 2 min) is final at
S = T0 + 2 min + SETTLE_S = B0 + 4 min: the 5th tick, the one that must fire them (critical: 97 %
± the model's 2 % noise is above 95 %). They are chosen among the connections whose own model
traffic (the simulator's `minute_utilisation`, the same function it answers with) stays below the
70 % clear level in both directions for the 30 minutes before T0, so that none of them is already
firing from a burst of its own and S is exact for each. Every other connection carries the model's
traffic (the daily curve and, in about one hour in twenty, a few minutes' burst near line rate): what
that fires is counted, not timed. The model never goes under 0.3 % of the bandwidth (20–100 Mbit/s
here: 60 kbit/s at least), so the quiet rule should stay silent; its fires are counted too.

Measured:
- each tick's worker time: the task's own start and end in the worker (the benchmark's settings
  module logs them, the portal's code untouched), wall and the worker process's CPU meanwhile (with
  whatever ran beside it: webhook deliveries and mails); the first tick (cold cache) and the second
  (the other direction's first read: `watch.read_minutes` refreshes one direction a tick, in turns)
  are shown apart; the target is judged on the worst of all measured ticks, the cold one included
  (a cold cache after a Redis flush or a first deployment is part of the product); the warm ticks'
  worst is shown beside it;
- IES traffic calls per connection per tick, counted at the simulator's request log between one
  tick's send and the next (no chart, policy or page runs: every traffic call is the tick's), and
  the simulator's own time answering them;
- alerts fired and cleared per tick (from the tick's returned counts, in the worker's log), the
  webhook deliveries and mails;
- latency: for each loaded connection, its firing webhook's arrival at the receiver − S; p50, p95,
  max; split into S → the alert's event row (the tick) and the row → arrival (the delivery task);
  how many of the loaded set arrived (must be all).

Targets (the issue): one tick ≤ 2 s of worker time (wall, worst measured tick), S → webhook p95 ≤
10 s, ≤ 1 IES traffic call per connection per tick, every loaded connection's alert delivered.
--profile then runs two more (warm) ticks in this process: one with its parts timed (IES calls,
the traffic reads, the transitions, SQL), one under cProfile (top functions).

Prints a table, then as the LAST line one JSON object with the figures. About 6 minutes at 5,000
connections (the set-up about 20 s, then the wait for B0 and five minutes of ticks); --profile adds
2 more.

    .venv/bin/python benchmarks/alerts.py [--connections 5000] [--tenants 5] [--loaded 300] [--ticks 5]
                                          [--no-mail] [--profile] [--keep]
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import io
import json
import math
import os
import pstats
import re
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api import bench_database  # noqa: E402
from benchmarks.pages import _top_lines  # noqa: E402
from benchmarks.startup import drop_database  # noqa: E402
from benchmarks.tracking import Stack, machine, percentile, run_and_report, wait_for  # noqa: E402

TARGETS = {"tick_worker_s": 2.0, "latency_p95_s": 10.0, "traffic_calls_per_connection_per_tick": 1}
TRAFFIC = "GET /rest/cloudvpnwatch/v1/traffic/connections/"
SIM_LINE = re.compile(r"^GET /rest/cloudvpnwatch/v1/traffic/connections/([^/ ]+)/\S* (\S+) ([\d.]+)ms$")
TICK_DONE = re.compile(r"Task alerts\.tick\[([0-9a-f-]+)\] succeeded in ([\d.]+)s: (\{.*?\})")
WINDOW_MIN = 2
LOAD_SHARE = 0.97
CALM_SHARE = 0.70  # the loaded set's own traffic stays below the clear level before T0
CALM_MINUTES = 30
S_TICK = 5  # S = T0 + window + SETTLE_S = B0 + 4 min: the 5th tick
RULES = (
    {"name": "Busy line", "kind": "utilisation", "direction": "either", "warning_pct": "80", "critical_pct": "95",
     "level": "warning", "window_minutes": str(WINDOW_MIN), "renotify_minutes": "60", "enabled": "on"},
    {"name": "Quiet line", "kind": "quiet", "direction": "either", "floor_kbps": "1", "level": "warning",
     "window_minutes": str(WINDOW_MIN), "renotify_minutes": "60", "enabled": "on"},
    {"name": "Service down", "kind": "service_state", "direction": "either", "level": "warning",
     "window_minutes": str(WINDOW_MIN), "renotify_minutes": "60", "enabled": "on"},
)


class Receiver:
    """A webhook receiver on loopback: each POST's arrival time, its event and alert, its signature
    checked with the secret of the tenant its path names (/hooks/<n>); answers 200."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[dict] = []
        self.secrets: dict[str, str] = {}
        record = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record.note(arrived, self.path, dict(self.headers.items()), body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/"

    def note(self, arrived: float, path: str, headers: dict[str, str], body: bytes) -> None:
        from portal.webhooks import signing

        secret = self.secrets.get(path, "")
        verified = bool(secret) and signing.verify(secret, headers.get("CloudVPN-Signature", ""), body)
        try:
            alert = json.loads(body)["data"].get("alert") or {}
        except (ValueError, KeyError, AttributeError):
            alert = {}
        with self.lock:
            self.posts.append({"at": arrived, "path": path, "event": headers.get("CloudVPN-Event", ""),
                               "verified": verified, "service": (alert.get("service") or {}).get("id"),
                               "rule": (alert.get("rule") or {}).get("id"), "kind": (alert.get("rule") or {}).get("kind"),
                               "level": alert.get("level"), "status": alert.get("status"), "event_id": alert.get("id")})

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_rules(membership) -> list:
    from portal.alerts.forms import RuleForm
    from portal.alerts.services import rule_save

    made = []
    for values in RULES:
        form = RuleForm(data={"service_id": "", **values}, services=[])
        assert form.is_valid(), form.errors.as_json()
        made.append(rule_save(membership=membership, values=form.cleaned_data))
    return made


def calm_before(names: list[str], t0: int) -> list[bool]:
    """Whether each connection's own model traffic stays below CALM_SHARE in both directions over
    the CALM_MINUTES before t0 (the simulator's deterministic model, as it answers)."""
    import numpy as np

    from ies_client.simulator.traffic_model import minute_utilisation

    minutes = np.arange(t0 - CALM_MINUTES * 60, t0, 60, dtype=np.int64)
    return [all(float(minute_utilisation(name, d, minutes).max()) < CALM_SHARE for d in ("inbound", "outbound"))
            for name in names]


def sleep_until(moment: float) -> None:
    while True:
        left = moment - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.5) if left > 0.05 else left)


def traffic_lines(path: Path, start: int, end: int) -> list[tuple[str, str, float]]:
    with path.open("rb") as log:
        log.seek(start)
        text = log.read(end - start).decode(errors="replace")
    out = []
    for line in text.splitlines():
        m = SIM_LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2), float(m.group(3))))
    return out


def dist(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None, "min": None}
    return {"n": len(values), "p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "max": round(max(values), 3), "min": round(min(values), 3)}


def _wrapped(module, name: str, sink: list[float], skip=None):
    """Replace ``module.name`` (in this process only) by a copy that notes each call's wall time
    (not of the calls ``skip(args)`` says are not wanted)."""
    original = getattr(module, name)

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            if skip is None or not skip(args):
                sink.append(time.perf_counter() - began)

    setattr(module, name, timed)
    return original


def profile_tick(log_path: Path, sim, tenant_name: str, tenant, connection_name: str) -> dict[str, object]:
    """Two more ticks in this process, each at the next minute boundary (warm, like the worker's from
    the third on): the first with its parts timed (IES calls, the reads, the transitions, SQL), the
    second under cProfile (which, on this Python, sees the IES pool's threads too)."""
    import resource

    from django.db import connection

    from ies_client.client import IESClient
    from portal.alerts import services
    from portal.traffic import series, watch

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    parts: dict[str, list[float]] = {"ies_call": [], "read_minutes": [], "transition": [], "recount": []}
    # The cache-only direction's fetch "calls" a client that raises at once (watch's cache-only client): not IES.
    originals = [(series, "ies_get_traffic", _wrapped(series, "ies_get_traffic", parts["ies_call"],
                                                      skip=lambda args: not isinstance(args[0], IESClient))),
                 (watch, "read_minutes", _wrapped(watch, "read_minutes", parts["read_minutes"])),
                 (services, "_transition", _wrapped(services, "_transition", parts["transition"])),
                 (services, "recount_notices", _wrapped(services, "recount_notices", parts["recount"]))]
    queries = {"n": 0, "s": 0.0}

    def count(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries["n"] += 1
            queries["s"] += time.perf_counter() - began

    try:
        sleep_until(math.ceil(time.time() / 60) * 60 + 0.2)
        mark = log_path.stat().st_size
        began, began_cpu = time.perf_counter(), cpu()
        with connection.execute_wrapper(count):
            stats = services.alerts_tick()
        wall, used = time.perf_counter() - began, cpu() - began_cpu
        time.sleep(0.3)
        sim_ms = [ms for _c, _s, ms in traffic_lines(log_path, mark, log_path.stat().st_size)]
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    calls = parts["ies_call"]
    read = sum(parts["read_minutes"])
    timed = {
        "wall_s": round(wall, 3), "cpu_s": round(used, 3), "stats": vars(stats),
        "read_minutes_s": round(read, 3), "read_minutes_share": round(read / wall, 3),
        "ies_calls": len(calls), "ies_call_ms": {"p50": round(percentile(calls, 50) * 1000, 2),
                                                 "p95": round(percentile(calls, 95) * 1000, 2)} if calls else {},
        "simulator_ms": {"p50": round(percentile(sim_ms, 50), 2), "p95": round(percentile(sim_ms, 95), 2),
                         "sum": round(sum(sim_ms), 1)} if sim_ms else {},
        "ies_calls_in_flight_per_request": series.PER_REQUEST,
        "transitions": len(parts["transition"]), "transitions_s": round(sum(parts["transition"]), 3),
        "recount_s": round(sum(parts["recount"]), 3),
        "sql_queries_main_thread": queries["n"], "sql_s": round(queries["s"], 3),
        "rest_s": round(wall - read - sum(parts["transition"]) - sum(parts["recount"]), 3),
        "cpu_ms_per_connection": round(used * 1000 / max(1, stats.connections), 2),
    }
    timed["one_call"] = call_cost(sim, tenant_name, tenant, connection_name)
    sleep_until(math.ceil(time.time() / 60) * 60 + 0.2)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    profiled_stats = services.alerts_tick()
    profiler.disable()
    out: dict[str, object] = {"timed": timed, "profiled_wall_s": round(time.perf_counter() - started, 3),
                              "profiled_stats": vars(profiled_stats)}
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats(key).print_stats(18)
        out[f"top_{key}"] = _top_lines(buf.getvalue())
    buf = io.StringIO()  # the project's own functions, by their own time
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(r"/(portal|ies_client)/", 12)
    out["top_tottime_project"] = _top_lines(buf.getvalue())
    return out


def call_cost(sim, tenant_name: str, tenant, connection_name: str, calls: int = 200) -> dict[str, object]:
    """One IES traffic call of the last closed minute, one at a time in this thread: through the
    portal's path (`series.ies_get_traffic` with the tenant's client: its circuit breaker in Redis,
    its metrics, the answer parsed) and as a bare `requests.Session` GET of the same URL; median wall
    and this thread's CPU per call."""
    import requests

    from ies_client import models as ies
    from portal.tenants.ies import ies_for_tenant
    from portal.traffic import series, watch

    closed = watch.last_closed_minute(int(time.time()))
    spec = series.SeriesSpec(connection_name, ies.Metric.TRAFFIC_RATE, ies.Direction.OUTBOUND, "avg", "minute")
    client = ies_for_tenant(tenant)
    session = requests.Session()
    session.headers.update(sim.headers(tenant_name))
    url = sim.url(f"/cloudvpnwatch/v1/traffic/connections/{connection_name}/traffic-rate")
    params = {"starttime": closed - 60, "endtime": closed, "timedim": "minute", "direction": "outbound",
              "indicator": "avg"}

    def portal_call() -> None:
        series._points(series.ies_get_traffic(client, spec, closed - 60, closed))

    def bare_call() -> None:
        answer = session.get(url, params=params, timeout=10)
        json.loads(answer.content)

    out = {}
    for name, fn in (("portal", portal_call), ("bare_requests", bare_call)):
        fn()
        walls, cpus = [], []
        for _ in range(calls):
            w, c = time.perf_counter(), time.thread_time()
            fn()
            cpus.append(time.thread_time() - c)
            walls.append(time.perf_counter() - w)
        out[name] = {"wall_ms": round(percentile(walls, 50) * 1000, 2), "cpu_ms": round(percentile(cpus, 50) * 1000, 2)}
    session.close()
    return out


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    stack.env.update(WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1", PORTAL_URL="https://portal.example.test",
                     EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
    database = None
    receiver = None
    try:
        database = bench_database(stack)
        stack.start_redis()
        sim = stack.start_simulator(600)
        stack.prepare_database()
        receiver = Receiver()
        from django.conf import settings
        from django.db import connection

        from portal.alerts.models import AlertEvent, AlertRule, EventStatus, RuleKind
        from portal.alerts.services import subscription_save
        from portal.celery import app
        from portal.services.models import Service
        from portal.services.tasks import sync_tenant_services
        from portal.tenants.models import Membership
        from portal.traffic.series import SETTLE_S
        from portal.webhooks.models import WebhookDelivery
        from portal.webhooks.services import webhook_create

        assert SETTLE_S == 120, "the schedule below assumes IES settles a minute 120 s after its end"
        began_setup = time.perf_counter()
        stamp = int(time.time())
        tenants, names, by_tenant = [], {}, []
        per = [args.connections // args.tenants + (1 if i < args.connections % args.tenants else 0)
               for i in range(args.tenants)]
        for index, count in enumerate(per):
            name = f"bench_alerts_{stamp}_{index}"
            tenant, user = stack.portal_tenant(name, f"benchalerts{os.getpid()}_{index}")
            user.email = f"alerts{index}@bench.test"
            user.save(update_fields=["email"])
            assert sim.bulk_services(name, count, age_days=1) == count
            for _ in range(10):  # each sync reads a budget of services' details (mirror.TASK_DETAIL_BUDGET)
                sync_tenant_services(tenant.pk)
                if not Service.objects.filter(tenant=tenant, bandwidth_kbps__isnull=True).exists():
                    break
            services = list(Service.objects.filter(tenant=tenant, gone_at__isnull=True).exclude(cloud_vpn_name="")
                            .order_by("pk"))
            assert len(services) == count and all(s.bandwidth_kbps for s in services), "mirror incomplete"
            membership = Membership.objects.get(user=user, tenant=tenant)
            make_rules(membership)
            path = f"/hooks/{index}"
            _endpoint, secret = webhook_create(tenant=tenant, user=user, url=receiver.base + str(index),
                                               events=["alert.firing", "alert.cleared"])
            receiver.secrets[path] = secret
            if args.mail:
                subscription_save(membership=membership, email=True, min_level="warning", quiet_start=None,
                                  quiet_end=None, language="en")
            tenants.append(tenant)
            names[tenant.pk] = name
            by_tenant.append(services)
        with connection.cursor() as cursor:  # planner statistics, as a running deployment has them
            cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
        setup_s = time.perf_counter() - began_setup
        connections = sum(len(s) for s in by_tenant)
        rules = AlertRule.objects.filter(tenant__in=tenants).count()

        task_log = tmp / "tasks.log"
        stack.start_worker(concurrency=args.concurrency, pool="threads", BENCH_TASK_LOG=str(task_log))
        # The first tick at B0, the loads from T0 = B0 on (added before B0: a future minute for IES).
        b0 = math.ceil((time.time() + 15) / 60) * 60
        t0 = b0
        s_moment = t0 + WINDOW_MIN * 60 + SETTLE_S
        assert s_moment == b0 + (S_TICK - 1) * 60
        # Round-robin over the tenants, among those calm before T0.
        calm = [[s for s, ok in zip(services, calm_before([s.cloud_vpn_name for s in services], t0), strict=True)
                 if ok] for services in by_tenant]
        calm_share = sum(len(c) for c in calm) / connections
        loaded = []
        for i in range(max(len(c) for c in calm)):
            for c in calm:
                if i < len(c) and len(loaded) < args.loaded:
                    loaded.append(c[i])
        assert len(loaded) == args.loaded, f"only {len(loaded)} connections are calm before T0"
        tenant_of = {t.pk: names[t.pk] for t in tenants}
        for service in loaded:
            sim.add_load(tenant=tenant_of[service.tenant_id], connection=service.cloud_vpn_name,
                         utilisation=LOAD_SHARE, **{"from": t0, "until": None})
        assert time.time() < b0 - 1, "the set-up of the loads ran past B0: raise the lead"
        loaded_ids = {s.ies_service_id for s in loaded}
        util_rules = set(AlertRule.objects.filter(tenant__in=tenants, kind=RuleKind.UTILISATION)
                         .values_list("pk", flat=True))

        # The ticks, each sent at its minute boundary; the simulator's log marked at each send.
        marks, sends = [], []
        for k in range(args.ticks):
            boundary = b0 + 60 * k
            sleep_until(boundary)
            marks.append(sim.log_path.stat().st_size)
            sends.append(time.time())
            app.send_task("alerts.tick")

        def tick_rows() -> list[list[str]]:
            rows = [line.split(" ") for line in task_log.read_text().splitlines()] if task_log.exists() else []
            return [r for r in rows if r[0] == "alerts.tick"]

        wait_for(lambda: len(tick_rows()) >= args.ticks, f"{args.ticks} ticks to end", timeout=600)

        def arrived() -> set[str]:
            return {p["service"] for p in receiver.snapshot() if p["event"] == "alert.firing"
                    and p["rule"] in util_rules and p["service"] in loaded_ids and p["at"] >= s_moment - 1}

        try:
            wait_for(lambda: len(arrived()) == len(loaded_ids), "every loaded connection's webhook", timeout=120)
        except SystemExit as exc:
            print(f"warning: {exc}", file=sys.stderr)

        def settled() -> bool:
            return not WebhookDelivery.objects.filter(endpoint__tenant__in=tenants, state="pending").exists()

        try:
            wait_for(settled, "every webhook delivery", timeout=120)
        except SystemExit as exc:
            print(f"warning: {exc}", file=sys.stderr)
        time.sleep(1)
        end_mark = sim.log_path.stat().st_size

        # -- figures ---------------------------------------------------------------------------------
        rows = sorted(tick_rows(), key=lambda r: float(r[3]))[:args.ticks]
        returned = {}
        for m in TICK_DONE.finditer((tmp / "worker.log").read_text(errors="replace")):
            returned[len(returned)] = ast.literal_eval(m.group(3))
        ticks = []
        bounds = [*marks, end_mark]
        for k, row in enumerate(rows):
            start, end, cpu = float(row[3]), float(row[4]), float(row[6])
            calls = traffic_lines(sim.log_path, bounds[k], bounds[k + 1])
            per_connection = Counter(c for c, _status, _ms in calls)
            ticks.append({
                "tick": k + 1, "boundary": b0 + 60 * k, "started_after_boundary_s": round(start - (b0 + 60 * k), 3),
                "wall_s": round(end - start, 3), "cpu_s": round(cpu, 3),
                "traffic_calls": len(calls), "calls_per_connection": round(len(calls) / connections, 3),
                "max_calls_of_a_connection": max(per_connection.values(), default=0),
                "connections_called": len(per_connection),
                "non_200": sum(1 for _c, status, _ms in calls if status != "200"),
                "simulator_ms_sum": round(sum(ms for _c, _s, ms in calls), 1),
                "simulator_ms_p50": round(percentile([ms for *_x, ms in calls], 50), 2) if calls else None,
                "returned": returned.get(k, {}),
            })
        # The event rows of the loaded set, and their webhooks.
        events = {}
        for ev in AlertEvent.objects.filter(tenant__in=tenants, status=EventStatus.FIRING, rule_id__in=util_rules,
                                            service_id__in=loaded_ids).order_by("created_at"):
            events.setdefault(ev.service_id, ev)
        posts = receiver.snapshot()
        first_post: dict[str, dict] = {}
        for p in sorted(posts, key=lambda p: p["at"]):
            if p["event"] == "alert.firing" and p["rule"] in util_rules and p["service"] in loaded_ids:
                first_post.setdefault(p["service"], p)
        latency = [p["at"] - s_moment for p in first_post.values()]
        to_event = [events[s].created_at.timestamp() - s_moment for s in first_post if s in events]
        to_arrival = [p["at"] - events[s].created_at.timestamp() for s, p in first_post.items() if s in events]
        early = sum(1 for p in first_post.values() if p["at"] < s_moment)
        levels = Counter(p["level"] for p in first_post.values())
        # What fired, by rule kind and by whether the connection was loaded.
        all_events = AlertEvent.objects.filter(tenant__in=tenants)
        by_kind = Counter((e.kind, e.status) for e in all_events.only("kind", "status"))
        model_fired = all_events.filter(kind=RuleKind.UTILISATION, status=EventStatus.FIRING).exclude(
            service_id__in=loaded_ids).count()
        deliveries = Counter(WebhookDelivery.objects.filter(endpoint__tenant__in=tenants)
                             .values_list("state", flat=True))
        mails = sum(1 for line in task_log.read_text().splitlines() if line.startswith("alerts.mail "))
        deliver_tasks = sum(1 for line in task_log.read_text().splitlines() if line.startswith("webhooks.deliver "))
        walls = [t["wall_s"] for t in ticks]
        cpus = [t["cpu_s"] for t in ticks]
        warm = ticks[2:]
        figures: dict[str, object] = {
            "machine": machine(), "database": stack.database, "database_vendor": connection.vendor,
            "load_average_before": list(args.load_before), "command": " ".join(sys.argv),
            "connections": connections, "tenants": len(tenants), "rules": rules,
            "rule_pairs": connections * len(RULES), "loaded": len(loaded), "calm_share_before_t0": round(calm_share, 3),
            "worker": {"pool": "threads", "concurrency": args.concurrency}, "mail": args.mail,
            "setup_s": round(setup_s, 1), "b0": datetime.fromtimestamp(b0, tz=UTC).isoformat(),
            "s": datetime.fromtimestamp(s_moment, tz=UTC).isoformat(), "s_tick": S_TICK,
            "ticks": ticks,
            "tick_wall_s": {"first_cold": walls[0], "second": walls[1] if len(walls) > 1 else None,
                            "max": max(walls), "max_warm": max((t["wall_s"] for t in warm), default=None),
                            "p50": round(percentile(walls, 50), 3)},
            "tick_cpu_s": {"first_cold": cpus[0], "max": max(cpus),
                           "max_warm": max((t["cpu_s"] for t in warm), default=None)},
            "traffic_calls_per_connection_per_tick": round(max(t["calls_per_connection"] for t in ticks), 3),
            "max_calls_of_a_connection_in_a_tick": max(t["max_calls_of_a_connection"] for t in ticks),
            "latency_s": dist(latency), "s_to_event_s": dist(to_event), "event_to_arrival_s": dist(to_arrival),
            "loaded_arrived": len(first_post), "loaded_arrived_before_s": early, "loaded_levels": dict(levels),
            "events_by_kind": {f"{k}/{s}": n for (k, s), n in sorted(by_kind.items())},
            "utilisation_fired_by_the_model": model_fired,
            "webhooks_received": len(posts), "webhooks_verified": sum(1 for p in posts if p["verified"]),
            "deliveries": dict(deliveries), "deliver_tasks": deliver_tasks, "mail_tasks": mails,
            "beat_schedule_in_production": str(settings.CELERY_BEAT_SCHEDULE.get("alerts-tick", {}).get("schedule")),
        }
        if args.profile:
            try:
                figures["profile"] = profile_tick(sim.log_path, sim, names[tenants[0].pk], tenants[0],
                                                  by_tenant[0][-1].cloud_vpn_name)
            except Exception as exc:  # noqa: BLE001 - the measured figures stand without it
                figures["profile_error"] = repr(exc)
        figures["load_average"] = list(os.getloadavg())
        return figures
    finally:
        if receiver is not None:
            receiver.close()
        stack.stop()
        if database is not None:
            from django.db import connections as dbs

            dbs.close_all()
            drop_database(os.environ["DATABASE_URL"], database)


def verdicts(f: dict) -> dict[str, bool]:
    return {
        "tick_worker_s<=2.0": f["tick_wall_s"]["max"] <= TARGETS["tick_worker_s"],
        "latency_p95_s<=10.0": f["latency_s"]["p95"] is not None and f["latency_s"]["p95"] <= TARGETS["latency_p95_s"],
        "traffic_calls_per_connection_per_tick<=1":
            f["traffic_calls_per_connection_per_tick"] <= TARGETS["traffic_calls_per_connection_per_tick"]
            and f["max_calls_of_a_connection_in_a_tick"] <= 1,
        "all_alerts_delivered": f["loaded_arrived"] == f["loaded"] and f["loaded_arrived_before_s"] == 0,
    }


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"alerts benchmark: {f['connections']:,} connections × 3 rules ({f['rules']} rules over {f['tenants']} "
          f"tenants), {f['database']}, worker {f['worker']['pool']} × {f['worker']['concurrency']}, "
          f"mail {'on' if f['mail'] else 'off'}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']}); load average "
          f"before {', '.join(f'{x:.2f}' for x in f['load_average_before'])}, at the end "
          f"{', '.join(f'{x:.2f}' for x in f['load_average'])}")
    print(f"command: {f['command']}")
    print(f"set-up {f['setup_s']} s; first tick B0 {f['b0']}; {f['loaded']} connections at 97 % from B0, "
          f"their window final at S = {f['s']} (tick {f['s_tick']}); {f['calm_share_before_t0']:.0%} of all "
          "connections were calm (< 70 %) in the 30 min before")
    print(f"{'tick':>4} {'start+':>7} {'wall s':>7} {'cpu s':>6} {'IES calls':>9} {'/conn':>6} {'max/conn':>8} "
          f"{'sim ms':>8} {'fired':>6} {'cleared':>7} {'watched':>8}")
    for t in f["ticks"]:
        r = t["returned"]
        note = " (cold cache)" if t["tick"] == 1 else " (other direction's first read)" if t["tick"] == 2 else (
            " (S)" if t["tick"] == f["s_tick"] else "")
        if r.get("skipped"):
            note += " SKIPPED: the previous tick still held the lock"
        print(f"{t['tick']:>4} {t['started_after_boundary_s']:>7} {t['wall_s']:>7} {t['cpu_s']:>6} "
              f"{t['traffic_calls']:>9} {t['calls_per_connection']:>6} {t['max_calls_of_a_connection']:>8} "
              f"{t['simulator_ms_sum']:>8} {r.get('fired', '-'):>6} {r.get('cleared', '-'):>7} "
              f"{r.get('watched', '-'):>8}{note}")
    w, c = f["tick_wall_s"], f["tick_cpu_s"]
    print(f"tick wall: worst {w['max']} s (first, cold {w['first_cold']} s; worst from the 3rd on {w['max_warm']} s); "
          f"CPU: worst {c['max']} s (warm {c['max_warm']} s; the worker process's, with deliveries beside it)")
    lat, ev, ar = f["latency_s"], f["s_to_event_s"], f["event_to_arrival_s"]
    print(f"{'latency (s)':<36}{'n':>5}{'p50':>8}{'p95':>8}{'max':>8}")
    for label, d in (("S → webhook received", lat), ("  S → alert's event row (tick)", ev),
                     ("  event row → webhook received", ar)):
        print(f"{label:<36}{d['n']:>5}{d['p50'] if d['p50'] is not None else '-':>8}"
              f"{d['p95'] if d['p95'] is not None else '-':>8}{d['max'] if d['max'] is not None else '-':>8}")
    print(f"loaded set: {f['loaded_arrived']} of {f['loaded']} arrived ({f['loaded_arrived_before_s']} before S), "
          f"levels {f['loaded_levels']}")
    print(f"events: {f['events_by_kind']}; utilisation alerts the model's own traffic fired: "
          f"{f['utilisation_fired_by_the_model']}")
    print(f"webhooks received {f['webhooks_received']} ({f['webhooks_verified']} signatures verified); deliveries "
          f"{f['deliveries']}; deliver tasks {f['deliver_tasks']}; mail tasks {f['mail_tasks']}")
    if "profile" in f:
        p = f["profile"]
        t = p["timed"]
        print(f"-- a warm tick in this process (--profile), its parts timed: {t['wall_s']} s wall, {t['cpu_s']} s CPU "
              f"({t['cpu_ms_per_connection']} ms CPU per connection), {t['stats']}")
        print(f"   watch.read_minutes (IES and the cache) {t['read_minutes_s']} s ({t['read_minutes_share']:.0%}): "
              f"{t['ies_calls']} IES calls, {t['ies_calls_in_flight_per_request']} at a time, each "
              f"{t['ies_call_ms'].get('p50')} ms p50 / {t['ies_call_ms'].get('p95')} ms p95 in the client "
              f"(the simulator's own answer {t['simulator_ms'].get('p50')} ms p50)")
        one = t["one_call"]
        print(f"   one IES traffic call at a time, median: through the portal's client {one['portal']['wall_ms']} ms "
              f"wall / {one['portal']['cpu_ms']} ms CPU; a bare requests GET {one['bare_requests']['wall_ms']} ms / "
              f"{one['bare_requests']['cpu_ms']} ms CPU")
        print(f"   _transition calls {t['transitions']} in {t['transitions_s']} s, recount {t['recount_s']} s, the rest "
              f"{t['rest_s']} s; SQL on the tick's thread {t['sql_queries_main_thread']} queries, {t['sql_s']} s")
        print(f"-- the next tick under cProfile: {p['profiled_wall_s']} s, {p['profiled_stats']}")
        for key in ("tottime", "tottime_project", "cumulative"):
            print(f"   by {key.replace('_project', ', the project’s own functions')}:")
            for line in p[f"top_{key}"]:
                print("   " + line)
    if "profile_error" in f:
        print(f"-- the in-process profile failed: {f['profile_error']}")
    for name, ok in f["targets"].items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")


def main() -> None:
    from portal.worker import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=5000, help="connections in all (default 5000)")
    parser.add_argument("--tenants", type=int, default=5, help="tenants they are split over (default 5)")
    parser.add_argument("--loaded", type=int, default=300,
                        help="connections driven to 97 %% utilisation, spread over the tenants (default 300)")
    parser.add_argument("--ticks", type=int, default=S_TICK,
                        help=f"ticks to measure, one a minute (default and least {S_TICK}: the {S_TICK}th fires "
                             "the loaded set)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"the worker's threads (default {DEFAULT_CONCURRENCY}, as deployed)")
    parser.add_argument("--no-mail", dest="mail", action="store_false",
                        help="no e-mail subscription (by default each tenant's member gets every alert by mail)")
    parser.add_argument("--profile", action="store_true",
                        help="then two more ticks in this process: its parts timed, and under cProfile (2 more minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    if args.ticks < S_TICK:
        parser.error(f"--ticks must be at least {S_TICK}")
    if not 1 <= args.tenants <= args.connections or not 1 <= args.loaded <= args.connections:
        parser.error("need 1 ≤ --tenants ≤ --connections and 1 ≤ --loaded ≤ --connections")
    args.load_before = os.getloadavg()
    run_and_report("bench-alerts-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
