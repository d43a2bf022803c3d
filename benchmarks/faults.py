"""Benchmark of the pages with IES hanging and with IES down, as a user meets them.

It starts, in a temporary folder, the stack as production runs it (the plumbing of
`benchmarks/tracking.py`): the IES simulator, an embedded Redis (or REDIS_URL), a SQLite database
(or DATABASE_URL, e.g. PostgreSQL), a Celery worker (threads pool), and gunicorn with the project's
`gunicorn.conf.py` (gthread), DEBUG off. The simulator's preset tenant nbitest_12 (its connection has
years of traffic) gets 20 more Site2DC services, a portal Tenant and a member; the mirror is warmed; each client logs in through the login form and opens
one order wizard. Every page is read once while IES is healthy, so the portal has a last known
state to show (mirror, cached traffic, last catalog read).

Then three phases, each `--seconds` long, with `--clients` threads (each its own keep-alive session)
going round the five pages in turn, from a different starting page each:

- list:      GET /services/
- detail:    GET /services/<id>/
- chart:     GET /traffic/<connection>/data.json?range=24h&width=1000 (the chart's data)
- wizard:    GET /catalog/orders/new/<key>/ (the wizard's first step)
- bystander: GET /operations/ (needs no IES)

Phases: `healthy`; `hang` (simulator fault "hang" 60 s on every IES call: longer than any timeout);
`down` (the simulator stopped: connection refused). Between phases the circuit breakers are closed
again (as after the cool-down) so that each phase meets IES's trouble from the start: the first
requests of a phase pay the page timeout until the breaker opens, and they are in the figures.

Prints a table (p50, p95, max, statuses per page and phase), then as the LAST line one JSON object
with the figures and `targets` (p95 < 300 ms for every page with IES hanging and with IES down).

    .venv/bin/python benchmarks/faults.py [--seconds 30] [--clients 6] [--no-worker] [--keep]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pages import logged_in_session  # noqa: E402
from benchmarks.tracking import PY, Stack, free_port, machine, percentile, run_and_report, wait_for  # noqa: E402

SERVICES = 20
P95_TARGET_MS = 300.0
HANG_S = 60
PAGES = ("list", "detail", "chart", "wizard", "bystander")
SITE2DC = "8c34e27ed6644bbfbce93a41a05cb7ab"
PRESET_TENANT, PRESET_CONNECTION = "nbitest_12", "0S2DC201705071132"  # docs/ies-simulator.md


def start_web(stack: Stack) -> str:
    """gunicorn as production starts it: the project's gunicorn.conf.py (only the address differs)."""
    port = free_port()
    stack.spawn("web", [PY, "-m", "gunicorn", "portal.wsgi:application", "--config", "gunicorn.conf.py",
                        "--bind", f"127.0.0.1:{port}"], {**stack.env, "WEB_LOG_LEVEL": "warning"})
    stack.web_url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(stack.web_url + "/healthz", timeout=2).ok, "gunicorn")
    return stack.web_url


def preset_tenant(stack: Stack, name: str, username: str):  # -> Tenant (Django is set up later than this import)
    """The portal Tenant of one of the simulator's preset tenants, and a member who can log in."""
    from django.contrib.auth import get_user_model

    from benchmarks.tracking import BENCH_PASSWORD
    from portal.tenants.models import Membership, Role, Tenant

    assert stack.simulator is not None
    credentials = stack.simulator.tenants[name]
    tenant = Tenant(name=name, ies_base_url=stack.simulator.base_url, ies_tenant_id=credentials["tenant_id"])
    tenant.set_credentials(token=credentials["token"], bearer=credentials["bearer"])
    tenant.save()
    user = get_user_model().objects.create_user(username=username, password=BENCH_PASSWORD)
    Membership.objects.create(user=user, tenant=tenant, role=Role.MEMBER)
    return tenant


