from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """A code of the authenticator app (six digits) or, where allowed, a recovery code."""

    code = forms.CharField(label=_("Code"), max_length=32, strip=True)

    def __init__(self, *args: Any, recovery: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.widget.attrs.update({"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false",
                                   "inputmode": "text" if recovery else "numeric"})
        if recovery:
            field.help_text = _("The 6-digit code your authenticator app shows now, or one of your recovery codes.")
        else:
            field.label = _("Code from the app")
            field.help_text = _("The 6-digit code your authenticator app shows now.")
