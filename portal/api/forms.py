"""The form that makes a personal API token: a name, its scopes, how long it lasts."""

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.api.models import Scope

# How long a new token may last, by the value the select sends. Fixed choices rather than a date:
# nobody has to type a date, and no token lasts for ever.
EXPIRY: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "365d": timedelta(days=365),
}
EXPIRY_CHOICES = [("1h", _("1 hour")), ("1d", _("1 day")), ("7d", _("7 days")), ("30d", _("30 days")),
                  ("90d", _("90 days")), ("365d", _("1 year"))]
EXPIRY_DEFAULT = "30d"


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What will use it, e.g. “backup script”: it tells your tokens apart."),
                           error_messages={"required": _("Enter a name for the token."),
                                           "max_length": _("Keep the name to %(limit_value)d characters "
                                                           "(it has %(show_value)d).")})
    # Rendered by the page itself (a fieldset of checkboxes, "read" always on): see tokens.html.
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=Scope.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    expires = forms.ChoiceField(label=_("Expires after"), choices=EXPIRY_CHOICES, initial=EXPIRY_DEFAULT,
                                error_messages={"invalid_choice": _("Choose how long the token lasts.")})

    def __init__(self, *args: Any, allowed: Collection[str], taken_names: Collection[str],
                 **kwargs: Any) -> None:
        """`allowed`: the scopes the member's role may give a token; `taken_names`: the names of the
        member's live tokens of this tenant, which a new one should not repeat."""
        super().__init__(*args, **kwargs)
        self.allowed = frozenset(allowed)
        self.taken_names = {name.casefold() for name in taken_names}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if name.casefold() in self.taken_names:
            raise forms.ValidationError(_("You already have a live token named “%(name)s”: choose another name."),
                                        params={"name": name})
        return name

    def clean_scopes(self) -> list[str]:
        # Reading is what every token does: it is always included, whatever the boxes sent.
        wanted = {Scope.READ.value, *self.cleaned_data["scopes"]}
        if wanted - self.allowed:
            raise forms.ValidationError(_("Your role in this tenant is read-only (viewer): a token of yours can "
                                          "only read. Untick the other scopes."))
        return [scope for scope in Scope.values if scope in wanted]

    def expires_at(self, now: datetime) -> datetime:
        return now + EXPIRY[self.cleaned_data["expires"]]
