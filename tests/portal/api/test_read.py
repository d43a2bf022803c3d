"""Reading through the API: services from the mirror, one service, the tenant's scope."""

from django.contrib.auth import get_user_model

from portal.services.models import Service


def test_service_list_and_get_from_the_mirror(own_tenant, api_for):
    user = get_user_model().objects.get(username="own1")
    api = api_for(user, own_tenant.tenant, scopes=["read"])
    answer = api.get("/api/v1/services")
    assert answer.status_code == 200, answer.content
    page = answer.json()
    assert page["count"] == 1 and page["items"][0]["id"] == own_tenant.service_id
    assert page["items"][0]["bandwidth_kbps"] == Service.objects.get(ies_service_id=own_tenant.service_id).bandwidth_kbps
    one = api.get(f"/api/v1/services/{own_tenant.service_id}")
    assert one.status_code == 200 and one.json()["name"] == own_tenant.service_name


def test_no_token_is_a_401_problem(db):
    from django.test import Client

    answer = Client().get("/api/v1/services")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    body = answer.json()
    assert body["type"] == "urn:cloudvpn:problem:unauthenticated" and body["status"] == 401
