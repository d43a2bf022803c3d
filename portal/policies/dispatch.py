"""The policies app's Celery task names: the beat schedule sends the tick by this name."""

RUN_DUE = "policies.run_due"
PLAN_AHEAD = "policies.plan_ahead"
