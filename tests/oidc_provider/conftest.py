"""The provider's own tests need neither the portal's settings, Redis nor Celery.

The root conftest's autouse fixtures configure those for the portal's tests; they are replaced here
by no-ops. The provider itself runs in its own process (tests/fixtures_oidc.py, loaded by the root
conftest); these tests talk to it with ``requests`` only.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def _portal_test_settings() -> Iterator[None]:
    yield


@pytest.fixture
def _fresh_cache() -> Iterator[None]:
    yield
