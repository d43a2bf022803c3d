"""Filters for the traffic pages: epoch seconds in the portal's zone, durations, percentages."""

from datetime import datetime

from django import template
from django.utils.formats import number_format

from portal.traffic import ranges, stats

register = template.Library()


@register.filter
def epoch_local(epoch: int | None) -> str:
    """1495058150 → '2017-05-18 05:55 CST' (the portal's zone, with its abbreviation)."""
    if epoch is None:
        return "—"
    moment = datetime.fromtimestamp(int(epoch), ranges.zone())
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


@register.filter
def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return stats.format_duration(int(seconds))


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{number_format(round(float(value), int(digits)), int(digits))} %"
