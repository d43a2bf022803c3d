"""Benchmark of recovery after a worker is killed: how soon do operations in flight resume?

A worker killed with SIGKILL takes with it the polls it held (a poll scheduled with a countdown is
held, unacknowledged, by the worker until it is due; Redis gives it back only after the visibility
timeout, an hour). What resumes tracking is the sweeper (`operations.sweep`, from beat every
OPERATION_SWEEP_SECONDS) and the sweep a worker runs when it starts.

It starts, in a temporary folder, the IES simulator (time scale 10: a create takes about 60 s), an
embedded Redis, a SQLite database (or DATABASE_URL), `celery beat` and one worker as deployed
(`python -m portal.worker`: 4 threads), places N creates through the portal's own code path, waits
until every one is being tracked (polled at IES at least once), kills the worker's process group
with SIGKILL, waits, starts a new worker and measures, per operation, the time from the new worker
being ready (its " ready." log line) to the operation's next request at the simulator (its request
log, per service id, read as it is written). Then it waits for every operation to end and checks
that none was created twice and that nothing was lost.

Prints a table, then as the LAST line one JSON object with the figures and `targets`.

    .venv/bin/python benchmarks/recovery.py [--operations 50] [--down 10] [--time-scale 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.tracking import (  # noqa: E402
    PY,
    TERMINAL,
    Stack,
    machine,
    percentile,
    place_orders,
    run_and_report,
    wait_for,
)

TARGETS = {"resume_max_s": 20.0}
SERVICES_PATH = "/rest/servicemanager/v1/services/"


class RequestLogTail(threading.Thread):
    """The simulator's request log, each line stamped with the moment this thread read it (every 50 ms)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.lines: list[tuple[float, str]] = []
        self._stop = threading.Event()

    def run(self) -> None:
        with open(self.path, errors="replace") as log:
            pending = ""
            while not self._stop.is_set():
                chunk = log.read()
                now = time.monotonic()
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split("\n")
                    self.lines.extend((now, line) for line in complete)
                else:
                    time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self.join(5)

    def service_requests(self, since: float = 0.0) -> list[tuple[float, str]]:
        """(when, service id) of each request about one service, from `since` on."""
        found = []
        for at, line in list(self.lines):
            parts = line.split(" ")
            if at >= since and len(parts) >= 2 and parts[1].startswith(SERVICES_PATH):
                found.append((at, parts[1].split("/")[5]))
        return found


