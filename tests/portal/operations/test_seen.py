""""Seen" is per person, and only a role that may change things marks it (issue 13, defect 7).

Before: `Operation.seen_at` was one flag for the whole tenant, and a viewer (or staff seeing as the
tenant) could POST "Mark all as read" and clear every member's news.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.operations.models import (
    Operation,
    OperationKind,
    OperationSeen,
    OperationsSeenMark,
    OperationState,
)
from portal.operations.selectors import operations_badge
from portal.tenants.models import Membership, Role
from tests.portal.helpers import post
from tests.portal.operations.test_badge import _badge

pytestmark = pytest.mark.django_db


def _finished(tenant, *, user=None, finished_at=None) -> Operation:
    return Operation.objects.create(tenant=tenant, kind=OperationKind.MODIFY, state=OperationState.SUCCEEDED,
                                    service_name="s", finished_at=finished_at or timezone.now(), requested_by=user)


def _news(client) -> str:
    return _badge(client.get("/operations/").text)


@pytest.fixture
def viewer(own_tenant):
    Membership.objects.filter(tenant=own_tenant.tenant, user__username="own2").update(role=Role.VIEWER)
    return own_tenant.login("own2")


def _nothing_marked() -> bool:
    return not OperationsSeenMark.objects.exists() and not OperationSeen.objects.exists()


def test_a_viewer_cannot_mark_operations_seen_and_nothing_changes(own_tenant, viewer):
    _finished(own_tenant.tenant)
    member = own_tenant.login("own1")
    assert "1 new" in _news(member)

    answer = post(viewer, "/operations/seen/")
    assert answer.status_code == 403
    assert f"Your role in tenant {own_tenant.name} is read-only (viewer)" in answer.text
    assert _nothing_marked()
    assert "1 new" in _news(member), "a viewer's POST cleared a member's news"


def test_a_viewer_sees_what_runs_but_no_news_no_button_and_opening_writes_nothing(own_tenant, viewer):
    op = _finished(own_tenant.tenant)
    Operation.objects.create(tenant=own_tenant.tenant, kind=OperationKind.MODIFY, state=OperationState.PROCESSING)
    page = viewer.get("/operations/")
    assert "1 running" in _badge(page.text) and "new" not in _badge(page.text)
    assert "Mark all as read" not in page.text
    assert viewer.get(f"/operations/{op.pk}/").status_code == 200
    assert _nothing_marked(), "a viewer's GET wrote a seen mark"


def test_staff_seeing_as_the_tenant_cannot_mark_operations_seen(own_tenant, login):
    _finished(own_tenant.tenant)
    staff = login("admin")
    assert post(staff, f"/staff/tenants/{own_tenant.tenant.pk}/see-as/").status_code == 302
    answer = post(staff, "/operations/seen/")
    assert answer.status_code == 403
    assert "which is read-only" in answer.text
    assert _nothing_marked()
    assert "1 new" in _news(own_tenant.login("own1"))


def test_one_member_marking_all_seen_leaves_the_others_news_alone(own_tenant):
    _finished(own_tenant.tenant)
    _finished(own_tenant.tenant)
    first, second = own_tenant.login("own1"), own_tenant.login("own2")
    page = first.get("/operations/")
    assert "Mark all as read" in page.text and "2 new" in _badge(page.text)

    drawn_at = timezone.now().isoformat()
    assert post(first, "/operations/seen/", {"drawn_at": drawn_at}).status_code == 302
    page = first.get("/operations/")
    assert "new" not in _badge(page.text) and "Mark all as read" not in page.text
    assert "2 new" in _news(second)


def test_opening_a_finished_operation_makes_it_seen_by_that_member_only(own_tenant):
    op = _finished(own_tenant.tenant)
    first, second = own_tenant.login("own1"), own_tenant.login("own2")
    first.get(f"/operations/{op.pk}/")
    assert "new" not in _news(first)
    assert "1 new" in _news(second)


def test_mark_all_as_read_marks_what_the_page_showed_not_what_finished_after(own_tenant):
    now = timezone.now()
    shown = _finished(own_tenant.tenant, finished_at=now - timedelta(seconds=20))
    member = own_tenant.login("own1")
    member.get(f"/operations/{shown.pk}/")  # opened: a row of its own
    _finished(own_tenant.tenant, finished_at=now - timedelta(seconds=15))
    drawn_at = now - timedelta(seconds=10)
    _finished(own_tenant.tenant, finished_at=now - timedelta(seconds=5))  # after the page was drawn
    post(member, "/operations/seen/", {"drawn_at": drawn_at.isoformat()})
    assert "1 new" in _news(member)
    # The mark covers the opened one now: its row is gone, the table keeps only what the mark cannot say.
    assert not OperationSeen.objects.exists()
    post(member, "/operations/seen/")  # no time given (or a forged one): now
    assert "new" not in _news(member)


def test_the_badge_is_one_query_however_many_operations_and_seen_rows(own_tenant):
    tenant = own_tenant.tenant
    member = Membership.objects.get(tenant=tenant, user__username="own1")

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            badge = operations_badge(tenant=tenant, reader=member)
        return len(queries), badge.unseen

    _finished(tenant)
    assert counted() == (1, 1)
    for op in [_finished(tenant) for _ in range(30)]:
        OperationSeen.objects.create(operation=op, user=member.user)
    assert counted() == (1, 1)


def test_the_operations_page_does_not_read_more_with_more_operations(own_tenant):
    member = own_tenant.login("own1")
    member.get("/operations/")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member.get("/operations/").status_code == 200
        return len(captured)

    _finished(own_tenant.tenant)
    few = queries()
    for _ in range(20):
        _finished(own_tenant.tenant)
    assert queries() == few


@pytest.mark.parametrize("drawn_at", ["0001-01-01T00:00:00+23:00", "2026-02-30T10:00:00+00:00", "not a time",
                                      "9999-12-31T23:59:59-23:00"])
def test_a_forged_drawing_time_is_read_as_now_never_a_500(own_tenant, drawn_at):
    """Year 1 at +23:00 is before the first instant Python can hold in UTC: it raised OverflowError
    (a 500). A time from the future would mark as seen what has not finished yet: now at most."""
    _finished(own_tenant.tenant, finished_at=timezone.now() - timedelta(seconds=5))
    member = own_tenant.login("own1")
    assert post(member, "/operations/seen/", {"drawn_at": drawn_at}).status_code == 302
    assert "new" not in _news(member)
    later = _finished(own_tenant.tenant, finished_at=timezone.now() + timedelta(seconds=1))
    assert "1 new" in _news(member), f"{later} finished after the mark: still news"
