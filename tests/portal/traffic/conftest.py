import pytest

from portal.services.mirror import service_mirror_sync
from portal.tenants.models import Tenant
from portal.traffic import series
from tests.conftest import clear_session_cache

# The preset connections (docs/ies-simulator.md): user1 is in nbitest_11, user2 in nbitest_12.
USER1_CONNECTION = "VPNS2S201705061433"
USER2_CONNECTION = "0S2DC201705071132"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts cold: the block cache, the operation log and the mirror-refresh guard."""
    clear_session_cache()
    yield
    clear_session_cache()


@pytest.fixture
def mirrored(presets, sim):
    """The presets with each tenant's services mirrored from the live simulator."""
    for tenant in Tenant.objects.all():
        service_mirror_sync(tenant=tenant)
    return presets


class CallLog:
    """Every IES traffic call the portal makes, recorded at the portal's own seam."""

    def __init__(self):
        self.calls = []

    def __len__(self):
        return len(self.calls)

    def reset(self):
        self.calls.clear()

    def buckets(self, **match):
        return sum((end - start) // spec.interval for spec, start, end in self.matching(**match))

    def matching(self, **match):
        return [(spec, start, end) for spec, start, end in self.calls
                if all(getattr(spec, k) == v for k, v in match.items())]


@pytest.fixture
def ies_calls(monkeypatch):
    """Wrap portal.traffic.series.ies_get_traffic (the real call still goes to the simulator)."""
    log = CallLog()
    real = series.ies_get_traffic

    def counting(client, spec, start, end):
        log.calls.append((spec, start, end))
        return real(client, spec, start, end)

    monkeypatch.setattr(series, "ies_get_traffic", counting)
    return log


class TrafficTenant:
    """A simulator tenant of this test's own (so creating and deleting services disturbs no other
    test), its portal Tenant, and a member who can log in."""

    def __init__(self, sim, name: str):
        from django.contrib.auth import get_user_model

        from ies_client.client import IESClient
        from ies_client.models import IESCredentials
        from portal.staff.services import tenant_set_credentials
        from portal.tenants.models import Membership, Role
        from tests.portal.conftest import DEMO_PASSWORD

        creds = sim.new_tenant(name)
        self.tenant = Tenant.objects.create(name=name)
        tenant_set_credentials(tenant=self.tenant, token=creds["token"], bearer=creds["bearer"],
                               tenant_id=creds["tenant_id"])
        self.username = f"member_{name}"
        user = get_user_model().objects.create_user(self.username, password=DEMO_PASSWORD)
        Membership.objects.create(user=user, tenant=self.tenant, role=Role.MEMBER)
        self.client = IESClient(sim.base_url, IESCredentials(creds["token"], creds["bearer"], creds["tenant_id"]),
                                backoff=0.01)

    def create_service(self, *, cloud_vpn_name: str, kbps: int = 60000):
        definition = self.client.get_service_definition("8c34e27ed6644bbfbce93a41a05cb7ab")
        params = {
            "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70", "CloudVpnName": cloud_vpn_name, "VNI": "2236",
            "CPE_A_Site": "siteDC1", "CPE_A_Type": "AR169FGW-L", "CPE_A_ESN": "21500102003GG3000704",
            "CPE_A_Position": "siteDC1", "CPE_A_POP": "Manager_VPC", "Bandwidth": str(kbps),
            "cidr": "163.113.12.1", "cidrBlockSize": "24",
        }
        ref = self.client.create_service(name=f"svc_{cloud_vpn_name}", definition=definition, parameters=params)
        self.wait(ref, "Create")
        return ref.service_id

    def wait(self, ref, kind: str, timeout: float = 30):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            op = self.client.operation_status(ref.service_id, ref.operation_id, kind)
            if op.done:
                assert op.succeeded, op
                return op
            time.sleep(0.05)
        raise AssertionError(f"{kind} did not finish")

    def sync(self):
        return service_mirror_sync(tenant=self.tenant)


@pytest.fixture
def traffic_tenant(db, sim, presets):
    import uuid

    name = f"traffic_{uuid.uuid4().hex[:10]}"
    tenant = TrafficTenant(sim, name)
    yield tenant
    tenant.client.close()
