"""The API app's Celery tasks: kept Idempotency-Key answers are dropped after their 24 h."""

from celery import shared_task

from portal.api import dispatch, services


@shared_task(name=dispatch.PURGE_IDEMPOTENCY, ignore_result=True)
def purge_idempotency() -> int:
    return services.idempotency_purge()
