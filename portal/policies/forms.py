"""The form of a one-off change ("boost"): a bandwidth, when, and optionally when to change back."""

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.core.bandwidth_input import BandwidthField, ChangesBandwidthMixin, DescribedAmountMixin
from portal.policies import weekly
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


DAYS = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]
WINDOW_ROWS = 4


class TimeOfDayInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class WindowForm(DescribedAmountMixin, forms.Form):
    """One window of a weekly calendar; a row left empty is no window."""

    days = forms.TypedMultipleChoiceField(label=_("Days"), choices=DAYS, coerce=int, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    start = forms.TimeField(label=_("Starts"), required=False, widget=TimeOfDayInput(), input_formats=["%H:%M"],
                            error_messages={"invalid": _("Enter a time of day, e.g. 08:00.")})
    end = forms.TimeField(label=_("Ends"), required=False, widget=TimeOfDayInput(), input_formats=["%H:%M"],
                          help_text=_("At or before the start: the next day."),
                          error_messages={"invalid": _("Enter a time of day, e.g. 20:00.")})
    bandwidth = BandwidthField(label=_("Bandwidth"), minimum=BANDWIDTH_MIN_KBPS, maximum=BANDWIDTH_MAX_KBPS,
                               step=BANDWIDTH_STEP_KBPS, required=False)

    @property
    def blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) not in (None, [], "") for name in ("days", "start", "end", "bandwidth"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.blank or self.errors:
            return data
        missing = {"days": _("Choose at least one day."), "start": _("Enter when the window starts."),
                   "end": _("Enter when the window ends."), "bandwidth": _("Enter the window's bandwidth.")}
        for name, message in missing.items():
            if data.get(name) in (None, [], ""):
                self.add_error(name, message)
        return data


WindowFormSet = forms.formset_factory(WindowForm, extra=WINDOW_ROWS, max_num=WINDOW_ROWS, validate_max=True)


class WeeklyForm(DescribedAmountMixin, forms.Form):
    default = BandwidthField(label=_("Bandwidth outside the windows"), minimum=BANDWIDTH_MIN_KBPS,
                             maximum=BANDWIDTH_MAX_KBPS, step=BANDWIDTH_STEP_KBPS)
    holidays = forms.CharField(label=_("Holidays (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("One date a line (2026-12-25): the whole day at the bandwidth outside the "
                                           "windows."))
    name = forms.CharField(label=_("Name (optional)"), max_length=80, required=False)

    def clean_holidays(self) -> list[date]:
        days: list[date] = []
        for line in self.cleaned_data["holidays"].splitlines():
            text = line.strip()
            if not text:
                continue
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                raise forms.ValidationError(_("“%(line)s” is not a date: write one date a line, e.g. 2026-12-25."),
                                            params={"line": text[:20]}) from None
        if len(days) > 366:
            raise forms.ValidationError(_("At most 366 holidays."))
        return sorted(set(days))


def calendar_from(form: WeeklyForm, windows: Any, tz: ZoneInfo) -> weekly.WeeklyCalendar:
    """The calendar a valid WeeklyForm and its valid WindowFormSet describe."""
    rows = [w.cleaned_data for w in windows if not w.blank]
    return weekly.WeeklyCalendar(
        windows=tuple(weekly.Window(frozenset(r["days"]), r["start"], r["end"], r["bandwidth"]) for r in rows),
        default_kbps=form.cleaned_data["default"], tz=tz,
        holidays=tuple(weekly.Holiday(day) for day in form.cleaned_data["holidays"]))
