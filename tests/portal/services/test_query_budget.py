"""The service list and a service's page in at most 5 SQL queries, none of them a write (issue 14):
session, user, membership, the header badge and the page's own data all counted, for a member,
a viewer and staff seeing as the tenant; and what the folded queries show is what the separate
ones showed (counts, running operations, the badge)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from portal.operations.models import Operation, OperationKind, OperationSeen, OperationState
from portal.operations.selectors import operations_badge
from portal.services.models import Service
from portal.tenants.access import SESSION_SEE_AS_KEY
from portal.tenants.models import Membership, Role, Tenant
from tests.conftest import clear_session_cache
from tests.fixtures_portal import DEMO_PASSWORD
from tests.portal.services.mirroring import mirror_tenants

pytestmark = pytest.mark.django_db

BUDGET = 5
SERVICES = 60  # two pages of 50
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture
def busy(own_tenant, simulator):
    """own_tenant with 60 services (two pages), a viewer, and operations in every state the badge
    counts: two running (one of them on the first row), one stopped, one finished and not seen."""
    simulator.bulk_services(own_tenant.name, SERVICES - 1)
    from portal.services.models import ServiceListRefresh

    ServiceListRefresh.objects.filter(tenant=own_tenant.tenant).delete()
    mirror_tenants(own_tenant.tenant)
    rows = list(Service.objects.filter(tenant=own_tenant.tenant).order_by("name_key", "name"))
    assert len(rows) == SERVICES
    user = get_user_model().objects.get(username="own1")
    viewer = get_user_model().objects.create_user("own_viewer", password=DEMO_PASSWORD)
    Membership.objects.create(user=viewer, tenant=own_tenant.tenant, role=Role.VIEWER)

    def op(service, state, **fields):
        return Operation.objects.create(tenant=own_tenant.tenant, service=service, kind=OperationKind.MODIFY,
                                        state=state, service_name=service.name, requested_by=user, **fields)

    now = timezone.now()
    own_tenant.rows = rows
    own_tenant.first_running = op(rows[0], OperationState.PROCESSING)
    op(rows[0], OperationState.SUCCEEDED, finished_at=now)  # news to own1
    op(rows[1], OperationState.QUEUED)
    op(rows[2], OperationState.STUCK)
    seen = op(rows[3], OperationState.SUCCEEDED, finished_at=now)
    OperationSeen.objects.create(operation=seen, user=user)
    return own_tenant


def _staff_seeing_as(tenant) -> Client:
    staff = get_user_model().objects.create_user("own_staff", password=DEMO_PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    session = client.session
    session[SESSION_SEE_AS_KEY] = tenant.pk
    session.save()
    return client


def _clients(busy) -> dict[str, Client]:
    return {"member": busy.login("own1"), "viewer": busy.login("own_viewer"), "staff": _staff_seeing_as(busy.tenant)}


def _get_within_budget(client: Client, url: str, budget_check, **extra):
    client.get(url, **extra)  # the first view may ask for a background refresh: the common view is the next
    with budget_check(BUDGET) as captured:
        page = client.get(url, **extra)
    assert page.status_code == 200, page.status_code
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert not writes, writes
    return page


@pytest.mark.parametrize("who", ["member", "viewer", "staff"])
def test_the_service_list_makes_at_most_five_queries(busy, who, django_assert_max_num_queries):
    client = _clients(busy)[who]
    page = _get_within_budget(client, "/services/", django_assert_max_num_queries)
    assert f"{SERVICES} services" in page.text and "Page 1 of 2" in page.text
    for query in ({"page": "2"}, {"q": busy.rows[5].name}, {"status": "Completed", "sort": "-changed"}):
        _get_within_budget(client, "/services/", django_assert_max_num_queries, query_params=query)
    _get_within_budget(client, "/services/", django_assert_max_num_queries, headers={"HX-Request": "true"})


@pytest.mark.parametrize("who", ["member", "viewer", "staff"])
def test_a_service_page_makes_at_most_five_queries(busy, who, django_assert_max_num_queries):
    client = _clients(busy)[who]
    for row in busy.rows[:2]:  # one with operations (running, finished), one with a queued one
        page = _get_within_budget(client, f"/services/{row.ies_service_id}/", django_assert_max_num_queries)
        assert row.name in page.text


def test_a_session_is_read_from_the_cache_and_survives_the_cache_being_wiped(busy, django_assert_max_num_queries):
    client = busy.login("own1")
    client.get("/services/")
    clear_session_cache()  # Redis wiped (or restarted empty): the database still has the session
    with django_assert_max_num_queries(BUDGET + 1) as captured:  # + the session, read once from the database
        page = client.get("/services/")
    assert page.status_code == 200 and "own1" in page.text
    assert any("django_session" in q["sql"] for q in captured.captured_queries)
    with django_assert_max_num_queries(BUDGET) as captured:
        client.get("/services/")
    assert not any("django_session" in q["sql"] for q in captured.captured_queries), "the cache serves it again"


def _badge(html: str) -> str:
    match = re.search(r'<span id="ops-badge"[^>]*>.*?</span>(?=\s*(?:$|</a>))', html, re.S)
    assert match, html[-1500:]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))).strip()


def _words(badge) -> str:
    parts = [f"{badge.running} running" if badge.running else "", f"{badge.halted} to check" if badge.halted else "",
             f"{badge.unseen} new" if badge.unseen else ""]
    return " ".join(part for part in parts if part)


def test_the_folded_queries_show_what_the_separate_ones_did(busy):
    member = Membership.objects.get(user__username="own1", tenant=busy.tenant)
    client = busy.login("own1")
    page = client.get("/services/")
    assert _badge(page.text) == _words(operations_badge(tenant=busy.tenant, reader=member)) == "2 running 1 to check 1 new"
    first, second = busy.rows[0], busy.rows[1]
    row = page.text.split(f'id="row-{first.ies_service_id}"', 1)[1].split("</tr>", 1)[0]
    assert f'hx-get="/services/{first.ies_service_id}/row/"' in row
    assert f'href="/operations/{busy.first_running.pk}/"' in row and "Change bandwidth…" in row
    quiet = page.text.split(f'id="row-{busy.rows[4].ies_service_id}"', 1)[1].split("</tr>", 1)[0]
    assert "hx-get" not in quiet and "badge-live" not in quiet
    assert re.search(r'<option value="Completed" title="Completed"\s*>', page.text), "the status filter's words"

    detail = client.get(f"/services/{first.ies_service_id}/")
    running = Operation.objects.get(pk=busy.first_running.pk)
    assert _badge(detail.text) == _words(operations_badge(tenant=busy.tenant, reader=member, current=running))
    assert "hx-get" not in detail.text.split('id="ops-badge"', 1)[1].split(">", 1)[0], "the notice carries it"
    for other in (second, busy.rows[2], busy.rows[5]):  # its own queued, stopped, or no operation
        assert _badge(client.get(f"/services/{other.ies_service_id}/").text) == "2 running 1 to check 1 new"

    viewer = busy.login("own_viewer")
    assert _badge(viewer.get("/services/").text) == "2 running 1 to check", "a viewer has no news"
    assert "own_viewer" in viewer.get(f"/services/{first.ies_service_id}/").text


def test_staff_seeing_as_a_tenant_get_no_menu_of_their_own_tenants(busy):
    client = _staff_seeing_as(busy.tenant)
    staff = get_user_model().objects.get(username="own_staff")
    for name in ("staff_home_1", "staff_home_2"):
        Membership.objects.create(user=staff, tenant=Tenant.objects.create(name=name))
    page = client.get("/services/")
    assert page.status_code == 200 and f"{SERVICES} services" in page.text
    assert 'id="tenant-switch"' not in page.text, "switching would change nothing until they stop seeing as"
    assert f">{busy.tenant.name}</span>" in page.text
