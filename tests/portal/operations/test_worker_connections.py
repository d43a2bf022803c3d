"""The worker keeps its database connections between tasks, and gets over losing them (PostgreSQL)."""

import pytest
from django.db import connection

from portal.operations.models import Operation, OperationState
from tests.portal.operations.test_recovery import slow_tenant  # noqa: F401 - a fixture
from tests.portal.operations.test_tracking import final, place_order
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def worker_backends() -> set[int]:
    """Sessions on the test database other than this test's own: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_connections_outlive_tasks_and_a_lost_one_is_replaced(slow_tenant, start_worker):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL matter: SQLite has no server sessions to count or terminate")
    sim, client = slow_tenant
    start_worker(env={"OPERATION_DEFAULT_SECONDS": "10"})
    op, _ = place_order(client)
    assert wait_until(lambda: Operation.objects.get(pk=op.pk).polls >= 2, timeout=20)
    before = worker_backends()
    assert before, "between two polls the worker still holds its connection (no new session per task)"
    # What a PostgreSQL restart or a DBA's pg_terminate_backend does to the worker.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [sorted(before)])
    done = final(op, timeout=60)
    assert done.state == OperationState.SUCCEEDED, done.message
    after = worker_backends()
    assert after and not after & before, "the dead sessions were dropped and new ones opened"
