"""When the worker and the beat scheduler were last seen alive: a time in Redis, no database write.

The worker records one every HEARTBEAT_SECONDS from its own event loop (a worker whose loop is
stuck stops beating); the beat process records one each time it publishes (it sends the sweeper
every OPERATION_SWEEP_SECONDS). /readyz and the compose probes read the ages; older than
3 x the sweep period is stale.
"""

import logging
import time

import redis
from django.conf import settings

from portal.observability import broker

log = logging.getLogger(__name__)

WORKER, BEAT = "worker", "beat"
ROLES = (WORKER, BEAT)
KEEP_S = 86400  # a heartbeat nobody renewed for a day is dropped


def _key(role: str) -> str:
    # Per queue: two deployments (or test sessions) on one Redis do not see each other's processes.
    return f"portal:heartbeat:{broker.queue_name()}:{role}"


def period() -> float:
    return float(settings.OPERATION_SWEEP_SECONDS)


def stale_after() -> float:
    return 3 * period()


def record(role: str, at: float | None = None) -> None:
    """Best effort: a Redis that is down is reported by /readyz, not by the worker failing."""
    try:
        broker.client().set(_key(role), repr(time.time() if at is None else at), ex=KEEP_S)
    except (redis.RedisError, OSError) as exc:
        log.debug("heartbeat of %s not recorded: %s", role, type(exc).__name__)


def ages(now: float | None = None) -> dict[str, float | None]:
    """Seconds since each role was last seen (None: never, or more than a day ago).
    Raises redis.RedisError when Redis cannot be read."""
    now = time.time() if now is None else now
    values = broker.client().mget([_key(role) for role in ROLES])
    return {role: (max(0.0, now - float(value)) if value is not None else None)
            for role, value in zip(ROLES, values, strict=True)}
