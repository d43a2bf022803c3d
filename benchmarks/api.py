"""Benchmark of the REST API's service reads (issue 16): GET /api/v1/services?limit=50 for a tenant
with 1,000 services (--services N), next to the bare IES list call, and GET /api/v1/services/<id>.

Both endpoints read the portal's service mirror (portal/api/endpoints/services.py): the list may ask
for a background refresh of a list older than 30 s (`services.sync_tenant`, throttled), the one
service none. An API GET never calls IES.

It is `benchmarks/pages.py` with API clients instead of browsers, and reuses its parts (and, through
it, `benchmarks/tracking.py`'s `Stack`): in a temporary folder (PORTAL_RUN_DIR) the IES simulator, an
embedded Redis, a SQLite database (or, with DATABASE_URL set, a new database on that PostgreSQL
server, dropped at the end) and gunicorn as production runs it (`--config gunicorn.conf.py`), DEBUG
off, no Celery worker and no beat: a refresh the list asks for stays queued, so every IES request
the simulator logs while the API is being asked was made inside an API request. Hence the target
`ies_requests_per_get==0`, counted at the simulator's own request log.

Tokens and the rate limit: each client thread sends its own token (`token_create`, scope `read`),
as separate scripts would, and the portal it starts runs with API_RATE_PER_SECOND=100000 and
API_RATE_BURST=100000 in its environment. One client asks 50–150 requests a second here, far beyond
the default 10 a second (bursts of 50) per token, and a 429 answers in a fraction of the time a
page of services takes: throttled, the benchmark would time the refusal. With the limit raised, the
limiter still runs on every request (its Redis script, its cost included in the figures), it just
never refuses. The rate limit itself is measured by the tests, not here.

It makes a simulator tenant with N Site2DC services (`POST /rest/_sim/services/bulk`), the portal
Tenant, a member and the clients' tokens; warms the mirror with the list task's own function;
gathers the planner's statistics (ANALYZE; VACUUM ANALYZE on PostgreSQL). Then, in interleaved
rounds (the machine's noise hits every variant alike), each variant is asked by 8 threads (each with
its own keep-alive `requests.Session` and token) for a fixed time, and once more by 1 client:

- api-list: GET /api/v1/services?limit=50  (50 of N from the mirror, the count, running operations)
- bare:     GET /rest/servicemanager/v1/services  (IES's list of N, the tenant's IES token)
- api-get:  GET /api/v1/services/<id>  (one service from the mirror and its running operation)

Finally, in process (Django's test client, one GET at a time), it counts each endpoint's SQL queries
(and writes) and, unless --no-profile, times the endpoint and its parts apart, then shows the top
functions under cProfile.

Targets (issue 16; the JSON's `targets`): 8 clients: api-list p50 ≤ 100 ms and ≤ 1.5× the bare IES
call's p50 (judged with 1 client too), api-get p50 ≤ 30 ms; no IES request in an API GET. The SQL
queries are reported, not judged.

Prints a table, then as the LAST line one JSON object with the figures. About 1–2 minutes.

    .venv/bin/python benchmarks/api.py [--services 1000] [--seconds 4] [--rounds 3] [--clients 8]
                                       [--threads N] [--no-profile] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pages import (  # noqa: E402
    IESRequestLog,
    _is_write,
    _median_ms,
    _top_lines,
    production_gunicorn,
    queued_tasks,
    run_counted,
    start_web_as_production,
    summarise,
)
from benchmarks.startup import drop_database, fresh_database  # noqa: E402
from benchmarks.tracking import Stack, machine, run_and_report  # noqa: E402

SERVICES = 1000
PAGE = 50
TARGETS = {"list_p50_ms": 100.0, "list_vs_bare": 1.5, "get_p50_ms": 30.0}
# Far beyond what the clients ask: the limiter runs, never refuses (see the docstring).
UNTHROTTLED = {"API_RATE_PER_SECOND": "100000", "API_RATE_BURST": "100000"}
API_VARIANTS = ("api-list", "api-get")
LABELS = {"api-list": "GET /api/v1/services?limit=50", "bare": "GET IES /services (bare)",
          "api-get": "GET /api/v1/services/<id>"}


def bench_database(stack: Stack) -> str | None:
    """With DATABASE_URL set: a new database on its server for this run (its name returned, to drop)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return None
    name = f"{urlsplit(base).path.strip('/') or 'bench'}_{os.getpid()}_{secrets.token_hex(3)}"
    stack.env["DATABASE_URL"] = fresh_database(base, name)
    stack.database = "PostgreSQL (a new database for the run)"
    return name


