"""IES tokens never reach a log record or a page, whatever happens on the way."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_no_token_in_logs_or_pages(login, sim, simulator, caplog):
    secrets = [v for t in simulator.tenants.values() for v in (t["token"], t["bearer"])]
    caplog.set_level(logging.DEBUG)
    client = login("user1")
    pages = [client.get("/services/").text]
    sim.add_fault(kind="error", status=500, prefix="/rest/servicemanager")
    pages.append(client.get("/services/?refresh=1", follow=True).text)
    sim.clear_faults()
    sim.add_fault(kind="expire_token", tenant="nbitest_11")
    pages.append(client.get("/services/?refresh=1", follow=True).text)
    sim.clear_faults()
    sim.add_fault(kind="drop", prefix="/rest/servicemanager")
    pages.append(client.get("/services/?refresh=1", follow=True).text)
    assert caplog.records, "the flow above should have logged something"
    logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    for secret in secrets:
        assert secret not in logged
        assert secret[:40] not in logged
        for page in pages:
            assert secret not in page
