"""What the portal adds to Celery's processes: the request id in task headers, the heartbeats,
the worker's metrics port, and its log format. Connected by portal/celery.py (`connect()`), so it
is imported before Django is set up: Django and the portal are imported only inside the handlers.

- Publishing (web, worker, beat): `before_task_publish` puts the current request id in the
  message's headers (HEADER).
- Running a task: `task_prerun` restores it into the context, `task_postrun` clears it, so the
  task's log lines carry the id of the request that started it (a chain of tracking tasks keeps
  it: each is published from a task that has it).
- Beat: `beat_init` marks the process; each message it publishes records its heartbeat.
- Worker: `worker_ready` records a heartbeat every HEARTBEAT period from the worker's event loop,
  and starts the metrics HTTP server when WORKER_METRICS_PORT is set.
- Logging: Celery installs its own handlers on the root and task loggers; `after_setup_logger`
  and `after_setup_task_logger` give them the redaction and request-id filters, and the JSON
  format when LOG_FORMAT=json.
"""

import logging
from typing import Any

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    after_task_publish,
    beat_init,
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_ready,
)

from portal.observability import request_id

HEADER = "portal_request_id"

_in_beat = False


def carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    current = request_id.current.get()
    if current and headers is not None:
        headers[HEADER] = current


def restore_request_id(task: Any = None, **kwargs: Any) -> None:
    carried = getattr(getattr(task, "request", None), HEADER, None)
    request_id.current.set(request_id.accepted(carried) if isinstance(carried, str) else None)


def clear_request_id(**kwargs: Any) -> None:
    request_id.current.set(None)


def mark_beat(**kwargs: Any) -> None:
    global _in_beat
    _in_beat = True


def beat_heartbeat(**kwargs: Any) -> None:
    if _in_beat:
        from portal.observability import heartbeats

        heartbeats.record(heartbeats.BEAT)


def worker_started(sender: Any = None, **kwargs: Any) -> None:
    from django.conf import settings

    from portal.observability import heartbeats

    heartbeats.record(heartbeats.WORKER)
    timer = getattr(sender, "timer", None)
    if timer is not None:
        timer.call_repeatedly(heartbeats.period(), heartbeats.record, (heartbeats.WORKER,))
    if settings.WORKER_METRICS_PORT:
        from portal.observability import metrics

        metrics.serve_worker_metrics(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDR)


def dress_celery_handlers(logger: logging.Logger | None = None, **kwargs: Any) -> None:
    from django.conf import settings

    from ies_client.redact import RedactSecretsFilter
    from portal.observability.logs import JsonFormatter, RequestIdFilter

    for handler in logger.handlers if logger is not None else ():
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
            handler.addFilter(RedactSecretsFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonFormatter())


def connect() -> None:
    before_task_publish.connect(carry_request_id, weak=False, dispatch_uid="observability.carry_request_id")
    task_prerun.connect(restore_request_id, weak=False, dispatch_uid="observability.restore_request_id")
    task_postrun.connect(clear_request_id, weak=False, dispatch_uid="observability.clear_request_id")
    beat_init.connect(mark_beat, weak=False, dispatch_uid="observability.mark_beat")
    after_task_publish.connect(beat_heartbeat, weak=False, dispatch_uid="observability.beat_heartbeat")
    worker_ready.connect(worker_started, weak=False, dispatch_uid="observability.worker_started")
    after_setup_logger.connect(dress_celery_handlers, weak=False, dispatch_uid="observability.root_logs")
    after_setup_task_logger.connect(dress_celery_handlers, weak=False, dispatch_uid="observability.task_logs")
