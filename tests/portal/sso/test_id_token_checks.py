"""The backend's own checks of an ID token, on real tokens of the test provider (its code flow run
with requests): mozilla-django-oidc checks only the signature and the nonce; the portal adds the
algorithm, the issuer, the audience and the expiry."""

import jwt
import pytest

from portal.sso.backends import SsoBackend
from portal.sso.failures import SsoRefused
from tests.oidc_provider.test_provider import provider_options, tokens


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    from tests.fixtures_oidc import start_oidc_provider

    with start_oidc_provider(tmp_path_factory.mktemp("idp"), **provider_options()) as handle:
        yield handle, tokens(handle, "bob")["id_token"]


def backend(handle, **overrides):
    checker = SsoBackend()
    checker.issuer = overrides.get("issuer", handle.issuer)
    checker.OIDC_RP_CLIENT_ID = overrides.get("client_id", handle.client_id)
    checker.OIDC_RP_SIGN_ALGO = overrides.get("algorithm", "RS256")
    return checker


def key_of(handle, token):
    return jwt.PyJWKClient(handle.jwks_uri).get_signing_key_from_jwt(token).key


def test_a_token_of_the_configured_issuer_for_this_client_passes(issued):
    handle, token = issued
    claims = backend(handle)._verify_jws(token, key_of(handle, token))
    assert claims["iss"] == handle.issuer and claims["aud"] == handle.client_id and claims["sub"]


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"issuer": "https://id.elsewhere.example/o"}, "issuer"),
    ({"client_id": "another-application"}, "audience"),
    ({"algorithm": "HS256"}, "signature"),
])
def test_a_token_for_another_issuer_client_or_algorithm_is_refused(issued, overrides, reason):
    handle, token = issued
    with pytest.raises(SsoRefused) as refused:
        backend(handle, **overrides)._verify_jws(token, key_of(handle, token))
    assert refused.value.reason == reason


def test_a_token_with_a_changed_claim_fails_its_signature(issued):
    handle, token = issued
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature])
    with pytest.raises(SsoRefused) as refused:
        backend(handle)._verify_jws(forged, key_of(handle, token))
    assert refused.value.reason == "signature"
