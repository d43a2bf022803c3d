"""Tasks are sent by name (portal/*/dispatch.py, the beat schedule): each name must be one the
worker registers, or the message would sit in the queue with nobody to run it."""

from django.conf import settings

from portal.alerts import dispatch as alerts_dispatch
from portal.api import dispatch as api_dispatch
from portal.celery import app
from portal.operations import dispatch as operations_dispatch
from portal.policies import dispatch as policies_dispatch
from portal.services import dispatch as services_dispatch
from portal.webhooks import dispatch as webhooks_dispatch


def test_every_task_sent_by_name_is_registered():
    app.loader.import_default_modules()  # the worker's autodiscovery of each app's tasks.py
    sent = {operations_dispatch.SUBMIT, operations_dispatch.TRACK, operations_dispatch.LOOK, operations_dispatch.SWEEP,
            services_dispatch.SYNC_TENANT, services_dispatch.SYNC_ALL, policies_dispatch.RUN_DUE,
            policies_dispatch.PLAN_AHEAD, policies_dispatch.AUTOSCALE, api_dispatch.PURGE_IDEMPOTENCY,
            webhooks_dispatch.DELIVER, webhooks_dispatch.SWEEP, alerts_dispatch.TICK, alerts_dispatch.MAIL}
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= sent
    assert sent <= set(app.tasks)
