"""One truth per page, in a real Chromium (issue 11, items 6 and 7).

The header badge and an operation's status card come from the same response, so no moment shows
"1 running" next to a finished operation; a service deleted while its page is open turns into a
deleted service's page by itself: one notice, the status "Deleted", no change buttons, its history.

The operation is placed with no worker running (it waits, queued), the page is opened, and only
then a real worker starts: the test watches the page go from running to finished by itself.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.operations.models import Operation, OperationSeen, OperationState
from tests.e2e.helpers import log_in
from tests.portal.helpers import post
from tests.portal.services.mirroring import own_tenant

__all__ = ["own_tenant"]  # mirrored, as a worker leaves it: pages read the mirror only

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Records, after every change of the page, what the card and the badge say at that moment
# (a MutationObserver runs once all the changes of one swap, out-of-band ones included, are in).
WATCH = """() => {
  window.__seen = [];
  const look = () => {
    const card = document.getElementById("op-status");
    const badge = document.getElementById("ops-badge");
    window.__seen.push([card ? card.dataset.state : null, badge ? badge.textContent.trim() : null]);
  };
  look();
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                       attributes: true});
}"""


def queued_delete(own_tenant) -> Operation:
    """A delete of the tenant's service, requested by own1 and waiting for a worker."""
    client = own_tenant.login("own1")
    client.get("/services/")  # the mirror learns the service
    answer = post(client, f"/services/{own_tenant.service_id}/delete/", {"confirm_name": own_tenant.service_name})
    assert answer.status_code == 302, answer.content[:500]
    return Operation.objects.get(tenant=own_tenant.tenant)


def test_the_badge_and_the_status_card_never_disagree(page, live_server, own_tenant, start_worker):
    op = queued_delete(own_tenant)
    log_in(page, live_server.url, "own1")
    page.goto(f"{live_server.url}/operations/{op.pk}/")
    card = page.locator("#op-status")
    badge = page.locator("#ops-badge")
    expect(badge).to_have_text("1 running")
    page.evaluate(WATCH)

    start_worker()
    expect(page.get_by_test_id("op-phase")).to_have_text("The service is deleted", timeout=30_000)
    expect(card).to_have_attribute("data-state", "succeeded")
    # Finished, and seen by its requester in that same render: nothing running, nothing new.
    expect(badge).to_have_text("")

    seen = page.evaluate("window.__seen")
    running = [s for s in seen if s[0] in (OperationState.QUEUED, OperationState.PROCESSING)]
    finished = [s for s in seen if s[0] == OperationState.SUCCEEDED]
    assert running and finished, seen
    assert all(b == "1 running" for _, b in running), f"a running card next to another badge: {seen}"
    assert all(b == "" for _, b in finished), f"a finished card next to a badge that says otherwise: {seen}"
    # Nothing runs any more: neither the card nor the badge keeps asking the server.
    assert card.get_attribute("hx-get") is None
    assert badge.get_attribute("hx-get") is None
    # Seen by the person who had the page open (issue 13: "seen" is per person).
    assert OperationSeen.objects.filter(operation_id=op.pk, user_id=op.requested_by_id).exists()


def test_a_service_deleted_while_its_page_is_open_becomes_a_deleted_services_page(
        page, live_server, own_tenant, start_worker):
    op = queued_delete(own_tenant)
    log_in(page, live_server.url, "own1")
    page.goto(f"{live_server.url}/services/{own_tenant.service_id}/")
    notices = page.locator("main .notice")
    expect(notices).to_have_count(1)
    expect(notices).to_contain_text("Delete in progress.")
    expect(page.locator("#ops-badge")).to_have_text("1 running")

    start_worker()
    # The page changes by itself once IES has deleted the service.
    expect(notices).to_contain_text("This service was deleted", timeout=30_000)
    expect(notices).to_have_count(1)  # not also "IES no longer knows this service", nor "in progress"
    expect(page.get_by_test_id("service-status")).to_have_text("Deleted")
    expect(page.locator("dl.facts").first).not_to_contain_text("Completed")
    actions = page.locator(".page-head .actions")
    expect(actions.get_by_role("link", name="Delete", exact=True)).to_have_count(0)
    expect(actions.get_by_role("link", name="Change bandwidth")).to_have_count(0)
    expect(page.locator("#ops-badge")).not_to_contain_text("running")

    # Its history stays readable: the operation that deleted it and the audit trail.
    history = page.locator("table").first
    expect(history.get_by_role("row").filter(has_text="Delete")).to_contain_text("Succeeded")
    audit = page.get_by_role("heading", name="Audit trail").locator("xpath=following-sibling::table[1]")
    expect(audit).to_contain_text("own1")
    assert Operation.objects.get(pk=op.pk).state == OperationState.SUCCEEDED

    # The list no longer shows it, and its row (as polled) agrees with the page.
    page.goto(f"{live_server.url}/services/")
    expect(page.get_by_role("link", name=own_tenant.service_name)).to_have_count(0)
    row = page.request.get(f"{live_server.url}/services/{own_tenant.service_id}/row/",
                           headers={"HX-Request": "true"}).text()
    assert re.search(r">Deleted<", row) and "Completed" not in row, row