def open_wizard(session: requests.Session, web: str) -> str:
    """POST the catalog's "Order" button (CSRF token from the catalog page): the wizard's key."""
    page = session.get(f"{web}/catalog/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{web}/catalog/definitions/{SITE2DC}/order/", data={"csrfmiddlewaretoken": token},
                          headers={"Referer": f"{web}/catalog/"}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, f"wizard: {answer.status_code}"
    return re.search(r"/catalog/orders/new/([^/]+)/$", answer.headers["Location"]).group(1)


def run_phase(clients: list[tuple[requests.Session, dict[str, str]]], seconds: float) -> dict[str, list]:
    """Each client goes round the pages until time is up; (seconds, status) per page."""
    results: dict[str, list[tuple[float, int, float]]] = {page: [] for page in PAGES}
    lock = threading.Lock()
    stop = threading.Event()
    barrier = threading.Barrier(len(clients) + 1)

    def client(index: int) -> None:
        session, urls = clients[index]
        order = PAGES[index % len(PAGES):] + PAGES[:index % len(PAGES)]
        barrier.wait()
        began = time.perf_counter()
        i = 0
        while not stop.is_set():
            page = order[i % len(order)]
            i += 1
            started = time.perf_counter()
            try:
                status = session.get(urls[page], timeout=60).status_code
            except requests.RequestException:
                status = 0
            with lock:
                results[page].append((time.perf_counter() - started, status, started - began))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return results


def summarise(samples: list[tuple[float, int, float]]) -> dict[str, object]:
    times = [t for t, _, _ in samples]
    statuses = collections.Counter(str(s) for _, s, _ in samples)
    return {"requests": len(samples), "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(percentile(times, 95) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "over_1s": sum(1 for t in times if t > 1), "statuses": dict(sorted(statuses.items())),
            # when (seconds into the phase) each slow request began: the first meeting with the
            # trouble, a half-open trial, or something else
            "slow_began_s": [round(b, 1) for t, _, b in samples if t > 1]}


def close_breakers() -> None:
    """As if the cool-down had passed and a trial had succeeded: every breaker closed."""
    from portal.tenants.ies import breaker_store_reset

    breaker_store_reset()


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    try:
        stack.start_redis()
        sim = stack.start_simulator(600)
        stack.prepare_database()
        tenant = preset_tenant(stack, PRESET_TENANT, "benchfaults")
        assert sim.bulk_services(PRESET_TENANT, SERVICES) == SERVICES

        from portal.services.mirror import service_mirror_sync
        from portal.services.models import Service

        service_mirror_sync(tenant=tenant)
        # The preset connection: years of traffic, so the chart has a last known series to show.
        one = Service.objects.filter(tenant=tenant, cloud_vpn_name=PRESET_CONNECTION).first()
        assert one is not None
        if args.worker:
            stack.start_worker(4, "threads")
        web = start_web(stack)
        clients = []
        for _ in range(args.clients):
            session = logged_in_session(web, "benchfaults")
            key = open_wizard(session, web)
            urls = {
                "list": f"{web}/services/",
                "detail": f"{web}/services/{one.ies_service_id}/",
                "chart": f"{web}/traffic/{one.cloud_vpn_name}/data.json?range=24h&width=1000",
                "wizard": f"{web}/catalog/orders/new/{key}/",
                "bystander": f"{web}/operations/",
            }
            for url in urls.values():  # healthy IES once: the last known state to fall back on
                assert session.get(url, timeout=60).status_code == 200, url
            clients.append((session, urls))

        phases: dict[str, dict[str, object]] = {}
        phases["healthy"] = {p: summarise(s) for p, s in run_phase(clients, args.seconds).items()}

        close_breakers()
        sim.add_fault(kind="hang", seconds=HANG_S)
        phases["hang"] = {p: summarise(s) for p, s in run_phase(clients, args.seconds).items()}
        sim.clear_faults()

        close_breakers()
        sim.stop()
        phases["down"] = {p: summarise(s) for p, s in run_phase(clients, args.seconds).items()}
        sim.start()
        close_breakers()

        from django.conf import settings

        return {
            "machine": machine(),
            "database": stack.database,
            "web": "gunicorn.conf.py (gthread), workers "
                   f"{os.environ.get('WEB_WORKERS', 2)} x threads {os.environ.get('WEB_THREADS', 8)}",
            "worker": args.worker,
            "clients": args.clients,
            "seconds": args.seconds,
            "ies_page_read_timeout_s": settings.IES_PAGE_READ_TIMEOUT,
            "ies_page_retries": settings.IES_PAGE_RETRIES,
            "breaker_failures": settings.IES_BREAKER_FAILURES,
            "breaker_reset_s": settings.IES_BREAKER_RESET_SECONDS,
            "load_average": os.getloadavg(),
            "phases": phases,
        }
    finally:
        stack.stop()


def verdicts(f: dict) -> dict[str, bool]:
    return {f"{phase}_{page}_p95<{P95_TARGET_MS:.0f}ms": f["phases"][phase][page]["p95_ms"] < P95_TARGET_MS
            for phase in ("hang", "down") for page in PAGES}


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"Pages with IES hanging or down: {f['clients']} clients × {f['seconds']:g} s per phase; {f['web']}; "
          f"{f['database']}; worker {'on' if f['worker'] else 'off'}; DEBUG off")
    print(f"page reads: timeout {f['ies_page_read_timeout_s']:g} s, {f['ies_page_retries']} retries; breaker opens "
          f"after {f['breaker_failures']} failures for {f['breaker_reset_s']:g} s")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']}")
    print(f"{'phase':<9}{'page':<11}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'>1 s':>6}  statuses")
    for phase, pages in f["phases"].items():
        for page, row in pages.items():
            statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
            print(f"{phase:<9}{page:<11}{row['requests']:>9}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['max_ms']:>9}"
                  f"{row['over_1s']:>6}  {statuses}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--no-worker", dest="worker", action="store_false", help="no Celery worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    run_and_report("bench-faults-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
