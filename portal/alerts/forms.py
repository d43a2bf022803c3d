"""The alert rule form (one form, its fields by kind) and a person's own subscription form."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.alerts.models import AlertRule, AlertSubscription, Level, OperationEvent, PolicyEvent, RuleKind
from portal.webhooks.models import ALERT_EVENTS, EVENT_TYPES, WebhookFormat, WebhookLanguage

CHECKBOX_ATTRS = {"class": "checkbox"}
ALL_SERVICES = ""


class RuleForm(forms.ModelForm):
    service_id = forms.ChoiceField(label=_("Service"), required=False)
    operation_events = forms.MultipleChoiceField(label=_("Operations to report"), required=False,
                                                 choices=OperationEvent.choices,
                                                 widget=forms.CheckboxSelectMultiple(attrs=CHECKBOX_ATTRS))
    policy_events = forms.MultipleChoiceField(label=_("Policy events to report"), required=False,
                                              choices=PolicyEvent.choices,
                                              widget=forms.CheckboxSelectMultiple(attrs=CHECKBOX_ATTRS))

    class Meta:
        model = AlertRule
        fields = ["name", "kind", "service_id", "direction", "warning_pct", "critical_pct", "clear_pct", "floor_kbps",
                  "level", "window_minutes", "renotify_minutes", "operation_events", "policy_events", "enabled"]
        widgets = {"enabled": forms.CheckboxInput(attrs=CHECKBOX_ATTRS),
                   "warning_pct": forms.NumberInput(attrs={"step": "any", "min": 1, "max": 100}),
                   "critical_pct": forms.NumberInput(attrs={"step": "any", "min": 1, "max": 100}),
                   "clear_pct": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}),
                   "floor_kbps": forms.NumberInput(attrs={"min": 1}),
                   "window_minutes": forms.NumberInput(attrs={"min": 1, "max": 60}),
                   "renotify_minutes": forms.NumberInput(attrs={"min": 0, "max": 1440})}
        help_texts = {
            "window_minutes": _("The condition must hold this long before anyone is told (1 to 60 minutes)."),
            "renotify_minutes": _("While it lasts, remind this often (0: never). The clear is always sent."),
            "clear_pct": _("Cleared once below this (empty: 10 points under the lowest threshold)."),
            "level": _("How serious a quiet connection or an inactive service is."),
        }

    def __init__(self, *args: Any, services: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["service_id"]).choices = [
            (ALL_SERVICES, _("Every service of the tenant")), *services]
        cast("forms.ChoiceField", self.fields["level"]).choices = [
            (Level.WARNING, Level.WARNING.label), (Level.CRITICAL, Level.CRITICAL.label)]

    def clean_window_minutes(self) -> int:
        value = self.cleaned_data["window_minutes"]
        if not 1 <= value <= 60:
            raise forms.ValidationError(_("Between 1 and 60 minutes."))
        return value

    def clean_renotify_minutes(self) -> int:
        value = self.cleaned_data["renotify_minutes"]
        if value > 1440:
            raise forms.ValidationError(_("At most 1440 minutes (a day)."))
        return value

    def _percent(self, name: str) -> float | None:
        value = self.cleaned_data.get(name)
        if value is not None and not 0 < value <= 100:
            self.add_error(name, _("A percentage between 0 and 100."))
            return None
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind == RuleKind.UTILISATION:
            warning, critical = self._percent("warning_pct"), self._percent("critical_pct")
            if warning is None and critical is None and not self.has_error("warning_pct"):
                self.add_error("warning_pct", _("Give a warning threshold, a critical one, or both."))
            elif warning is not None and critical is not None and critical <= warning:
                self.add_error("critical_pct", _("The critical threshold must be above the warning one."))
            lowest = min(t for t in (warning, critical, 101) if t is not None)
            clear = data.get("clear_pct")
            if clear is None and lowest <= 100:
                data["clear_pct"] = max(0.0, lowest - 10)
            elif clear is not None and clear >= lowest:
                self.add_error("clear_pct", _("The clear level must be below the thresholds, or the alert would "
                                              "fire and clear in turns."))
        elif kind == RuleKind.QUIET:
            if not data.get("floor_kbps"):
                self.add_error("floor_kbps", _("Give the rate below which the connection counts as quiet."))
        elif kind == RuleKind.OPERATION:
            if not data.get("operation_events"):
                self.add_error("operation_events", _("Choose at least one kind of operation event."))
        elif kind == RuleKind.POLICY:
            if not data.get("policy_events"):
                self.add_error("policy_events", _("Choose at least one kind of policy event."))
        return data


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = AlertSubscription
        fields = ["email", "min_level", "quiet_start", "quiet_end"]
        widgets = {"email": forms.CheckboxInput(attrs=CHECKBOX_ATTRS),
                   "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {"quiet_start": _("During quiet hours only critical alerts are mailed (portal time zone).")}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            self.add_error("quiet_end", _("Give both ends of the quiet hours, or neither."))
        return data


class ChannelForm(forms.Form):
    """A webhook endpoint for alerts (and operations): the tenant's own address and its format."""

    format = forms.ChoiceField(label=_("Kind"), choices=WebhookFormat.choices, initial=WebhookFormat.GENERIC)
    url = forms.CharField(label=_("Address (URL)"), max_length=2000,
                          help_text=_("The robot's or receiver's full address, as its tool gives it (https)."))
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    language = forms.ChoiceField(label=_("Language of the messages"), choices=WebhookLanguage.choices,
                                 initial=WebhookLanguage.EN,
                                 help_text=_("Chat robots' messages are written in it; a generic webhook gets both."))
    secret = forms.CharField(label=_("DingTalk signing secret"), max_length=200, required=False,
                             widget=forms.PasswordInput(render_value=True),
                             help_text=_("Only for a DingTalk robot with signing on: its secret, starting SEC."))
    events = forms.MultipleChoiceField(label=_("Events"), required=True,
                                       choices=[(e, e) for e in EVENT_TYPES],
                                       initial=list(ALERT_EVENTS),
                                       widget=forms.CheckboxSelectMultiple(attrs=CHECKBOX_ATTRS))
