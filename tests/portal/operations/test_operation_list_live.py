"""The operations list refreshes itself while something is in flight, and only then: a fragment
(the listing block of the same template) with a row per operation that says its state, and the
header badge counted in the same response."""

import pytest

from portal.operations.models import Operation, OperationState
from tests.portal.operations.test_tracking import place_order, run_to_end

pytestmark = pytest.mark.django_db


def test_the_list_polls_while_an_operation_runs_and_stops_after(login, inline_worker):
    client = login("user16")
    with inline_worker.sends():
        op, _form = place_order(client)
    page = client.get("/operations/")
    assert 'id="op-listing"' in page.text and 'hx-trigger="every 2s"' in page.text
    assert f'data-operation-id="{op.pk}" data-state="queued"' in page.text

    fragment = client.get("/operations/", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="op-listing"' in fragment.text
    assert 'id="ops-badge"' in fragment.text and 'hx-swap-oob="true"' in fragment.text
    assert fragment["Vary"] and "HX-Request" in fragment["Vary"]

    done = run_to_end(inline_worker, op)
    assert done.state == OperationState.SUCCEEDED
    fragment = client.get("/operations/", headers={"HX-Request": "true"})
    assert f'data-operation-id="{op.pk}" data-state="succeeded"' in fragment.text
    assert "hx-trigger" not in fragment.text.split('id="ops-badge"')[0], "nothing runs: the listing stops polling"


def test_a_tenant_sees_only_its_own_operations_in_the_listing(login, inline_worker):
    with inline_worker.sends():
        theirs, _form = place_order(login("user16"))
    fragment = login("user1").get("/operations/", headers={"HX-Request": "true"})
    assert f'data-operation-id="{theirs.pk}"' not in fragment.text
    assert Operation.objects.filter(pk=theirs.pk).exists()
