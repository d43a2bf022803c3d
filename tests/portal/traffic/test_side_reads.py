"""The chart's side reads (the operation log, the definition's bounds): bounded while IES is slow,
and run with the request's id. Against the live simulator, made slow with its own fault switches."""

import threading
import time

import pytest

from portal.observability import request_id
from portal.services.models import Service
from portal.tenants.ies import ies_for_tenant
from portal.traffic import ranges, selectors
from tests.portal.traffic.conftest import USER1_CONNECTION
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def user1_chart(**kwargs):
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)
    now = int(time.time())
    trange = ranges.parse({"range": "1h", "start": "", "end": "", "timedim": "", "indicator": ""}, now=now)
    return selectors.chart_for_connection(tenant=service.tenant, service=service, trange=trange, width=500,
                                          now=now, **kwargs)


@pytest.fixture
def slow_side_reads(sim):
    """IES answers the operation logs and the service definitions 4 s late (within the pages' read
    timeout: slow, not failing); the traffic statistics at once."""
    for prefix in ("/rest/servicemanager/v1/services/", "/rest/catalog/v1/servicedefs"):
        sim.add_fault(kind="hang", seconds=4, prefix=prefix)
    yield
    sim.clear_faults()
    # The reads still hanging end before the next test (they hold the shared pool).
    wait_until(lambda: selectors.side_reads_pending() == 0, 30, what="the side reads to end")


def test_side_reads_do_not_pile_up_while_ies_is_slow(mirrored, slow_side_reads, monkeypatch):
    """Charts opened one after another while the side reads hang: each is drawn without waiting
    for them, and what waits in the shared pool stays bounded (before: two more per chart)."""
    monkeypatch.setattr(selectors, "SIDE_READS_GRACE_S", 0.05)
    for _ in range(12):
        chart = user1_chart()
        assert not chart.empty and chart.steps
    pool = selectors._side_executor()
    assert pool._work_queue.qsize() <= selectors.SIDE_READS_MAX_PENDING - selectors.SIDE_WORKERS
    assert selectors.side_reads_pending() <= selectors.SIDE_READS_MAX_PENDING


def test_side_reads_carry_the_request_id(mirrored, monkeypatch):
    """The log lines of a side read (an IES call failing, say) carry the id of the page's request."""
    seen: list[tuple[str, str | None]] = []
    service = Service.objects.get(cloud_vpn_name=USER1_CONNECTION)

    def client_factory():
        seen.append((threading.current_thread().name, request_id.current.get()))
        return ies_for_tenant(service.tenant, for_page=True)

    monkeypatch.setattr(selectors, "SIDE_READS_GRACE_S", 5.0)  # the read is waited for, not left running
    token = request_id.current.set("req-side-read-1")
    try:
        user1_chart(client_factory=client_factory)
    finally:
        request_id.current.reset(token)
    side = [rid for name, rid in seen if name.startswith("ies-traffic-side")]
    assert side, seen
    assert side == ["req-side-read-1"] * len(side)
