"""Sending a Celery task by name when the broker may be down: the send fails fast and says so.

A page that asks for work must not fail because Redis does not answer: the work waits. Every task
the portal sends is either recorded in the database first, so that a sweeper finds it again (an
operation's submission or next poll: the row's `next_poll_at`), or only a nicety that a later
request or the periodic sync repeats (a background refresh). So a send that fails is logged and
dropped, and the caller learns it from the answer (False).

After a failure this process does not try the broker's Redis again for a short back-off
(`portal.core.outage`, shared with the cache when both are one Redis): with a hung Redis each
attempt costs a whole socket timeout
(CELERY_BROKER_TRANSPORT_OPTIONS), and one page may send more than one task. The publish itself
does not retry (CELERY_TASK_PUBLISH_RETRY_POLICY): redis-py reconnects a connection that Redis
closed by itself, and any other failure is the sweeper's to make good.
"""

import logging
from collections.abc import Sequence
from typing import Any

from celery import current_app
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from portal.core.outage import outage_of

log = logging.getLogger(__name__)

# kombu wraps the transport's connection errors in OperationalError; the others are a safety net
# for a failure met outside that wrapping.
BROKER_ERRORS = (OperationalError, RedisError, OSError)


def send_task_or_defer(name: str, args: Sequence[Any] = (), *, countdown: float | None = None,
                       expires: float | None = None) -> bool:
    """Send task `name` with `args`; False, at once or within one socket timeout, when the broker
    cannot take it (then the caller's sweeper, or nobody, sends it later). `expires`: seconds after
    which a worker drops the task unrun (a nicety not worth running late)."""
    outage = outage_of(str(current_app.conf.broker_url))
    if outage.skipping():
        log.info("task %s not sent: its Redis failed moments ago", name)
        return False
    try:
        current_app.send_task(name, tuple(args), countdown=countdown, expires=expires)
    except BROKER_ERRORS as error:
        outage.failed(error, by="broker")
        log.info("task %s not sent: %s", name, type(error).__name__)
        return False
    except Exception:  # noqa: BLE001 - a fault of the publishing machinery must not fail the page either
        log.exception("task %s not sent", name)
        return False
    outage.answered()
    return True


def live_workers(timeout: float = 1.0) -> set[str] | None:
    """The node names of the workers that answer a ping within `timeout` seconds; None when the
    broker cannot be asked (then nobody can be called dead)."""
    outage = outage_of(str(current_app.conf.broker_url))
    if outage.skipping():
        return None
    try:
        replies = current_app.control.ping(timeout=timeout)
    except BROKER_ERRORS as error:
        outage.failed(error, by="broker")
        return None
    return {node for reply in replies or [] for node in reply}
