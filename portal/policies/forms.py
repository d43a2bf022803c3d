"""The form of a one-off change ("boost"): a bandwidth, when, and optionally when to change back."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.core.bandwidth_input import BandwidthField, ChangesBandwidthMixin, DescribedAmountMixin
from portal.traffic.stats import BANDWIDTH_MAX_KBPS, BANDWIDTH_MIN_KBPS, BANDWIDTH_STEP_KBPS

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=LOCAL_INPUT, **kwargs)


class OneOffForm(ChangesBandwidthMixin, DescribedAmountMixin, forms.Form):
    bandwidth = BandwidthField(label=_("Bandwidth"), minimum=BANDWIDTH_MIN_KBPS, maximum=BANDWIDTH_MAX_KBPS,
                               step=BANDWIDTH_STEP_KBPS)
    at = forms.DateTimeField(label=_("Change at"), input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M"],
                             widget=LocalDateTimeInput(), error_messages={
                                 "required": _("Enter when the change starts."),
                                 "invalid": _("Enter a date and time, e.g. 2026-12-11 18:00.")})
    revert_at = forms.DateTimeField(label=_("Back to the present bandwidth at (optional)"), required=False,
                                    input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M"], widget=LocalDateTimeInput(),
                                    error_messages={"invalid": _("Enter a date and time, e.g. 2026-12-14 08:00.")})
    name = forms.CharField(label=_("Name (optional)"), max_length=80, required=False)
