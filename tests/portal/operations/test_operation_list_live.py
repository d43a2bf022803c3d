"""The operations list refreshes itself: often while something is in flight (as often as the
operation's own page), rarely otherwise (for an operation someone else starts). A fragment (the
listing block of the same template) with a row per operation that says its state, and the header
badge counted in the same response."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.operations.models import Operation, OperationState
from portal.tenants.models import Tenant
from tests.portal.operations.test_tracking import place_order, run_to_end

pytestmark = pytest.mark.django_db


def test_the_list_polls_while_an_operation_runs_and_stops_after(login, inline_worker):
    client = login("user16")
    with inline_worker.sends():
        op, _form = place_order(client)
    page = client.get("/operations/")
    assert 'id="op-listing"' in page.text and 'hx-trigger="every 2s"' in page.text and 'data-polling="live"' in page.text
    assert f'data-operation-id="{op.pk}" data-state="queued"' in page.text

    fragment = client.get("/operations/", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="op-listing"' in fragment.text
    assert 'id="ops-badge"' in fragment.text and 'hx-swap-oob="true"' in fragment.text
    assert fragment["Vary"] and "HX-Request" in fragment["Vary"]

    done = run_to_end(inline_worker, op)
    assert done.state == OperationState.SUCCEEDED
    fragment = client.get("/operations/", headers={"HX-Request": "true"})
    assert f'data-operation-id="{op.pk}" data-state="succeeded"' in fragment.text
    listing = fragment.text.split('id="ops-badge"')[0]
    assert 'hx-trigger="every 30s"' in listing and 'data-polling="idle"' in listing, "nothing runs: it polls rarely"


def test_a_tenant_sees_only_its_own_operations_in_the_listing(login, inline_worker):
    with inline_worker.sends():
        theirs, _form = place_order(login("user16"))
    fragment = login("user1").get("/operations/", headers={"HX-Request": "true"})
    assert f'data-operation-id="{theirs.pk}"' not in fragment.text
    assert Operation.objects.filter(pk=theirs.pk).exists()


def test_the_list_polls_every_second_once_an_operation_nears_its_expected_end(login):
    client = login("user16")
    tenant = Tenant.objects.get(name="nbitest_16")
    op = Operation.objects.create(tenant=tenant, kind="create", state=OperationState.PROCESSING,
                                  service_name="near-end", expected_seconds=600,
                                  submitted_at=timezone.now() - timedelta(seconds=300))
    listing = client.get("/operations/", headers={"HX-Request": "true"}).text
    assert 'hx-trigger="every 2s"' in listing, "half way: every 2 s"
    Operation.objects.filter(pk=op.pk).update(submitted_at=timezone.now() - timedelta(seconds=500))
    listing = client.get("/operations/", headers={"HX-Request": "true"}).text
    assert 'hx-trigger="every 1s"' in listing, "past 80 % of the expected time: every second"
