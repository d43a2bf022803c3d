"""Operations in flight resume as soon as a worker comes back after a kill -9, and nothing is sent twice.

A killed worker takes with it the polls it held (scheduled with a countdown, unacknowledged until
due; Redis returns them only after the visibility timeout, an hour). Here each first poll is 30 s
away (a long expectation: polls are sparse early on), so only the sweep a starting worker runs can
look at the operations within seconds; the sweeper alone would wait for the lost poll's time and
its grace. How soon, measured, is `benchmarks/recovery.py`; the bound here is loose."""

import re
import signal

import pytest

from portal.operations.models import Operation, OperationState
from tests.portal.operations.test_recovery import processing, slow_tenant  # noqa: F401 - a fixture
from tests.portal.operations.test_tracking import final, ies_services_named, place_order
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The default expectation (300 s) makes the first poll 30 s after the submission; the simulator
# (time scale 60) finishes a create in about 10 s.
WORKER_ENV = {"OPERATION_DEFAULT_SECONDS": "300", "OPERATION_SWEEP_SECONDS": "5"}
CREATES = 3


def test_operations_in_flight_resume_after_a_killed_worker_and_none_is_sent_twice(slow_tenant,  # noqa: F811
                                                                                   start_worker):
    sim, client = slow_tenant
    worker = start_worker(env=WORKER_ENV, beat=True)
    placed = [place_order(client) for _ in range(CREATES)]
    for op, _form in placed:
        assert wait_until(lambda op=op: processing(op), timeout=30), worker.output()[-2000:]
    assert all(Operation.objects.get(pk=op.pk).polls == 0 for op, _ in placed), "first polls are 30 s away"

    worker.kill(signal.SIGKILL)
    start_worker(env=WORKER_ENV, beat=True)
    # Looked at again well before the lost polls were due (and far before their grace ran out).
    assert wait_until(lambda: all(Operation.objects.get(pk=op.pk).polls >= 1 for op, _ in placed), timeout=15), \
        [(o.pk, o.state, o.polls, o.next_poll_at) for o in Operation.objects.filter(pk__in=[op.pk for op, _ in placed])]

    for op, form in placed:
        done = final(op, timeout=90)
        assert done.state == OperationState.SUCCEEDED, done.message
        assert len(ies_services_named(sim, "slowco", form["service_name"])) == 1
        assert done.audit_events.filter(outcome="succeeded").count() == 1
    creates = re.findall(r"^POST /rest/servicemanager/v1/services 20\d", sim.log(), flags=re.M)
    assert len(creates) == CREATES, "each order reached IES exactly once"
