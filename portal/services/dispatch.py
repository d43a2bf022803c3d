"""The services app's Celery tasks, asked for by name.

Code that changes state never imports tasks.py (which imports it back): it sends the task's name,
and the worker runs tasks.py. The names are the ones tasks.py registers and the beat schedule uses.
"""

from celery import current_app

SYNC_TENANT = "services.sync_tenant"
SYNC_ALL = "services.sync_all"


def sync_tenant(tenant_id: int) -> None:
    """Refresh one tenant's mirror in the background."""
    current_app.send_task(SYNC_TENANT, (tenant_id,))
