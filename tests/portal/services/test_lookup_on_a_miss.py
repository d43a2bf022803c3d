"""A page opens a service the mirror has not heard of yet (made elsewhere, first visit): the access
chokepoint misses, the mirror asks IES once, and the lookup is repeated. A miss asks IES at most
once every 30 s per tenant, and a viewer's change is refused before anything is looked up."""

import pytest

from portal.services.models import Service
from tests.portal.helpers import csrf, post

pytestmark = pytest.mark.django_db

DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service (user2, user3)
DC12_CONNECTION = "0S2DC201705071132"
LIST_CALL = "/servicemanager/v1/services"


def test_a_service_page_opened_first_finds_the_service_at_ies(login):
    assert not Service.objects.filter(ies_service_id=DC12).exists()  # the mirror does not know it yet
    page = login("user2").get(f"/services/{DC12}/")
    assert page.status_code == 200 and DC12_CONNECTION in page.text


def test_a_connection_page_opened_first_finds_the_service_at_ies(login):
    assert not Service.objects.filter(cloud_vpn_name=DC12_CONNECTION).exists()
    assert login("user2").get(f"/traffic/{DC12_CONNECTION}/").status_code == 200


def test_a_second_miss_soon_after_does_not_ask_ies_again(login, simulator):
    client = login("user2")
    before = len(simulator.log())
    assert client.get("/services/no-such-service/").status_code == 404
    assert LIST_CALL in simulator.log()[before:], "the first miss asks IES for the tenant's services"
    before = len(simulator.log())
    assert client.get("/services/no-such-service-either/").status_code == 404
    assert client.get("/traffic/NOSUCHVPN/").status_code == 404
    assert LIST_CALL not in simulator.log()[before:], "a miss within 30 s of the last one does not"


def test_a_viewer_is_refused_a_change_before_anything_is_looked_up(login, simulator):
    from portal.tenants.models import Membership

    Membership.objects.filter(user__username="user3").update(role="viewer")
    client = login("user3")
    csrf(client)  # the form's token comes with a page that may itself ask IES
    before = len(simulator.log())
    # The same 403 whether the service exists or not: the refusal tells nothing about what exists.
    for service_id in (DC12, "no-such-service"):
        assert post(client, f"/services/{service_id}/delete/", {"confirm_name": "x"}).status_code == 403
        assert post(client, f"/services/{service_id}/bandwidth/",
                    {"bandwidth_0": "80", "bandwidth_1": "Mbit/s"}).status_code == 403
    assert LIST_CALL not in simulator.log()[before:]
