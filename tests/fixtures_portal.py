"""Portal fixtures shared by the Django tests and the browser tests: the deck's presets, logins."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.db.models.base import ModelState
from django.test import Client

from portal.staff.services import SimulatorCredentials, presets_load

DEMO_PASSWORD = "demo-pass-for-tests"


def simulator_credentials(simulator) -> dict[str, SimulatorCredentials]:
    return {
        name: SimulatorCredentials(token=t["token"], bearer=t["bearer"], tenant_id=t.get("tenant_id", ""))
        for name, t in simulator.tenants.items()
    }


@pytest.fixture
def presets(db, simulator):
    """The deck's tenants and users, with the live simulator's tokens.

    `presets_load` (what `make run` does) runs in the first test of the session that needs them;
    its rows are kept, and a later test on a database without tenants or users gets copies of
    them (a few INSERTs instead of some hundred queries). Otherwise `presets_load` runs again.
    """
    from portal.tenants.models import Tenant
    from tests.portal.services.mirroring import mirror_tenants

    user_model = get_user_model()
    rows = _preset_rows.get(simulator.base_url)
    if rows is not None and not Tenant.objects.exists() and not user_model.objects.exists():
        rows.insert()
    else:
        empty = not Tenant.objects.exists() and not user_model.objects.exists()
        audit_before = _last_audit_id()
        presets_load(password=DEMO_PASSWORD, credentials=simulator_credentials(simulator))
        if empty:
            _preset_rows[simulator.base_url] = PresetRows.snapshot(audit_after=audit_before)
    # Pages read the mirror only (issue 13): the tenants start mirrored, as a worker leaves them.
    mirror_tenants()


def _last_audit_id() -> int:
    from portal.audit.models import AuditEvent

    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# The rows presets_load made on an empty database, per simulator (its tokens): per process, so per
# xdist worker.
_preset_rows: dict[str, "PresetRows"] = {}


class PresetRows:
    """The tenants, users, memberships and audit events presets_load wrote, to write again."""

    def __init__(self, tenants, users, memberships, events) -> None:
        self.tenants, self.users, self.memberships, self.events = tenants, users, memberships, events

    @classmethod
    def snapshot(cls, *, audit_after: int) -> "PresetRows":
        from portal.audit.models import AuditEvent
        from portal.tenants.models import Membership, Tenant

        return cls(list(Tenant.objects.all()), list(get_user_model().objects.all()), list(Membership.objects.all()),
                   list(AuditEvent.objects.filter(pk__gt=audit_after)))

    def insert(self) -> None:
        from portal.audit.models import AuditEvent
        from portal.tenants.models import Membership, Tenant

        tenant_ids = _copy_in(Tenant, self.tenants, {})
        user_ids = _copy_in(get_user_model(), self.users, {})
        _copy_in(Membership, self.memberships, {"user_id": user_ids, "tenant_id": tenant_ids})
        _copy_in(AuditEvent, self.events, {"actor_id": user_ids, "tenant_id": tenant_ids})


def _copy_in(model, originals, remap: dict[str, dict[int, int]]) -> dict[int, int]:
    """Insert copies of ``originals`` with new primary keys and foreign keys mapped; old pk -> new pk."""
    copies = []
    for original in originals:
        row = copy.deepcopy(original)  # JSON values too: no copy may share them with the snapshot
        row.pk = None
        row._state = ModelState()
        for field, ids in remap.items():
            if getattr(row, field) is not None:
                setattr(row, field, ids[getattr(row, field)])
        copies.append(row)
    made = model.objects.bulk_create(copies)
    return {original.pk: row.pk for original, row in zip(originals, made, strict=True)}


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
        request.getfixturevalue("simulator").clear_load()


@pytest.fixture
def own_tenant(db, simulator, django_user_model):
    return make_own_tenant(simulator, django_user_model)


@pytest.fixture
def own_tenant_with_history(db, simulator, django_user_model):
    """As own_tenant, its service created 31 days ago: a month of traffic behind its connection."""
    return make_own_tenant(simulator, django_user_model, age_days=31)


def make_own_tenant(simulator, django_user_model, age_days: int = 0):
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
    simulator.bulk_services(name, 1, age_days=age_days)
    tenant = Tenant.objects.create(name=name)
    tenant.set_credentials(token=creds["token"], bearer=creds["bearer"])
    tenant.save()
    for username in ("own1", "own2"):
        user = django_user_model.objects.create_user(username, password=DEMO_PASSWORD)
        Membership.objects.create(user=user, tenant=tenant)
    listed = simulator.call("GET", "/servicemanager/v1/services", tenant=name).json()["services"]
    from tests.portal.services.mirroring import mirror_tenants

    mirror_tenants(tenant)  # pages read the mirror only (issue 13): as a worker leaves it

    def _login(username: str = "own1") -> Client:
        client = Client(enforce_csrf_checks=True)
        assert client.login(username=username, password=DEMO_PASSWORD)
        return client

    return SimpleNamespace(tenant=tenant, name=name, service_id=listed[0]["service_id"],
                           service_name=listed[0]["name"], login=_login)
