"""The test identity provider itself, driven with plain ``requests`` as an RP and a user would: what
the portal's sign-in tests will rely on (discovery, the code flow with PKCE, the ID token and its
claims, userinfo, the issuer override, expired ID tokens, RP-initiated logout)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests

from tests.fixtures_oidc import OidcProviderHandle, start_oidc_provider

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never followed: nothing listens on port 9
SIGNED_OUT_URI = "http://127.0.0.1:9/signed-out"
ALL_SCOPES = "openid email profile groups"


def person(username: str, groups: list[str], amr: list[str] | None = None) -> dict[str, Any]:
    return {
        "username": username,
        "password": f"{username}-{secrets.token_hex(4)}",
        "email": f"{username}@acme.example",
        "email_verified": True,
        "name": username.capitalize() + " Example",
        "groups": groups,
        "amr": amr or ["pwd"],
    }


USERS = [
    person("alice", ["cloudvpn-acme-members", "cloudvpn-acme-admins"], ["pwd", "otp"]),
    person("bob", ["cloudvpn-acme-members"]),
    person("carol", ["cloudvpn-acme-members"]),
    person("dave", []),
]


def provider_options(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [SIGNED_OUT_URI],
        "users": [dict(u) for u in USERS],
    }
    options.update(overrides)
    return options


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderHandle]:
    with start_oidc_provider(tmp_path_factory.mktemp("oidc"), **provider_options()) as handle:
        yield handle


@dataclass
class SignIn:
    """A user signed in at the provider (``session`` holds its cookie) and the code it gave the RP."""

    session: requests.Session
    code: str
    verifier: str
    nonce: str


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(
    handle: OidcProviderHandle, session: requests.Session, *, scope: str = ALL_SCOPES, **extra: str
) -> tuple[requests.Response, dict[str, str]]:
    """GET the authorize endpoint as the portal's redirect would; the answer is not followed."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": handle.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    answer = session.get(handle.authorization_endpoint, params=params, allow_redirects=False, timeout=10)
    return answer, {**params, "code_verifier": verifier}


