"""Each request's user and memberships, read by queries compiled once per process
(portal.core.compiled): what they return must be what the ORM would, for every user, every time."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from portal.tenants.access import memberships_of
from portal.tenants.backends import ModelBackendCompiled
from portal.tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


def _user(name: str, **fields):
    return get_user_model().objects.create_user(name, password="not-used-here-1", **fields)


def test_memberships_are_the_users_own_of_active_tenants_by_name_with_their_tenant(django_assert_num_queries):
    ann, bob = _user("compiled_ann"), _user("compiled_bob")
    zeta = Tenant.objects.create(name="zeta_compiled", scenarios=["Site2DC"])
    alpha = Tenant.objects.create(name="alpha_compiled")
    closed = Tenant.objects.create(name="beta_compiled", is_active=False)
    for tenant in (zeta, alpha, closed):
        Membership.objects.create(user=ann, tenant=tenant, role=Role.MEMBER)
    Membership.objects.create(user=bob, tenant=alpha, role=Role.VIEWER)
    for _ in range(2):  # the second round runs on the SQL the first one compiled
        with django_assert_num_queries(1):
            mine = memberships_of(ann)
            assert [(m.tenant.name, m.role) for m in mine] == [("alpha_compiled", "member"), ("zeta_compiled", "member")]
            assert mine[1].tenant.scenarios == ["Site2DC"]  # JSON decoded as the ORM decodes it
            assert timezone.is_aware(mine[0].created_at) and mine[0].tenant_id == alpha.pk
        assert [(m.tenant.name, m.role) for m in memberships_of(bob)] == [("alpha_compiled", "viewer")]
    assert memberships_of(AnonymousUser()) == []
    assert mine[0] == Membership.objects.get(user=ann, tenant=alpha) and not mine[0]._state.adding


def test_the_backend_reads_the_signed_in_user_as_django_does(django_assert_num_queries):
    backend = ModelBackendCompiled()
    ann = _user("compiled_user_ann", email="ann@example.com", is_staff=True)
    gone = _user("compiled_user_gone", is_active=False)
    for _ in range(2):
        with django_assert_num_queries(1):
            user = backend.get_user(ann.pk)
        assert (user.pk, user.username, user.email, user.is_staff) == (ann.pk, "compiled_user_ann", "ann@example.com", True)
        assert user.check_password("not-used-here-1") and timezone.is_aware(user.date_joined)
        assert backend.get_user(str(ann.pk)).pk == ann.pk  # as the session stores it
    assert backend.get_user(gone.pk) is None  # inactive: as ModelBackend.user_can_authenticate says
    assert backend.get_user(10**9) is None
    assert backend.get_user("not-a-number") is None


def test_a_signed_in_session_follows_the_user(client):
    ann = _user("compiled_session_ann")
    client.force_login(ann, backend="portal.tenants.backends.ModelBackendCompiled")
    assert client.get("/services/").status_code == 200
    ann.is_active = False
    ann.save()
    assert client.get("/services/").status_code == 302  # signed out: back to the login page
