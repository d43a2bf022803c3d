"""The IES circuit breakers as operators see them: one entry per endpoint, without base URLs.

A tenant may have an IES address of its own, and breakers are kept per address; /readyz is public
and metrics should not grow a series per tenant, so the breakers of one endpoint are folded into
one, in its worst state.
"""

import time
from dataclasses import dataclass

from ies_client import breaker
from portal.tenants.ies import breaker_store_configure

CLOSED, HALF_OPEN, OPEN = breaker.CLOSED, breaker.HALF_OPEN, breaker.OPEN
# The gauge's values (ies_circuit_state): 0 closed, 1 half-open, 2 open.
LEVEL = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True, slots=True)
class Circuit:
    endpoint: str  # "GET /servicemanager/v1/services/{id}"
    state: str
    failures: int
    open_for_seconds: float | None


def circuits(now: float | None = None) -> list[Circuit]:
    now = time.time() if now is None else now
    breaker_store_configure()  # the breakers every process shares, even before this one called IES
    worst: dict[str, Circuit] = {}
    for state in breaker.snapshot():
        endpoint = f"{state.method} {state.endpoint}"
        candidate = Circuit(endpoint=endpoint, state=state.state, failures=state.failures,
                            open_for_seconds=round(now - state.opened_at, 1) if state.opened_at else None)
        held = worst.get(endpoint)
        if held is None or (LEVEL.get(candidate.state, 0), candidate.failures) > (LEVEL.get(held.state, 0),
                                                                                   held.failures):
            worst[endpoint] = candidate
    return sorted(worst.values(), key=lambda c: c.endpoint)
