"""Benchmark of the service pages: the list of a tenant with 1,000 services, next to the bare IES
list call it wraps, and a service's detail page.

It starts everything it needs in a temporary folder (PORTAL_RUN_DIR), with the plumbing of
`benchmarks/tracking.py`: the IES simulator, an embedded Redis, a SQLite database (or DATABASE_URL
when set) and gunicorn with 2 (sync) workers, DEBUG off. It makes a new simulator tenant with 1,000
Site2DC services (`POST /rest/_sim/services/bulk`), the portal Tenant and a user for it, warms the
mirror (the background sync's own function), and logs 8 clients in through the login form (CSRF
token from the form, like a browser). Then, in interleaved rounds so that the machine's noise hits
every variant alike, each variant is requested by 8 threads (each with its own keep-alive
`requests.Session`) for a fixed time:

- page:   GET /services/            (the list page: 50 rows of 1,000, filters, pager)
- bare:   GET /rest/servicemanager/v1/services  (the IES call the list wraps; the tenant's token)
- detail: GET /services/<id>/       (one service: IES read + operation log + history + audit)

and once more with 1 client, to show the time one request takes without queueing. Finally it
profiles both pages in-process (Django's test client, cProfile) and counts their SQL queries.

Prints a table, then as the LAST line one JSON object with the figures. About 1–2 minutes.

    .venv/bin/python benchmarks/pages.py [--seconds 4] [--rounds 3] [--clients 8] [--no-profile]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.tracking import BENCH_PASSWORD, Stack, machine, percentile  # noqa: E402

SERVICES = 1000
TARGETS = {"page_p50_ms": 150.0, "page_vs_bare": 2.0, "detail_p50_ms": 100.0}


def logged_in_session(web_url: str, username: str) -> requests.Session:
    """A session logged in the way a browser does it: GET the form, POST it with its CSRF token."""
    session = requests.Session()
    form = session.get(f"{web_url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(f"{web_url}/login/", data={"username": username, "password": BENCH_PASSWORD,
                                                     "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{web_url}/login/"}, timeout=10, allow_redirects=False)
    assert answer.status_code == 302, f"login failed: {answer.status_code}"
    return session


def run_phase(sessions: list[requests.Session], url: str, seconds: float, check: str) -> dict[str, object]:
    """Each session in its own thread requests `url` for `seconds`; latencies in seconds."""
    clients = len(sessions)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = threading.Event()
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        session = sessions[index]
        session.get(url, timeout=30).content  # noqa: B018 - warm the connection, unmeasured
        barrier.wait()
        own = latencies[index]
        while not stop.is_set():
            started = time.perf_counter()
            answer = session.get(url, timeout=30)
            body = answer.content
            own.append(time.perf_counter() - started)
            if answer.status_code != 200 or check.encode() not in body:
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return {"latencies": [x for own in latencies for x in own], "elapsed": time.perf_counter() - began,
            "errors": sum(errors)}


def summarise(runs: list[dict[str, object]], clients: int) -> dict[str, object]:
    merged = [x for r in runs for x in r["latencies"]]
    elapsed = sum(r["elapsed"] for r in runs)
    return {"clients": clients, "requests": len(merged), "errors": sum(r["errors"] for r in runs),
            "rps": round(len(merged) / elapsed, 1), "p50_ms": round(statistics.median(merged) * 1000, 1),
            "p99_ms": round(percentile(merged, 99) * 1000, 1), "max_ms": round(max(merged) * 1000, 1)}


def _median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def profile_in_process(tenant, user, service, requests_each: int = 40) -> dict[str, object]:
    """Both pages through Django's test client, one at a time: SQL queries counted, the time of
    the parts measured apart (no profiler distortion), then the top functions under cProfile."""
    import cProfile
    import pstats

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from portal.services import queries
    from portal.tenants.ies import ies_for_tenant

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    ies = ies_for_tenant(tenant, for_page=True)
    sync_key = f"service-list-sync:{tenant.pk}"
    parts = {
        "page": {
            "view": lambda: client.get("/services/"),
            "service_listing (mirror; IES list throttled)": lambda: queries.service_listing(tenant=tenant),
            "IES list of 1,000 + mirror compare (every 10 s)": lambda: (cache.delete(sync_key),
                                                                        queries.service_listing(tenant=tenant)),
        },
        "detail": {
            "view": lambda: client.get(f"/services/{service.ies_service_id}/"),
            "queries.service_detail (IES ×2 + upsert + history)": lambda: queries.service_detail(tenant=tenant,
                                                                                                 service=service),
            "IES get_service + list_operations": lambda: (ies.get_service(service.ies_service_id),
                                                          ies.list_operations(service.ies_service_id)),
        },
    }
    out: dict[str, object] = {}
    for name, steps in parts.items():
        steps["view"]()  # warm
        counted = []

        def count(execute, sql, params, many, context, counted=counted):
            counted.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            assert steps["view"]().status_code == 200
        cache.set(sync_key, 1, 60)  # the list's throttle: IES was asked a moment ago
        timings = {label: _median_ms(fn, requests_each) for label, fn in steps.items()}
        cache.set(sync_key, 1, 60)
        profiler = cProfile.Profile()
        for _ in range(requests_each):
            profiler.enable()
            steps["view"]()
            profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(
            r"portal|ies_client|django/template/base|requests/sessions|django/db/backends/utils", 16)
        writes = [q for q in counted if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
        out[name] = {"queries": len(counted), "writes": len(writes), "timings_ms": timings,
                     "top": _top_lines(text.getvalue())}
    return out


def _top_lines(report: str) -> list[str]:
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return [line.rstrip() for line in lines[start:start + 19] if line.strip()]


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    try:
        stack.start_redis()
        sim = stack.start_simulator(600)
        stack.prepare_database()
        tenant_name = f"bench_pages_{int(time.time())}"
        tenant, user = stack.portal_tenant(tenant_name, "benchpages")
        created = sim.bulk_services(tenant_name, SERVICES)
        assert created == SERVICES, created

        from portal.services.mirror import service_mirror_sync
        from portal.services.models import Service

        started = time.perf_counter()
        service_mirror_sync(tenant=tenant)  # what the background sync does: list + every detail
        warm_s = time.perf_counter() - started
        assert Service.objects.filter(tenant=tenant, gone_at__isnull=True).count() == SERVICES
        one = Service.objects.filter(tenant=tenant).order_by("name")[SERVICES // 2]

        web = stack.start_web(workers=2, threads=args.threads)
        sessions = [logged_in_session(web, "benchpages") for _ in range(args.clients)]
        bare = []
        for _ in range(args.clients):
            session = requests.Session()
            session.headers.update(sim.headers(tenant_name))
            bare.append(session)
        variants = {
            "page": (sessions, f"{web}/services/", "1000 services"),
            "bare": (bare, sim.url("/servicemanager/v1/services"), '"services"'),
            "detail": (sessions, f"{web}/services/{one.ies_service_id}/", one.name),
        }
        runs: dict[str, list] = {name: [] for name in variants}
        single: dict[str, list] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, (pool, url, check) in variants.items():
                runs[name].append(run_phase(pool, url, args.seconds, check))
            for name, (pool, url, check) in variants.items():
                single[name].append(run_phase(pool[:1], url, args.seconds / 2, check))
        bare_body = len(bare[0].get(sim.url("/servicemanager/v1/services"), timeout=30).content)
        page_body = len(sessions[0].get(f"{web}/services/", timeout=30).content)
        figures: dict[str, object] = {
            "machine": machine(),
            "database": stack.database,
            "services": SERVICES,
            "gunicorn_workers": 2,
            "gunicorn_threads": args.threads,
            "load_average": os.getloadavg(),
            "warm_mirror_s": round(warm_s, 2),
            "bytes": {"page": page_body, "bare": bare_body},
            "concurrent": {name: summarise(r, args.clients) for name, r in runs.items()},
            "single": {name: summarise(r, 1) for name, r in single.items()},
        }
        if args.profile:
            figures["profile"] = profile_in_process(tenant, user, one)
        return figures
    finally:
        stack.stop()


def verdicts(f: dict) -> dict[str, bool]:
    c = f["concurrent"]
    return {
        f"page_p50<={TARGETS['page_p50_ms']:.0f}ms": c["page"]["p50_ms"] <= TARGETS["page_p50_ms"],
        f"page_p50<={TARGETS['page_vs_bare']:.0f}x_bare": c["page"]["p50_ms"] <= TARGETS["page_vs_bare"] * c["bare"]["p50_ms"],
        f"detail_p50<={TARGETS['detail_p50_ms']:.0f}ms": c["detail"]["p50_ms"] <= TARGETS["detail_p50_ms"],
    }


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"Service pages: a tenant with {f['services']} services; gunicorn {f['gunicorn_workers']} workers "
          f"× {f['gunicorn_threads']} thread(s), "
          f"{f['database']}, DEBUG off")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']})")
    print(f"warming the mirror (list + 1,000 details) took {f['warm_mirror_s']} s; body sizes: page "
          f"{f['bytes']['page']} B, IES list {f['bytes']['bare']} B")
    labels = {"page": "GET /services/ (portal list page)", "bare": "GET IES /services (bare, 1,000)",
              "detail": "GET /services/<id>/ (detail page)"}
    print(f"{'variant':<38}{'clients':>8}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>7}")
    for group in ("concurrent", "single"):
        for name, row in f[group].items():
            print(f"{labels[name]:<38}{row['clients']:>8}{row['requests']:>9}{row['rps']:>8}{row['p50_ms']:>9}"
                  f"{row['p99_ms']:>9}{row['max_ms']:>9}{row['errors']:>7}")
    c = f["concurrent"]
    print(f"page p50 / bare p50 = {c['page']['p50_ms'] / c['bare']['p50_ms']:.2f}x")
    for name, prof in f.get("profile", {}).items():
        print(f"-- {name}, in process, one request at a time: {prof['queries']} SQL queries ({prof['writes']} writes)")
        for label, ms in prof["timings_ms"].items():
            print(f"   {label:<58}{ms:>8} ms (p50)")
        print("   top functions under cProfile (cumulative):")
        for line in prof.pop("top"):
            print("   " + line)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per variant and round (8 clients)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker (1: sync workers, as specified; >1: gthread)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        figures = run(args, tmp)
    finally:
        if args.keep:
            print(f"files kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    figures["targets"] = verdicts(figures)
    print_table(figures)
    print(json.dumps(figures, separators=(",", ":"), default=str))


if __name__ == "__main__":
    main()
