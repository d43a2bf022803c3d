"""A call the IES circuit breaker refused never left the portal: it is not counted in an operation's
`ies_calls` (nor as a poll), and the submission is tried again later (issue 13 review, defect 5).

The breaker is opened in the shared store the portal's clients read; IES requests are counted at the
simulator's own request log."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from ies_client import breaker
from ies_client.client import _OPERATION, _OPERATIONS, _SERVICE, _SERVICES
from portal.operations import messages, services
from portal.operations.models import Operation, OperationState
from portal.tenants.ies import breaker_store_configure
from tests.portal.operations.test_tracking import place_order

pytestmark = pytest.mark.django_db


def open_breaker(tenant, method: str, endpoint: str) -> None:
    """Record failures of the endpoint, as the portal's clients would, until its breaker opens."""
    breaker_store_configure()
    config = breaker.BreakerConfig(failure_threshold=settings.IES_BREAKER_FAILURES,
                                   reset_timeout=settings.IES_BREAKER_RESET_SECONDS)
    circuit = breaker.Circuit(tenant.base_url, method, endpoint, config)
    for _ in range(settings.IES_BREAKER_FAILURES):
        circuit.failure(circuit.admit())
    assert circuit.is_open()


def ies_requests_since(sim, mark: int) -> list[str]:
    time.sleep(0.2)  # the simulator logs a request once it has answered
    return [line for line in sim.log()[mark:].splitlines() if line.startswith(("GET /rest/servicemanager",
                                                                               "POST /rest/servicemanager"))]


def test_a_submission_the_breaker_refuses_is_not_counted_and_is_tried_again(login, sim, inline_worker):
    op, _form = place_order(login("user16"))
    inline_worker.clear()
    open_breaker(op.tenant, "POST", _SERVICES)
    mark = len(sim.log())
    services.operation_submit(op.pk, op.poll_ticket)
    op.refresh_from_db()
    assert ies_requests_since(sim, mark) == [], "the breaker sent nothing"
    assert op.ies_calls == 0
    assert op.state == OperationState.QUEUED and op.message == messages.SEND_FAILED
    assert any("operations.submit" in sent for sent in inline_worker.sent), "tried again later"


def test_a_poll_the_breaker_refuses_is_not_counted(login, sim, inline_worker):
    with inline_worker.sends():
        op, _form = place_order(login("user16"))
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).state == OperationState.PROCESSING,
                            what="the submission")
    # Past its first look (a look moments after IES took it asks nothing yet, breaker or not).
    Operation.objects.filter(pk=op.pk).update(submitted_at=timezone.now() - timedelta(seconds=60))
    before = Operation.objects.get(pk=op.pk)
    for endpoint in (_OPERATION, _OPERATIONS, _SERVICE):
        open_breaker(op.tenant, "GET", endpoint)
    mark = len(sim.log())
    services.operation_poll(op.pk, before.poll_ticket)
    after = Operation.objects.get(pk=op.pk)
    assert ies_requests_since(sim, mark) == []
    assert (after.polls, after.ies_calls) == (before.polls, before.ies_calls)
    assert after.state == OperationState.PROCESSING and after.message == messages.NO_ANSWER
