"""The Celery app: broker on Redis (the embedded one in local runs), tasks found in each app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Django's system checks run in the web process and in `manage.py check`; run again at a worker's
# start they import every view and template library (numpy for the charts among them) into each
# worker process for nothing: about 30 MB per process.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
