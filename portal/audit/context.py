"""Who records an audit event for a change to a user or a membership: the portal service that made
it, or (for every other path: the shell, a management command, Django's admin) the model receivers
of portal/audit/receivers.py. Each change is recorded once, by one of them."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_recorded_by_caller: ContextVar[bool] = ContextVar("audit_recorded_by_caller", default=False)


@contextmanager
def recorded_by_caller() -> Iterator[None]:
    """Within this block (or a function decorated with it) the caller records its own audit events
    for the users and memberships it changes, with their actor and request: the receivers stay quiet."""
    token = _recorded_by_caller.set(True)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)


def is_recorded_by_caller() -> bool:
    return _recorded_by_caller.get()
