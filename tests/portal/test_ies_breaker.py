"""Pages that need IES, with IES failing, hanging or its circuit breaker open: they answer at once
with the last known state where there is one, and say what happened.

Against the live simulator; "asked IES" is counted at the simulator's own request log.
"""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from ies_client import breaker
from portal.tenants.models import Tenant
from tests.portal.helpers import SITE2DC, start_wizard
from tests.portal.traffic.conftest import USER1_CONNECTION

pytestmark = pytest.mark.django_db

USER1_SERVICE_ID = "8hiqoNgCSZmrlD1MyROJbg"


def asked(sim, prefix: str) -> int:
    """How many requests under ``/rest{prefix}`` the simulator has received (its log: one line each)."""
    return sum(1 for line in sim.log().splitlines() if line.split(" ")[1:2] and line.split(" ")[1].startswith(
        "/rest" + prefix))


def settle() -> None:
    time.sleep(0.2)  # the simulator logs a request after answering it


def chart_data(client, **params):
    params.setdefault("width", "1000")
    return client.get(reverse("traffic:data", args=[USER1_CONNECTION]), params)


@pytest.fixture
def mirrored(presets, sim):
    from portal.services.mirror import service_mirror_sync

    for tenant in Tenant.objects.all():
        service_mirror_sync(tenant=tenant)
    return presets


def open_traffic_breaker(sim, client) -> None:
    """IES's traffic statistics fail until the breaker of that endpoint opens."""
    rule = sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    for _ in range(5):
        if chart_data(client, range="1h").status_code == 503:
            break
    sim.remove_fault(rule)
    assert any(s.state == "open" and s.endpoint.startswith("/cloudvpnwatch") for s in breaker.snapshot())


def test_chart_data_with_an_open_breaker_answers_at_once_and_says_so(login, mirrored, sim):
    client = login("user1")
    open_traffic_breaker(sim, client)
    settle()
    before = asked(sim, "/cloudvpnwatch")
    answer = chart_data(client, range="1h")
    assert answer.status_code == 503
    assert 1 <= int(answer["Retry-After"]) <= 30
    error = answer.json()["error"]
    assert error["problem"] == "IES is not answering, so the portal has stopped asking it for a short while."
    assert error["advice"] == "Try again in a minute."
    assert USER1_CONNECTION in error["what"]
    settle()
    assert asked(sim, "/cloudvpnwatch") == before


def test_chart_data_shows_the_last_known_traffic_when_ies_fails(login, mirrored, sim):
    client = login("user1")
    fresh = chart_data(client, range="24h")
    assert fresh.status_code == 200 and "stale" not in fresh.json()
    open_traffic_breaker(sim, client)
    answer = chart_data(client, range="24h")
    assert answer.status_code == 200
    body = answer.json()
    assert body["points"] > 0 and not body["empty"]
    assert body["stale"]["until"] <= time.time()
    assert body["stale"]["label"].startswith("The chart shows the last known traffic, as read from IES at ")
    assert body["stale"]["problem"] == "IES is not answering, so the portal has stopped asking it for a short while."
    assert "data-stale" in body["stats_html"] and body["stale"]["label"] in body["stats_html"]


def test_the_portals_breakers_are_shared_through_redis(login, mirrored, sim):
    from portal.tenants.ies import breaker_store_configure

    client = login("user1")
    open_traffic_breaker(sim, client)
    store = breaker_store_configure()
    assert isinstance(store, breaker.RedisStore)
    # A second process (a fresh store on the same Redis and prefix) sees the breaker open.
    other = breaker.RedisStore(store.url, prefix=store.prefix)
    [name] = [n for n in other.names() if "/cloudvpnwatch" in n]
    assert other.read(name).opened_at is not None


def test_the_catalog_shows_the_last_known_definitions_when_ies_hangs(login, presets, sim, settings):
    client = login("user16")
    page = client.get(reverse("catalog:list"))
    assert page.status_code == 200 and "Site2DC" in page.text
    tenant = Tenant.objects.get(name="nbitest_16")
    cache.delete(f"catalog:{tenant.pk}:defs")  # the short-lived copy expired
    settings.IES_PAGE_READ_TIMEOUT = 0.3
    sim.add_fault(kind="hang", seconds=2, prefix="/rest/catalog")
    page = client.get(reverse("catalog:list"))
    assert page.status_code == 200
    assert "Site2DC" in page.text
    assert "This is what IES last sent, at" in page.text
    assert "IES is not answering right now." in page.text


