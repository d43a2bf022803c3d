"""A tenant's operations are looked at together (issue 14): one list of its services covers every
operation it shows still running, an operation that ended before its own next look is seen at the
tenant's next look, a look's write leaves alone what was taken over meanwhile, and an operation
started on the default guess is placed by history once there is some.

IES requests are counted at the simulator's own request log: each test here has a simulator (and
so a log) of its own, with one tenant on it.
"""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.audit.models import AuditEvent, Outcome
from portal.operations import dispatch, messages, selectors, services
from portal.operations.models import Operation, OperationKind, OperationState
from portal.services.models import Service
from tests.fixtures_simulator import start_simulator
from tests.portal.helpers import tenant_on_simulator
from tests.portal.operations.test_tracking import place_order, run_to_end

pytestmark = pytest.mark.django_db

IN_FLIGHT = (OperationState.QUEUED, OperationState.PROCESSING)


@pytest.fixture
def own_sim(tmp_path, django_user_model, settings):
    """A tenant on a simulator of its own at time scale 60 (a create takes about 10 s), and a client
    logged in to it; the portal expects 10 s too, as if it had learned so."""
    settings.OPERATION_DEFAULT_SECONDS = 10.0
    sim = start_simulator(tmp_path / "own-sim", time_scale=60)
    tenant, client = tenant_on_simulator(sim, "lookco", "looker", django_user_model)
    yield sim, tenant, client
    sim.stop()


def ies_requests(sim) -> list[str]:
    time.sleep(0.2)  # the simulator logs a request once it has answered
    return [" ".join(line.split()[:2]) for line in sim.log().splitlines()
            if line.startswith(("GET /rest/servicemanager/v1/services", "POST /rest/servicemanager/v1/services"))]


def place(client, inline_worker, count: int) -> list[Operation]:
    ops = []
    for index in range(count):
        with inline_worker.sends():
            op, _form = place_order(client, service_name=f"look-{index}-{time.monotonic_ns()}")
        ops.append(op)
    return ops


def all_ended(ops: list[Operation]) -> bool:
    return not Operation.objects.filter(pk__in=[op.pk for op in ops], state__in=IN_FLIGHT).exists()


def run_until_at_ies(inline_worker, ops: list[Operation]) -> None:
    inline_worker.run_until(
        lambda: Operation.objects.filter(pk__in=[op.pk for op in ops], state=OperationState.PROCESSING).count()
        == len(ops), 30, what="the operations to be at IES")


def test_one_list_call_covers_the_running_operations_and_each_end_is_confirmed_once(own_sim, inline_worker,
                                                                                   settings):
    sim, _tenant, client = own_sim
    # By the list from the first look (on a loaded machine the third order may reach IES after the
    # first one's first look, which, with fewer in flight, reads that operation on its own).
    settings.OPERATION_LIST_LOOK_MIN = 1
    ops = place(client, inline_worker, 3)
    inline_worker.run_until(lambda: all_ended(ops), 60, what="the three creates to end")
    ended = list(Operation.objects.filter(pk__in=[op.pk for op in ops]))
    assert {op.state for op in ended} == {OperationState.SUCCEEDED}, [op.message for op in ended]

    paths = ies_requests(sim)
    lists = [p for p in paths if p == "GET /rest/servicemanager/v1/services"]
    for op in ended:
        base = f"GET /rest/servicemanager/v1/services/{op.ies_service_id}"
        status_reads = [p for p in paths if p.startswith(base + "/operations")]
        service_reads = [p for p in paths if p == base]
        # While it ran, the tenant's list was all that was asked; at its end, the operation once and
        # the service once (the deck's confirmation).
        assert (len(status_reads), len(service_reads)) == (1, 1), (op.pk, paths)
    assert len(lists) >= 3, "the operations ran ~10 s and were looked at more than once, by the list"
    looks = Operation.objects.filter(pk__in=[op.pk for op in ops]).values_list("polls", flat=True)
    assert min(looks) >= 3
    # POST + list calls + 2 reads each: what a tenant's operations cost together.
    assert len(paths) == 3 + len(lists) + 2 * 3
    # How long each took as IES timed it (10 min at time scale 60, ±10 %): what is learned from.
    assert all(9.0 <= op.ies_duration_seconds <= 11.0 for op in ended), [op.ies_duration_seconds for op in ended]


