"""Each request's user is read with its memberships in one query (portal/tenants/backends.py): every
page needs both. Compared with what separate reads of each give."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.tenants.access import memberships_of
from portal.tenants.backends import MembershipModelBackend
from portal.tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    user = get_user_model().objects.create_user("two-tenants", password="x-Very-long-1")
    for name in ("zeta-co", "alpha-co", "closed-co"):
        Membership.objects.create(user=user, tenant=Tenant.objects.create(name=name, is_active=name != "closed-co"),
                                  role=Role.MEMBER)
    return user


def test_a_member_comes_with_its_memberships_in_one_query(member):
    with CaptureQueriesContext(connection) as queries:
        user = MembershipModelBackend().get_user(str(member.pk))
        memberships = memberships_of(user)
    assert len(queries) == 1
    assert user.pk == member.pk and user.get_session_auth_hash() == member.get_session_auth_hash()
    assert [m.tenant.name for m in memberships] == ["alpha-co", "zeta-co"], "active tenants, by name"
    assert all(m.user is user for m in memberships)
    assert all(m.tenant.name and m.tenant.is_active for m in memberships)
    fresh = list(Membership.objects.filter(user=member, tenant__is_active=True).order_by("tenant__name"))
    assert [(m.pk, m.role, m.tenant_id) for m in memberships] == [(m.pk, m.role, m.tenant_id) for m in fresh]


def test_a_user_of_no_tenant_is_read_in_one_query_too():
    staff = get_user_model().objects.create_user("staff-only", password="x-Very-long-1", is_staff=True)
    with CaptureQueriesContext(connection) as queries:
        user = MembershipModelBackend().get_user(str(staff.pk))
        assert memberships_of(user) == []
    assert len(queries) == 1
    assert user == staff and user.is_staff and user.get_session_auth_hash() == staff.get_session_auth_hash()


def test_no_such_user_is_no_ones_request_user():
    assert MembershipModelBackend().get_user("999999") is None
    assert MembershipModelBackend().get_user("not a number") is None


def test_an_inactive_member_is_no_ones_request_user(member):
    member.is_active = False
    member.save()
    assert MembershipModelBackend().get_user(str(member.pk)) is None


def test_a_page_reads_the_user_and_its_memberships_once(member):
    from django.test import Client

    client = Client()
    client.force_login(member)
    assert client.session["_auth_user_backend"] == "portal.tenants.backends.MembershipModelBackend"
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/services/").status_code == 200
    reads = [q["sql"] for q in queries if '"auth_user"' in q["sql"] or '"tenants_membership"' in q["sql"]]
    assert len(reads) == 1, [q["sql"][:120] for q in queries]
