"""One submitter at a time: the sweeper, a second delivery of the submit task and a submission in
flight never both send an order to IES (issue 13 review, defects 1 and 4).

The racy orders are played deterministically: the first submission runs in a thread, its POST held
by the simulator (a latency fault on the create only), while the test runs the sweeper's steps or a
second submission in between. Creates are counted at the simulator's own request log."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from portal.operations import services
from portal.operations.models import Operation, OperationState
from tests.portal.operations.test_tracking import ies_services_named, place_order
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

HELD_SECONDS = 3.0


def creates_since(sim, mark: int) -> int:
    """Create requests sent, whatever IES answered (the simulator refuses a second service of the
    same name with a 400: the order would then end "rejected" although its service exists)."""
    return len(re.findall(r"^POST /rest/servicemanager/v1/services \d{3}", sim.log()[mark:], flags=re.M))


def hold_the_next_create(sim) -> None:
    sim.add_fault(kind="latency", ms=int(HELD_SECONDS * 1000), methods=["POST"],
                  prefix="/rest/servicemanager/v1/services", count=1)


def submit_in_a_thread(op_id: int, ticket: int) -> threading.Thread:
    def run() -> None:
        try:
            services.operation_submit(op_id, ticket)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def under_way(op: Operation) -> bool:
    """The first submission has claimed the operation (its POST is now held by the simulator)."""
    current = Operation.objects.get(pk=op.pk)
    return current.next_poll_at > timezone.now() + timedelta(seconds=20) and current.ies_calls == 1


@pytest.fixture
def overdue_order(login, sim, inline_worker):
    """A queued order whose deadline has passed (its reminder lost): the sweeper's to take over."""
    client = login("user16")
    op, form = place_order(client)
    inline_worker.clear()  # the view's own submit message is not part of these stories
    Operation.objects.filter(pk=op.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    return Operation.objects.get(pk=op.pk), form


def test_a_submission_that_claims_between_the_sweepers_select_and_its_claim_is_not_sent_twice(overdue_order, sim):
    op, form = overdue_order
    mark = len(sim.log())
    now = timezone.now()
    selected = [row for row in services._overdue(now) if row[0] == op.pk]  # the sweeper's select …
    assert selected == [(op.pk, OperationState.QUEUED, op.poll_ticket)]

    hold_the_next_create(sim)
    first = submit_in_a_thread(op.pk, op.poll_ticket)  # … then a submit task claims it …
    assert wait_until(lambda: under_way(op), timeout=10)
    revived = sum(services._revive(pk, state, ticket, now) for pk, state, ticket in selected)  # … then the sweeper's claim
    if revived:  # the sweeper took it over: run the submission it sent, while the first POST is held
        services.operation_submit(op.pk, Operation.objects.get(pk=op.pk).poll_ticket)
    first.join(timeout=30)
    time.sleep(0.3)  # the simulator logs a request once it has answered

    assert revived == 0, "the sweeper must not take over a submission that claimed the operation meanwhile"
    assert creates_since(sim, mark) == 1
    assert len(ies_services_named(sim, "nbitest_16", form["service_name"])) == 1
    assert Operation.objects.get(pk=op.pk).state == OperationState.PROCESSING


def test_a_second_delivery_of_the_submit_task_while_the_first_is_sending_sends_nothing(overdue_order, sim):
    op, form = overdue_order
    mark = len(sim.log())
    hold_the_next_create(sim)
    first = submit_in_a_thread(op.pk, op.poll_ticket)
    assert wait_until(lambda: under_way(op), timeout=10)
    services.operation_submit(op.pk, op.poll_ticket)  # the same message again (acks_late redelivery)
    first.join(timeout=30)
    time.sleep(0.3)
    assert creates_since(sim, mark) == 1
    assert len(ies_services_named(sim, "nbitest_16", form["service_name"])) == 1
    assert Operation.objects.get(pk=op.pk).state == OperationState.PROCESSING


def test_the_sweepers_claim_still_takes_over_an_overdue_submission(overdue_order, sim, inline_worker):
    op, _form = overdue_order
    assert services.operations_sweep() >= 1
    done = inline_worker.run_until(
        lambda: Operation.objects.get(pk=op.pk).state == OperationState.PROCESSING, what="the resubmission")
    assert done