def test_an_operation_that_ended_before_its_next_look_is_seen_at_the_tenants_next_look(own_sim, inline_worker,
                                                                                      settings):
    sim, _tenant, client = own_sim
    settings.OPERATION_LIST_LOOK_MIN = 1
    ops = place(client, inline_worker, 3)
    run_until_at_ies(inline_worker, ops)
    # The last one's next look is far off (as if its schedule were sparse): only the looks that the
    # other two bring can see its end in time.
    far = timezone.now() + timedelta(seconds=25)
    Operation.objects.filter(pk=ops[2].pk).update(next_poll_at=far)
    inline_worker.run_until(lambda: all_ended(ops), 60, what="the three creates to end")
    late = Operation.objects.get(pk=ops[2].pk)
    assert late.state == OperationState.SUCCEEDED, late.message
    assert late.finished_at < far, "seen at a look of the tenant, not at its own look 25 s later"


def test_a_look_writes_nothing_for_an_operation_taken_over_meanwhile(own_sim, inline_worker):
    _sim, tenant, client = own_sim
    ops = place(client, inline_worker, 2)
    run_until_at_ies(inline_worker, ops)
    now = timezone.now()
    Operation.objects.filter(pk__in=[op.pk for op in ops]).update(next_poll_at=now)
    lease = now + timedelta(seconds=90)
    claimed = services._claim_for_look([op.pk for op in ops], lease, services.Q(next_poll_at__lte=now))
    assert {op.pk for op in claimed} == {op.pk for op in ops}
    # A worker start's sweep makes everything due again while this look is reading IES.
    taken_over = timezone.now()
    Operation.objects.filter(pk=ops[0].pk).update(next_poll_at=taken_over)
    services._write_later({op.pk: services._Later(3.0, calls=1) for op in claimed}, lease, now)
    first, second = (Operation.objects.get(pk=op.pk) for op in ops)
    assert first.next_poll_at == taken_over and first.ies_calls == claimed[0].ies_calls
    assert second.next_poll_at == now + timedelta(seconds=3.0)


def test_an_operation_started_on_the_default_guess_is_placed_by_history_once_there_is_some(own_sim, inline_worker,
                                                                                            settings):
    _sim, tenant, client = own_sim
    settings.OPERATION_DEFAULT_SECONDS = 900.0  # a poor guess: nothing has been learned yet
    ops = place(client, inline_worker, 1)
    inline_worker.run_until(lambda: Operation.objects.get(pk=ops[0].pk).state == OperationState.PROCESSING, 30,
                            what="the create to be at IES")
    op = Operation.objects.get(pk=ops[0].pk)
    assert (op.expected_learned, op.expected_seconds) == (False, 900.0)
    # Meanwhile three others of its kind and definition ended, after 12 s, 13 s and 14 s.
    now = timezone.now()
    for seconds in (12, 13, 14):
        Operation.objects.create(tenant=tenant, kind=OperationKind.CREATE, definition_id=op.definition_id,
                                 state=OperationState.SUCCEEDED, submitted_at=now - timedelta(seconds=seconds),
                                 finished_at=now)
    services._history_memo.clear()
    services._relearn([op], now)
    op.refresh_from_db()
    assert (op.expected_learned, op.expected_seconds, op.expected_p90_seconds) == (True, 13.0, 14.0)
    assert op.give_up_at == op.submitted_at + timedelta(seconds=13.0 * settings.OPERATION_STUCK_FACTOR)


def test_two_asks_for_the_same_look_send_it_once_and_the_sweeper_may_force_it(own_sim, inline_worker):
    _sim, tenant, _client = own_sim
    mark = inline_worker.published
    at = timezone.now() + timedelta(seconds=5)
    services._ask_for_look(tenant.pk, at)
    services._ask_for_look(tenant.pk, at)
    services._ask_for_look(tenant.pk, at + timedelta(seconds=3))  # one is asked for before then
    looks = [sent for sent in inline_worker.sent[mark:] if sent.startswith(dispatch.LOOK)]
    assert len(looks) == 1
    services._ask_for_look(tenant.pk, at - timedelta(seconds=3))  # sooner than the pending one
    services._ask_for_look(tenant.pk, at, force=True)
    looks = [sent for sent in inline_worker.sent[mark:] if sent.startswith(dispatch.LOOK)]
    assert len(looks) == 3


