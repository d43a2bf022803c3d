"""The Celery app: broker on Redis (the embedded one in local runs), tasks found in each app."""

import os
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from portal.observability import celery_hooks

if TYPE_CHECKING:
    from celery import Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Django's system checks run in the web process and in `manage.py check`; run again at a worker's
# start they import every view and template library (numpy for the charts among them) into each
# worker process for nothing: about 30 MB per process.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Request ids into tasks, heartbeats, the worker's metrics port, its log format (docs/architecture.md).
celery_hooks.connect()


@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _tidy_database_connections(task: "Task[Any, Any] | None" = None, **kwargs: Any) -> None:
    """Keep a worker's database connections between tasks, as Django keeps them between requests.

    Celery's Django fix-up would close every connection before and after each task (settings:
    CELERY_DB_REUSE_MAX turns that off): a new PostgreSQL connection, and backend process, for each
    poll. Instead, connections live for CONN_MAX_AGE and one that failed or no longer answers its
    health check is dropped here. Eager calls run inside the caller's transaction: left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
