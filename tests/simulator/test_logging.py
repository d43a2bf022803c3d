"""One log line per request, and never a secret in it."""

from __future__ import annotations

import re

from tests.fixtures_simulator import SimulatorHandle

from .helpers import SERVICES

LINE = re.compile(r"^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/\S*) (\d{3}|drop) \d+\.\dms$")


def test_it_logs_one_line_per_request_without_secrets(sim: SimulatorHandle) -> None:
    marker = "/servicemanager/v1/services/LOGMARKERLOGMARKER0000"
    sim.call("GET", marker, "nbitest_13")
    sim.call("GET", f"{SERVICES}?password=hunter2", "nbitest_13")
    sim.call("GET", SERVICES, None, headers={"X-Auth-Token": "MIIEnot-a-real-token"})
    log = sim.log()
    lines = [line for line in log.splitlines() if line.startswith(("GET ", "POST ", "PUT ", "DELETE "))]
    assert f"GET /rest{marker} 404" in "\n".join(lines)
    for line in lines:
        assert LINE.match(line), line
    assert "hunter2" not in log and "password" not in log and "MIIEnot-a-real-token" not in log
    for tenant in sim.tenants.values():
        assert tenant["token"] not in log and tenant["bearer"] not in log
    assert "IES simulator listening on http://127.0.0.1:" in log
