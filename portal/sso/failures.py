"""Why a single sign-on failed, in words a person can act on (the codes go to the audit log)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class SsoRefused(Exception):
    """A sign-in the portal refuses; ``reason`` is one of MESSAGES' keys."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


_ASK_ADMIN = _("If it happens again, tell your administrator what this page says.")

MESSAGES = {
    "unreachable": _("The identity provider could not be reached. Try again in a few minutes."),
    "issuer": _("The identity provider's answer came from an issuer the portal does not trust, so nobody was "
                "signed in."),
    "audience": _("The identity provider's answer was meant for another application, so nobody was signed in."),
    "expired": _("The identity provider's answer had expired (is this computer's or the provider's clock "
                 "wrong?). Try again."),
    "signature": _("The identity provider's answer could not be verified, so nobody was signed in."),
    "state": _("That sign-in had already been used or had expired. Start again from the login page."),
    "denied": _("The identity provider did not sign you in."),
    "email_unverified": _("The identity provider has not verified your e-mail address, so the portal cannot tell "
                          "which account is yours."),
    "no_claim": _("The identity provider did not say who you are (the claim the portal matches users by is "
                  "missing)."),
    "ambiguous": _("More than one portal account matches you. An administrator has to settle which is yours."),
    "no_account": _("You have no account in the portal, and your groups at the identity provider give you no "
                    "tenant. Ask your administrator for access."),
    "inactive": _("Your portal account is disabled. Ask your administrator."),
    "subject": _("The identity provider's answers about you did not agree, so nobody was signed in."),
}


def message(reason: str) -> str:
    text = MESSAGES.get(reason, MESSAGES["signature"])
    return f"{text} {_ASK_ADMIN}" if reason not in ("state", "unreachable", "expired") else str(text)
