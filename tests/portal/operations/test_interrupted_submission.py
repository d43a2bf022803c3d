"""A submission whose worker died is resumed soon after a worker starts, and one on a live worker is
never duplicated (issue 13 review, defect 4).

A submission holds a lease of about a minute (`_submit_grace`): the sweeper leaves it alone while its
POST may be on the way. The sweep a starting worker runs may end the lease of a worker known to be
dead (an earlier boot of the same node, or a node that does not answer a ping), but no sooner than
that worker's request would have timed out; the resubmission reconciles with IES before it sends.
Creates are counted at the simulator's own request log."""

import re
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.operations import services
from portal.operations.models import Operation, OperationState
from tests.portal.operations.test_tracking import ies_services_named, place_order
from tests.waiting import wait_until

OLD, NEW = "w1@box 0ld0ld", "w1@box n3wn3w"


def creates_since(sim, mark: int) -> list[str]:
    time.sleep(0.2)  # the simulator logs a request once it has answered
    return re.findall(r"^POST /rest/servicemanager/v1/services \d{3}", sim.log()[mark:], flags=re.M)


def interrupted(op: Operation, holder: str, *, claimed_ago: float) -> Operation:
    """`op` as a worker that claimed it for its submission `claimed_ago` seconds ago and then died
    leaves it: a new ticket, the lease, one IES call counted (the POST that may have gone), and the
    lease's holder on record."""
    claimed_at = timezone.now() - timedelta(seconds=claimed_ago)
    Operation.objects.filter(pk=op.pk).update(poll_ticket=op.poll_ticket + 1, ies_calls=1,
                                              next_poll_at=claimed_at + services._submit_grace())
    services._lease_submission(op.pk, holder)
    return Operation.objects.get(pk=op.pk)


@pytest.fixture
def queued(login, sim, inline_worker):
    op, form = place_order(login("user16"))
    inline_worker.clear()  # the view's own submit message died with the worker
    return op, form


@pytest.mark.django_db
def test_a_dead_boots_submission_is_resumed_by_the_restarted_node_and_reconciles_first(queued, sim, inline_worker):
    op, form = queued
    op = interrupted(op, OLD, claimed_ago=20)  # its request would have timed out by now
    mark = len(sim.log())
    with inline_worker.sends():
        assert services.operations_sweep(worker_started=True, starting_worker=NEW) == 1
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).state == OperationState.PROCESSING,
                            what="the resubmission")
    requests = [line.split(" ")[:2] for line in sim.log()[mark:].splitlines() if "/servicemanager/" in line]
    assert requests[0][0] == "GET", "the resubmission looked for the order at IES before sending it"
    assert len(creates_since(sim, mark)) == 1
    assert len(ies_services_named(sim, "nbitest_16", form["service_name"])) == 1


@pytest.mark.django_db
def test_a_dead_workers_recent_submission_waits_until_its_request_would_have_timed_out(queued, inline_worker):
    op, _form = queued
    op = interrupted(op, OLD, claimed_ago=1)
    assert services.operations_sweep(worker_started=True, starting_worker=NEW) == 0
    cut = Operation.objects.get(pk=op.pk).next_poll_at
    settled = op.next_poll_at - services._submit_grace() + services._attempt_time()
    assert abs((cut - settled).total_seconds()) < 1, "the lease is cut to when the request would have timed out"
    assert services.operations_sweep(now=cut + timedelta(seconds=1)) == 1, "the sweeper resumes it then"


@pytest.mark.django_db
def test_a_submission_held_by_a_node_that_does_not_answer_is_resumed(queued):
    op, _form = queued
    interrupted(op, "gone-for-good@nowhere 1234", claimed_ago=20)
    assert services.operations_sweep(worker_started=True, starting_worker=NEW) == 1


@pytest.mark.django_db
def test_a_submission_whose_holder_is_unknown_keeps_its_lease(queued):
    op, _form = queued
    interrupted(op, "", claimed_ago=20)  # no record (a cache restarted, a run outside a worker)
    assert services.operations_sweep(worker_started=True, starting_worker=NEW) == 0


def under_way(op: Operation) -> bool:
    return Operation.objects.get(pk=op.pk).ies_calls >= 1


@pytest.mark.django_db(transaction=True)
def test_a_submission_on_a_live_worker_is_left_alone_by_another_workers_start(login, sim, start_worker):
    worker = start_worker()
    sim.add_fault(kind="latency", ms=6000, methods=["POST"], prefix="/rest/servicemanager/v1/services", count=1)
    mark = len(sim.log())
    op, form = place_order(login("user16"))
    assert wait_until(lambda: under_way(op), timeout=20), worker.output()[-2000:]
    assert services.operations_sweep(worker_started=True, starting_worker="another@box b00t") == 0
    assert wait_until(lambda: Operation.objects.get(pk=op.pk).state != OperationState.QUEUED, timeout=30)
    assert len(creates_since(sim, mark)) == 1
    assert len(ies_services_named(sim, "nbitest_16", form["service_name"])) == 1


@pytest.mark.django_db(transaction=True)
def test_a_submission_killed_with_its_worker_resumes_soon_after_a_worker_starts(login, sim, start_worker):
    env = {"IES_READ_TIMEOUT": "4", "OPERATION_SWEEP_SECONDS": "1"}
    worker = start_worker(env=env, beat=True)
    sim.add_fault(kind="latency", ms=1500, methods=["POST"], prefix="/rest/servicemanager/v1/services", count=1)
    mark = len(sim.log())
    op, form = place_order(login("user16"))
    assert wait_until(lambda: under_way(op), timeout=20), worker.output()[-2000:]
    worker.kill(signal.SIGKILL)  # mid-submission: its POST held by the simulator
    start_worker(env=env, beat=True)
    back_at = time.monotonic()
    # Without the starting worker's sweep the lease (about a minute with these timeouts) would hold it.
    assert wait_until(lambda: Operation.objects.get(pk=op.pk).state != OperationState.QUEUED, timeout=20), \
        Operation.objects.filter(pk=op.pk).values("state", "next_poll_at", "poll_ticket", "ies_calls", "message")
    assert time.monotonic() - back_at < 20
    done = Operation.objects.get(pk=op.pk)
    assert done.state in (OperationState.PROCESSING, OperationState.SUCCEEDED), done.message
    assert len(ies_services_named(sim, "nbitest_16", form["service_name"])) == 1
    assert len([c for c in creates_since(sim, mark) if " 20" in c]) == 1
