"""What a session remembers of the two-factor gate: that its user had nothing to verify, as of when.

The gate (middleware.py) asks the database only for a session without a fresh answer here; pages
of a user with neither a factor nor a duty to have one cost no query. Turning a tenant's setting
on reaches its members' open sessions within RECHECK_SECONDS.
"""

from __future__ import annotations

import time

from django.contrib.sessions.backends.base import SessionBase

NOTHING_TO_VERIFY_KEY = "twofactor_nothing_until"
RECHECK_SECONDS = 5 * 60


def remember_nothing_to_verify(session: SessionBase) -> None:
    session[NOTHING_TO_VERIFY_KEY] = time.time() + RECHECK_SECONDS


def forget(session: SessionBase) -> None:
    session.pop(NOTHING_TO_VERIFY_KEY, None)


def nothing_to_verify(session: SessionBase) -> bool:
    until = session.get(NOTHING_TO_VERIFY_KEY)
    return until is not None and time.time() < until


# A single sign-on whose identity provider says it checked a second factor (the ID token's amr):
# the portal does not ask for another one in this session.
PROVIDER_VERIFIED_KEY = "twofactor_by_identity_provider"


def remember_verified_by_provider(session: SessionBase) -> None:
    session[PROVIDER_VERIFIED_KEY] = True


def verified_by_provider(session: SessionBase) -> bool:
    return bool(session.get(PROVIDER_VERIFIED_KEY))
