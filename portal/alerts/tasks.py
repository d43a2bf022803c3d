"""The alerts app's Celery tasks: the beat's tick, and one subscriber's mail of one event."""

from celery import shared_task

from portal.alerts import dispatch, services


@shared_task(name=dispatch.TICK, ignore_result=True)
def alerts_tick() -> dict:
    return vars(services.alerts_tick())


@shared_task(name=dispatch.MAIL, ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=8)
def alerts_mail(event_id: int, user_id: int) -> bool:
    return services.mail_send(event_id=event_id, user_id=user_id)
