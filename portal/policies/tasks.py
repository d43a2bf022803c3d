"""The policies app's Celery tasks: the beat's ticks that start planned changes, keep calendars
planned ahead, and evaluate auto-scale policies."""

from celery import shared_task

from portal.policies import dispatch, selectors, services


@shared_task(name=dispatch.RUN_DUE, ignore_result=True)
def run_due_policies() -> int:
    return services.policies_run_due()


@shared_task(name=dispatch.PLAN_AHEAD, ignore_result=True)
def plan_policies_ahead() -> int:
    return services.policies_plan_ahead()


@shared_task(name=dispatch.AUTOSCALE, ignore_result=True)
def autoscale_policies() -> int:
    if not selectors.autoscale_in_use():
        return 0
    # Imported here: the evaluation needs numpy, which a worker of a tenant without auto-scale never loads.
    from portal.policies import autoscaling
    return autoscaling.policies_autoscale().planned
