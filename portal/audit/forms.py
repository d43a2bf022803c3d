from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.audit.models import Outcome
from portal.audit.selectors import AuditFilter, audit_known_tenants


class AuditFilterForm(forms.Form):
    tenant = forms.ChoiceField(label=_("Tenant"), required=False)
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=64,
                             help_text=_("An action, or its beginning: “tenant.”"))
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", _("Any outcome")), *Outcome.choices])
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["tenant"]).choices = [("", _("Any tenant")), *((n, n) for n in audit_known_tenants())]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def to_filter(self) -> AuditFilter:
        """The filter this form describes; a field that does not validate filters nothing (and the
        page shows its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return AuditFilter(tenant=data.get("tenant") or "", user=data.get("user") or "",
                           action=data.get("action") or "", outcome=data.get("outcome") or "",
                           date_from=data.get("date_from"), date_to=data.get("date_to"))
