"""The circuit breaker per IES endpoint, against the live simulator and its fault switches.

"Reached IES" is counted at the simulator's own request log (one line per request it received), so
"failed fast without touching the network" is checked where it matters, not inferred.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

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


# -- the review's findings ------------------------------------------------------------------------

LIST = "/servicemanager/v1/services"


@pytest.fixture(params=["memory", "redis"])
def any_store(request) -> breaker.BreakerStore:
    """Each store the portal may use: the in-memory one, and the shared Redis one."""
    if request.param == "memory":
        return MemoryStore()
    try:
        redis_server = request.getfixturevalue("redis_server")
    except pytest.FixtureLookupError:
        pytest.skip("needs the test Redis of tests/conftest.py")
    store = RedisStore(redis_server.url, prefix=f"test-breaker-{uuid.uuid4().hex[:8]}")
    request.addfinalizer(store.clear)
    return store


class RedisBlip:
    """A TCP relay in front of the test Redis that can cut every connection and refuse new ones for
    a while: a Redis blip that, unlike a restart, keeps Redis's data."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.down = False
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            self.open += [conn, upstream]
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.down = True
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open = []

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def redis_blip(request) -> Iterator[RedisBlip]:
    try:
        redis_server = request.getfixturevalue("redis_server")
    except pytest.FixtureLookupError:
        pytest.skip("needs the test Redis of tests/conftest.py")
    target = urlsplit(redis_server.url)
    blip = RedisBlip(target.hostname or "127.0.0.1", target.port or 6379)
    yield blip
    blip.close()


def test_a_breaker_past_its_cool_down_reads_closed_unless_a_trial_is_out_and_is_forgotten_later(any_store):
    """Staff moved a tenant off a dead IES: nobody calls its breaker any more, and it must not read
    half-open (/readyz "degraded") until a day-long record expires."""
    breaker.configure(any_store)
    config = breaker.BreakerConfig(failure_threshold=1, reset_timeout=0.3, trial_timeout=0.2)
    circuit = breaker.Circuit("http://dead-ies:17100/rest", "GET", LIST, config)
    circuit.failure(circuit.admit())
    opened = time.monotonic()
    assert [(s.state, s.failures) for s in breaker.snapshot()] == [("open", 1)]
    time.sleep(0.35)
    [state] = breaker.snapshot()
    assert (state.state, state.opened_at) == ("closed", None)
    ticket = circuit.admit()
    assert ticket.trial
    assert [s.state for s in breaker.snapshot()] == ["half_open"]
    circuit.release(ticket)
    assert [s.state for s in breaker.snapshot()] == ["closed"]
    assert config.record_ttl == pytest.approx(1.2)  # four cool-downs
    time.sleep(max(0.0, opened + config.record_ttl + 0.1 - time.monotonic()))
    assert breaker.snapshot() == []
    assert any_store.names() == []


def test_a_trial_whose_holder_died_lets_another_through_after_the_trial_timeout(sim, make_client, any_store):
    client = make_client("nbitest_12", retries=0, breaker_failures=1, breaker_reset=0.2, breaker_trial_timeout=0.5,
                         breaker_store=any_store)
    assert client._transport.breaker.trial_timeout == 0.5
    sim.add_fault(kind="error", status=503, count=1, prefix="/rest/servicemanager", methods=["GET"])
    with pytest.raises(IESUnavailable):
        client.list_services()
    time.sleep(0.25)
    dead = client._transport.circuit("GET", LIST).admit()  # a trial whose process dies: it never ends
    assert dead.trial
    with pytest.raises(IESCircuitOpen):
        client.list_services()
    time.sleep(0.55)
    assert client.list_services()  # the next trial, which closes it
    assert client.list_services()


def test_a_page_clients_read_timeouts_open_only_the_page_breaker_and_its_5xx_the_endpoints(sim, make_client):
    """IES slow but working (1 s answers): the pages' 0.3 s read timeouts stop the pages waiting
    for it, and must not shut out the worker, whose longer timeout the answers meet."""
    rule = sim.add_fault(kind="hang", seconds=1.0, prefix="/rest/catalog", methods=["GET"])
    page = make_client("nbitest_12", read_timeout=0.3, retries=0, breaker_failures=2, breaker_read_timeouts=False)
    worker = make_client("nbitest_12", read_timeout=5, retries=0, breaker_failures=2)
    for _ in range(2):
        with pytest.raises(IESUnavailable, match="did not answer in time") as caught:
            page.list_service_definitions()
        assert not isinstance(caught.value, IESCircuitOpen)
    with pytest.raises(IESCircuitOpen):
        page.list_service_definitions()  # pages stop waiting for a slow IES
    assert worker.list_service_definitions()  # the worker's calls still go
    assert worker.list_service_definitions()
    # The endpoint's breaker has not a failure to remember: only the page breaker is open.
    assert [(s.scope, s.state) for s in breaker.snapshot() if s.endpoint.startswith("/catalog")] == [("pages", "open")]
    sim.remove_fault(rule)
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager", methods=["GET"])
    for _ in range(2):
        with pytest.raises(IESUnavailable) as caught:
            page.list_services()
        assert not isinstance(caught.value, IESCircuitOpen)
    with pytest.raises(IESCircuitOpen):
        worker.list_services()  # a page's 5xx count toward the endpoint's breaker, which all obey


@pytest.fixture
def shared_redis(request) -> tuple[str, str]:
    """The test Redis's URL and a prefix of this test's own (cleared afterwards)."""
    try:
        redis_server = request.getfixturevalue("redis_server")
    except pytest.FixtureLookupError:
        pytest.skip("needs the test Redis of tests/conftest.py")
    prefix = f"test-breaker-{uuid.uuid4().hex[:8]}"
    request.addfinalizer(RedisStore(redis_server.url, prefix=prefix).clear)
    return redis_server.url, prefix


