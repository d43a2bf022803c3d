""""Refresh from IES" cannot become a stream of calls to IES (issue 13 review, defects 2 and 3).

Anyone who can see a page may press it (a viewer too: it is a read). A press asks the worker at
once, but not while a refresh is still pending and not twice within a short floor per tenant (the
list) or service (its page); the page then says IES was asked moments ago. And a background refresh
carries an expiry, so that a backlog of them is dropped by the worker rather than run late, ahead of
the operations sharing the queue."""

import time
from datetime import UTC, datetime

import pytest
from celery.signals import after_task_publish

from portal.services import dispatch, queries
from portal.services.models import Service
from portal.tenants.models import Membership, Role
from tests.portal.helpers import post
from tests.portal.services.mirroring import run_refreshes

pytestmark = pytest.mark.django_db

ALREADY = "IES was asked moments ago"


def sent(inline_worker, name: str) -> int:
    return sum(name in message for message in inline_worker.sent)


@pytest.fixture
def viewer(own_tenant):
    Membership.objects.filter(tenant=own_tenant.tenant, user__username="own2").update(role=Role.VIEWER)
    return own_tenant.login("own2")


@pytest.mark.parametrize("page", ["list", "detail"])
def test_pressing_refresh_again_and_again_asks_ies_once_while_pending(own_tenant, viewer, inline_worker, page):
    url = "/services/" if page == "list" else f"/services/{own_tenant.service_id}/"
    task = dispatch.SYNC_TENANT if page == "list" else dispatch.REFRESH_SERVICE
    client = own_tenant.login("own1")
    for who in (client, viewer, client, viewer, client):
        assert post(who, url).status_code == 302
    assert sent(inline_worker, task) == 1, "one refresh, however often it is pressed while it is pending"
    assert ALREADY in viewer.get(url).text, "the page says why nothing more was asked"


def test_a_refresh_that_has_landed_may_be_asked_again_after_the_floor(own_tenant, viewer, inline_worker, monkeypatch):
    monkeypatch.setattr(queries, "FORCED_REFRESH_FLOOR_SECONDS", 1)
    assert post(viewer, "/services/").status_code == 302
    run_refreshes(inline_worker)  # no longer pending …
    assert post(viewer, "/services/").status_code == 302
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 1, "… but pressed again within the floor"
    assert ALREADY in viewer.get("/services/").text
    time.sleep(1.2)
    assert post(viewer, "/services/").status_code == 302
    assert sent(inline_worker, dispatch.SYNC_TENANT) == 2, "past the floor, a press asks again"
    assert ALREADY not in viewer.get("/services/").text


def test_background_refreshes_expire_rather_than_run_late(own_tenant, inline_worker):
    expiries: dict[str, datetime] = {}

    def record(sender=None, headers=None, **_ignored) -> None:
        expires = (headers or {}).get("expires")
        if expires:
            expiries[sender] = datetime.fromisoformat(expires)

    after_task_publish.connect(record, weak=False)
    try:
        assert dispatch.sync_tenant(own_tenant.tenant.pk)
        service = Service.objects.filter(tenant=own_tenant.tenant).first()
        assert dispatch.refresh_service(own_tenant.tenant.pk, service.pk)
    finally:
        after_task_publish.disconnect(record)
    assert set(expiries) == {dispatch.SYNC_TENANT, dispatch.REFRESH_SERVICE}, "each refresh carries an expiry"
    for expires in expiries.values():
        left = (expires - datetime.now(UTC)).total_seconds()
        assert 0 < left <= queries.PENDING_SECONDS + 1, "dropped once the page has stopped waiting for it"
