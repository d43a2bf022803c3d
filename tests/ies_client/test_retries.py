"""Retries, observed through the simulator's faults: reads are retried, writes are never repeated."""

import time

import pytest

from ies_client.errors import IESUnavailable

from .conftest import SITE2DC_DEF, SITE2DC_TEMPLATE, site2dc_parameters, wait_done, wait_for

SITE2DC = (SITE2DC_DEF, SITE2DC_TEMPLATE, "Site2DCList")


def _retries_logged(caplog):
    return [r for r in caplog.records if r.name == "ies_client" and "retry" in r.getMessage()]


def test_a_get_succeeds_after_two_503s(sim, make_client, caplog):
    sim.add_fault(kind="error", status=503, count=2, methods=["GET"], prefix="/rest/servicemanager")
    with caplog.at_level("DEBUG", logger="ies_client"):
        services = make_client("nbitest_12", retries=3).list_services()
    assert services
    assert len(_retries_logged(caplog)) == 2
    assert sim.faults() == []  # both 503s were used up: two attempts failed, the third succeeded


def test_a_get_with_fewer_retries_than_failures_gives_up(sim, make_client):
    sim.add_fault(kind="error", status=503, count=2, methods=["GET"], prefix="/rest/servicemanager")
    with pytest.raises(IESUnavailable):
        make_client("nbitest_12", retries=1).list_services()


def test_a_get_is_retried_after_a_dropped_connection_and_a_timeout(sim, make_client):
    sim.add_fault(kind="drop", count=1, methods=["GET"], prefix="/rest/catalog")
    sim.add_fault(kind="hang", seconds=1.0, count=1, methods=["GET"], prefix="/rest/catalog")
    defs = make_client(read_timeout=0.4, retries=3).list_service_definitions()
    assert len(defs) == 3


def test_a_post_that_times_out_is_not_repeated_and_may_have_been_applied(sim, make_client, fresh_tenant):
    client = make_client(fresh_tenant, read_timeout=0.5, retries=3)
    # Room for two POSTs: a retry would consume the second one (and hang too).
    hang = sim.add_fault(kind="hang", seconds=2.0, count=2, methods=["POST"], prefix="/rest/servicemanager/v1/services")
    with pytest.raises(IESUnavailable) as info:
        client.create_service(name="hung_ct", definition=SITE2DC, parameters=site2dc_parameters())
    left = {rule["id"]: rule["count"] for rule in sim.faults()}
    assert left.get(hang) == 1, f"one POST, given up after its read timeout, no retry (hang rule left: {left})"
    sim.remove_fault(hang)
    assert info.value.maybe_applied and info.value.method == "POST"
    # After the hang IES did create it: exactly once. The portal reconciles by name.
    found = wait_for(lambda: client.find_services_by_name("hung_ct"), timeout=10)
    time.sleep(1.0)  # a repeated POST would have landed by now
    assert len(client.find_services_by_name("hung_ct")) == len(found) == 1
    assert len(client.list_services()) == 1
    assert len(client.list_operations(found[0].service_id)) >= 1


def test_a_post_answered_503_is_not_repeated(sim, make_client, fresh_tenant):
    client = make_client(fresh_tenant, retries=3)
    sim.add_fault(kind="error", status=503, count=2, methods=["POST"], prefix="/rest/servicemanager")
    with pytest.raises(IESUnavailable) as info:
        client.create_service(name="x_ct", definition=SITE2DC, parameters=site2dc_parameters())
    assert info.value.status == 503 and not info.value.maybe_applied
    # One of the two 503s is still unused: the client sent the POST once.
    ref = None
    with pytest.raises(IESUnavailable):
        ref = client.create_service(name="x_ct", definition=SITE2DC, parameters=site2dc_parameters())
    assert ref is None
    ref = client.create_service(name="x_ct", definition=SITE2DC, parameters=site2dc_parameters())
    assert wait_done(client, ref, "Create").succeeded
    assert len(client.list_services()) == 1


def test_a_post_on_a_dropped_connection_is_not_repeated(sim, make_client, fresh_tenant):
    client = make_client(fresh_tenant, retries=3)
    sim.add_fault(kind="drop", count=1, methods=["POST"], prefix="/rest/servicemanager")
    with pytest.raises(IESUnavailable) as info:
        client.create_service(name="x_ct", definition=SITE2DC, parameters=site2dc_parameters())
    assert info.value.maybe_applied
    assert client.list_services() == []  # the simulator dropped it before acting on it


def test_a_post_to_a_closed_port_is_retried_because_it_was_never_sent(caplog):
    from ies_client.client import IESClient
    from ies_client.models import IESCredentials

    client = IESClient("http://127.0.0.1:9/rest", IESCredentials("MIIE" + "t" * 40, "b" * 36), retries=2,
                       backoff=0.01, connect_timeout=0.5)
    with caplog.at_level("DEBUG", logger="ies_client"), pytest.raises(IESUnavailable) as info:
        client.create_service(name="x", definition=SITE2DC, parameters={"CloudVpnName": "c", "Bandwidth": "1000"})
    assert not info.value.maybe_applied
    assert len(_retries_logged(caplog)) == 2


def test_retry_delays_use_full_jitter_within_the_cap():
    from ies_client.models import IESCredentials
    from ies_client.transport import MAX_BACKOFF_S, Transport, new_session

    t = Transport("http://127.0.0.1:9/rest", IESCredentials("MIIE" + "t" * 40, "b" * 36), session=new_session(True),
                  connect_timeout=1, read_timeout=1, retries=10, backoff=0.2)
    for attempt in range(10):
        delays = [t._delay(attempt, None) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= min(MAX_BACKOFF_S, 0.2 * 2**attempt)
    assert max(t._delay(2, None) for _ in range(200)) > 0.4  # the range grows with the attempt