def test_late_failures_of_calls_sent_before_it_opened_do_not_extend_the_cool_down(any_store):
    config = breaker.BreakerConfig(failure_threshold=2, reset_timeout=0.5)
    circuit = breaker.Circuit("http://ies:17100/rest", "GET", LIST, config, any_store)
    in_flight = [circuit.admit() for _ in range(3)]  # three calls sent while it was closed
    circuit.failure(in_flight[0])
    circuit.failure(in_flight[1])  # opens it
    with pytest.raises(IESCircuitOpen):
        circuit.admit()
    time.sleep(0.3)
    circuit.failure(in_flight[2])  # the third call's late timeout: IES's state is known already
    time.sleep(0.25)
    assert circuit.admit().trial  # the cool-down ended when it would have without the late failure


def test_in_redis_open_is_a_key_expiring_on_redis_clock_and_the_record_lives_a_few_cool_downs(shared_redis):
    import redis

    url, prefix = shared_redis
    config = breaker.BreakerConfig(failure_threshold=2, reset_timeout=0.5)  # record: max(4 x 0.5, 2 x 60) s
    circuit = breaker.Circuit("http://ies:17100/rest", "GET", LIST, config, RedisStore(url, prefix=prefix))
    for _ in range(2):
        circuit.failure(circuit.admit())
    raw = redis.Redis.from_url(url)
    key = f"{prefix}:{circuit.name}"
    # The failure count, its opening and the record's lifetime were written in one step.
    assert 0 < raw.pttl(key) <= 120_000
    # Open means the key exists: every process asks Redis, none compares its own wall clock.
    assert 0 < raw.pttl(key + ":open") <= 500
    other = RedisStore(url, prefix=prefix)  # another process
    with pytest.raises(IESCircuitOpen):
        breaker.Circuit("http://ies:17100/rest", "GET", LIST, config, other).admit()
    time.sleep(0.55)
    assert not raw.exists(key + ":open")
    assert breaker.Circuit("http://ies:17100/rest", "GET", LIST, config, other).admit().trial


def test_after_a_redis_blip_the_fallback_forgets_what_it_learnt(redis_blip):
    """The breaker opened in memory while Redis was down; Redis came back and IES answered; on the
    next blip the stale in-memory "open" must not refuse a healthy IES."""
    store = RedisStore(redis_blip.url, prefix=f"test-breaker-{uuid.uuid4().hex[:8]}", retry_after=0.2)
    circuit = breaker.Circuit("http://ies:17100/rest", "GET", LIST,
                              breaker.BreakerConfig(failure_threshold=2, reset_timeout=30), store)
    redis_blip.cut()
    for _ in range(2):
        circuit.failure(circuit.admit())  # in the fallback
    with pytest.raises(IESCircuitOpen):
        circuit.admit()
    redis_blip.restore()
    time.sleep(0.25)
    for _ in range(3):
        circuit.success(circuit.admit())  # Redis answers (closed there), and so does IES
    redis_blip.cut()
    time.sleep(0.25)
    circuit.success(circuit.admit())  # the next blip: no stale "open" left in memory
    redis_blip.restore()
    store.clear()


def test_a_trial_that_ends_while_redis_is_down_releases_its_claim_when_redis_is_back(redis_blip):
    """Else the other processes could not send a trial for trial_timeout (60 s) after Redis came back."""
    import redis

    prefix = f"test-breaker-{uuid.uuid4().hex[:8]}"
    store = RedisStore(redis_blip.url, prefix=prefix, retry_after=0.2)
    other = RedisStore(redis_blip.url, prefix=prefix, retry_after=0.2)  # another process
    circuit = breaker.Circuit("http://ies:17100/rest", "GET", LIST,
                              breaker.BreakerConfig(failure_threshold=1, reset_timeout=0.2), store)
    circuit.failure(circuit.admit())
    time.sleep(0.25)
    trial = circuit.admit()
    assert trial.trial  # claimed in Redis
    redis_blip.cut()
    circuit.failure(trial)  # Redis fails during the trial: its failure and its end go to memory
    redis_blip.restore()
    time.sleep(0.25)
    circuit.is_open()  # this process talks to Redis again
    assert not redis.Redis.from_url(redis_blip.url).exists(f"{prefix}:{circuit.name}:trial")
    assert other.take_trial(circuit.name, 60)
    other.clear()


def test_concurrent_failures_and_successes_never_leave_a_record_without_an_expiry(shared_redis):
    """Counting a failure, opening and setting the record's lifetime are one step: a success that
    deletes the record meanwhile cannot leave an "open" record, without failures, that never expires."""
    import redis

    url, prefix = shared_redis
    config = breaker.BreakerConfig(failure_threshold=1, reset_timeout=0.05)
    store = RedisStore(url, prefix=prefix)
    circuit = breaker.Circuit("http://ies:17100/rest", "GET", LIST, config, store)
    raw = redis.Redis.from_url(url)
    key = f"{prefix}:{circuit.name}"
    eternal: list[int] = []

    def fail() -> None:
        for _ in range(300):
            circuit.failure(breaker.Ticket(trial=False, failures=0))

    def succeed() -> None:
        for _ in range(300):
            circuit.success(breaker.Ticket(trial=False, failures=1))
            if raw.pttl(key) == -1:  # exists without an expiry
                eternal.append(1)

    threads = [threading.Thread(target=fn) for fn in (fail, fail, succeed, succeed)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not eternal
    assert raw.pttl(key) != -1
