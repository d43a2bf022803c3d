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


def calendar_initial(calendar: weekly.WeeklyCalendar) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the calendar's forms start from when it is edited: the WeeklyForm's and the windows'."""
    holidays = "\n".join(h.day.isoformat() for h in calendar.holidays)
    windows = [{"days": sorted(w.days), "start": w.start, "end": w.end, "bandwidth": w.kbps} for w in calendar.windows]
    return {"default": calendar.default_kbps, "holidays": holidays}, windows


def calendar_from(form: WeeklyForm, windows: Any, tz: ZoneInfo) -> weekly.WeeklyCalendar:
    """The calendar a valid WeeklyForm and its valid WindowFormSet describe."""
    rows = [w.cleaned_data for w in windows if not w.blank]
    return weekly.WeeklyCalendar(
        windows=tuple(weekly.Window(frozenset(r["days"]), r["start"], r["end"], r["bandwidth"]) for r in rows),
        default_kbps=form.cleaned_data["default"], tz=tz,
        holidays=tuple(weekly.Holiday(day) for day in form.cleaned_data["holidays"]))


def _percent(label: Any, initial: int, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, initial=initial, min_value=1, max_value=100, help_text=help_text,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                              error_messages={"required": _("Enter a percentage from 1 to 100."),
                                              "invalid": _("Enter a whole percentage, e.g. 80."),
                                              "min_value": _("Enter a percentage from 1 to 100."),
                                              "max_value": _("Enter a percentage from 1 to 100.")})


def _minutes(label: Any, initial: int, *, minimum: int = 1, maximum: int = 1440, help_text: Any = "") -> forms.IntegerField:
    message = _("Enter whole minutes from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}
    return forms.IntegerField(label=label, initial=initial, min_value=minimum, max_value=maximum, help_text=help_text,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                              error_messages={"required": message, "invalid": message, "min_value": message,
                                              "max_value": message})


STATISTICS = [("p95", _("95th percentile")), ("max", _("maximum"))]
DIRECTIONS = [("either", _("inbound or outbound, whichever is busier")), ("in", _("inbound")),
              ("out", _("outbound"))]
SIZINGS = [("target", _("to the size that brings it to the target utilisation")),
           ("step", _("by a fixed step"))]
BACKTEST_DAYS = [(7, _("the last 7 days")), (30, _("the last 30 days"))]


class AutoScaleForm(DescribedAmountMixin, forms.Form):
    """An auto-scale policy: the numbers autoscale.AutoScale holds, as a person sets them (minutes,
    whole percentages), and whether a member approves each change."""

    floor = BandwidthField(label=_("Floor"), minimum=BANDWIDTH_MIN_KBPS, maximum=BANDWIDTH_MAX_KBPS,
                           step=BANDWIDTH_STEP_KBPS, help_text=_("Never below this."))
    ceiling = BandwidthField(label=_("Ceiling"), minimum=BANDWIDTH_MIN_KBPS, maximum=BANDWIDTH_MAX_KBPS,
                             step=BANDWIDTH_STEP_KBPS, help_text=_("Never above this."))
    statistic = forms.ChoiceField(label=_("Statistic of utilisation"), choices=STATISTICS, initial="p95")
    direction = forms.ChoiceField(label=_("Direction"), choices=DIRECTIONS, initial="either")
    up_above = _percent(_("Scale up above (%)"), 80)
    up_for = _minutes(_("Minutes above it before scaling up"), 15)
    down_below = _percent(_("Scale down below (%)"), 30)
    down_for = _minutes(_("Minutes below it before scaling down"), 60,
                        help_text=_("At least as long as the scale-up window."))
    sizing = forms.ChoiceField(label=_("Change"), choices=SIZINGS, initial="target", widget=forms.RadioSelect)
    target = _percent(_("Target utilisation (%)"), 60)
    step = BandwidthField(label=_("Step"), minimum=BANDWIDTH_STEP_KBPS, maximum=BANDWIDTH_MAX_KBPS,
                          step=BANDWIDTH_STEP_KBPS, required=False, help_text=_("Only when changing by a fixed step."))
    cooldown = _minutes(_("Cooldown after any change (minutes)"), 30, minimum=0,
                        help_text=_("Never shorter than a change takes at IES (learned from past changes); a "
                                    "person's change starts it too."))
    max_per_day = forms.IntegerField(label=_("At most changes a day"), initial=6, min_value=1, max_value=96)
    max_per_month = forms.IntegerField(label=_("At most changes a month"), initial=60, min_value=1, max_value=3000)
    approval = forms.BooleanField(label=_("A member approves each change"), required=False,
                                  help_text=_("The policy proposes; members see it at the top of every page."))
    approval_for = _minutes(_("A proposal waits for approval (minutes)"), 60, minimum=5, maximum=10080)
    name = forms.CharField(label=_("Name (optional)"), max_length=80, required=False)
    days = forms.TypedChoiceField(label=_("Backtest over"), choices=BACKTEST_DAYS, coerce=int, initial=7,
                                  required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data["sizing"] == "step" and not data.get("step"):
            self.add_error("step", _("Enter the step, or change to the target utilisation."))
            return data
        from portal.policies import autoscale, autoscaling  # numpy: only when a policy is set or tried

        settings_ = autoscaling.Settings(
            rules=autoscale.AutoScale(
                floor_kbps=data["floor"], ceiling_kbps=data["ceiling"], up_above_pct=float(data["up_above"]),
                up_for_s=data["up_for"] * 60, down_below_pct=float(data["down_below"]), down_for_s=data["down_for"] * 60,
                statistic=autoscale.Statistic(data["statistic"]), direction=autoscale.Direction(data["direction"]),
                sizing=autoscale.Sizing(data["sizing"]), step_kbps=data.get("step") or BANDWIDTH_STEP_KBPS,
                target_pct=float(data["target"]), cooldown_s=data["cooldown"] * 60,
                max_per_day=data["max_per_day"], max_per_month=data["max_per_month"]),
            approval=bool(data.get("approval")), approval_s=data["approval_for"] * 60)
        for problem in autoscaling.problems(settings_):
            self.add_error(None, problem)
        data["settings"] = settings_
        return data
