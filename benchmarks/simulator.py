"""Benchmark of the IES simulator: throughput and latency of its hot calls, 4 concurrent clients.

Starts its own simulator subprocess (a fresh data file in a temporary directory), bulk-creates
1,000 services for a fresh tenant, then for each call runs 4 threads, each with its own
keep-alive ``requests.Session``, for a fixed time. Prints a table, then as the LAST line one JSON
object with the figures. Runs in well under 60 s.

    .venv/bin/python benchmarks/simulator.py
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
CLIENTS = 4
PHASE_SECONDS = 5.0
DECK_QUERY = ("/cloudvpnwatch/v1/traffic/connections/VPNS2S201705061433/traffic-rate"
              "?starttime=1493367320&endtime=1495058150&timedim=minute&direction=outbound&indicator=max")
# The deck's query covers 20 days, of which the connection existed 11 (created May 6, 2017); this
# one covers 20 full days of its life: 28,800 points.
FULL_20_DAYS = ("/cloudvpnwatch/v1/traffic/connections/VPNS2S201705061433/traffic-rate"
                "?starttime=1494115200&endtime=1495843200&timedim=minute&direction=outbound&indicator=max")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IES_SIM_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [sys.executable, "-m", "ies_client.simulator", "--port", str(port), "--data", str(data)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/rest/openapi.json", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the simulator did not start")


def run_phase(url: str, headers: dict[str, str], seconds: float, clients: int) -> dict[str, float]:
    """``clients`` threads request ``url`` for ``seconds``; throughput and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    points = [0]
    stop = threading.Event()
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            answer = session.get(url, timeout=30)  # warm the connection up, unmeasured
            if "points" in answer.text[:400]:
                points[0] = len(answer.json()["points"])
            barrier.wait()
            own = latencies[index]
            while not stop.is_set():
                started = time.perf_counter()
                answer = session.get(url, timeout=30)
                answer.content  # noqa: B018 - read the whole body inside the measurement
                own.append(time.perf_counter() - started)
                if answer.status_code != 200:
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
    elapsed = time.perf_counter() - began
    merged = sorted(x for own in latencies for x in own)
    return {
        "requests": len(merged),
        "errors": sum(errors),
        "rps": round(len(merged) / elapsed, 1),
        "p50_ms": round(statistics.median(merged) * 1000, 2),
        "p99_ms": round(merged[min(len(merged) - 1, int(len(merged) * 0.99))] * 1000, 2),
        "points": points[0],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        process = start(Path(tmp) / "bench.sqlite3", port)
        try:
            figures = measure(f"http://127.0.0.1:{port}/rest")
        finally:
            process.terminate()
            process.wait(10)
    print_table(figures)
    print(json.dumps(figures, separators=(",", ":")))


def measure(base: str) -> dict[str, object]:
    admin = requests.Session()
    tenant = admin.post(f"{base}/_sim/tenants", json={"name": f"bench_{os.getpid()}"}, timeout=10).json()
    started = time.perf_counter()
    admin.post(f"{base}/_sim/services/bulk", json={"tenant": tenant["name"], "count": 1000}, timeout=60)
    bulk_seconds = time.perf_counter() - started
    headers = {"X-Auth-Token": tenant["token"], "Authorization": f"Bearer {tenant['bearer']}"}
    services = admin.get(f"{base}/servicemanager/v1/services", headers=headers, timeout=30).json()["services"]
    assert len(services) == 1000
    one = services[500]["service_id"]
    preset = {t["name"]: t for t in admin.get(f"{base}/_sim/tenants", timeout=10).json()["tenants"]}["nbitest_11"]
    preset_headers = {"X-Auth-Token": preset["token"], "Authorization": f"Bearer {preset['bearer']}"}

    phases: list[tuple[str, str, dict[str, str], int]] = [
        ("GET /services/{id}", f"{base}/servicemanager/v1/services/{one}", headers, CLIENTS),
        ("GET /services (1,000)", f"{base}/servicemanager/v1/services", headers, CLIENTS),
        ("traffic: deck's query", base + DECK_QUERY, preset_headers, CLIENTS),
        ("traffic: 20 full days", base + FULL_20_DAYS, preset_headers, CLIENTS),
        ("traffic: deck's query, 1 client", base + DECK_QUERY, preset_headers, 1),
    ]
    results: dict[str, object] = {}
    def run(url: str, h: dict[str, str], n: int) -> dict[str, float]:
        return (run_phase(url, h, PHASE_SECONDS, n))
    for name, url, phase_headers, clients in phases:
        results[name] = {"clients": clients, **run(url, phase_headers, clients)}
    return {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "bulk_create_1000_s": round(bulk_seconds, 3),
        "phases": results,
        "targets": {
            "service_get_rps>=500": results["GET /services/{id}"]["rps"] >= 500,  # type: ignore[index]
            "deck_query_p50_ms<=150": results["traffic: deck's query"]["p50_ms"] <= 150,  # type: ignore[index]
        },
    }


def print_table(figures: dict[str, object]) -> None:
    machine = figures["machine"]
    print(f"IES simulator benchmark: {machine['nproc']} CPUs, Python {machine['python']}"  # type: ignore[index]
          f" ({machine['platform']})")  # type: ignore[index]
    print(f"bulk-creating 1,000 services took {figures['bulk_create_1000_s']} s")
    print(f"{'call':<34}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'points':>9}{'errors':>8}")
    for name, row in figures["phases"].items():  # type: ignore[attr-defined]
        print(f"{name:<34}{row['clients']:>8}{row['rps']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}"
              f"{row['points'] or '':>9}{row['errors']:>8}")
    for target, met in figures["targets"].items():  # type: ignore[attr-defined]
        print(f"target {target}: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
