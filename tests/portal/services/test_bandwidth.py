"""The bandwidth editor: every bad input refused, one change at a time, confirmed by IES."""

import pytest
from django.db import connection

from portal.audit.models import AuditEvent
from portal.operations.models import Operation, OperationState
from portal.services.models import Service
from tests.portal.helpers import post
from tests.portal.services.mirroring import run_refreshes
from tests.waiting import wait_until


def review(client, service_id, amount, unit="Mbit/s", **extra):
    """The first step: the form's POST, which only shows the confirmation."""
    return post(client, f"/services/{service_id}/bandwidth/", {"bandwidth_0": amount, "bandwidth_1": unit}, **extra)


def change(client, service_id, amount, unit="Mbit/s", **extra):
    """The confirmation's POST: the one that starts the change."""
    return post(client, f"/services/{service_id}/bandwidth/",
                {"bandwidth_0": amount, "bandwidth_1": unit, "confirm": "1"}, **extra)


@pytest.fixture
def own(own_tenant):
    """A service of this test's own (changes and failures must not touch the deck's presets)."""
    own_tenant.client = own_tenant.login("own1")
    own_tenant.client.get(f"/services/{own_tenant.service_id}/")  # the mirror learns it
    own_tenant.service = lambda: Service.objects.get(ies_service_id=own_tenant.service_id)
    return own_tenant


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "unit", "message"),
    [
        ("", "Mbit/s", "Enter a bandwidth."),
        ("lots", "Mbit/s", "is not a number"),
        ("0", "Mbit/s", "greater than zero"),
        ("0.5", "Mbit/s", "At least 1 Mbit/s"),
        ("20", "Gbit/s", "At most 10 Gbit/s"),
        ("1500", "kbit/s", "steps of 1 Mbit/s"),
        ("80", "Mbps", "Choose a unit"),
        ("0.0001", "kbit/s", "whole number of kbit/s"),
    ],
)
def test_bad_values_are_refused_with_a_message(own, amount, unit, message):
    answer = change(own.client, own.service_id, amount, unit)
    assert answer.status_code == 400
    assert message in answer.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_the_unchanged_value_is_refused(own):
    current = own.service().bandwidth_kbps
    answer = change(own.client, own.service_id, str(current), "kbit/s")
    assert answer.status_code == 400
    assert "That is the current bandwidth" in answer.text


