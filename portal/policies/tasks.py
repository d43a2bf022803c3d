"""The policies app's Celery task: the beat's tick that starts planned bandwidth changes."""

from celery import shared_task

from portal.policies import dispatch, services


@shared_task(name=dispatch.RUN_DUE, ignore_result=True)
def run_due_policies() -> int:
    return services.policies_run_due()


@shared_task(name=dispatch.PLAN_AHEAD, ignore_result=True)
def plan_policies_ahead() -> int:
    return services.policies_plan_ahead()
