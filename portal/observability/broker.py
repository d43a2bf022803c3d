"""The Redis behind Celery's broker, as /readyz, the heartbeats and the queue gauge read it.

Read from the Celery app's configuration (not Django's settings) because that is the broker and
queue the tasks really go through. Short timeouts and no retries: a probe must answer at once
whether Redis is there, not wait for it.
"""

from functools import lru_cache

import redis
from celery import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

TIMEOUT_S = 0.5


def broker_url() -> str:
    return str(current_app.conf.broker_url)


def queue_name() -> str:
    return str(current_app.conf.task_default_queue)


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S,
                                retry=Retry(NoBackoff(), 0), retry_on_timeout=False)


def client() -> redis.Redis:
    return _client(broker_url())


def queue_depth() -> int:
    """Messages waiting in the default queue (ready to run: a countdown's task is not in it yet)."""
    return int(client().llen(queue_name()))
