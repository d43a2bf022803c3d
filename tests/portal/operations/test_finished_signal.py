"""An operation's end reaches the apps above operations through `operation_finished`, in the same
transaction as the end itself: the service mirror, the operation and its audit event agree or none
changes. In-process, against the live simulator: a delete of a service IES no longer knows ends at
once (IES answers 404), so no worker is needed."""

import pytest

from portal.audit.models import AuditEvent, Outcome
from portal.operations.models import Operation, OperationKind, OperationState
from portal.operations.services import operation_submit
from portal.operations.signals import operation_finished
from portal.services.models import Service


def _delete_of_a_vanished_service(tenant) -> Operation:
    service = Service.objects.create(tenant=tenant, ies_service_id="no-such-service", name="vanished")
    return Operation.objects.create(tenant=tenant, kind=OperationKind.DELETE, state=OperationState.QUEUED,
                                    service=service, ies_service_id=service.ies_service_id,
                                    service_name=service.name)


@pytest.mark.django_db
def test_the_mirror_forgets_the_service_when_its_delete_ends(own_tenant):
    op = _delete_of_a_vanished_service(own_tenant.tenant)
    operation_submit(op.pk, op.poll_ticket)
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED
    assert Service.objects.get(pk=op.service_id).gone_at is not None
    assert AuditEvent.objects.filter(operation=op, outcome=Outcome.SUCCEEDED).exists()


@pytest.mark.django_db
def test_a_failing_receiver_undoes_the_end_and_its_audit_event(own_tenant):
    op = _delete_of_a_vanished_service(own_tenant.tenant)

    def forget_then_fail(sender, *, operation, **kwargs):
        assert Service.objects.get(pk=operation.service_id).gone_at is not None  # the mirror's receiver ran
        raise RuntimeError("receiver failed")

    operation_finished.connect(forget_then_fail, sender=Operation, dispatch_uid="test.fail")
    try:
        with pytest.raises(RuntimeError):
            operation_submit(op.pk, op.poll_ticket)
    finally:
        operation_finished.disconnect(dispatch_uid="test.fail", sender=Operation)
    op.refresh_from_db()
    assert op.state == OperationState.QUEUED and op.finished_at is None
    assert Service.objects.get(pk=op.service_id).gone_at is None
    assert not AuditEvent.objects.filter(operation=op).exists()
