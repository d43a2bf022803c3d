"""The simulator's tests need neither Django, Redis nor Celery.

The root conftest's autouse fixtures configure those for the portal's tests; they are replaced
here by no-ops. Without the portal at all (no root conftest, no Django plugin):
``pytest tests/simulator -p no:django --confcutdir=tests/simulator -p tests.fixtures_simulator``.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def _portal_test_settings() -> Iterator[None]:
    yield


@pytest.fixture
def _fresh_cache() -> Iterator[None]:
    yield
