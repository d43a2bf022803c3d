"""Every API operation, as the OpenAPI document lists it, against every kind of caller:
another tenant's token (404, or none of the other tenant's rows), a token without the scope (403),
an expired or revoked token (401), and a viewer whose token asks for more than reading (403)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.api.models import ApiToken
from portal.api.site import api as ninja_api
from portal.operations.models import Operation
from portal.policies.models import BandwidthPolicy, PolicyKind
from portal.services.models import Service
from portal.tenants.models import Membership, Role
from portal.webhooks.services import webhook_create
from tests.fixtures_portal import make_own_tenant
from tests.portal.api.conftest import ApiClient, make_token
from tests.portal.api.test_writes import _order_body
from tests.portal.helpers import SITE2DC

# The scope each operation needs. A new operation must be added here: the test fails until it is.
SCOPE = {
    ("get", "/api/v1/catalog"): "read",
    ("get", "/api/v1/catalog/{definition_id}"): "read",
    ("get", "/api/v1/services"): "read",
    ("post", "/api/v1/services"): "order",
    ("get", "/api/v1/services/{service_id}"): "read",
    ("patch", "/api/v1/services/{service_id}"): "modify",
    ("delete", "/api/v1/services/{service_id}"): "delete",
    ("get", "/api/v1/services/{service_id}/traffic"): "read",
    ("get", "/api/v1/operations"): "read",
    ("get", "/api/v1/operations/{operation_id}"): "read",
    ("get", "/api/v1/operations/{operation_id}/wait"): "read",
    ("get", "/api/v1/policies"): "read",
    ("get", "/api/v1/policies/{policy_id}"): "read",
    ("post", "/api/v1/policies"): "modify",
    ("post", "/api/v1/policies/{policy_id}/pause"): "modify",
    ("post", "/api/v1/policies/{policy_id}/resume"): "modify",
    ("post", "/api/v1/policies/{policy_id}/end"): "modify",
    ("get", "/api/v1/webhooks"): "read",
    ("post", "/api/v1/webhooks"): "modify",
    ("get", "/api/v1/webhooks/{webhook_id}"): "read",
    ("delete", "/api/v1/webhooks/{webhook_id}"): "modify",
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"): "read",
    ("post", "/api/v1/webhooks/{webhook_id}/test"): "modify",
}
# Operations that name none of a tenant's own rows (the catalog is IES's, per token): no 404 to expect.
NOT_OWNED = {("get", "/api/v1/catalog"), ("get", "/api/v1/catalog/{definition_id}")}


def documented_operations():
    schema = ninja_api.get_openapi_schema()
    return sorted((method, path) for path, item in schema["paths"].items() for method in item)


@pytest.fixture
def world(db, simulator, django_user_model):
    """Tenant A (service, operation, policy) and tenant B, each with a member; A also has a viewer."""
    a = make_own_tenant(simulator, django_user_model)
    # make_own_tenant names its users own1 and own2: A's are renamed before B's are made.
    for user in get_user_model().objects.filter(username__in=["own1", "own2"]):
        user.username = f"a_{user.username}"
        user.save()
    a_member = get_user_model().objects.get(username="a_own1")
    viewer = get_user_model().objects.get(username="a_own2")
    Membership.objects.filter(user=viewer, tenant=a.tenant).update(role=Role.VIEWER)
    b = make_own_tenant(simulator, django_user_model)
    b_member = get_user_model().objects.get(username="own1")
    service = Service.objects.get(tenant=a.tenant)
    op = Operation.objects.create(tenant=a.tenant, kind="modify", state="succeeded", service=service,
                                  ies_service_id=service.ies_service_id, service_name=service.name)
    policy = BandwidthPolicy.objects.create(tenant=a.tenant, service=service, kind=PolicyKind.ONE_OFF, name="boost",
                                            spec={})
    # A loopback port nobody listens on: no call here may reach it (each is refused before it sends).
    webhook, _secret = webhook_create(tenant=a.tenant, user=a_member, url="http://127.0.0.1:9/hook")
    ids = {"service_id": service.ies_service_id, "operation_id": str(op.pk), "policy_id": str(policy.pk),
           "definition_id": SITE2DC, "webhook_id": str(webhook.pk)}
    return {"a": a, "b": b, "a_member": a_member, "viewer": viewer, "b_member": b_member, "ids": ids}


# A valid body for each write (so that only the caller decides the answer); the services' writes
# are sent as dry runs. A webhook's URL is a loopback port nobody listens on.
BODIES = {
    ("post", "/api/v1/services"): lambda ids: _order_body(),
    ("patch", "/api/v1/services/{service_id}"): lambda ids: {"bandwidth_kbps": 80000},
    ("post", "/api/v1/webhooks"): lambda ids: {"url": "http://127.0.0.1:9/hook"},
    ("post", "/api/v1/policies"): lambda ids: {
        "service_id": ids["service_id"], "bandwidth_kbps": 80000,
        "at": (timezone.now() + timedelta(hours=1)).isoformat()},
}


def _call(client: ApiClient, method: str, path: str, ids: dict):
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    if method == "get":
        return client.get(url, timeout=0) if url.endswith("/wait") else client.get(url)
    if path.startswith("/api/v1/services") or (method, path) == ("post", "/api/v1/policies"):
        url += "?dry_run=true"
    body = BODIES.get((method, path), lambda ids: {})(ids)
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, body)


def test_every_documented_operation_has_a_scope():
    assert set(documented_operations()) == set(SCOPE)


def test_another_tenants_token_finds_nothing(world):
    other = ApiClient(make_token(world["b_member"], world["b"].tenant)[1])
    for method, path in documented_operations():
        if (method, path) in NOT_OWNED or "{" not in path:
            continue
        answer = _call(other, method, path, world["ids"])
        assert answer.status_code == 404, (method, path, answer.status_code, answer.content[:200])
        assert answer["Content-Type"] == "application/problem+json"
    listing = other.get("/api/v1/services").json()
    assert world["ids"]["service_id"] not in {s["id"] for s in listing["items"]}
    assert not other.get("/api/v1/operations").json()["items"]
    assert not other.get("/api/v1/policies").json()


@pytest.mark.parametrize("held", ["read", "order"])
def test_a_missing_scope_is_a_403(world, held):
    client = ApiClient(make_token(world["a_member"], world["a"].tenant, [held])[1])
    for method, path in documented_operations():
        needed = SCOPE[(method, path)]
        answer = _call(client, method, path, world["ids"])
        if needed == held:
            assert answer.status_code in (200, 202), (method, path, answer.status_code, answer.content[:300])
        else:
            assert answer.status_code == 403, (method, path, answer.status_code, answer.content[:200])
            assert answer.json()["scope"] == needed


def test_a_viewer_reads_only_whatever_the_token_says(world):
    token, secret = make_token(world["viewer"], world["a"].tenant, ["read"])
    # The role is checked at each request: scopes stored beyond it (the role changed since) do nothing.
    ApiToken.objects.filter(pk=token.pk).update(scopes=["read", "order", "modify", "delete"])
    client = ApiClient(secret)
    for method, path in documented_operations():
        answer = _call(client, method, path, world["ids"])
        expected = (200,) if SCOPE[(method, path)] == "read" else (403,)
        assert answer.status_code in expected, (method, path, answer.status_code)


def test_a_viewer_cannot_make_a_writing_token(world):
    from portal.api.services import TokenRefused

    with pytest.raises(TokenRefused):
        make_token(world["viewer"], world["a"].tenant, ["read", "modify"])


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown", "no longer a member", "user disabled"])
def test_a_dead_token_is_a_401_everywhere(world, how):
    token, secret = make_token(world["a_member"], world["a"].tenant)
    if how == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif how == "unknown":
        secret = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    elif how == "no longer a member":
        Membership.objects.filter(user=world["a_member"], tenant=world["a"].tenant).delete()
    else:
        get_user_model().objects.filter(pk=world["a_member"].pk).update(is_active=False)
    client = ApiClient(secret)
    for method, path in documented_operations():
        answer = _call(client, method, path, world["ids"])
        assert answer.status_code == 401, (how, method, path, answer.status_code)
        assert answer["Content-Type"] == "application/problem+json" and "Bearer" in answer["WWW-Authenticate"]
        assert secret not in answer.content.decode()


def test_an_unknown_query_parameter_or_body_field_is_refused_not_ignored(world):
    client = ApiClient(make_token(world["a_member"], world["a"].tenant)[1])
    for method, path in documented_operations():
        url = re.sub(r"\{(\w+)\}", lambda m: world["ids"][m.group(1)], path)
        answer = getattr(client, method)(url + "?stauts=Active") if method in ("get", "delete") else \
            getattr(client, method)(url + "?stauts=Active", {})
        assert answer.status_code == 422, (method, path, answer.status_code)
        assert {"field": "stauts", "message": "This operation takes no parameter “stauts”."} in answer.json()["errors"]
    typo = client.patch(f"/api/v1/services/{world['ids']['service_id']}", {"bandwidth_kbps": 80000, "bandwith": 1})
    assert typo.status_code == 422 and any(e["field"] == "bandwith" for e in typo.json()["errors"])


def test_a_nul_character_is_refused_before_it_reaches_the_database(world):
    client = ApiClient(make_token(world["a_member"], world["a"].tenant)[1])
    for url in ("/api/v1/services?q=a%00b", "/api/v1/operations?state=%00", "/api/v1/policies?service_id=%00"):
        answer = client.get(url)
        assert answer.status_code == 422, (url, answer.status_code)
    body = BODIES[("post", "/api/v1/policies")](world["ids"]) | {"name": "boost\x00"}
    assert client.post("/api/v1/policies?dry_run=true", body).status_code == 422
