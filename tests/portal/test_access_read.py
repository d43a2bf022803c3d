"""The access chokepoint's entry for a compiled query (tenant_read_or_404): the reader is given the
request's tenant, and whatever it returns, another tenant's object is a 404."""

import pytest
from django.contrib.auth import get_user_model
from django.http import Http404
from django.test import RequestFactory

from portal.services.models import Service
from portal.tenants.access import tenant_read_or_404
from portal.tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


def _request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    return request


def test_the_reader_gets_the_requests_tenant_and_another_tenants_object_is_404():
    ours, theirs = Tenant.objects.create(name="read_ours"), Tenant.objects.create(name="read_theirs")
    user = get_user_model().objects.create_user("read_ann", password="not-used-here-1")
    Membership.objects.create(user=user, tenant=ours, role=Role.MEMBER)
    mine = Service.objects.create(tenant=ours, ies_service_id="read-mine", name="mine")
    other = Service.objects.create(tenant=theirs, ies_service_id="read-other", name="other")
    request = _request_of(user)
    asked = []

    def honest(tenant):
        asked.append(tenant.pk)
        return Service.objects.filter(tenant=tenant, ies_service_id="read-mine").first()

    membership, found = tenant_read_or_404(request, honest)
    assert (membership.tenant_id, found.pk, asked) == (ours.pk, mine.pk, [ours.pk])
    with pytest.raises(Http404):
        tenant_read_or_404(request, lambda tenant: None)
    with pytest.raises(Http404):  # a reader that forgot the tenant still cannot hand out another's
        tenant_read_or_404(request, lambda tenant: other)


def test_a_user_of_no_tenant_is_404_before_anything_is_read():
    request = _request_of(get_user_model().objects.create_user("read_nobody", password="not-used-here-1"))
    with pytest.raises(Http404):
        tenant_read_or_404(request, lambda tenant: pytest.fail("read without a tenant"))
