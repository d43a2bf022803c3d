"""The webhooks app's Celery tasks: one delivery's attempt, and the beat's sweeper."""

from celery import shared_task

from portal.webhooks import dispatch, services


@shared_task(name=dispatch.DELIVER, ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name=dispatch.SWEEP, ignore_result=True)
def sweep_webhooks() -> int:
    return services.deliveries_sweep()