@pytest.mark.django_db
def test_the_editor_previews_the_change_and_the_utilisation(login):
    # A preset: it has weeks of traffic for the preview (read only, nothing changes).
    client = login("user2")
    client.get("/services/9LbuAd11Qe-cuGnVONz6qw/")
    URL = "/services/9LbuAd11Qe-cuGnVONz6qw/bandwidth/"
    page = client.get(URL + "?suggested_kbps=90000")
    assert "Suggested from the traffic chart: 90 Mbit/s" in page.text
    assert 'value="90"' in page.text
    fragment = client.get(URL, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section class="card" id="bandwidth-card">')
    assert "Last 7 days: peak" in fragment.text


@pytest.mark.django_db
def test_a_change_is_tracked_and_confirmed_by_ies(own, inline_worker):
    client = own.client
    before = own.service().bandwidth_kbps
    new = before + 20000
    with inline_worker.sends():
        answer = change(client, own.service_id, str(new // 1000))
        assert inline_worker.published == 0 and connection.run_on_commit, "sent only once the change is committed"
    assert answer.status_code == 302
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the change to end")
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert own.service().bandwidth_kbps == new
    page = client.get(f"/operations/{op.pk}/")
    assert "IES now reports a bandwidth of" in page.text
    event = AuditEvent.objects.filter(operation=op, outcome="succeeded").get()
    assert event.before == {"bandwidth_kbps": before}
    assert event.after["bandwidth_kbps"] == new
    assert event.actor_name == "own1" and event.client_address == "127.0.0.1"
    client.get(f"/services/{own.service_id}/")
    run_refreshes(inline_worker)  # IES's operation log is read in the background, not by the page
    detail = client.get(f"/services/{own.service_id}/")
    assert "Update" in detail.text and "own1" in detail.text


@pytest.mark.django_db(transaction=True)
def test_a_change_is_tracked_to_the_end_by_a_real_worker(own, celery_worker):
    """The same change through the deployed worker process and the Redis broker, end to end."""
    before = own.service().bandwidth_kbps
    new = before + 20000
    assert change(own.client, own.service_id, str(new // 1000)).status_code == 302
    op = Operation.objects.get()
    wait_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 60, what="the change to end",
               detail=celery_worker.output)
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    assert own.service().bandwidth_kbps == new
    assert AuditEvent.objects.filter(operation=op, outcome="succeeded").exists()


@pytest.mark.django_db(transaction=True)
def test_two_tabs_changing_at_once_one_wins_the_other_is_told_why(own):
    tab1, tab2 = own.client, own.login("own2")
    first = change(tab1, own.service_id, "70")
    second = change(tab2, own.service_id, "90")
    assert first.status_code == 302
    assert second.status_code == 409
    assert "Another change of this service is in progress" in second.text
    assert "requested by own1" in second.text
    assert Operation.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 503, "methods": ["PUT"], "count": 1},
    {"kind": "drop", "methods": ["PUT"], "count": 1},
])
def test_a_failing_ies_loses_nothing_and_makes_no_duplicate(own, inline_worker, sim, fault, settings):
    sim.add_fault(prefix="/rest/servicemanager/v1/services", **fault)
    settings.OPERATION_SUBMIT_RETRY_SECONDS = 1
    before = own.service().bandwidth_kbps
    with inline_worker.sends():
        assert change(own.client, own.service_id, str(before // 1000 + 10)).status_code == 302
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 40, what="the change to end")
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    log = sim.call("GET", f"/servicemanager/v1/services/{own.service_id}/operations", tenant=own.name).json()
    updates = [o for o in log["operations"] if o["operation"] == "Update"]
    assert len(updates) == 1, updates


@pytest.mark.django_db
def test_a_change_ies_fails_leaves_the_old_bandwidth_with_the_reason(own, inline_worker, sim):
    client = own.client
    before = own.service().bandwidth_kbps
    sim.add_fault(kind="fail_operations", count=1, reason="the POP has no spare capacity")
    with inline_worker.sends():
        change(client, own.service_id, str(before // 1000 + 30))
    op = Operation.objects.get()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the change to end")
    op.refresh_from_db()
    assert op.state == OperationState.FAILED
    assert "no spare capacity" in op.message
    assert own.service().bandwidth_kbps == before
    assert "The service was left as it was before." in client.get(f"/operations/{op.pk}/").text


# -- two steps: the form, then the confirmation -----------------------------------------------


@pytest.mark.django_db
def test_the_forms_post_only_shows_the_confirmation(own):
    old = own.service().bandwidth_kbps
    new = old + 20000
    answer = review(own.client, own.service_id, str(new // 1000))
    assert answer.status_code == 200
    assert f"{old // 1000} Mbit/s → {new // 1000} Mbit/s" in answer.text
    assert 'name="confirm" value="1"' in answer.text and "Confirm change" in answer.text
    assert f'name="bandwidth_0" value="{new // 1000}"' in answer.text
    assert "a first estimate" in answer.text
    assert not Operation.objects.exists(), "nothing is sent before the confirmation"


@pytest.mark.django_db
def test_edit_goes_back_to_the_form_with_the_value_kept(own):
    answer = post(own.client, f"/services/{own.service_id}/bandwidth/",
                  {"bandwidth_0": "250", "bandwidth_1": "Mbit/s", "edit": "1"})
    assert answer.status_code == 200
    assert 'value="250"' in answer.text and "Review the change" in answer.text
    assert "Confirm change" not in answer.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_the_confirmation_is_an_htmx_fragment_in_place(own):
    answer = review(own.client, own.service_id, "1,000", headers={"HX-Request": "true"})
    assert answer.text.lstrip().startswith('<section class="card" id="bandwidth-card">')
    assert "→ 1 Gbit/s" in answer.text


@pytest.mark.django_db
def test_the_expected_duration_is_learned_from_earlier_changes(own):
    from datetime import timedelta

    from django.utils import timezone

    from portal.operations.models import OperationKind

    service = own.service()
    now = timezone.now()
    for minutes in (3, 4, 5):
        Operation.objects.create(tenant=own.tenant, service=service, kind=OperationKind.MODIFY,
                                 definition_id=service.service_definition_id, state=OperationState.SUCCEEDED,
                                 submitted_at=now - timedelta(minutes=minutes), finished_at=now)
    answer = review(own.client, own.service_id, str(service.bandwidth_kbps // 1000 + 10))
    assert "IES usually takes about 4 min for this change, learned from 3 earlier changes." in answer.text


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["1e306", "9" * 10_000, "1e999999999999"])
def test_a_huge_amount_is_a_400_not_a_crash(own, amount):
    for step in (review, change):
        answer = step(own.client, own.service_id, amount)
        assert answer.status_code == 400
        assert "At most 10 Gbit/s is allowed" in answer.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_only_ascii_digits_count(own):
    answer = change(own.client, own.service_id, "٣")
    assert answer.status_code == 400
    assert "Type the digits 0–9" in answer.text
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_without_ies_figures_the_editor_still_works_and_says_so(own, sim):
    sim.add_fault(kind="error", status=503, prefix="/rest/cloudvpnwatch")
    page = own.client.get(f"/services/{own.service_id}/bandwidth/")
    assert page.status_code == 200
    assert "Traffic figures are unavailable right now" in page.text
    answer = review(own.client, own.service_id, str(own.service().bandwidth_kbps // 1000 + 10))
    assert answer.status_code == 200 and "Confirm change" in answer.text


@pytest.mark.django_db
def test_the_chart_window_travels_with_the_editor(own):
    import time

    end = int(time.time()) // 60 * 60
    window = {"start": str(end - 86400), "end": str(end), "timedim": "minute", "indicator": "max"}
    page = own.client.get(f"/services/{own.service_id}/bandwidth/", {**window, "suggested_kbps": "58000"})
    assert "Last 24 hours: " in page.text
    for key, value in window.items():
        assert f'name="{key}" value="{value}"' in page.text
    answer = post(own.client, f"/services/{own.service_id}/bandwidth/",
                  {"bandwidth_0": "58", "bandwidth_1": "Mbit/s", **window, "suggested_kbps": "58000"})
    assert "Last 24 hours at the new size" in answer.text or "Last 24 hours: no traffic" in answer.text
    assert f'name="start" value="{window["start"]}"' in answer.text


# -- viewers --------------------------------------------------------------------------------


@pytest.fixture
def viewer(own, django_user_model):
    from portal.tenants.models import Membership, Role
    from tests.fixtures_portal import DEMO_PASSWORD

    user = django_user_model.objects.create_user("view1", password=DEMO_PASSWORD)
    Membership.objects.create(user=user, tenant=own.tenant, role=Role.VIEWER)
    return own.login("view1")


@pytest.mark.django_db
def test_a_viewer_gets_a_read_only_page_that_says_why(own, viewer):
    page = viewer.get(f"/services/{own.service_id}/bandwidth/")
    assert page.status_code == 200
    assert "You have read-only access to this tenant: you can see the bandwidth but not change it." in page.text
    assert "Ask a member of your team (own1, own2) to change it." in page.text
    assert "<form" not in page.text.split('id="bandwidth-card"')[1]
    assert f"{own.service().bandwidth_kbps // 1000} Mbit/s" in page.text
    for data in ({"bandwidth_0": "80", "bandwidth_1": "Mbit/s"},
                 {"bandwidth_0": "80", "bandwidth_1": "Mbit/s", "confirm": "1"}):
        assert post(viewer, f"/services/{own.service_id}/bandwidth/", data).status_code == 403
    assert not Operation.objects.exists()


# -- the reading beside the box ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_reading_endpoint_says_how_the_box_is_read(own):
    answer = own.client.get("/bandwidth/interpret/", {"field": "bandwidth", "bandwidth_0": "1,000",
                                                      "bandwidth_1": "Mbit/s", "max": "10000000"})
    assert answer.status_code == 200 and answer.text.strip() == "= 1 Gbit/s"
    answer = own.client.get("/bandwidth/interpret/", {"field": "Bandwidth", "Bandwidth_0": "1e306",
                                                      "Bandwidth_1": "Mbit/s", "max": "10000000"})
    assert "At most 10 Gbit/s is allowed" in answer.text


@pytest.mark.django_db
def test_the_reading_endpoint_needs_a_login(client):
    answer = client.get("/bandwidth/interpret/", {"field": "bandwidth", "bandwidth_0": "1"})
    assert answer.status_code == 302 and "/login/" in answer["Location"]


@pytest.mark.django_db
def test_a_refused_amount_is_described_by_its_error_for_screen_readers(own):
    import re

    answer = review(own.client, own.service_id, "lots")
    assert answer.status_code == 400
    amount = re.search(r'<input[^>]*name="bandwidth_0"[^>]*>', answer.text).group()
    described = re.search(r'aria-describedby="([^"]+)"', amount).group(1).split()
    assert 'aria-invalid="true"' in amount
    assert described and all(f'id="{ident}"' in answer.text for ident in described)


@pytest.mark.django_db
def test_an_htmx_confirmation_sends_the_browser_to_the_operation_without_a_body(own, inline_worker):
    before = own.service().bandwidth_kbps
    with inline_worker.sends():
        answer = change(own.client, own.service_id, str(before // 1000 + 5), HTTP_HX_REQUEST="true")
    op = Operation.objects.get()
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == f"/operations/{op.pk}/"
    assert not answer.content and "Location" not in answer
    assert "HX-Request" in answer["Vary"]


@pytest.mark.django_db
def test_a_change_whose_service_row_is_gone_is_still_sent_to_ies(own, inline_worker, sim):
    """The operation keeps what IES needs: a mirror row deleted meanwhile (SET_NULL) stops nothing."""
    before = own.service().bandwidth_kbps
    with inline_worker.sends():
        change(own.client, own.service_id, str(before // 1000 + 7))
    op = Operation.objects.get()
    Service.objects.filter(pk=op.service_id).delete()
    inline_worker.run_until(lambda: Operation.objects.get(pk=op.pk).finished_at, 30, what="the change to end")
    op.refresh_from_db()
    assert op.state == OperationState.SUCCEEDED, op.message
    remote = sim.call("GET", f"/servicemanager/v1/services/{own.service_id}", tenant=own.name).json()
    assert str(before + 7000) in str(remote)
