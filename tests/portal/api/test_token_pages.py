"""The members' API token page (make a token, its secret shown once, revoke) and the staff's list of
every token: who may do what, what is kept, and that a revoked token stops working."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.api.models import ApiToken
from portal.audit.models import AuditEvent
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.api.conftest import ApiClient, make_token
from tests.portal.helpers import post

pytestmark = pytest.mark.django_db

URL = "/api/tokens/"
SECRET = re.compile(r'value="(cvp_[a-z0-9]{8}_[^"]+)"')


def user(name: str):
    return get_user_model().objects.get(username=name)


def create(client, **fields):
    data = {"name": "backup script", "expires": "30d", **fields}
    return post(client, URL, data)


def secret_of(answer) -> str:
    found = SECRET.search(answer.text)
    assert found, answer.text[:3000]
    return found.group(1)


def test_a_member_makes_a_token_sees_its_secret_once_and_it_works(own_tenant):
    client = own_tenant.login("own1")
    page = client.get(URL)
    assert page.status_code == 200 and 'data-testid="no-tokens"' in page.text
    assert "/api/v1/docs" in page.text and "/api/v1/openapi.json" in page.text

    answer = create(client, scopes=["order", "modify"])
    assert answer.status_code == 201, answer.text[:3000]
    assert "no-store" in answer["Cache-Control"]
    secret = secret_of(answer)
    assert "will not be shown again" in answer.text
    assert f'curl -H "Authorization: Bearer {secret}" http://testserver/api/v1/services' in answer.text

    token = ApiToken.objects.get()
    assert token.user == user("own1") and token.tenant == own_tenant.tenant and token.name == "backup script"
    assert token.scopes == ["read", "order", "modify"]  # read always, in the Scope order
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest() and secret.startswith(token.prefix + "_")
    stored = [str(value) for value in ApiToken.objects.values().get().values()]
    assert not any(secret in value for value in stored)  # only the prefix and the digest
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert AuditEvent.objects.filter(action="api_token.create", actor=user("own1"), tenant=own_tenant.tenant).exists()

    # Nowhere else: not the session, the next page, nor a message.
    assert secret not in str(dict(client.session.items()))
    again = client.get(URL)
    assert secret not in again.text and secret.split("_", 2)[2] not in again.text  # the secret part may hold "_" itself
    assert f"<code>{token.prefix}…</code>" in again.text and 'data-state="active"' in again.text
    assert "never" in again.text  # not used yet

    api = ApiClient(secret)
    listed = api.get("/api/v1/services")
    assert listed.status_code == 200, listed.content
    assert listed.json()["items"][0]["id"] == own_tenant.service_id
    page = client.get(URL)
    assert "from 127.0.0.1" in page.text  # last used, and from where


def test_a_viewer_makes_read_only_tokens_and_is_refused_more(own_tenant):
    Membership.objects.filter(user__username="own2").update(role=Role.VIEWER)
    client = own_tenant.login("own2")
    page = client.get(URL)
    assert 'data-testid="viewer-notice"' in page.text
    assert 'value="order"' not in page.text and 'value="delete"' not in page.text

    refused = create(client, name="reader", scopes=["order"])
    assert refused.status_code == 400
    assert "can only read" in refused.text and 'value="reader"' in refused.text
    assert not ApiToken.objects.exists()

    made = create(client, name="reader")
    assert made.status_code == 201
    assert ApiToken.objects.get().scopes == ["read"]
    assert ApiClient(secret_of(made)).get("/api/v1/services").status_code == 200


@pytest.mark.parametrize(("fields", "words"), [
    ({"name": ""}, "Enter a name for the token."),
    ({"name": "x" * 101}, "Keep the name to 100 characters"),
    ({"expires": "forever"}, "Choose how long the token lasts."),
    ({"scopes": ["root"]}, "Select a valid choice"),
])
def test_bad_input_is_refused_in_words_and_what_was_typed_stays(own_tenant, fields, words):
    client = own_tenant.login("own1")
    data = {"name": "nightly sync", "expires": "7d", "scopes": ["modify"], **fields}
    answer = post(client, URL, data)
    assert answer.status_code == 400 and words in answer.text, answer.text[:3000]
    if fields.get("name") != "":
        assert f'value="{data["name"]}"' in answer.text
    if "expires" not in fields:
        assert '<option value="7d" selected>' in answer.text
    if "scopes" not in fields:
        assert re.search(r'value="modify" id="id_scopes_modify" checked', answer.text)
    assert not ApiToken.objects.exists() and "cvp_" not in answer.text


def test_a_live_tokens_name_is_not_repeated(own_tenant):
    client = own_tenant.login("own1")
    assert create(client).status_code == 201
    again = create(client, name="Backup Script ")
    assert again.status_code == 400 and "already have a live token named" in again.text
    assert ApiToken.objects.count() == 1


def test_a_revoked_token_is_refused_by_the_api_and_listed_as_revoked(own_tenant):
    client = own_tenant.login("own1")
    token, secret = make_token(user("own1"), own_tenant.tenant, ["read"])
    api = ApiClient(secret)
    assert api.get("/api/v1/services").status_code == 200
    page = client.get(URL)
    assert f'action="/api/tokens/{token.pk}/revoke/"' in page.text and "data-confirm=" in page.text

    answer = post(client, f"/api/tokens/{token.pk}/revoke/")
    assert answer.status_code == 302 and answer["Location"] == URL
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == user("own1")
    assert AuditEvent.objects.filter(action="api_token.revoke", actor=user("own1"), tenant=own_tenant.tenant).exists()
    assert api.get("/api/v1/services").status_code == 401

    page = client.get(URL)
    assert "revoked" in page.text and 'data-state="revoked"' in page.text
    assert f'action="/api/tokens/{token.pk}/revoke/"' not in page.text
    assert post(client, f"/api/tokens/{token.pk}/revoke/").status_code == 302  # twice: nothing more
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_an_expired_token_is_listed_as_expired_without_a_revoke_button(own_tenant):
    client = own_tenant.login("own1")
    token, _secret = make_token(user("own1"), own_tenant.tenant, ["read"], expires_in=timedelta(seconds=-1))
    page = client.get(URL)
    assert 'data-state="expired"' in page.text and f"/api/tokens/{token.pk}/revoke/" not in page.text


def test_another_users_or_another_tenants_token_cannot_be_revoked(own_tenant):
    theirs, _secret = make_token(user("own2"), own_tenant.tenant, ["read"])
    other = Tenant.objects.create(name="zz_other_tenant")
    Membership.objects.create(user=user("own1"), tenant=other)
    elsewhere, _secret = make_token(user("own1"), other, ["read"])
    client = own_tenant.login("own1")
    page = client.get(URL)  # own1 acts for own_… (first by name): neither token is listed
    assert theirs.prefix not in page.text and elsewhere.prefix not in page.text
    for token in (theirs, elsewhere):
        assert post(client, f"/api/tokens/{token.pk}/revoke/").status_code == 404
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_staff_seeing_as_a_tenant_can_neither_make_nor_revoke(own_tenant, login):
    token, _secret = make_token(user("own1"), own_tenant.tenant, ["read"])
    staff = login("admin")
    assert post(staff, f"/staff/tenants/{own_tenant.tenant.pk}/see-as/").status_code == 302
    page = staff.get(URL)
    assert page.status_code == 200 and 'data-testid="read-only-notice"' in page.text
    assert 'name="name"' not in page.text
    assert create(staff).status_code == 403
    assert post(staff, f"/api/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_staff_list_every_token_filter_and_revoke(own_tenant, login):
    mine, _ = make_token(user("own1"), own_tenant.tenant, ["read", "order"], name="deploy")
    theirs, secret = make_token(user("own2"), own_tenant.tenant, ["read"], name="grafana")
    staff = login("admin")
    page = staff.get("/staff/api-tokens/")
    assert page.status_code == 200
    for token in (mine, theirs):
        assert f"<code>{token.prefix}…</code>" in page.text
    assert own_tenant.name in page.text and "own1" in page.text and "own2" in page.text
    assert 'aria-current="step"' in page.text and "/staff/api-tokens/" in page.text

    only = staff.get("/staff/api-tokens/", {"q": "own2"})
    assert theirs.prefix in only.text and mine.prefix not in only.text
    assert staff.get("/staff/api-tokens/", {"q": theirs.prefix}).text.count('data-testid="token"') == 1
    assert "No token matches." in staff.get("/staff/api-tokens/", {"q": "nobody-at-all"}).text

    answer = post(staff, f"/staff/api-tokens/{theirs.pk}/revoke/", {"next": "/staff/api-tokens/?q=own2"})
    assert answer.status_code == 302 and answer["Location"] == "/staff/api-tokens/?q=own2"
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None and theirs.revoked_by == user("admin")
    assert AuditEvent.objects.filter(action="api_token.revoke", actor=user("admin"), tenant=own_tenant.tenant).exists()
    assert ApiClient(secret).get("/api/v1/services").status_code == 401
    assert "by admin" in staff.get("/staff/api-tokens/").text
    assert post(staff, "/staff/api-tokens/999999999/revoke/").status_code == 404


def test_the_staff_list_is_paged_by_50(own_tenant, login):
    expires = timezone.now() + timedelta(days=1)
    ApiToken.objects.bulk_create(
        ApiToken(user=user("own1"), tenant=own_tenant.tenant, name=f"t{i}", prefix=f"cvp_p{i:07d}", digest="0" * 64,
                 scopes=["read"], expires_at=expires) for i in range(51))
    staff = login("admin")
    first = staff.get("/staff/api-tokens/")
    assert first.text.count('data-testid="token"') == 50 and "Page 1 of 2 (51 tokens)" in first.text
    assert staff.get("/staff/api-tokens/", {"page": 2}).text.count('data-testid="token"') == 1


def test_tenant_users_get_403_on_the_staff_page(own_tenant):
    client = own_tenant.login("own1")
    assert client.get("/staff/api-tokens/").status_code == 403
    token, _secret = make_token(user("own1"), own_tenant.tenant, ["read"])
    assert post(client, f"/staff/api-tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_the_header_links_to_the_page_and_the_audit_log_names_the_actions(own_tenant, login):
    client = own_tenant.login("own1")
    page = client.get("/services/")
    assert 'href="/api/tokens/"' in page.text and "API tokens" in page.text
    assert 'aria-current="page">API tokens' in client.get(URL).text
    create(client)
    audit = login("admin").get("/staff/audit/")
    assert "Created an API token" in audit.text
