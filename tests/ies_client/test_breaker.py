"""The circuit breaker per IES endpoint, against the live simulator and its fault switches.

"Reached IES" is counted at the simulator's own request log (one line per request it received), so
"failed fast without touching the network" is checked where it matters, not inferred.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from ies_client import breaker
from ies_client.breaker import MemoryStore, RedisStore
from ies_client.errors import IESCircuitOpen, IESConflict, IESNotFound, IESUnavailable
from ies_client.transport import RequestEvent, add_request_listener, remove_request_listener
from tests.fixtures_simulator import free_port

SERVICES = "/rest/servicemanager/v1/services"


def reached(sim, method: str, path: str) -> int:
    """How many requests for exactly ``method path`` the simulator has received so far."""
    return sum(1 for line in sim.log().splitlines() if line.startswith(f"{method} {path} "))


def wait_logged(sim, method: str, path: str, count: int, timeout: float = 5.0) -> None:
    """The simulator writes its log line after answering: wait until ``count`` lines are there."""
    deadline = time.monotonic() + timeout
    while reached(sim, method, path) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_it_opens_after_n_consecutive_failures_and_then_fails_without_a_request(sim, make_client):
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=0, breaker_failures=3)
    before = reached(sim, "GET", SERVICES)
    for _ in range(3):
        with pytest.raises(IESUnavailable) as caught:
            client.list_services()
        assert not isinstance(caught.value, IESCircuitOpen)
    wait_logged(sim, "GET", SERVICES, before + 3)
    for _ in range(5):
        with pytest.raises(IESCircuitOpen) as caught:
            client.list_services()
    assert caught.value.maybe_applied is False and caught.value.retry_after > 0
    time.sleep(0.2)  # a request that had gone out would be logged by now
    assert reached(sim, "GET", SERVICES) == before + 3


def test_timeouts_of_a_hanging_ies_open_it(sim, make_client):
    sim.add_fault(kind="hang", seconds=2.0, prefix="/rest/catalog", methods=["GET"])
    client = make_client("nbitest_12", read_timeout=0.3, retries=0, breaker_failures=2)
    for _ in range(2):
        with pytest.raises(IESUnavailable, match="did not answer in time"):
            client.list_service_definitions()
    with pytest.raises(IESCircuitOpen):
        client.list_service_definitions()
    # Another endpoint is another breaker: the service list still answers.
    assert client.list_services()


def test_a_404_or_a_401_is_an_answer_and_never_opens_it(sim, make_client):
    client = make_client("nbitest_12", retries=0, breaker_failures=2)
    before = reached(sim, "GET", f"{SERVICES}/nosuchservice")
    for _ in range(5):
        with pytest.raises(IESNotFound):
            client.get_service("nosuchservice")
    wait_logged(sim, "GET", f"{SERVICES}/nosuchservice", before + 5)
    assert reached(sim, "GET", f"{SERVICES}/nosuchservice") == before + 5
    rule = sim.add_fault(kind="expire_token", tenant="nbitest_12")
    for _ in range(4):
        with pytest.raises(Exception) as caught:
            client.list_services()
        assert not isinstance(caught.value, IESCircuitOpen)
    sim.remove_fault(rule)
    assert client.list_services()


def test_openos_500_that_means_busy_is_an_answer(sim, make_client):
    sim.add_fault(kind="error", status=500, exceptionId="servicemgr.service.status_inprogress",
                  prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=0, breaker_failures=2)
    for _ in range(4):
        with pytest.raises(IESConflict):
            client.list_services()


def test_a_retry_is_not_sent_into_a_breaker_that_opened(sim, make_client):
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=5, breaker_failures=2)
    before = reached(sim, "GET", SERVICES)
    with pytest.raises(IESCircuitOpen):
        client.list_services()
    time.sleep(0.2)
    assert reached(sim, "GET", SERVICES) == before + 2  # not 6


def test_after_the_cool_down_one_trial_closes_it_on_success(sim, make_client):
    rule = sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=0, breaker_failures=2, breaker_reset=0.5)
    for _ in range(2):
        with pytest.raises(IESUnavailable):
            client.list_services()
    with pytest.raises(IESCircuitOpen):
        client.list_services()
    sim.remove_fault(rule)
    time.sleep(0.6)
    before = reached(sim, "GET", SERVICES)
    assert client.list_services()  # the trial
    assert client.list_services()  # closed: goes through
    wait_logged(sim, "GET", SERVICES, before + 2)
    assert reached(sim, "GET", SERVICES) == before + 2
    [state] = [s for s in breaker.snapshot() if s.endpoint == "/servicemanager/v1/services" and s.method == "GET"
               and s.base_url == sim.base_url]
    assert state.state == "closed" and state.failures == 0 and state.opened_at is None


def test_a_failed_trial_opens_it_again_for_another_cool_down(sim, make_client):
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=0, breaker_failures=2, breaker_reset=0.5)
    for _ in range(2):
        with pytest.raises(IESUnavailable):
            client.list_services()
    time.sleep(0.6)
    before = reached(sim, "GET", SERVICES)
    with pytest.raises(IESUnavailable) as caught:
        client.list_services()  # the trial, answered 503
    assert not isinstance(caught.value, IESCircuitOpen)
    with pytest.raises(IESCircuitOpen):
        client.list_services()
    time.sleep(0.2)
    assert reached(sim, "GET", SERVICES) == before + 1
    [state] = [s for s in breaker.snapshot() if s.endpoint == "/servicemanager/v1/services" and s.method == "GET"
               and s.base_url == sim.base_url]
    assert state.state == "open" and state.failures == 3 and state.opened_at is not None


def test_only_one_caller_gets_the_half_open_trial(sim, make_client):
    client = make_client("nbitest_12", read_timeout=3, retries=0, breaker_failures=1, breaker_reset=0.3)
    sim.add_fault(kind="error", status=503, count=1, prefix="/rest/servicemanager", methods=["GET"])
    with pytest.raises(IESUnavailable):
        client.list_services()
    time.sleep(0.4)
    sim.add_fault(kind="hang", seconds=1.0, count=1, prefix="/rest/servicemanager", methods=["GET"])
    before = reached(sim, "GET", SERVICES)
    trial_result: list[object] = []
    trial = threading.Thread(target=lambda: trial_result.append(client.list_services()))
    trial.start()
    time.sleep(0.3)  # the trial is waiting on the hanging simulator
    for _ in range(3):
        with pytest.raises(IESCircuitOpen):
            client.list_services()
    trial.join(5)
    assert trial_result and trial_result[0]
    assert client.list_services()  # the trial closed it
    wait_logged(sim, "GET", SERVICES, before + 2)
    assert reached(sim, "GET", SERVICES) == before + 2


def test_two_clients_share_the_breaker_through_redis(sim, make_client, request):
    try:
        redis_server = request.getfixturevalue("redis_server")
    except pytest.FixtureLookupError:  # run without the root conftest (no Django, no Redis)
        pytest.skip("needs the test Redis of tests/conftest.py")
    prefix = f"test-breaker-{uuid.uuid4().hex[:8]}"
    # Two stores on one Redis: as two processes of the portal would be.
    first = make_client("nbitest_12", retries=0, breaker_failures=2, breaker_store=RedisStore(redis_server.url, prefix=prefix))
    second = make_client("nbitest_11", retries=0, breaker_failures=2, breaker_store=RedisStore(redis_server.url, prefix=prefix))
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    for _ in range(2):
        with pytest.raises(IESUnavailable):
            first.list_services()
    before = reached(sim, "GET", SERVICES)
    with pytest.raises(IESCircuitOpen):
        second.list_services()
    time.sleep(0.2)
    assert reached(sim, "GET", SERVICES) == before
    RedisStore(redis_server.url, prefix=prefix).clear()


def test_with_redis_down_the_breaker_works_in_memory_and_never_raises(sim, make_client):
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", prefix="nothing-listens")
    client = make_client("nbitest_12", retries=0, breaker_failures=2, breaker_store=store)
    assert client.list_services()  # Redis refused: the call goes on
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    for _ in range(2):
        with pytest.raises(IESUnavailable):
            client.list_services()
    with pytest.raises(IESCircuitOpen):
        client.list_services()
    assert store.fallback.read(client._transport.circuit("GET", "/servicemanager/v1/services").name).failures == 2
    breaker.configure(store)
    assert [s.state for s in breaker.snapshot()] == ["open"]


def test_listeners_see_every_attempt_without_ids_and_cannot_break_a_request(sim, make_client):
    events: list[RequestEvent] = []

    def broken(event: RequestEvent) -> None:
        raise RuntimeError("a metrics bug")

    add_request_listener(broken)
    add_request_listener(events.append)
    try:
        client = make_client("nbitest_12", retries=0, breaker_failures=2)
        assert client.get_service("9LbuAd11Qe-cuGnVONz6qw").service_id == "9LbuAd11Qe-cuGnVONz6qw"
        sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
        for _ in range(3):
            with pytest.raises(IESUnavailable):
                client.get_service("9LbuAd11Qe-cuGnVONz6qw")
    finally:
        remove_request_listener(broken)
        remove_request_listener(events.append)
    assert [(e.method, e.endpoint, e.status, e.error) for e in events] == [
        ("GET", "/servicemanager/v1/services/{id}", 200, None),
        ("GET", "/servicemanager/v1/services/{id}", 503, None),
        ("GET", "/servicemanager/v1/services/{id}", 503, None),
        ("GET", "/servicemanager/v1/services/{id}", None, "IESCircuitOpen"),
    ]
    assert all(e.seconds >= 0 for e in events)


def test_the_memory_store_is_the_default_and_reset_closes_everything(sim, make_client):
    breaker.configure(MemoryStore())
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    client = make_client("nbitest_12", retries=0, breaker_failures=1)
    with pytest.raises(IESUnavailable):
        client.list_services()
    assert [s.state for s in breaker.snapshot()] == ["open"]
    breaker.reset()
    assert breaker.snapshot() == []
