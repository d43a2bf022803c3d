"""State lives in the SQLite file: a restart loses nothing, and operations end on time anyway."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ies_client.simulator.operations import duration_ms
from tests.fixtures_simulator import SimulatorHandle, start_simulator

from .helpers import SERVICES, create, operation, service, unique, wait_done

# Stops and starts the simulator process: `slow`, left out of `make test-fast`.
pytestmark = pytest.mark.slow

TRAFFIC = ("/cloudvpnwatch/v1/traffic/connections/0S2DC201705071132/bandwidth-utilization"
           "?starttime=1494000000&endtime=1494600000&timedim=hour&direction=inbound&indicator=avg")


def test_an_operation_finishes_on_time_while_the_simulator_is_down(sim: SimulatorHandle) -> None:
    tenant = unique("rs_")
    sim.new_tenant(tenant)
    tokens = dict(sim.tenants)
    before = sim.call("GET", TRAFFIC, "nbitest_12").content
    service_id, operation_id = create(sim, tenant)
    sim.stop()
    time.sleep(1.3)  # a create at time scale 600 takes 0.9-1.1 s
    restarted_at = time.time() * 1000
    sim.start()
    assert sim.tenants == tokens  # same tokens after a restart
    op = operation(sim, tenant, service_id, operation_id)
    assert op is not None and op["progress"] == "done" and op["result"] == "success"
    assert op["finished_at"] == op["operate_at"] + duration_ms("Create", operation_id, 600)
    assert op["finished_at"] < restarted_at
    assert service(sim, tenant, service_id)["status"] == "Completed"
    assert sim.call("GET", TRAFFIC, "nbitest_12").content == before


def test_an_operation_survives_a_restart_mid_way(tmp_path: Path) -> None:
    # A create takes 9-11 s at time scale 60: long enough for a stop and a start on a busy machine
    # (at 200, 2.7-3.3 s, the restart sometimes came after the end).
    with start_simulator(tmp_path, time_scale=60) as own:
        tenant = unique("rs_")
        own.new_tenant(tenant)
        service_id, operation_id = create(own, tenant)
        own.stop()
        own.start()
        op = operation(own, tenant, service_id, operation_id)
        assert op is not None and op["progress"] == "inprogress"
        assert service(own, tenant, service_id)["status"] == "CreateInProgress"
        done = wait_done(own, tenant, service_id, operation_id, timeout=30)
        assert done["finished_at"] == done["operate_at"] + duration_ms("Create", operation_id, 60)
        listed = own.call("GET", SERVICES, tenant).json()["services"]
        assert [s["status"] for s in listed] == ["Completed"]
