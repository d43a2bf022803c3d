"""Tokens as the pages show them."""

from datetime import datetime

from portal.api.models import ApiToken


def token_state(token: ApiToken, now: datetime) -> str:
    """"active", "expired" or "revoked": what the member's and the staff's lists show for a token
    (whether its user may still use it, a membership or an account since removed, is the API's to say)."""
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.expires_at > now else "expired"


def with_states(tokens: list[ApiToken], now: datetime) -> list[ApiToken]:
    for token in tokens:
        token.state = token_state(token, now)  # type: ignore[attr-defined]  # read by the templates only
    return tokens
