"""The claims the provider issues, in ID tokens and from the userinfo endpoint.

A user's attributes (sub, email, name, groups, amr, …) are read from the JSON description at each
request, not from the database: a test may change them (OidcProviderHandle.update_user) and the
next token or userinfo call carries the change, without a restart.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator  # type: ignore[import-untyped]


def user_attributes(username: str) -> dict[str, Any]:
    """The user's entry in the description ({} when it has none)."""
    config = json.loads(Path(os.environ["OIDC_PROVIDER_CONFIG"]).read_text())
    return next((u for u in config["users"] if u["username"] == username), {})


def _attribute(name: str, default: Any) -> Callable[[Any], Any]:
    return lambda request: user_attributes(request.user.username).get(name, default)


class ClaimsValidator(OAuth2Validator):
    # The scope each claim needs. groups and amr come with openid, so that any RP gets them; the
    # "groups" scope is offered for RPs that ask for it, and grants nothing more.
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "groups": "openid",
        "amr": "openid",
    }

    def get_additional_claims(self) -> dict[str, Callable[[Any], Any]]:
        """Request-agnostic form (no ``request`` argument): DOT then lists these in discovery's
        claims_supported, and calls each value with the request."""
        return {
            "sub": lambda request: str(user_attributes(request.user.username).get("sub") or request.user.pk),
            "email": _attribute("email", ""),
            "email_verified": _attribute("email_verified", False),
            "name": _attribute("name", ""),
            "preferred_username": lambda request: request.user.username,
            "groups": lambda request: list(user_attributes(request.user.username).get("groups", [])),
            "amr": lambda request: list(user_attributes(request.user.username).get("amr", ["pwd"])),
        }
