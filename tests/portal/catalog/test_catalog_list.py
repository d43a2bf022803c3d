import pytest

from tests.portal.helpers import INACTIVE, SITE2DC, SITE2SITE

pytestmark = pytest.mark.django_db


def test_it_lists_the_definitions_with_kind_and_status(login):
    page = login("user16").get("/catalog/")
    assert page.status_code == 200
    for definition_id in (SITE2DC, SITE2SITE, INACTIVE):
        assert f"/catalog/definitions/{definition_id}/" in page.text
    assert "Site-to-DC" in page.text and "Site-to-Site" in page.text
    assert "Only active definitions can be ordered." in page.text
    # Orderable ones have an order button; the inactive one has none.
    assert f"/catalog/definitions/{SITE2DC}/order/" in page.text
    assert f"/catalog/definitions/{INACTIVE}/order/" not in page.text


def test_it_serves_the_catalog_from_cache_and_refreshes_on_request(login, sim):
    client = login("user16")
    client.get("/catalog/?refresh=1")
    sim.add_fault(kind="error", status=503, prefix="/rest/catalog")
    cached = client.get("/catalog/")
    assert f"/catalog/definitions/{SITE2DC}/" in cached.text
    refreshed = client.get("/catalog/?refresh=1")
    assert "IES is not answering right now." in refreshed.text


def test_the_detail_shows_template_and_parameter_bounds(login):
    page = login("user16").get(f"/catalog/definitions/{SITE2DC}/")
    assert page.status_code == 200
    assert "e77fc5e21e1e42c9933ec9574c33a5d8" in page.text
    assert "1 Mbit/s to 10 Gbit/s, in steps of 1 Mbit/s" in page.text
    assert "CloudVpnName" in page.text


def test_an_unknown_definition_is_404(login):
    assert login("user16").get("/catalog/definitions/ffffffffffffffffffffffffffffffff/").status_code == 404


def test_viewers_cannot_start_an_order(login, presets):
    from portal.tenants.models import Membership

    Membership.objects.filter(user__username="user16").update(role="viewer")
    from tests.portal.helpers import post

    client = login("user16")
    assert post(client, f"/catalog/definitions/{SITE2DC}/order/").status_code == 403


def test_ordering_an_inactive_definition_is_refused_with_the_reason(login):
    from tests.portal.helpers import start_wizard

    client = login("user16")
    key = start_wizard(client, INACTIVE)
    answer = client.get(f"/catalog/orders/new/{key}/", follow=True)
    assert "cannot be ordered" in answer.text
