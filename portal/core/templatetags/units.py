from django import template

from portal.core.units import format_bits_per_second, format_kbps

register = template.Library()


@register.filter
def kbps(value):
    return format_kbps(value)


@register.filter
def bps(value):
    return format_bits_per_second(value)
