"""Issue 13 (defect 1) and issue 14 (goal 3): a GET of the service list or a service's page never
calls IES and never writes; it renders the mirror and says how fresh it is. A background task
refreshes from IES, and the page's partial, polled while the refresh is pending, shows the result.

IES requests are counted in the simulator's own request log, not by the portal."""

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.celery import app
from portal.services import dispatch, queries
from portal.services.models import Service, ServiceListRefresh
from tests.portal.helpers import post
from tests.portal.services.mirroring import make_stale, run_refreshes
from tests.simulator.helpers import create_body, created_service
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

DC12 = "9LbuAd11Qe-cuGnVONz6qw"  # nbitest_12's service (user2)
HTMX = {"HX-Request": "true"}
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def ies_requests(simulator, since: int) -> list[str]:
    """Tenant API requests (not the simulator's own /_sim endpoints) logged since `since`."""
    return [line for line in simulator.log()[since:].splitlines()
            if "/rest/" in line and "/rest/_sim/" not in line and "openapi" not in line]


def sent(inline_worker, name: str) -> int:
    return sum(name in message for message in inline_worker.sent)


def poll_url(html: str) -> str | None:
    match = re.search(r'hx-get="([^"]*poll=\d+[^"]*)" hx-trigger="every', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_with_ies_hanging_the_pages_ask_ies_nothing_and_show_the_last_known_state(own_tenant, sim, inline_worker):
    make_stale(own_tenant.tenant)  # old enough that a page wants a refresh
    sim.add_fault(kind="hang", seconds=2, prefix="/rest")
    client = own_tenant.login()
    before = len(sim.log())
    listing = client.get("/services/")
    detail = client.get(f"/services/{own_tenant.service_id}/")
    assert listing.status_code == detail.status_code == 200
    assert own_tenant.service_name in listing.text and own_tenant.service_name in detail.text
    for page in (listing, detail):
        assert "checking IES for changes" in page.text  # the last known state, and a refresh on its way
        assert poll_url(page.text), "the page polls its partial while the refresh is pending"
    time.sleep(2.5)  # a request to a hanging simulator is logged when its hang ends
    assert ies_requests(sim, before) == [], "no IES request from a page"
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 1 and sent(inline_worker, dispatch.REFRESH_SERVICE) == 1


def test_with_ies_down_the_pages_say_so_after_the_failed_refresh(own_tenant, sim, inline_worker):
    make_stale(own_tenant.tenant)
    sim.add_fault(kind="error", status=503, prefix="/rest")
    client = own_tenant.login()
    client.get("/services/"), client.get(f"/services/{own_tenant.service_id}/")
    run_refreshes(inline_worker)  # both fail at IES
    before = len(sim.log())
    listing = client.get("/services/")
    detail = client.get(f"/services/{own_tenant.service_id}/")
    assert ies_requests(sim, before) == []
    for page in (listing, detail):
        assert page.status_code == 200 and own_tenant.service_name in page.text
        assert "IES is not answering right now." in page.text
        assert "This is the last known state, as of" in page.text
        assert "(Asia/Shanghai)" in page.text


@pytest.mark.parametrize("path", ["/services/", "/services/{id}/"])
def test_a_page_view_writes_nothing(own_tenant, path):
    make_stale(own_tenant.tenant)  # the old code refreshed (and wrote) exactly then
    client = own_tenant.login()
    client.get("/services/activity/")  # the session is settled
    with CaptureQueriesContext(connection) as queries_run:
        answer = client.get(path.format(id=own_tenant.service_id))
    assert answer.status_code == 200
    writes = [q["sql"] for q in queries_run.captured_queries if WRITES.match(q["sql"])]
    assert writes == []


def test_the_refresh_lands_and_the_polled_list_shows_a_service_created_at_ies(own_tenant, simulator, inline_worker):
    make_stale(own_tenant.tenant)
    body = create_body()
    created = created_service(simulator, own_tenant.name, body)  # made at IES, not through the portal
    client = own_tenant.login()
    page = client.get("/services/")
    assert body["service"]["name"] not in page.text  # not known yet
    url = poll_url(page.text)
    assert url and "poll=1" in url
    run_refreshes(inline_worker)
    partial = client.get(url, headers=HTMX)
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<div id="results"')
    assert body["service"]["name"] in partial.text and f"/services/{created}/" in partial.text
    assert poll_url(partial.text) is None, "the refresh has landed: polling stops"
    assert "From IES, as of" in partial.text


def test_the_detail_shows_ies_history_after_the_refresh_and_its_own_until_then(login, inline_worker):
    client = login("user2")
    Service.objects.filter(ies_service_id=DC12).update(history_synced_at=None, remote_history=[],
                                                       detail_attempted_at=None)
    page = client.get(f"/services/{DC12}/")
    assert "operation log is being fetched" in page.text
    assert 'title="Update"' not in page.text
    url = poll_url(page.text)
    assert url and "part=state" in url
    run_refreshes(inline_worker)
    partial = client.get(url, headers=HTMX)
    assert partial.text.lstrip().startswith('<div id="service-state"')
    assert 'title="Update"' in partial.text, "IES's log of the preset's past bandwidth changes"
    assert "operation log is being fetched" not in partial.text and poll_url(partial.text) is None


def test_a_service_deleted_at_ies_shows_as_deleted_once_the_refresh_learns_it(own_tenant, simulator, inline_worker):
    client = own_tenant.login()
    url = f"/services/{own_tenant.service_id}/"
    path = f"/servicemanager/v1/services/{own_tenant.service_id}"
    assert simulator.call("DELETE", path, tenant=own_tenant.name).status_code == 202
    assert wait_until(lambda: simulator.call("GET", path, tenant=own_tenant.name).status_code == 404, timeout=20)
    make_stale(own_tenant.tenant)
    page = client.get(url)
    assert "This service was deleted" not in page.text  # the last known state until the refresh
    run_refreshes(inline_worker)
    partial = client.get(poll_url(page.text), headers=HTMX)
    assert partial.headers.get("HX-Refresh") == "true", "a deletion redraws the whole page"
    page = client.get(url)
    assert "This service was deleted" in page.text and poll_url(page.text) is None
    assert own_tenant.service_name not in client.get("/services/").text.split('id="results"', 1)[1]


def test_a_page_asks_for_a_refresh_once_per_window(own_tenant, inline_worker):
    make_stale(own_tenant.tenant)
    client = own_tenant.login()
    for _ in range(3):
        client.get("/services/")
        client.get(f"/services/{own_tenant.service_id}/")
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 1
    assert sent(inline_worker, dispatch.REFRESH_SERVICE) == 1


def test_refresh_from_ies_asks_at_once_even_when_fresh(own_tenant, inline_worker):
    client = own_tenant.login()
    client.get("/services/")
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 0, "the list is fresh: nothing asked"
    assert post(client, "/services/").status_code == 302
    assert post(client, f"/services/{own_tenant.service_id}/").status_code == 302
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 1 and sent(inline_worker, dispatch.REFRESH_SERVICE) == 1
    page = client.get("/services/")
    assert "checking IES for changes" in page.text
    run_refreshes(inline_worker)
    assert ServiceListRefresh.objects.get(tenant=own_tenant.tenant).trouble == ""
    assert "checking IES for changes" not in client.get("/services/").text


def test_the_polls_are_bounded(own_tenant, inline_worker):
    make_stale(own_tenant.tenant)
    client = own_tenant.login()
    page = client.get("/services/")
    assert poll_url(page.text)
    last = client.get(f"/services/?poll={queries.MAX_POLLS}", headers=HTMX)
    assert poll_url(last.text) is None
    assert "IES has not answered yet" in last.text


def test_the_refresh_task_is_registered():
    app.loader.import_default_modules()
    assert dispatch.REFRESH_SERVICE in app.tasks and dispatch.SYNC_TENANT in app.tasks
