"""What /readyz reports: the database, Redis, IES's circuits, the worker's and beat's heartbeats.

Not ready (503) only when this web process cannot do its own job: the database does not answer.
Redis down, IES down (circuits open) and a stale worker or beat are "degraded" with 200: every
replica shares them, so taking replicas out of the load balancer would turn an outage the pages
survive (a cache miss, an operation queued for the sweeper, the last known state) into no portal.

Nothing secret and nothing of a tenant: error class names, states, ages and endpoint templates.
"""

import threading
import time
from typing import Any

import redis
from django.db import connections

from portal.observability import circuits, heartbeats
from portal.observability.broker import client as redis_client

DATABASE_TIMEOUT_S = 2.0
# /readyz is public: a flood of it must not become a flood of database connections. One probe at a
# time per process, its result reused for this long (the balancer asks every few seconds anyway).
DATABASE_PROBE_TTL_S = 1.0
PROBE_STILL_RUNNING = "probe still running"


def _timed(started: float) -> float:
    return round(time.perf_counter() - started, 4)


class _DatabaseProbe:
    """The process's one database probe: its last result, and its thread while that still runs.

    A probe that outlives DATABASE_TIMEOUT_S is abandoned by the caller but keeps its thread and
    its connection until the driver gives up; no new probe starts before it ends, so a slow database
    costs this process one connection, not one per request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._last_at = 0.0
        self._thread: threading.Thread | None = None

    def forget(self) -> None:
        """Drop the last result (tests; a running thread is still waited for)."""
        with self._lock:
            self._last = None

    def check(self) -> dict[str, Any]:
        # Concurrent callers do not queue behind the probe: they get the last result. Only the
        # first callers of the process, with nothing to reuse, wait (no longer than one probe).
        first = self._last is None
        if not self._lock.acquire(timeout=DATABASE_TIMEOUT_S + 0.5 if first else 0):
            return self._last or {"ok": False, "error": PROBE_STILL_RUNNING}
        try:
            if self._last is not None and time.monotonic() - self._last_at < DATABASE_PROBE_TTL_S:
                return self._last
            if self._thread is not None and self._thread.is_alive():
                result: dict[str, Any] = {"ok": False, "error": PROBE_STILL_RUNNING}
            else:
                self._thread = None
                result = self._probe()
            self._last, self._last_at = result, time.monotonic()
            return result
        finally:
            self._lock.release()

    def _probe(self) -> dict[str, Any]:
        """SELECT 1 on a connection of its own, in a thread: whatever the driver does (a locked
        file, a server that does not answer), the probe answers within DATABASE_TIMEOUT_S."""
        outcome: dict[str, Any] = {"ok": False, "error": "Timeout"}

        def ping() -> None:
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                outcome.update(ok=True, error=None)
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; its class is reported
                outcome.update(ok=False, error=type(exc).__name__)
            finally:
                connections.close_all()  # this thread's connection only

        started = time.perf_counter()
        thread = threading.Thread(target=ping, name="readyz-database", daemon=True)
        thread.start()
        thread.join(DATABASE_TIMEOUT_S)
        if thread.is_alive():
            self._thread = thread
            return {"ok": False, "error": "Timeout", "seconds": _timed(started)}
        return _without_none({**outcome, "seconds": _timed(started)})


_database_probe = _DatabaseProbe()


def check_database() -> dict[str, Any]:
    return dict(_database_probe.check())


def forget_database_probe() -> None:
    _database_probe.forget()


def check_redis() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        redis_client().ping()
    except (redis.RedisError, OSError) as exc:
        return {"ok": False, "error": type(exc).__name__, "seconds": _timed(started)}
    return {"ok": True, "seconds": _timed(started)}


def check_ies() -> dict[str, Any]:
    found = circuits.circuits()
    open_ = [c.endpoint for c in found if c.state != circuits.CLOSED]
    return {
        "ok": not open_,
        "circuits": [{"endpoint": c.endpoint, "state": c.state, "failures": c.failures,
                      "open_for_seconds": c.open_for_seconds} for c in found],
    }


def check_heartbeats() -> dict[str, dict[str, Any]]:
    stale_after = heartbeats.stale_after()
    try:
        ages = heartbeats.ages()
    except (redis.RedisError, OSError) as exc:
        return {role: {"ok": False, "error": type(exc).__name__, "stale_after_seconds": stale_after}
                for role in heartbeats.ROLES}
    report = {}
    for role, age in ages.items():
        stale = age is None or age > stale_after
        report[role] = {"ok": not stale, "last_seen_seconds_ago": None if age is None else round(age, 1),
                        "stale": stale, "stale_after_seconds": stale_after}
    return report


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, the report). Ready: the database answers."""
    checks: dict[str, Any] = {"database": check_database(), "redis": check_redis(), "ies": check_ies()}
    checks.update(check_heartbeats())
    ready = bool(checks["database"]["ok"])
    healthy = ready and all(check["ok"] for check in checks.values())
    status = "ok" if healthy else "degraded" if ready else "unavailable"
    return ready, {"status": status, "checks": checks}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
