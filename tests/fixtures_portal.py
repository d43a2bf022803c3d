"""Portal fixtures shared by the Django tests and the browser tests: the deck's presets, logins."""

import pytest
from django.test import Client

from portal.tenants.services import SimulatorCredentials, presets_load

DEMO_PASSWORD = "demo-pass-for-tests"


def simulator_credentials(simulator) -> dict[str, SimulatorCredentials]:
    return {
        name: SimulatorCredentials(token=t["token"], bearer=t["bearer"], tenant_id=t.get("tenant_id", ""))
        for name, t in simulator.tenants.items()
    }


@pytest.fixture
def presets(db, simulator):
    """The deck's tenants and users, with the live simulator's tokens."""
    return presets_load(password=DEMO_PASSWORD, credentials=simulator_credentials(simulator))


@pytest.fixture
def login(presets):
    """login("user1") → a Django test client logged in as that preset user (CSRF enforced)."""

    def _login(username: str) -> Client:
        client = Client(enforce_csrf_checks=True)
        assert client.login(username=username, password=DEMO_PASSWORD)
        return client

    return _login


@pytest.fixture(autouse=True)
def _no_faults_left_behind(request):
    """A fault a test switched on must not leak into the next test (or its worker)."""
    yield
    if "simulator" in request.fixturenames or "sim" in request.fixturenames:
        request.getfixturevalue("simulator").clear_faults()
