"""How much the IES client costs over bare ``requests``: GET one service, three ways, side by side.

    .venv/bin/python benchmarks/client.py [--requests 1500] [--budget 60]

Starts its own simulator (a subprocess on a free port, a throw-away data file), then times
``GET /rest/servicemanager/v1/services/{id}`` from one thread:

* ``IESClient.get_service``: the client (pooled session, auth hook, logging, JSON → ``Service``);
* ``requests.get``: a new connection for every request (what code without a session does);
* ``requests.Session``: a bare kept-alive session with the same headers, ``.json()`` on the answer.

The three are interleaved in rounds so that a drift of the machine (another process, CPU boost)
hurts them alike. Prints a table, then as the LAST line one JSON object with the figures. The whole
run is bounded by ``--budget`` seconds: when time runs short, fewer requests are made (and the JSON
says how many).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ies_client.client import IESClient  # noqa: E402
from ies_client.models import IESCredentials  # noqa: E402

TENANT = "nbitest_12"
SERVICE_ID = "9LbuAd11Qe-cuGnVONz6qw"  # the deck's preset Site2DC service of nbitest_12
ROUNDS = 30  # small interleaved batches: a burst of load elsewhere on the machine hits all three alike


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(tmp: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = tmp / "simulator.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ies_client.simulator", "--host", "127.0.0.1", "--port", str(port),
         "--data", str(tmp / "sim.sqlite3"), "--time-scale", "600"],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while b"listening" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the simulator did not start:\n" + log.read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}/rest", log


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return sorted_ms[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1500, help="requests per variant (default %(default)s)")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds for the whole run (default %(default)s)")
    args = ap.parse_args()
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmpdir:
        proc, base_url, _log = start_simulator(Path(tmpdir))
        try:
            tenants = requests.get(f"{base_url}/_sim/tenants", timeout=10).json()["tenants"]
            t = next(x for x in tenants if x["name"] == TENANT)
            creds = IESCredentials(t["token"], t["bearer"], t["tenant_id"])
            url = f"{base_url}/servicemanager/v1/services/{SERVICE_ID}"
            headers = {"X-Auth-Token": creds.token, "Authorization": f"Bearer {creds.bearer}",
                       "X-Tenant-Id": creds.tenant_id, "Accept": "application/json"}
            timeout = (3.05, 10.0)

            client = IESClient(base_url, creds)
            session = requests.Session()

            def via_client() -> None:
                client.get_service(SERVICE_ID)

            def via_requests_get() -> None:
                r = requests.get(url, headers=headers, timeout=timeout)
                r.raise_for_status()
                r.json()

            def via_session() -> None:
                r = session.get(url, headers=headers, timeout=timeout)
                r.raise_for_status()
                r.json()

            variants: dict[str, Callable[[], None]] = {
                "IESClient.get_service": via_client,
                "requests.Session (bare)": via_session,
                "requests.get (new connection)": via_requests_get,
            }
            for fn in variants.values():  # warm up: connections, imports, the simulator's caches
                for _ in range(30):
                    fn()

            samples: dict[str, list[float]] = {name: [] for name in variants}
            busy: dict[str, float] = dict.fromkeys(variants, 0.0)
            round_rps: dict[str, list[float]] = {name: [] for name in variants}
            per_round = max(1, args.requests // ROUNDS)
            # Leave a few seconds of the budget for start-up already spent and for shutting down.
            deadline = started + args.budget - 3
            for round_no in range(ROUNDS):
                names = list(variants)
                shift = round_no % len(names)
                order = names[shift:] + names[:shift]  # each variant goes first, middle and last in turn
                for name in order:
                    fn = variants[name]
                    t0 = time.perf_counter()
                    done = 0
                    for _ in range(per_round):
                        if time.monotonic() > deadline:
                            break
                        s = time.perf_counter()
                        fn()
                        samples[name].append((time.perf_counter() - s) * 1000)
                        done += 1
                    spent = time.perf_counter() - t0
                    busy[name] += spent
                    if done:
                        round_rps[name].append(done / spent)
            client.close()
            session.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    results = {}
    for name, ms in samples.items():
        ms_sorted = sorted(ms)
        results[name] = {
            "requests": len(ms),
            # The median of the rounds' throughputs: robust to a burst of load elsewhere on the
            # machine (a shared CI box), which the overall mean is not (it is reported too).
            "rps": round(statistics.median(round_rps[name]), 1) if round_rps[name] else 0.0,
            "rps_overall": round(len(ms) / busy[name], 1) if busy[name] else 0.0,
            "p50_ms": round(statistics.median(ms_sorted), 3) if ms_sorted else None,
            "p99_ms": round(percentile(ms_sorted, 0.99), 3),
        }
    client_rps = results["IESClient.get_service"]["rps"]
    session_rps = results["requests.Session (bare)"]["rps"]
    get_rps = results["requests.get (new connection)"]["rps"]

    print(f"GET /servicemanager/v1/services/{{id}} against the simulator, 1 client thread, "
          f"{ROUNDS} interleaved rounds")
    print(f"{'variant':<32}{'requests':>10}{'req/s':>10}{'(overall)':>11}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<32}{r['requests']:>10}{r['rps']:>10.1f}{r['rps_overall']:>11.1f}"
              f"{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}")
    print("req/s: median over the rounds; (overall): requests / total time")
    ratio = client_rps / session_rps if session_rps else 0.0
    print(f"client / bare session: {ratio:.2f}x   client / requests.get: "
          f"{client_rps / get_rps if get_rps else 0:.2f}x   (wall {time.monotonic() - started:.1f} s)")
    print(json.dumps({
        "benchmark": "ies_client.get_service",
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "results": results,
        "client_vs_session": round(ratio, 3),
        "client_vs_requests_get": round(client_rps / get_rps, 3) if get_rps else None,
        "within_10_percent_of_session": ratio >= 0.9,
        "wall_s": round(time.monotonic() - started, 1),
    }))


if __name__ == "__main__":
    main()
