"""The header badge comes with every operation fragment, counted from the same row (issue 11, item 6)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.operations.models import Operation, OperationKind, OperationSeen, OperationState
from portal.operations.selectors import operations_badge
from portal.services.models import Service
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _op(state: str, *, user="user16", kind=OperationKind.MODIFY, **fields) -> Operation:
    finished = timezone.now() if state in (OperationState.SUCCEEDED, OperationState.FAILED) else None
    return Operation.objects.create(tenant=Tenant.objects.get(name="nbitest_16"), kind=kind, state=state,
                                    service_name="site2dc6_201705071300", finished_at=finished,
                                    requested_by=get_user_model().objects.get(username=user), **fields)


def _badge(html: str) -> str:
    match = re.search(r'<span id="ops-badge"[^>]*>.*?</span>(?=\s*(?:$|</a>))', html, re.S)
    assert match, html[-1500:]
    return match.group(0)


def test_a_finished_operations_fragment_brings_the_badge_already_counting_it_as_seen(login):
    op = _op(OperationState.SUCCEEDED)
    fragment = login("user16").get(f"/operations/{op.pk}/", headers=HTMX)
    badge = _badge(fragment.text)
    assert 'hx-swap-oob="true"' in badge
    assert "running" not in badge and "new" not in badge, badge
    assert "hx-get" not in badge, "nothing runs: the badge does not poll"
    assert OperationSeen.objects.filter(operation=op, user__username="user16").exists()


def test_a_finished_operations_fragment_hands_the_polling_back_to_the_badge_while_others_run(login):
    _op(OperationState.PROCESSING)
    op = _op(OperationState.SUCCEEDED)
    badge = _badge(login("user16").get(f"/operations/{op.pk}/", headers=HTMX).text)
    assert "1 running" in badge
    assert 'hx-get="/operations/badge/"' in badge


def test_a_running_operations_fragment_carries_the_badge_which_then_does_not_poll_by_itself(login):
    op = _op(OperationState.PROCESSING)
    client = login("user16")
    fragment = client.get(f"/operations/{op.pk}/", headers=HTMX)
    badge = _badge(fragment.text)
    assert "1 running" in badge
    assert "hx-get" not in badge, "the card's own polling brings the badge"
    assert 'hx-get="/operations/' in fragment.text.split('id="ops-badge"')[0], "the card keeps polling"
    page = client.get(f"/operations/{op.pk}/")
    assert "hx-get" not in _badge(page.text)


def test_the_badge_counts_the_row_the_card_shows_not_a_second_read(presets):
    op = _op(OperationState.PROCESSING)
    Operation.objects.filter(pk=op.pk).update(state=OperationState.SUCCEEDED, finished_at=timezone.now())
    # The page rendered `op` as processing: its badge must say so too, whatever the table says now.
    assert operations_badge(tenant=op.tenant, current=op).running == 1
    assert operations_badge(tenant=op.tenant).running == 0


def test_a_stopped_operation_is_not_counted_as_running_and_is_not_polled_for(login):
    _op(OperationState.STUCK)
    badge = _badge(login("user16").get("/services/").text)
    assert "running" not in badge and "1 to check" in badge
    assert "hx-get" not in badge


def test_the_service_detail_notice_polls_without_asking_ies_and_reloads_the_page_when_done(login, simulator):
    client = login("user16")
    client.get("/services/")
    service = Service.objects.get(tenant__name="nbitest_16", name="site2dc6_201705071300")
    op = _op(OperationState.PROCESSING, service=service)
    page = client.get(f"/services/{service.ies_service_id}/")
    assert 'id="service-running"' in page.text and "hx-get" not in _badge(page.text)
    before = len(simulator.log())
    running = client.get(f"/services/{service.ies_service_id}/", headers=HTMX)
    assert 'id="service-running"' in running.text and "1 running" in _badge(running.text)
    assert "<html" not in running.text
    Operation.objects.filter(pk=op.pk).update(state=OperationState.SUCCEEDED, finished_at=timezone.now())
    done = client.get(f"/services/{service.ies_service_id}/", headers=HTMX)
    assert done["HX-Refresh"] == "true"
    assert service.ies_service_id not in simulator.log()[before:]


def test_ies_reports_the_new_service_in_the_readers_language(login):
    client = login("user16")
    client.get("/services/")
    service = Service.objects.get(tenant__name="nbitest_16", name="site2dc6_201705071300")
    op = _op(OperationState.SUCCEEDED, kind=OperationKind.CREATE, service=service)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/operations/{op.pk}/")
    assert 'title="Completed" data-ies-word="Completed">已完成</span>' in page.text
    assert 'title="Active" data-ies-word="Active">' in page.text
