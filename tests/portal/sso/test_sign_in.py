"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit in its own process,
tests/fixtures_oidc.py), driven over HTTP as a browser would: the portal's live server sends the
person to the provider, they sign in there, and the provider sends them back with a code."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail

from portal.audit.models import AuditEvent
from portal.sso.models import SsoIdentity
from portal.tenants.models import Membership, Role
from tests.fixtures_portal import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

IDP_PASSWORD = "idp-secret-Pa55"


def alice(**claims):
    return {"username": "alice", "password": IDP_PASSWORD, "email": "alice@acme.test", "name": "Alice Liddell",
            "groups": ["acme-netops"], **claims}


@pytest.fixture
def sso(settings, live_server, make_oidc_provider, own_tenant):
    """A provider whose client is the portal, the portal configured for it, and the own tenant
    mapping two of its groups."""

    def configure(users=None, **options):
        provider = make_oidc_provider(redirect_uris=[f"{live_server.url}/sso/callback/"],
                                      post_logout_redirect_uris=[f"{live_server.url}/login/"],
                                      users=users or [alice()], **options)
        settings.SSO_ISSUER = provider.base_url
        settings.OIDC_RP_CLIENT_ID = provider.client_id
        settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
        settings.SSO_PROVIDER_NAME = "Acme ID"
        return provider

    tenant = own_tenant.tenant
    tenant.sso_member_group, tenant.sso_viewer_group = "acme-netops", "acme-readers"
    tenant.save()
    return configure


def hidden_fields(text: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text)}


def sign_in(base: str, username: str = "alice", password: str = IDP_PASSWORD, browser=None, next_url: str = ""):
    """Login page → "Sign in with …" → the provider's form → back at the portal. Returns the browser
    (a requests.Session) and the last answer."""
    browser = browser or requests.Session()
    page = browser.get(f"{base}/login/" + (f"?next={next_url}" if next_url else ""), timeout=30)
    start = re.search(r'data-testid="sso-start" href="([^"]+)"', page.text)
    assert start, "the login page offers single sign-on"
    answer = browser.get(base + html.unescape(start.group(1)), timeout=30)
    if "/accounts/login/" in answer.url:  # the provider asks who this is
        fields = hidden_fields(answer.text) | {"username": username, "password": password}
        answer = browser.post(answer.url, data=fields, headers={"Referer": answer.url}, timeout=30)
    return browser, answer


def messages_of(answer) -> str:
    return " ".join(re.findall(r'<li class="msg[^"]*">([^<]*)</li>', answer.text))


def test_a_person_signs_in_and_their_groups_make_them_a_member(sso, live_server, own_tenant):
    sso()
    browser, answer = sign_in(live_server.url)
    assert answer.status_code == 200 and urlsplit(answer.url).path == "/services/", answer.url
    assert own_tenant.name in answer.text and "alice" in answer.text
    user = get_user_model().objects.get(email="alice@acme.test")
    assert user.username == "alice" and not user.has_usable_password() and user.first_name == "Alice"
    membership = Membership.objects.get(user=user)
    assert (membership.tenant, membership.role, membership.granted_by_sso) == (own_tenant.tenant, Role.MEMBER, True)
    assert SsoIdentity.objects.get(user=user).issuer.endswith("/o")
    login = AuditEvent.objects.get(action="auth.login", actor=user)
    assert login.after == {"method": "sso"}
    granted = AuditEvent.objects.get(action="membership.create", object_id=str(membership.pk))
    assert "identity provider" in granted.message and granted.actor == user
    # Signed in for real: another page of the tenant answers.
    assert browser.get(f"{live_server.url}/operations/", timeout=30).status_code == 200


def test_the_groups_keep_memberships_in_step_and_leave_staff_made_ones_alone(sso, live_server, own_tenant):
    provider = sso()
    sign_in(live_server.url)
    user = get_user_model().objects.get(username="alice")
    provider.update_user("alice", groups=["acme-readers"])
    sign_in(live_server.url)
    assert Membership.objects.get(user=user).role == Role.VIEWER
    assert AuditEvent.objects.filter(action="membership.role.change", actor=user).exists()

    provider.update_user("alice", groups=["somebody-else"])
    browser, answer = sign_in(live_server.url)
    assert not Membership.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="membership.delete", actor=user).exists()

    # A membership staff made stays, whatever the groups say.
    Membership.objects.create(user=user, tenant=own_tenant.tenant, role=Role.VIEWER)
    sign_in(live_server.url)
    kept = Membership.objects.get(user=user)
    assert (kept.role, kept.granted_by_sso) == (Role.VIEWER, False)


def test_an_existing_account_is_found_by_its_address_then_by_the_subject(sso, live_server, own_tenant,
                                                                         django_user_model):
    own1 = django_user_model.objects.get(username="own1")
    own1.email = "Own1@Acme.test"
    own1.save()
    provider = sso(users=[alice(username="o.one", email="own1@acme.test", groups=[])])
    browser, answer = sign_in(live_server.url, username="o.one")
    assert urlsplit(answer.url).path == "/services/" and "own1" in answer.text
    assert SsoIdentity.objects.get().user == own1
    assert own1.memberships.get().granted_by_sso is False  # staff made it; no group touches it
    # The address changes at the provider: the subject still finds the same account.
    provider.update_user("o.one", email="someone.new@acme.test")
    browser, answer = sign_in(live_server.url, username="o.one")
    assert urlsplit(answer.url).path == "/services/" and "own1" in answer.text
    assert get_user_model().objects.filter(email__iexact="someone.new@acme.test").count() == 0


