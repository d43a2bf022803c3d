"""Operations and policies raise alert events (connected in AlertsConfig.ready()).

Each runs inside the sender's transaction, under a savepoint of its own: an alert that cannot be
recorded is logged and dropped, never a reason for an operation's end or a policy's change to roll
back."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from portal.alerts import services
from portal.operations.models import Operation, OperationState
from portal.operations.signals import operation_finished, operation_halted
from portal.policies.signals import policy_event

log = logging.getLogger(__name__)

FAILED_STATES = (OperationState.FAILED, OperationState.ROLLED_BACK)


def _guarded(fn: Any, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            fn(**kwargs)
    except Exception:
        log.exception("an alert could not be recorded")


def _finished(sender: Any, operation: Operation, **kwargs: Any) -> None:
    event = "failed" if operation.state in FAILED_STATES else "finished"
    _guarded(services.operation_event, operation=operation, event=event)


def _halted(sender: Any, operation: Operation, **kwargs: Any) -> None:
    _guarded(services.operation_event, operation=operation, event="stuck")


def _policy(sender: Any, **kwargs: Any) -> None:
    _guarded(services.policy_event, tenant_id=kwargs["tenant_id"], service=kwargs.get("service"),
             event=kwargs["event"], policy_name=kwargs.get("policy_name", ""), kbps=kwargs.get("kbps"),
             reason=kwargs.get("reason", ""))


def connect() -> None:
    uid = "portal.alerts.receivers"
    operation_finished.connect(_finished, dispatch_uid=f"{uid}.finished")
    operation_halted.connect(_halted, dispatch_uid=f"{uid}.halted")
    policy_event.connect(_policy, dispatch_uid=f"{uid}.policy")