def callback_query(answer: requests.Response) -> dict[str, str]:
    """The query of the provider's redirect to the RP's callback."""
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(handle: OidcProviderHandle, username: str, *, scope: str = ALL_SCOPES) -> SignIn:
    """The whole front channel: authorize, the provider's sign-in page, back to the RP's callback."""
    session = requests.Session()
    answer, params = authorize(handle, session, scope=scope)
    assert answer.status_code == 302, answer.text
    login_page = urljoin(handle.root, answer.headers["Location"])
    assert login_page.startswith(handle.login_url + "?next="), login_page

    page = session.get(login_page, timeout=10)
    assert page.status_code == 200
    assert "<title>Sign in · Test identity provider</title>" in page.text
    assert '<label for="id_username">Username</label>' in page.text
    assert '<label for="id_password">Password</label>' in page.text
    assert '<button type="submit">Sign in</button>' in page.text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text

    answer = session.post(
        handle.login_url,
        data={
            "csrfmiddlewaretoken": csrf[1],
            "username": username,
            "password": handle.user(username)["password"],
            "next": parse_qs(urlsplit(login_page).query)["next"][0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    back_to_authorize = urljoin(handle.root, answer.headers["Location"])
    assert back_to_authorize.startswith(handle.authorization_endpoint)

    query = callback_query(session.get(back_to_authorize, allow_redirects=False, timeout=10))
    assert query["state"] == params["state"]
    return SignIn(session, query["code"], params["code_verifier"], params["nonce"])


def exchange(handle: OidcProviderHandle, signed_in: SignIn) -> requests.Response:
    """The RP's back channel: the code for tokens, authenticated with the client's secret."""
    return requests.post(
        handle.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": signed_in.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": signed_in.verifier,
        },
        auth=(handle.client_id, handle.client_secret),
        timeout=10,
    )


def tokens(handle: OidcProviderHandle, username: str, *, scope: str = ALL_SCOPES) -> dict[str, Any]:
    signed_in = sign_in(handle, username, scope=scope)
    answer = exchange(handle, signed_in)
    assert answer.status_code == 200, answer.text
    return {**answer.json(), "nonce": signed_in.nonce, "session": signed_in.session}


def verified_claims(handle: OidcProviderHandle, id_token: str, **options: Any) -> dict[str, Any]:
    """The ID token's claims, its signature checked against the provider's JWKS (as an RP does)."""
    key = jwt.PyJWKClient(handle.jwks_uri).get_signing_key_from_jwt(id_token)
    options.setdefault("issuer", handle.issuer)
    return dict(jwt.decode(id_token, key, algorithms=["RS256"], audience=handle.client_id, **options))


def userinfo(handle: OidcProviderHandle, access_token: str) -> dict[str, Any]:
    answer = requests.get(
        handle.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


PROFILE_CLAIMS = ("sub", "email", "email_verified", "name", "preferred_username", "groups", "amr")


# -- discovery ---------------------------------------------------------------------------------------


def test_discovery_advertises_the_issuer_and_the_endpoints(provider: OidcProviderHandle) -> None:
    document = provider.discovery()

    assert document["issuer"] == provider.issuer == f"http://127.0.0.1:{provider.port}/o"
    assert document["authorization_endpoint"] == provider.authorization_endpoint
    assert document["token_endpoint"] == provider.token_endpoint
    assert document["userinfo_endpoint"] == provider.userinfo_endpoint
    assert document["jwks_uri"] == provider.jwks_uri
    assert document["end_session_endpoint"] == provider.end_session_endpoint
    assert set(document["scopes_supported"]) == {"openid", "email", "profile", "groups"}
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert set(PROFILE_CLAIMS) <= set(document["claims_supported"])

    keys = requests.get(provider.jwks_uri, timeout=10).json()["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [("RSA", "RS256", "sig")]


def test_serves_a_request_while_another_is_open(provider: OidcProviderHandle) -> None:
    with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as stalled:
        stalled.sendall(b"GET /o/.well-known/jwks.json HTTP/1.1\r\n")  # its headers never end
        assert requests.get(provider.discovery_url, timeout=5).status_code == 200


# -- the authorization-code flow ---------------------------------------------------------------------


def test_code_flow_with_pkce_gives_a_signed_id_token_with_the_users_claims(
    provider: OidcProviderHandle,
) -> None:
    alice = provider.user("alice")
    answer = tokens(provider, "alice")
    assert answer["token_type"] == "Bearer"
    assert set(answer["scope"].split()) == set(ALL_SCOPES.split())

    claims = verified_claims(provider, answer["id_token"])

    assert claims["iss"] == provider.issuer
    assert claims["aud"] == provider.client_id
    assert claims["nonce"] == answer["nonce"]
    assert claims["sub"] == alice["sub"]
    assert claims["email"] == "alice@acme.example"
    assert claims["email_verified"] is True
    assert claims["name"] == "Alice Example"
    assert claims["preferred_username"] == "alice"
    assert claims["groups"] == ["cloudvpn-acme-members", "cloudvpn-acme-admins"]
    assert claims["amr"] == ["pwd", "otp"]
    assert 295 <= claims["exp"] - claims["iat"] <= 305

    info = userinfo(provider, answer["access_token"])
    assert {k: info[k] for k in PROFILE_CLAIMS} == {k: claims[k] for k in PROFILE_CLAIMS}


def test_claims_follow_the_granted_scopes_but_groups_and_amr_always_come(
    provider: OidcProviderHandle,
) -> None:
    answer = tokens(provider, "bob", scope="openid")
    claims = verified_claims(provider, answer["id_token"])

    assert claims["sub"] == provider.user("bob")["sub"]
    assert claims["groups"] == ["cloudvpn-acme-members"]
    assert claims["amr"] == ["pwd"]
    assert not {"email", "email_verified", "name", "preferred_username"} & set(claims)
    assert set(userinfo(provider, answer["access_token"])) == {"sub", "groups", "amr"}


def test_a_code_is_worth_nothing_without_its_pkce_verifier(provider: OidcProviderHandle) -> None:
    signed_in = sign_in(provider, "bob")
    signed_in.verifier = pkce()[0]
    answer = exchange(provider, signed_in)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"

    refused, _ = authorize(provider, signed_in.session, code_challenge="", code_challenge_method="")
    assert callback_query(refused)["error"] == "invalid_request"


def test_a_wrong_password_stays_on_the_sign_in_page(provider: OidcProviderHandle) -> None:
    session = requests.Session()
    page = session.get(provider.login_url, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf
    answer = session.post(
        provider.login_url,
        data={"csrfmiddlewaretoken": csrf[1], "username": "dave", "password": "not-it"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 200
    assert 'role="alert"' in answer.text


def test_a_changed_user_shows_in_the_next_answers(provider: OidcProviderHandle) -> None:
    answer = tokens(provider, "dave")
    provider.update_user("dave", groups=["cloudvpn-globex-members"], amr=["pwd", "otp"])
    try:
        info = userinfo(provider, answer["access_token"])
        assert (info["groups"], info["amr"]) == (["cloudvpn-globex-members"], ["pwd", "otp"])
    finally:
        provider.update_user("dave", groups=[], amr=["pwd"])


def test_a_restart_keeps_users_subjects_and_key(make_oidc_provider: Any) -> None:
    handle = make_oidc_provider(**provider_options())
    before = tokens(handle, "alice")

    handle.restart()

    after = tokens(handle, "alice")
    assert verified_claims(handle, after["id_token"])["sub"] == handle.user("alice")["sub"]
    # Issued before the restart, still verified with the JWKS served after it.
    assert verified_claims(handle, before["id_token"])["sub"] == handle.user("alice")["sub"]


# -- the issuer, expired ID tokens -------------------------------------------------------------------


def test_an_issuer_override_is_what_discovery_and_the_tokens_say(make_oidc_provider: Any) -> None:
    claimed = "https://idp.example.invalid/o"
    handle = make_oidc_provider(**provider_options(issuer_override=claimed))

    document = handle.discovery()
    assert handle.issuer == document["issuer"] == claimed
    # DOT builds discovery's endpoints on the override's scheme and host: an RP trusting discovery
    # would go there. Configure the RP with the handle's endpoints, which answer.
    assert document["token_endpoint"] == "https://idp.example.invalid/o/token/"

    id_token = tokens(handle, "alice")["id_token"]
    assert verified_claims(handle, id_token)["iss"] == claimed
    with pytest.raises(jwt.InvalidIssuerError):
        verified_claims(handle, id_token, issuer=handle.base_url)


def test_a_negative_lifetime_issues_id_tokens_already_expired(make_oidc_provider: Any) -> None:
    handle = make_oidc_provider(**provider_options(id_token_expire_seconds=-600))
    answer = tokens(handle, "carol")

    with pytest.raises(jwt.ExpiredSignatureError):
        verified_claims(handle, answer["id_token"])
    claims = verified_claims(handle, answer["id_token"], options={"verify_exp": False})
    assert claims["exp"] < time.time() - 590
    assert claims["exp"] < claims["iat"]
    # Only the ID token: the access token still answers at userinfo.
    assert userinfo(handle, answer["access_token"])["sub"] == handle.user("carol")["sub"]

    # And the RP can still sign the user out with it (DOT accepts expired hints by default).
    out = answer["session"].get(
        handle.end_session_endpoint,
        params={"id_token_hint": answer["id_token"], "post_logout_redirect_uri": SIGNED_OUT_URI},
        allow_redirects=False,
        timeout=10,
    )
    assert (out.status_code, out.headers.get("Location")) == (302, SIGNED_OUT_URI)


# -- RP-initiated logout -----------------------------------------------------------------------------


def test_logout_with_an_id_token_hint_goes_back_to_the_rp_without_a_prompt(
    provider: OidcProviderHandle,
) -> None:
    answer = tokens(provider, "carol")
    session = answer["session"]

    out = session.get(
        provider.end_session_endpoint,
        params={
            "id_token_hint": answer["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT_URI,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302, out.text
    assert out.headers["Location"] == f"{SIGNED_OUT_URI}?state=s1"

    # Signed out of the provider: the next authorization asks for the password again.
    again, _ = authorize(provider, session)
    assert again.status_code == 302
    assert urljoin(provider.root, again.headers["Location"]).startswith(provider.login_url)
    # And DOT revoked the user's tokens at logout.
    refused = requests.get(
        provider.userinfo_endpoint, headers={"Authorization": f"Bearer {answer['access_token']}"}, timeout=10
    )
    assert refused.status_code == 401


def test_logout_refuses_an_unregistered_post_logout_uri(provider: OidcProviderHandle) -> None:
    answer = tokens(provider, "bob")
    out = answer["session"].get(
        provider.end_session_endpoint,
        params={
            "id_token_hint": answer["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:9/elsewhere",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 400
    assert "Location" not in out.headers
