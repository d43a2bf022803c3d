"""Fixtures of the client tests: clients for simulator tenants, fresh tenants, waiting for operations.

Everything talks to the live simulator (tests/fixtures_simulator.py, loaded by tests/conftest.py)
over real HTTP. The client needs no Django, Redis or Celery, so the root conftest's autouse
``_portal_test_settings`` (which configures those for the portal's tests) is replaced here by a
no-op. With the portal: ``pytest tests/ies_client``; without it (no Django at all):
``pytest tests/ies_client -p no:django --confcutdir=tests/ies_client -p tests.fixtures_simulator``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ies_client.client import IESClient, clear_client_registry
from ies_client.models import IESCredentials, Operation, OperationRef
from tests.waiting import wait_until

PRESET_SERVICES = {
    # tenant: (service id, service name, CloudVpnName, kind)
    "nbitest_11": ("8hiqoNgCSZmrlD1MyROJbg", "s2s_201705061433", "VPNS2S201705061433", "Site2Site"),
    "nbitest_12": ("9LbuAd11Qe-cuGnVONz6qw", "site2dc_201705071132", "0S2DC201705071132", "Site2DC"),
    "nbitest_16": ("BkLfGSbKQXybr0kkj8MQTQ", "site2dc6_201705071300", "0S2DC6201705071300", "Site2DC"),
}
SITE2DC_DEF = "8c34e27ed6644bbfbce93a41a05cb7ab"
SITE2DC_TEMPLATE = "e77fc5e21e1e42c9933ec9574c33a5d8"
SITE2SITE_DEF = "3f1c0d2a9b8e4c7d8e6f5a4b3c2d1e0f"
LEGACY_DEF = "0badc0de0badc0de0badc0de0badc0de"


@pytest.fixture(scope="session")
def _portal_test_settings():
    """Overrides the root conftest's autouse fixture: the client tests need no portal settings."""
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Overrides the root conftest's: the client uses no Django cache (and, run alone, these tests
    have no test Redis to empty). Its circuit breakers (in memory here) start closed."""
    from ies_client import breaker

    breaker.configure(breaker.MemoryStore())
    yield


def credentials_of(tenant: dict[str, Any]) -> IESCredentials:
    return IESCredentials(token=tenant["token"], bearer=tenant["bearer"], tenant_id=tenant.get("tenant_id"))


@pytest.fixture
def make_client(simulator) -> Iterator[Callable[..., IESClient]]:
    """``make_client("nbitest_12", read_timeout=1)``: a client of that tenant, closed after the test."""
    made: list[IESClient] = []

    def make(tenant: str | dict[str, Any] = "nbitest_11", **options: Any) -> IESClient:
        creds = credentials_of(simulator.tenants[tenant] if isinstance(tenant, str) else tenant)
        options.setdefault("backoff", 0.01)
        client = IESClient(simulator.base_url, creds, **options)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()
    clear_client_registry()


@pytest.fixture
def client(make_client) -> IESClient:
    """nbitest_11 (the deck's User 1): read-only use of the preset data."""
    return make_client("nbitest_11")


@pytest.fixture
def fresh_tenant(simulator) -> dict[str, Any]:
    """A new empty tenant of this test's own, so that writes never disturb the presets or other tests."""
    name = f"ct_{uuid.uuid4().hex[:10]}"
    return {**simulator.new_tenant(name), "name": name}


@pytest.fixture
def fresh_client(make_client, fresh_tenant) -> IESClient:
    return make_client(fresh_tenant)


def unique_vpn_name(prefix: str = "CT") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def site2dc_parameters(**overrides: str) -> dict[str, str]:
    """Valid Site2DC values, shaped like the deck's create body."""
    values = {
        "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70", "CloudVpnName": unique_vpn_name(), "VNI": "2236",
        "CPE_A_Site": "siteDC201705071132", "CPE_A_Type": "AR169FGW-L", "CPE_A_ESN": "21500102003GG3000704",
        "CPE_A_Position": "siteDC201705071132", "CPE_A_POP": "Manager_VPC", "Bandwidth": "60000",
        "cidr": "163.113.12.1", "cidrBlockSize": "24",
    }
    values.update(overrides)
    return values


def site2site_parameters(**overrides: str) -> dict[str, str]:
    values = {
        "CloudVpnName": unique_vpn_name("S2S"), "VNI": "3001", "Bandwidth": "20000",
        "CPE_A_Site": "siteA", "CPE_A_Type": "AR1220E", "CPE_A_ESN": "21500102003GG3000001",
        "CPE_A_Position": "siteA", "CPE_A_POP": "POP_A", "cidr_A": "10.1.0.0", "cidrBlockSize_A": "24",
        "CPE_B_Site": "siteB", "CPE_B_Type": "AR2220E", "CPE_B_ESN": "21500102003GG3000002",
        "CPE_B_Position": "siteB", "CPE_B_POP": "POP_B", "cidr_B": "10.2.0.0", "cidrBlockSize_B": "24",
    }
    values.update(overrides)
    return values


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; return its value (raises, naming it, on timeout)."""
    return wait_until(predicate, timeout, interval=interval)


def wait_done(client: IESClient, ref: OperationRef, kind: str, timeout: float = 30.0, **kw: Any) -> Operation:
    """Track an operation the way the portal will: poll ``operation_status`` until it is done."""
    return wait_for(
        lambda: (op if (op := client.operation_status(ref.service_id, ref.operation_id, kind, **kw)).done else None),
        timeout=timeout,
    )
