"""The alerts app's Celery task names, and the sends its services make by name (never importing
tasks.py). A send never raises: with the broker down, the mail waits for nobody (the event is in
the portal, and webhooks have their own sweeper)."""

from portal.core.dispatch import send_task_or_defer

TICK = "alerts.tick"
MAIL = "alerts.mail"


def mail(event_id: int, user_id: int) -> bool:
    return send_task_or_defer(MAIL, (event_id, user_id), expires=3600)
