from django import template

from portal.core.units import format_bits_per_second, format_kbps

register = template.Library()


@register.filter
def kbps(value: int | str | None) -> str:
    return format_kbps(value)


@register.filter
def bps(value: float | int | str | None) -> str:
    return format_bits_per_second(value)
