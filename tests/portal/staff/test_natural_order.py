"""Staff lists sort names the way people count: user2 before user10, nbitest_9 before nbitest_11."""

import pytest
from django.contrib.auth import get_user_model

from portal.staff import selectors
from portal.staff.importing.export import export_table
from portal.tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def nine(presets):
    """A tenant nbitest_9 whose members are user10 and user9 (text order would put both last)."""
    tenant = Tenant.objects.create(name="nbitest_9")
    for name in ("user10", "user9"):
        Membership.objects.create(user=get_user_model().objects.get(username=name), tenant=tenant, role=Role.MEMBER)
    return tenant


def test_tenants_come_in_natural_order(nine):
    assert [t.name for t in selectors.tenant_list()][:3] == ["nbitest_9", "nbitest_11", "nbitest_12"]


def test_users_and_their_tenants_come_in_natural_order(nine):
    users = selectors.user_list()
    names = [u.username for u in users if u.username.startswith("user")]
    assert names == [f"user{n}" for n in range(1, 17)]
    user9 = next(u for u in users if u.username == "user9")
    assert [m.tenant.name for m in user9.tenant_memberships] == ["nbitest_9", "nbitest_14"]


def test_members_of_a_tenant_come_in_natural_order(nine):
    assert [m.user.username for m in selectors.tenant_memberships(tenant=nine)] == ["user9", "user10"]


def test_the_export_lists_tenants_in_natural_order(nine):
    tenants = [row[1] for row in export_table()[1:]]
    assert tenants[:2] == ["nbitest_9", "nbitest_11"]


def test_the_add_to_tenant_menu_is_in_natural_order(login, nine):
    admin = get_user_model().objects.get(username="admin")
    page = login("admin").get(f"/staff/users/{admin.pk}/")
    assert page.text.index(">nbitest_9<") < page.text.index(">nbitest_11<")
