"""Waiting for a condition in a test: fail loudly, never return falsy.

A hand-written polling loop that returns False on timeout lets a test go on to a confusing
assertion (or none). ``wait_until`` raises instead, naming what it waited for and the last value
it saw, so that a timeout reads as the reason of the failure.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable


class WaitTimeout(AssertionError):
    """The awaited condition did not hold in time (an AssertionError: pytest shows it as a failure)."""


def wait_until[T](predicate: Callable[[], T], timeout: float = 30.0, what: str | None = None, *,
               interval: float = 0.1, detail: Callable[[], str] | None = None) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    After ``timeout`` seconds, raise ``WaitTimeout`` with ``what`` (by default the predicate's
    source line), the last value seen and, when given, ``detail()`` (e.g. a worker's log tail).
    An exception raised by the predicate is not swallowed: it is the test's failure.
    """
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() >= deadline:
            message = f"waited {timeout:g} s for {what or _describe(predicate)}; last value: {value!r}"
            if detail is not None:
                message += "\n" + detail()
            raise WaitTimeout(message)
        time.sleep(interval)
        value = predicate()
    return value


def _describe(predicate: Callable[[], object]) -> str:
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
