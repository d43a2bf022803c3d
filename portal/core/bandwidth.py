"""Bandwidth entered by a person (a number and a unit), checked against a definition's bounds.

Shared by the creation wizard and the bandwidth editor: IES takes kbit/s as a string of digits.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.core.units import format_kbps

UNITS = {"kbit/s": 1, "Mbit/s": 1000, "Gbit/s": 1_000_000}
UNIT_CHOICES = [(unit, unit) for unit in UNITS]


def to_kbps(amount: str, unit: str) -> int:
    """'1.5', 'Mbit/s' → 1500. Raises ValidationError with a message a person can act on."""
    if unit not in UNITS:
        raise ValidationError(_("Choose a unit: kbit/s, Mbit/s or Gbit/s."), code="unit")
    text = (amount or "").strip().replace(",", ".").replace(" ", "")
    if not text:
        raise ValidationError(_("Enter a bandwidth."), code="required")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number. Enter digits, e.g. 60 (with the unit Mbit/s)."),
                              code="invalid", params={"value": amount}) from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(_("Enter a bandwidth greater than zero."), code="invalid")
    kbps = number * UNITS[unit]
    if kbps != kbps.to_integral_value():
        raise ValidationError(_("IES counts bandwidth in whole kbit/s: %(value)s %(unit)s is not a whole number of kbit/s."),
                              code="fraction", params={"value": amount, "unit": unit})
    return int(kbps)


def check_bounds(kbps: int, *, minimum: int | None, maximum: int | None, step: int | None) -> None:
    if minimum is not None and kbps < minimum:
        raise ValidationError(_("At least %(min)s is allowed; you entered %(value)s."), code="min",
                              params={"min": format_kbps(minimum), "value": format_kbps(kbps)})
    if maximum is not None and kbps > maximum:
        raise ValidationError(_("At most %(max)s is allowed; you entered %(value)s."), code="max",
                              params={"max": format_kbps(maximum), "value": format_kbps(kbps)})
    if step and kbps % step:
        lower = kbps - kbps % step
        raise ValidationError(
            _("Bandwidth goes in steps of %(step)s: try %(lower)s or %(upper)s."), code="step",
            params={"step": format_kbps(step), "lower": format_kbps(max(lower, minimum or step)),
                    "upper": format_kbps(lower + step)},
        )


def split_kbps(kbps: int | None) -> tuple[str, str]:
    """The friendliest (number, unit) for a value in kbit/s: 60000 → ('60', 'Mbit/s')."""
    if not kbps:
        return "", "Mbit/s"
    for unit in ("Gbit/s", "Mbit/s"):
        factor = UNITS[unit]
        if kbps % factor == 0:
            return str(kbps // factor), unit
    return str(kbps), "kbit/s"


class BandwidthWidget(forms.MultiWidget):
    template_name = "core/bandwidth_widget.html"

    def __init__(self, attrs=None):
        super().__init__([forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "bw-amount"}),
                          forms.Select(choices=UNIT_CHOICES, attrs={"class": "bw-unit", "aria-label": _("Unit")})],
                         attrs)

    def id_for_label(self, id_):
        # MultiWidget labels nothing (for=""): the "Bandwidth" label belongs to the amount box.
        return f"{id_}_0" if id_ else id_

    def decompress(self, value):
        if value in (None, ""):
            return ["", "Mbit/s"]
        try:
            return list(split_kbps(int(value)))
        except (TypeError, ValueError):
            return [str(value), "kbit/s"]


class BandwidthField(forms.MultiValueField):
    """A number and a unit in; an int of kbit/s out, within the definition's bounds and steps."""

    widget = BandwidthWidget

    def __init__(self, *, minimum=None, maximum=None, step=None, **kwargs):
        self.minimum, self.maximum, self.step = minimum, maximum, step
        fields = (forms.CharField(required=False), forms.CharField(required=False))
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not (data_list[0] or "").strip():
            if self.required:
                raise ValidationError(_("Enter a bandwidth."), code="required")
            return None
        kbps = to_kbps(data_list[0], data_list[1] or "kbit/s")
        check_bounds(kbps, minimum=self.minimum, maximum=self.maximum, step=self.step)
        return kbps
