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


@pytest.fixture
def own_tenant(db, simulator, django_user_model):
    """A tenant of this test's own, at the shared simulator, with one Completed Site2DC service,
    and two member users ("own1", "own2"): for tests that change or break a service, so that the
    deck's presets stay as they are for every other test.

    Returns an object with .tenant, .service_id, .login(username) → logged-in Client (CSRF enforced).
    """
    import uuid
    from types import SimpleNamespace

    from portal.tenants.models import Membership, Tenant

    name = f"own_{uuid.uuid4().hex[:10]}"
    creds = simulator.new_tenant(name)
    simulator.bulk_services(name, 1)
    tenant = Tenant.objects.create(name=name)
    tenant.set_credentials(token=creds["token"], bearer=creds["bearer"])
    tenant.save()
    for username in ("own1", "own2"):
        user = django_user_model.objects.create_user(username, password=DEMO_PASSWORD)
        Membership.objects.create(user=user, tenant=tenant)
    listed = simulator.call("GET", "/servicemanager/v1/services", tenant=name).json()["services"]

    def _login(username: str = "own1") -> Client:
        client = Client(enforce_csrf_checks=True)
        assert client.login(username=username, password=DEMO_PASSWORD)
        return client

    return SimpleNamespace(tenant=tenant, name=name, service_id=listed[0]["service_id"],
                           service_name=listed[0]["name"], login=_login)