@pytest.mark.parametrize(("claims", "reason", "words"), [
    ({"groups": []}, "no_account", "no account in the portal"),
    ({"email_verified": False}, "email_unverified", "not verified your e-mail address"),
])
def test_a_person_the_portal_cannot_place_is_told_why(sso, live_server, claims, reason, words):
    sso(users=[alice(**claims)])
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/login/"
    assert words in messages_of(answer)
    assert not get_user_model().objects.filter(username="alice").exists()
    assert AuditEvent.objects.get(action="auth.sso_failed").after == {"reason": reason}
    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()  # one event, with its reason


def test_a_provider_claiming_another_issuer_is_refused(sso, live_server):
    sso(issuer_override="https://id.elsewhere.example/o")
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/login/"
    assert "issuer the portal does not trust" in messages_of(answer)
    assert AuditEvent.objects.get(action="auth.sso_failed").after == {"reason": "issuer"}
    assert not get_user_model().objects.filter(username="alice").exists()
    assert browser.get(f"{live_server.url}/services/", timeout=30).url.endswith("/login/?next=/services/")


def test_an_expired_id_token_signs_nobody_in(sso, live_server):
    sso(id_token_expire_seconds=-600)
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/login/"
    assert "had expired" in messages_of(answer)
    assert AuditEvent.objects.get(action="auth.sso_failed").after == {"reason": "expired"}
    assert "/login/" in browser.get(f"{live_server.url}/services/", timeout=30).url


def test_a_used_or_forged_callback_is_refused_with_words_not_an_error_page(sso, live_server):
    sso()
    browser, answer = sign_in(live_server.url)
    user = get_user_model().objects.get(username="alice")
    stranger = requests.Session()
    callback = stranger.get(f"{live_server.url}/sso/callback/?code=abc&state=forged", timeout=30)
    assert callback.status_code == 200 and urlsplit(callback.url).path == "/login/"
    assert "already been used or had expired" in messages_of(callback)
    assert not AuditEvent.objects.filter(action="auth.login", actor=user).exclude(after={"method": "sso"}).exists()
    denied = stranger.get(f"{live_server.url}/sso/callback/?error=access_denied&state=x", timeout=30)
    assert "did not sign you in" in messages_of(denied)


def test_logout_ends_the_providers_session_too(sso, live_server):
    provider = sso()
    browser, answer = sign_in(live_server.url)
    csrf = browser.cookies.get("csrftoken")
    out = browser.post(f"{live_server.url}/logout/", data={"csrfmiddlewaretoken": csrf},
                       headers={"Referer": f"{live_server.url}/services/"}, allow_redirects=False, timeout=30)
    assert out.status_code == 302 and out.headers["Location"].startswith(provider.end_session_endpoint)
    hint = parse_qs(urlsplit(out.headers["Location"]).query)
    assert hint["post_logout_redirect_uri"] == [f"{live_server.url}/login/"] and hint["id_token_hint"]
    back = browser.get(out.headers["Location"], timeout=30)
    assert urlsplit(back.url).path == "/login/" and back.url.startswith(live_server.url)
    # Signed out of both: the next single sign-on asks for the provider's password again.
    page = browser.get(f"{live_server.url}/sso/start/", timeout=30)
    assert "/accounts/login/" in page.url


def test_a_tenant_that_requires_single_sign_on_refuses_its_members_passwords(sso, live_server, own_tenant, client):
    sso()
    own_tenant.tenant.require_sso = True
    own_tenant.tenant.save()
    refused = client.post("/login/", {"username": "own1", "password": DEMO_PASSWORD})
    assert refused.status_code == 200 and "signs in with single sign-on" in refused.content.decode()
    assert "Sign in with Acme ID" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    get_user_model().objects.filter(username="own1").update(email="own1@acme.test")
    client.post("/account/password/reset/", {"email": "own1@acme.test"})
    assert mail.outbox == []  # their password is not how they sign in
    # Single sign-on still lets them in.
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/services/"


def test_without_configuration_single_sign_on_is_not_offered(client):
    page = client.get("/login/")
    assert "sso-start" not in page.content.decode()
    assert client.get("/sso/start/").status_code == 404
    assert client.get("/sso/callback/?code=a&state=b").status_code == 404


def test_a_second_factor_checked_by_the_provider_counts_and_none_is_asked_again(sso, live_server, own_tenant):
    own_tenant.tenant.require_two_factor = True
    own_tenant.tenant.save()
    provider = sso(users=[alice(amr=["pwd", "otp"])])
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/services/"
    # Without it, the portal's own second factor is asked for, as after a password.
    provider.update_user("alice", amr=["pwd"])
    browser, answer = sign_in(live_server.url, browser=requests.Session())
    assert urlsplit(answer.url).path == "/account/two-factor/setup/"


def test_the_issuers_origin_may_receive_the_logout_form_and_nothing_else_may():
    """settings.py reads OIDC_ISSUER at start: the CSP's form-action lets logout go on to it."""
    import os
    import subprocess
    import sys

    code = "import django; django.setup(); from django.conf import settings; print(*settings.SECURE_CSP['form-action'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "OIDC_ISSUER": "https://id.acme.test/realms/x/"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["'self'", "https://id.acme.test"]
    env.pop("OIDC_ISSUER")
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["'self'"]


def test_disabling_the_account_ends_a_single_sign_on_session(sso, live_server):
    sso()
    browser, answer = sign_in(live_server.url)
    assert urlsplit(answer.url).path == "/services/"
    get_user_model().objects.filter(username="alice").update(is_active=False)
    assert "/login/" in browser.get(f"{live_server.url}/operations/", timeout=30).url