def test_a_worker_start_makes_every_operation_at_ies_due_and_sends_one_look_per_tenant(own_sim, inline_worker):
    _sim, tenant, client = own_sim
    ops = place(client, inline_worker, 2)
    run_until_at_ies(inline_worker, ops)
    inline_worker.clear()
    mark = inline_worker.published
    with inline_worker.sends():
        assert services.operations_sweep(worker_started=True) == 1
    looks = [sent for sent in inline_worker.sent[mark:] if sent.startswith(dispatch.LOOK)]
    assert len(looks) == 1
    assert not Operation.objects.filter(pk__in=[op.pk for op in ops], next_poll_at__gt=timezone.now()).exists()


def test_the_look_is_what_the_tracking_tasks_send(own_sim, inline_worker):
    _sim, _tenant, client = own_sim
    ops = place(client, inline_worker, 1)
    inline_worker.run_until(lambda: all_ended(ops), 60, what="the create to end")
    ran = {name for name in inline_worker.ran if name.startswith("operations.")}
    assert ran == {dispatch.SUBMIT, dispatch.LOOK}, "no reminder per operation"


def test_expectations_are_learned_from_ies_own_durations_where_it_gave_them(own_sim):
    _sim, tenant, _client = own_sim
    now = timezone.now()
    # The portal noticed each end 30 s late (a sparse look); IES says they took 60 s, 62 s and 64 s.
    for ies_seconds in (60.0, 62.0, 64.0):
        Operation.objects.create(tenant=tenant, kind=OperationKind.CREATE, definition_id="learned-def",
                                 state=OperationState.SUCCEEDED, submitted_at=now - timedelta(seconds=ies_seconds + 30),
                                 finished_at=now, ies_duration_seconds=ies_seconds)
    # One without IES's times (an IES without the operations endpoint): the portal's own count.
    Operation.objects.create(tenant=tenant, kind=OperationKind.CREATE, definition_id="learned-def",
                             state=OperationState.SUCCEEDED, submitted_at=now - timedelta(seconds=66), finished_at=now)
    expectation = selectors.expectation_for(kind=OperationKind.CREATE, definition_id="learned-def")
    assert (expectation.median_s, expectation.p90_s, expectation.samples) == (63.0, 66.0, 4)


def test_a_look_that_fails_half_way_gives_its_operations_back_and_asks_for_the_next(own_sim, inline_worker,
                                                                                  monkeypatch):
    _sim, tenant, client = own_sim
    ops = place(client, inline_worker, 1)
    run_until_at_ies(inline_worker, ops)
    Operation.objects.filter(pk=ops[0].pk).update(next_poll_at=timezone.now())

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in reading IES's answer")

    monkeypatch.setattr(services.observe, "observe", broken)
    cache.delete(services._look_key(tenant.pk))  # no other look pending: only this one can ask
    mark = inline_worker.published
    before = timezone.now()
    with pytest.raises(RuntimeError), inline_worker.sends():
        services.operations_look(tenant.pk)
    op = Operation.objects.get(pk=ops[0].pk)
    assert op.state == OperationState.PROCESSING
    assert op.next_poll_at <= before + timedelta(seconds=10), "not held for the look's whole lease"
    assert any(sent.startswith(dispatch.LOOK) for sent in inline_worker.sent[mark:]), "the next look is asked for"


def others_end_and_one_is_left(inline_worker, ops: list[Operation], bad: int) -> Operation:
    """Run the looks until every operation but `bad` has ended, and `bad`'s end has failed to be
    recorded (it may end at IES after the others); the others succeeded, `bad` is still running."""
    others = [op for op in ops if op.pk != bad]
    inline_worker.run_until(
        lambda: all_ended(others) and Operation.objects.get(pk=bad).message == messages.CHECK_FAILED,
        60, what="the others to end, and one end to fail to be recorded")
    assert {op.state for op in Operation.objects.filter(pk__in=[op.pk for op in others])} == {OperationState.SUCCEEDED}
    left = Operation.objects.get(pk=bad)
    assert left.state == OperationState.PROCESSING and left.message == messages.CHECK_FAILED
    return left