def api_clients(tenant, user, count: int) -> list[tuple[object, str]]:
    """`count` read tokens of the member, made the way the tokens page makes them: (row, secret)."""
    from django.utils import timezone

    from portal.api.services import token_create
    from portal.tenants.models import Membership

    membership = Membership.objects.get(user=user, tenant=tenant)
    expires = timezone.now() + timedelta(days=1)
    return [token_create(membership=membership, name=f"bench client {n}", scopes=["read"], expires_at=expires)
            for n in range(count)]


def bearer_session(secret: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret}"
    return session


def in_process(tenant, service, secret: str, count: int, ies_log: IESRequestLog, *, timed: bool,
               repeat: int = 40) -> dict[str, object]:
    """Each endpoint through Django's test client: one GET's SQL queries (after a first, uncounted GET:
    a token's first use records it, at most once a minute), the IES requests of them all, and with
    `timed` the endpoint and its parts timed apart, then the top functions under cProfile."""
    from django.db import connection
    from django.test import Client

    from portal.api import ratelimit
    from portal.api.present import SERVICE_COLUMNS, json_data, service_out, service_row
    from portal.api.selectors import token_for_secret
    from portal.services.models import Service
    from portal.services.queries import filtered_services

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
    rows = list(filtered_services(tenant=tenant).values(*SERVICE_COLUMNS)[:PAGE])

    def page_of(rows: list[dict]) -> dict:
        # As the endpoint builds it: plain data from the rows' values, encoded once.
        return {"count": count, "limit": PAGE, "offset": 0, "next": None, "as_of": None,
                "items": [service_row(r) for r in rows]}

    page = page_of(rows)
    plan = {
        "api-list": (f"/api/v1/services?limit={PAGE}", {
            "token_for_secret (token, user, tenant, role)": lambda: token_for_secret(secret),
            "ratelimit.take (Redis script)": lambda: ratelimit.take("bench:profile"),
            "filtered_services: count + 50 rows' values": lambda: (
                filtered_services(tenant=tenant).count(),
                list(filtered_services(tenant=tenant).values(*SERVICE_COLUMNS)[:PAGE])),
            "50 × service_row (the page as data)": lambda: page_of(rows),
            "the page as JSON (json_data)": lambda: json_data(page),
        }),
        "api-get": (f"/api/v1/services/{service.ies_service_id}", {
            "token_for_secret (token, user, tenant, role)": lambda: token_for_secret(secret),
            "the service by tenant and id": lambda: Service.objects.filter(
                tenant=tenant, ies_service_id=service.ies_service_id).first(),
            "service_out + JSON (ninja's renderer)": lambda: json_data(service_out(service).model_dump()),
        }),
    }
    out: dict[str, object] = {}
    for name, (path, parts) in plan.items():
        mark = ies_log.mark()
        first = client.get(path)
        assert first.status_code == 200, (path, first.status_code, first.content[:300])
        seen: list[str] = []

        def note(execute, sql, params, many, context, seen=seen):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(note):
            assert client.get(path).status_code == 200
        figures: dict[str, object] = {"queries": len(seen), "writes": sum(map(_is_write, seen)),
                                      "sql": [" ".join(q.split())[:120] for q in seen]}
        gets = 2
        if timed:
            timings = {"the endpoint (test client)": _median_ms(lambda p=path: client.get(p), repeat)}
            timings.update({label: _median_ms(fn, repeat) for label, fn in parts.items()})
            figures["timings_ms"] = timings
            profile = cProfile.Profile()
            for _ in range(repeat):
                profile.runcall(client.get, path)
            report = io.StringIO()
            pstats.Stats(profile, stream=report).sort_stats("cumulative").print_stats(
                r"portal|ninja|pydantic|django/db/backends/utils|django/core/handlers|redis", 18)
            figures["top"] = _top_lines(report.getvalue())
            gets += 2 * repeat
        figures["gets"] = gets
        figures["ies_requests"] = ies_log.since(mark)
        out[name] = figures
    return out


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    stack = Stack(tmp)
    stack.env.update(UNTHROTTLED)
    database = None
    try:
        database = bench_database(stack)
        stack.start_redis()
        sim = stack.start_simulator(600)
        ies_log = IESRequestLog(sim.log_path)
        stack.prepare_database()
        tenant_name = f"bench_api_{int(time.time())}"
        tenant, user = stack.portal_tenant(tenant_name, "benchapi")
        assert sim.bulk_services(tenant_name, args.services) == args.services

        from django.db import connection

        from portal.services.models import Service
        from portal.services.tasks import sync_tenant_services

        began = time.perf_counter()
        sync_tenant_services(tenant.pk)  # the list task's own function: no worker runs here
        warm_s = round(time.perf_counter() - began, 2)
        live = Service.objects.filter(tenant=tenant, gone_at__isnull=True).order_by("name")
        assert live.count() == args.services
        one = live[args.services // 2]
        with connection.cursor() as cursor:  # planner statistics, as a running deployment has them
            cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
        tokens = api_clients(tenant, user, args.clients)

        web = start_web_as_production(stack, args.workers, args.threads)
        api = [bearer_session(secret) for _token, secret in tokens]
        listed = api[0].get(f"{web}/api/v1/services?limit={PAGE}", timeout=30)
        assert listed.status_code == 200, (listed.status_code, listed.text[:300])
        assert listed.json()["count"] == args.services and len(listed.json()["items"]) == PAGE
        bare = []
        for _ in range(args.clients):
            session = requests.Session()
            session.headers.update(sim.headers(tenant_name))
            bare.append(session)
        bare_url = sim.url("/servicemanager/v1/services")
        variants = {
            "api-list": (api, f"{web}/api/v1/services?limit={PAGE}", '"items"'),
            "bare": (bare, bare_url, '"services"'),
            "api-get": (api, f"{web}/api/v1/services/{one.ies_service_id}", one.ies_service_id),
        }
        concurrent: dict[str, list] = {name: [] for name in variants}
        single: dict[str, list] = {name: [] for name in variants}
        for _round in range(args.rounds):
            for phase, clients, seconds in ((concurrent, args.clients, args.seconds), (single, 1, args.seconds / 2)):
                for name, (pool, url, check) in variants.items():
                    phase[name].append(run_counted(ies_log, pool[:clients], url, seconds, check))
        sizes = {"api-list": len(listed.content), "bare": len(bare[0].get(bare_url, timeout=30).content),
                 "api-get": len(api[0].get(variants["api-get"][1], timeout=30).content)}
        figures: dict[str, object] = {
            "machine": machine(),
            "database": stack.database,
            "database_vendor": connection.vendor,
            "services": args.services,
            "gunicorn_worker_class": args.worker_class,
            "gunicorn_workers": args.workers,
            "gunicorn_threads": args.threads,
            "celery_worker": False,
            "rate_limit_env": UNTHROTTLED,
            "tokens": len(tokens),
            "warm_mirror_s": warm_s,
            "bytes": sizes,
            "concurrent": {name: summarise(r, args.clients) for name, r in concurrent.items()},
            "single": {name: summarise(r, 1) for name, r in single.items()},
            "queued_after_http": queued_tasks(stack.redis_url, stack.env["CELERY_QUEUE"]),
        }
        figures["in_process"] = in_process(tenant, one, tokens[0][1], args.services, ies_log, timed=args.profile)
        figures["load_average"] = os.getloadavg()
        return figures
    finally:
        stack.stop()
        if database is not None:
            from django.db import connections

            connections.close_all()
            drop_database(os.environ["DATABASE_URL"], database)


def ies_per_api_get(f: dict) -> dict[str, float]:
    """IES requests per API GET over both phases, and in process."""
    out = {}
    for name in API_VARIANTS:
        rows = [f["concurrent"][name], f["single"][name], f["in_process"][name]]
        out[name] = round(sum(r["ies_requests"] for r in rows) / sum(r["gets"] for r in rows), 3)
    return out


def verdicts(f: dict) -> dict[str, bool]:
    c, one = f["concurrent"], f["single"]
    ratio = TARGETS["list_vs_bare"]
    return {
        f"api_list_p50<={TARGETS['list_p50_ms']:.0f}ms": c["api-list"]["p50_ms"] <= TARGETS["list_p50_ms"],
        f"api_list_p50<={ratio}x_bare": c["api-list"]["p50_ms"] <= ratio * c["bare"]["p50_ms"],
        f"api_list_p50<={ratio}x_bare_1_client": one["api-list"]["p50_ms"] <= ratio * one["bare"]["p50_ms"],
        f"api_get_p50<={TARGETS['get_p50_ms']:.0f}ms": c["api-get"]["p50_ms"] <= TARGETS["get_p50_ms"],
        # No worker runs: a refresh the list asks for stays queued, so any IES request is the API's own.
        "ies_requests_per_get==0": all(v == 0 for v in f["ies_per_api_get"].values()),
        # A 429 or any other failure would be timed as if it were an answer.
        "no_errors": all(f[group][name]["errors"] == 0 for group in ("concurrent", "single") for name in API_VARIANTS),
    }


def print_table(f: dict) -> None:
    m = f["machine"]
    print(f"REST API, services: a tenant with {f['services']} services; gunicorn (gunicorn.conf.py) "
          f"{f['gunicorn_worker_class']}, {f['gunicorn_workers']} workers × {f['gunicorn_threads']} thread(s), "
          f"{f['database']}, DEBUG off; no Celery worker; a token per client, "
          f"API_RATE_PER_SECOND={f['rate_limit_env']['API_RATE_PER_SECOND']}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']})")
    sizes = f["bytes"]
    print(f"warming the mirror took {f['warm_mirror_s']} s; body sizes: list of {PAGE} {sizes['api-list']} B, "
          f"one service {sizes['api-get']} B, IES list {sizes['bare']} B")
    print(f"{'variant':<34}{'clients':>8}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'errors':>7}{'IES/GET':>9}")
    for group in ("concurrent", "single"):
        for name, row in f[group].items():
            print(f"{LABELS[name]:<34}{row['clients']:>8}{row['requests']:>9}{row['rps']:>8}{row['p50_ms']:>9}"
                  f"{row['p99_ms']:>9}{row['max_ms']:>9}{row['errors']:>7}{row['ies_per_get']:>9}")
    c, one = f["concurrent"], f["single"]
    print(f"api-list p50 / bare p50 = {c['api-list']['p50_ms'] / c['bare']['p50_ms']:.2f}x with "
          f"{c['api-list']['clients']} clients, {one['api-list']['p50_ms'] / one['bare']['p50_ms']:.2f}x with 1")
    per = f["ies_per_api_get"]
    print(f"IES requests per API GET (simulator's log): list {per['api-list']}, one service {per['api-get']}"
          f" (bare: {c['bare']['ies_per_get']}, the counter's check)")
    queued = ", ".join(f"{name} ×{n}" for name, n in sorted(f["queued_after_http"].items())) or "none"
    print(f"background refreshes the API queued (no worker runs them): {queued}")
    for name, prof in f["in_process"].items():
        print(f"-- {name}, in process, one GET: {prof['queries']} SQL queries ({prof['writes']} writes); "
              f"IES requests over {prof['gets']} GETs: {prof['ies_requests']}")
        for sql in prof["sql"]:
            print(f"   SQL {sql}")
        for label, ms in prof.get("timings_ms", {}).items():
            print(f"   {label:<56}{ms:>8} ms (p50)")
        for line in prof.pop("top", []):
            print("   " + line)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in f['load_average'])}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    conf = production_gunicorn()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=SERVICES, help=f"the tenant's services (default {SERVICES})")
    parser.add_argument("--seconds", type=float, default=4.0, help="per variant and round (8 clients; 1 client: half)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=conf["threads"],
                        help=f"gunicorn threads per worker (default: gunicorn.conf.py's, {conf['threads']})")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the in-process timings and cProfile (queries are counted still)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    args.workers, args.worker_class = conf["workers"], conf["worker_class"]
    run_and_report("bench-api-", args, run, verdicts, print_table, keep=args.keep,
                   finish=lambda figures: figures.update(ies_per_api_get=ies_per_api_get(figures)))


if __name__ == "__main__":
    main()
