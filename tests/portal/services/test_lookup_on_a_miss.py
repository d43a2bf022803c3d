"""A page opens a service the mirror has not heard of yet (made elsewhere, first visit): the access
chokepoint misses, IES is not asked in the request; the tenant's list is refreshed in the
background (at most once per window) and the page is a 404 that says so, the same for another
tenant's service as for nobody's. Once the refresh has run, the service opens. A viewer's change is
refused before anything is looked up."""

import pytest

from portal.services import dispatch
from portal.services.models import Service
from tests.portal.helpers import csrf, post
from tests.portal.services.mirroring import run_refreshes

pytestmark = pytest.mark.django_db

DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service (user2, user3)
S2S = "8hiqoNgCSZmrlD1MyROJbg"  # nbitest_11's service (user1)
DC12_CONNECTION = "0S2DC201705071132"
IES_CALL = "/rest/servicemanager/"


def ies_requests(simulator, since: int) -> list[str]:
    """The tenant API requests the simulator logged since `since` (its own log, not the portal's)."""
    return [line for line in simulator.log()[since:].splitlines() if IES_CALL in line]


def forget_dc12() -> None:
    Service.objects.filter(ies_service_id=DC12).delete()


def sync_messages(inline_worker) -> int:
    return sum(dispatch.SYNC_TENANT in sent for sent in inline_worker.sent)


def test_a_service_page_opened_first_is_a_404_that_says_the_list_is_being_refreshed_then_opens(
        login, simulator, inline_worker):
    forget_dc12()  # the mirror does not know it yet
    client = login("user2")
    before = len(simulator.log())
    page = client.get(f"/services/{DC12}/")
    assert page.status_code == 404
    assert "Your list of services is being refreshed from IES" in page.text
    assert ies_requests(simulator, before) == [], "the request asks IES nothing"
    assert sync_messages(inline_worker) == 1, "the tenant's list is refreshed in the background"
    run_refreshes(inline_worker)
    page = client.get(f"/services/{DC12}/")
    assert page.status_code == 200 and DC12_CONNECTION in page.text


def test_a_connection_page_opened_first_finds_the_service_after_the_refresh(login, simulator, inline_worker):
    forget_dc12()
    client = login("user2")
    before = len(simulator.log())
    assert client.get(f"/traffic/{DC12_CONNECTION}/").status_code == 404
    assert not any("/servicemanager/" in line for line in ies_requests(simulator, before))
    run_refreshes(inline_worker)
    assert client.get(f"/traffic/{DC12_CONNECTION}/").status_code == 200


def test_a_second_miss_soon_after_does_not_ask_again(login, inline_worker):
    client = login("user2")
    assert client.get("/services/no-such-service/").status_code == 404
    assert sync_messages(inline_worker) == 1, "the first miss asks for the tenant's list"
    assert client.get("/services/no-such-service-either/").status_code == 404
    assert client.get("/traffic/NOSUCHVPN/").status_code == 404
    assert sync_messages(inline_worker) == 1, "a miss within the window of the last one does not"


def test_another_tenants_service_is_not_known_in_the_same_words_and_never_learned(login, inline_worker):
    client = login("user1")
    theirs = client.get(f"/services/{DC12}/")
    nobodys = client.get("/services/0000000000000000no-such-service/")
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.text.split("<main", 1)[1] == nobodys.text.split("<main", 1)[1]
    run_refreshes(inline_worker)  # user1's tenant's list, with its own token: DC12 is not in it
    assert client.get(f"/services/{DC12}/").status_code == 404
    assert not Service.objects.filter(ies_service_id=DC12, tenant__name="nbitest_11").exists()
    assert client.get(f"/services/{S2S}/").status_code == 200


def test_a_viewer_is_refused_a_change_before_anything_is_looked_up(login, simulator, inline_worker):
    from portal.tenants.models import Membership

    Membership.objects.filter(user__username="user3").update(role="viewer")
    client = login("user3")
    csrf(client)
    before = len(simulator.log())
    sent = inline_worker.published
    # The same 403 whether the service exists or not: the refusal tells nothing about what exists.
    for service_id in (DC12, "no-such-service"):
        assert post(client, f"/services/{service_id}/delete/", {"confirm_name": "x"}).status_code == 403
        assert post(client, f"/services/{service_id}/bandwidth/",
                    {"bandwidth_0": "80", "bandwidth_1": "Mbit/s"}).status_code == 403
    assert ies_requests(simulator, before) == []
    assert inline_worker.published == sent, "nothing was looked up, so nothing refreshed"