def test_one_operation_the_portal_cannot_record_does_not_stop_the_tenants_others(own_sim, inline_worker,
                                                                                 monkeypatch, settings):
    _sim, _tenant, client = own_sim
    settings.OPERATION_LIST_LOOK_MIN = 1
    ops = place(client, inline_worker, 3)
    bad = ops[1].pk
    real_conclude = services._conclude

    def conclude(op, seen, counts):
        if op.pk == bad:
            raise RuntimeError("a defect recording this one's end")
        return real_conclude(op, seen, counts)

    monkeypatch.setattr(services, "_conclude", conclude)
    stuck = others_end_and_one_is_left(inline_worker, ops, bad)
    monkeypatch.setattr(services, "_conclude", real_conclude)  # the defect fixed: it ends at its next look
    assert run_to_end(inline_worker, stuck).state == OperationState.SUCCEEDED


def test_a_failure_after_an_end_was_claimed_undoes_that_one_end_only(own_sim, inline_worker, monkeypatch,
                                                                         settings):
    """A failure half-way through recording one end (its state claimed, the mirror written, the audit
    event refused) undoes that end alone: the look's other ends stand, and it is seen again later."""
    _sim, tenant, client = own_sim
    settings.OPERATION_LIST_LOOK_MIN = 1
    ops = place(client, inline_worker, 3)
    bad = ops[1].pk
    real_audit = services.audit_record

    def audit(**kwargs):
        if kwargs.get("operation") is not None and kwargs["operation"].pk == bad:
            raise RuntimeError("the audit log refused this one")
        return real_audit(**kwargs)

    monkeypatch.setattr(services, "audit_record", audit)
    undone = others_end_and_one_is_left(inline_worker, ops, bad)
    assert AuditEvent.objects.filter(operation__in=[op for op in ops if op.pk != bad],
                                     outcome=Outcome.SUCCEEDED).count() == 2
    assert undone.finished_at is None
    assert not Service.objects.filter(tenant=tenant, name=undone.service_name).exists(), "its mirror row undone too"
    monkeypatch.setattr(services, "audit_record", real_audit)
    assert run_to_end(inline_worker, undone).state == OperationState.SUCCEEDED
    assert AuditEvent.objects.filter(operation_id=bad, outcome=Outcome.SUCCEEDED).count() == 1


def test_an_operation_just_taken_by_ies_is_not_read_before_its_first_look(own_sim, inline_worker):
    sim, tenant, client = own_sim
    ops = place(client, inline_worker, 1)
    run_until_at_ies(inline_worker, ops)
    op = Operation.objects.get(pk=ops[0].pk)
    # A worker start makes everything due at once, moments after IES took it.
    Operation.objects.filter(pk=op.pk).update(submitted_at=timezone.now(), next_poll_at=timezone.now())
    mark = len(ies_requests(sim))
    services.operations_look(tenant.pk)
    assert ies_requests(sim)[mark:] == [], "too early to believe IES: nothing asked"
    later = Operation.objects.get(pk=op.pk)
    assert later.next_poll_at > timezone.now(), "its first look is still to come"


class UnavailableCache:
    """The cache of a deployment whose cache Redis is down while its broker is up: every read a
    miss, every add refused, every write lost."""

    def add(self, *args, **kwargs):
        return False

    def get(self, key, default=None, **kwargs):
        return default

    def set(self, *args, **kwargs):
        return None

    def delete(self, *args, **kwargs):
        return False


def test_a_look_is_asked_for_even_while_the_cache_is_unavailable(own_sim, inline_worker, monkeypatch):
    _sim, tenant, _client = own_sim
    mark = inline_worker.published
    monkeypatch.setattr(services, "cache", UnavailableCache())
    services._ask_for_look(tenant.pk, timezone.now() + timedelta(seconds=2))
    assert [sent for sent in inline_worker.sent[mark:] if sent.startswith(dispatch.LOOK)], \
        "nobody can tell whether a look is pending: one is sent (a second one finds nothing to claim)"
