"""The services app's Celery tasks, asked for by name.

Code that changes state never imports tasks.py (which imports it back): it sends the task's name,
and the worker runs tasks.py. The names are the ones tasks.py registers and the beat schedule uses.

A refresh is a nicety a later page view or the periodic sync repeats: with the broker down it is
not sent (False), and the page keeps showing the last known state.
"""

from portal.core.dispatch import send_task_or_defer

SYNC_TENANT = "services.sync_tenant"
SYNC_ALL = "services.sync_all"
REFRESH_SERVICE = "services.refresh_service"

# A refresh not started within this long is dropped by the worker unrun: a backlog of them must not
# hold up the operations' submissions and polls that share the queue, and the page has stopped
# waiting for it by then (queries.PENDING_SECONDS); a later view or the periodic sync asks again.
REFRESH_EXPIRES_SECONDS = 90


def sync_tenant(tenant_id: int) -> bool:
    """Refresh one tenant's list (the mirror) in the background."""
    return send_task_or_defer(SYNC_TENANT, (tenant_id,), expires=REFRESH_EXPIRES_SECONDS)


def refresh_service(tenant_id: int, service_pk: int) -> bool:
    """Refresh one service and IES's operation log of it in the background."""
    return send_task_or_defer(REFRESH_SERVICE, (tenant_id, service_pk), expires=REFRESH_EXPIRES_SECONDS)