def test_the_wizards_first_step_with_an_open_breaker_uses_the_last_known_definition(login, presets, sim, settings):
    client = login("user16")
    assert client.get(reverse("catalog:detail", args=[SITE2DC])).status_code == 200  # read once
    tenant = Tenant.objects.get(name="nbitest_16")
    cache.delete_many([f"catalog:{tenant.pk}:def:{SITE2DC}"])
    settings.IES_BREAKER_FAILURES = 1
    sim.add_fault(kind="error", status=503, prefix="/rest/catalog")
    key = start_wizard(client)
    first = client.get(reverse("catalog:order_parameters", args=[key]))  # the failure that opens it
    assert first.status_code == 200 and "This is what IES last sent, at" in first.text
    sim.clear_faults()
    settle()
    before = asked(sim, "/catalog")
    page = client.get(reverse("catalog:order_parameters", args=[key]))
    assert page.status_code == 200
    assert 'name="CloudVpnName"' in page.text
    assert "stopped asking it for a short while" in page.text
    settle()
    assert asked(sim, "/catalog") == before


def test_the_bandwidth_editor_with_an_open_breaker_does_not_ask_ies_for_its_preview(login, mirrored, sim):
    client = login("user1")
    open_traffic_breaker(sim, client)
    settle()
    before = asked(sim, "/cloudvpnwatch")
    page = client.get(f"/services/{USER1_SERVICE_ID}/bandwidth/")
    assert page.status_code == 200
    settle()
    assert asked(sim, "/cloudvpnwatch") == before


def test_a_breaker_nobody_calls_after_its_cool_down_is_not_degraded(client, sim, settings):
    """Staff moved a tenant off a dead IES: its breaker, past its cool-down and never tried again,
    reads closed at once (not half-open, "degraded", for a day), and is forgotten after a while."""
    from portal.observability import circuits
    from portal.tenants.ies import breaker_store_configure

    settings.IES_BREAKER_RESET_SECONDS = 0.3
    breaker_store_configure()
    dead = breaker.Circuit("https://moved-away.example:17100/rest", "GET", "/servicemanager/v1/services",
                           breaker.BreakerConfig(failure_threshold=1, reset_timeout=0.3, trial_timeout=0.2))
    dead.failure(dead.admit())
    assert client.get("/readyz").json()["checks"]["ies"]["ok"] is False
    time.sleep(0.4)
    [entry] = circuits.circuits()
    assert (entry.state, entry.open_for_seconds) == ("closed", None)
    assert client.get("/readyz").json()["checks"]["ies"]["ok"] is True
    time.sleep(1.0)  # its record lives four cool-downs
    assert circuits.circuits() == []


def test_a_pages_read_timeouts_do_not_shut_out_the_worker(presets, sim, settings):
    """IES slow but working: pages give up after IES_PAGE_READ_TIMEOUT, and soon stop asking, which
    must not close the endpoint to the worker's syncs and operation tracking, whose longer timeout
    the answers meet."""
    from ies_client.errors import IESCircuitOpen, IESUnavailable
    from portal.tenants.ies import ies_for_tenant

    settings.IES_PAGE_READ_TIMEOUT = 0.3
    settings.IES_BREAKER_FAILURES = 2
    tenant = Tenant.objects.get(name="nbitest_16")
    sim.add_fault(kind="hang", seconds=1.0, prefix="/rest/catalog")
    for _ in range(2):
        with pytest.raises(IESUnavailable) as caught:
            ies_for_tenant(tenant, for_page=True).list_service_definitions()
        assert not isinstance(caught.value, IESCircuitOpen)
    with pytest.raises(IESCircuitOpen):
        ies_for_tenant(tenant, for_page=True).list_service_definitions()
    assert ies_for_tenant(tenant).list_service_definitions()
    assert [(s.scope, s.state) for s in breaker.snapshot()] == [("pages", "open")]  # nothing against the worker


def test_the_trial_timeout_is_a_setting(presets, settings):
    from portal.tenants.ies import ies_for_tenant

    settings.IES_BREAKER_TRIAL_SECONDS = 7.5
    tenant = Tenant.objects.get(name="nbitest_16")
    assert ies_for_tenant(tenant)._transport.breaker.trial_timeout == 7.5
