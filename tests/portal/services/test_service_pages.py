"""Service list (search, sort, filter, paging), detail, and tenant isolation of every service URL."""

import pytest

from portal.services.models import Service
from tests.portal.helpers import post
from tests.portal.services.mirroring import mirror_tenants, run_refreshes

pytestmark = pytest.mark.django_db

S2S = "8hiqoNgCSZmrlD1MyROJbg"  # nbitest_11's service
DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service


def test_the_list_searches_filters_and_sorts(login, sim, simulator):
    tenant = sim.new_tenant("bulkco")
    sim.bulk_services("bulkco", 120)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from portal.tenants.models import Membership, Tenant

    t = Tenant.objects.create(name="bulkco")
    t.set_credentials(token=tenant["token"], bearer=tenant["bearer"])
    t.save()
    user = get_user_model().objects.create_user("bulk", password="bulk-password-1")
    Membership.objects.create(user=user, tenant=t)
    mirror_tenants(t)  # as the background refresh leaves it
    client = Client()
    client.force_login(user)
    first = client.get("/services/")
    assert "120 services" in first.text
    assert "Page 1 of 3" in first.text
    assert Service.objects.filter(tenant=t).count() == 120
    some = Service.objects.filter(tenant=t).order_by("name")[7]
    found = client.get("/services/", {"q": some.name})
    assert some.name in found.text and "1 service" in found.text
    fragment = client.get("/services/", {"q": some.name}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">')
    none = client.get("/services/", {"status": "CreateFailed"})
    assert "No service matches these filters." in none.text
    desc = client.get("/services/", {"sort": "-name"})
    names = [s.name for s in Service.objects.filter(tenant=t).order_by("-name")[:2]]
    assert desc.text.index(names[0]) < desc.text.index(names[1])
    assert client.get("/services/", {"page": "3"}).status_code == 200
    assert client.get("/services/", {"page": "junk"}).status_code == 200


def test_the_detail_shows_parameters_history_and_links(login):
    client = login("user2")
    page = client.get(f"/services/{DC12}/")
    assert page.status_code == 200
    for text in ("site2dc_201705071132", "0S2DC201705071132", "VPC_ID", "CPE_A_ESN", "Operation history",
                 "/traffic/0S2DC201705071132/", f"/services/{DC12}/bandwidth/", f"/services/{DC12}/delete/"):
        assert text in page.text


def test_the_detail_survives_an_ies_outage_with_the_last_known_state(login, sim, inline_worker):
    client = login("user2")
    client.get(f"/services/{DC12}/")
    run_refreshes(inline_worker)
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager")
    assert post(client, f"/services/{DC12}/").status_code == 302  # "Refresh from IES"
    run_refreshes(inline_worker)  # fails: the page says so and shows what it knew
    page = client.get(f"/services/{DC12}/")
    assert page.status_code == 200
    assert "IES is not answering right now." in page.text
    assert "This is the last known state, as of" in page.text
    assert "0S2DC201705071132" in page.text


@pytest.mark.parametrize("suffix", ["", "row/", "bandwidth/", "delete/"])
def test_another_tenants_service_is_404_and_ies_is_not_asked_about_it(login, simulator, suffix):
    client = login("user2")
    client.get("/services/")  # the mirror is current: no reason to ask IES anything
    before = simulator.log()
    assert client.get(f"/services/{S2S}/{suffix}").status_code == 404
    if suffix in ("bandwidth/", "delete/"):
        answer = post(client, f"/services/{S2S}/{suffix}", {"bandwidth_0": "80", "bandwidth_1": "Mbit/s",
                                                              "confirm_name": "s2s_201705061433"})
        assert answer.status_code == 404
    assert S2S not in simulator.log()[len(before):], "no IES call about another tenant's service"


def test_viewers_see_but_cannot_change(login, presets):
    from portal.tenants.models import Membership

    Membership.objects.filter(user__username="user3").update(role="viewer")
    client = login("user3")
    page = client.get(f"/services/{DC12}/")
    assert page.status_code == 200 and "Change bandwidth" not in page.text
    assert post(client, f"/services/{DC12}/bandwidth/", {"bandwidth_0": "80", "bandwidth_1": "Mbit/s"}).status_code == 403
    assert client.get(f"/services/{DC12}/delete/").status_code == 403
    assert post(client, f"/services/{DC12}/delete/", {"confirm_name": "site2dc_201705071132"}).status_code == 403