def ready_count(path: Path) -> int:
    return path.read_bytes().count(b" ready.") if path.exists() else 0


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    tail: RequestLogTail | None = None
    try:
        stack.start_redis()
        sim = stack.start_simulator(args.time_scale)
        stack.prepare_database()
        expected = 600.0 / args.time_scale
        env = {"OPERATION_DEFAULT_SECONDS": str(expected)}
        tenant, user = stack.portal_tenant(f"bench_recovery_{os.getpid()}", f"benchrec{os.getpid()}")
        worker = stack.start_worker(concurrency=args.concurrency, pool="threads", **env)
        stack.start_beat(**env)
        tail = RequestLogTail(sim.log_path)
        tail.start()

        from portal.operations.models import Operation, OperationState

        ids, _ = place_orders(tenant, user, args.operations)
        wait_for(lambda: Operation.objects.filter(pk__in=ids, state=OperationState.PROCESSING).count() == len(ids),
                 "every operation submitted", 60)
        ops = {op.pk: op for op in Operation.objects.filter(pk__in=ids)}
        service_of = {pk: op.ies_service_id for pk, op in ops.items()}
        wait_for(lambda: {sid for _, sid in tail.service_requests()} >= set(service_of.values()),
                 "every operation polled once", 60)
        time.sleep(args.settle)
        tickets_before_kill = {pk: t for pk, t in Operation.objects.filter(pk__in=ids)
                               .values_list("pk", "poll_ticket")}
        submitted_tickets = {pk: op.poll_ticket for pk, op in ops.items()}
        revived_in_normal_running = sum(tickets_before_kill[pk] != submitted_tickets[pk] for pk in ids)

        killed_at = time.monotonic()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(15)
        time.sleep(args.down)
        in_flight_at_restart = Operation.objects.filter(pk__in=ids, state=OperationState.PROCESSING).count()
        started_at = time.monotonic()
        log2 = tmp / "worker2.log"
        stack.spawn("worker2", [PY, "-m", "portal.worker", "--loglevel", "INFO", "--concurrency",
                                str(args.concurrency), "-n", f"bench2-{os.getpid()}@%h"],
                    {**stack.env, **env, "LOG_LEVEL": "INFO"})
        while ready_count(log2) == 0:
            if time.monotonic() - started_at > 60:
                raise RuntimeError("the new worker did not start:\n" + log2.read_text(errors="replace")[-2000:])
            time.sleep(0.02)
        ready_at = time.monotonic()

        resume: dict[int, float] = {}
        deadline = ready_at + 90
        while time.monotonic() < deadline and len(resume) < len(ids):
            seen = {}
            for at, sid in tail.service_requests(since=ready_at):
                seen.setdefault(sid, at)
            for pk, sid in service_of.items():
                if pk not in resume and sid in seen:
                    resume[pk] = seen[sid] - ready_at
            still_processing = set(Operation.objects.filter(pk__in=ids, state=OperationState.PROCESSING)
                                   .values_list("pk", flat=True))
            if all(pk in resume or pk not in still_processing for pk in ids):
                break
            time.sleep(0.2)
        waits = sorted(resume.values())

        end_deadline = time.monotonic() + expected * 1.5 + 60
        while time.monotonic() < end_deadline:
            if not Operation.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).exists():
                break
            time.sleep(1)
        final = list(Operation.objects.filter(pk__in=ids))
        states: dict[str, int] = {}
        for op in final:
            states[op.state] = states.get(op.state, 0) + 1
        names = [op.service_name for op in final]
        listed = sim.call("GET", "/servicemanager/v1/services", tenant.name).json()
        services = listed.get("services", listed) if isinstance(listed, dict) else listed
        created = [s.get("name") for s in services if s.get("name") in set(names)]
        duplicates = len(created) - len(set(created))
        creates_posted = sum(1 for _, line in tail.lines if line.startswith("POST /rest/servicemanager/v1/services "))
        figures: dict[str, object] = {
            "benchmark": "recovery",
            "database": stack.database,
            "operations": len(ids),
            "time_scale": args.time_scale,
            "expected_s": expected,
            "concurrency": args.concurrency,
            "sweep_seconds": float(os.environ.get("OPERATION_SWEEP_SECONDS") or _setting("OPERATION_SWEEP_SECONDS")),
            "down_s": round(started_at - killed_at, 1),
            "worker_start_s": round(ready_at - started_at, 1),
            "in_flight_at_restart": in_flight_at_restart,
            "resumed": len(resume),
            "resume_s": {"p50": round(percentile(waits, 50), 2), "p95": round(percentile(waits, 95), 2),
                         "max": round(waits[-1], 2)} if waits else {},
            "revived_in_normal_running": revived_in_normal_running,
            "states": states,
            "ies_services_created": len(created),
            "duplicate_creates": duplicates,
            "create_requests": creates_posted,
            "lost": sum(1 for op in final if op.state not in TERMINAL),
            "machine": machine(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        return figures
    finally:
        if tail is not None:
            tail.stop()
        stack.stop()


def _setting(name: str) -> object:
    from django.conf import settings

    return getattr(settings, name)


def verdicts(f: dict) -> dict[str, bool]:
    resume = f["resume_s"]
    return {
        f"resume_max<={TARGETS['resume_max_s']:g}s": bool(resume) and f["resumed"] >= f["in_flight_at_restart"]
        and resume["max"] <= TARGETS["resume_max_s"],
        "no_duplicate_creates": f["duplicate_creates"] == 0 and f["create_requests"] == f["operations"],
        "none_lost": f["lost"] == 0,
    }


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"Recovery after kill -9 of the worker: {f['operations']} creates in flight, time scale {f['time_scale']} "
          f"(expected {f['expected_s']:.0f} s), worker --concurrency {f['concurrency']} (threads), "
          f"sweep every {f['sweep_seconds']:g} s, {f['database']}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']})")
    print(f"worker down {f['down_s']} s; the new one took {f['worker_start_s']} s to be ready; "
          f"{f['in_flight_at_restart']} operations in flight then, {f['resumed']} polled again")
    print(f"{'figure':<52}{'p50':>8}{'p95':>8}{'max':>8}{'target':>10}")
    r = f["resume_s"]
    print(f"{'new worker ready → next IES request per operation (s)':<52}{r.get('p50', '-'):>8}{r.get('p95', '-'):>8}"
          f"{r.get('max', '-'):>8}{'max ≤ 20':>10}")
    print(f"reminders the sweeper replaced before the kill (normal running): {f['revived_in_normal_running']}")
    print(f"end states {f['states']}; IES services created {f['ies_services_created']} "
          f"(create requests {f['create_requests']}, duplicates {f['duplicate_creates']}); lost {f['lost']}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=50)
    parser.add_argument("--down", type=float, default=10.0, help="seconds between the kill and the new worker")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of normal tracking before the kill")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    run_and_report("bench-recovery-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
