"""Bandwidth entered by a person (a number and a unit), checked against a definition's bounds.

Shared by the creation wizard and the bandwidth editor: IES takes kbit/s as a string of digits.
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from portal.core.units import format_kbps

if TYPE_CHECKING:
    from django.forms import BoundField

UNITS = {"kbit/s": 1, "Mbit/s": 1000, "Gbit/s": 1_000_000}
UNIT_CHOICES = [(unit, unit) for unit in UNITS]
# The contract's largest bandwidth (docs/ies-simulator.md), for a definition that names none.
CONTRACT_MAX_KBPS = 10_000_000
CONTRACT_MIN_KBPS = 1000
CONTRACT_STEP_KBPS = 1000  # the contract's bandwidths are whole Mbit/s
# What a person may type after the number (case aside): bits per second only. "MB/s" (bytes) is refused.
_UNIT_WORDS = {f"{prefix}{suffix}": unit
               for prefix, unit in (("k", "kbit/s"), ("m", "Mbit/s"), ("g", "Gbit/s"))
               for suffix in ("bit/s", "bps", "b/s", "bit")}
_SPACES = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break space, thin space: all group digits
_NUMBER_AND_UNIT = re.compile(r"^(?P<number>.*?)\s*(?P<unit>[A-Za-z]+(?:/s)?)$")
_EXPONENT = re.compile(r"^(?P<mantissa>\d+(?:\.\d*)?|\.\d+)[eE](?P<exp>[+-]?\d+)$")
# Magnitudes beyond this (in kbit/s) are refused before any arithmetic: 10^16 still formats exactly.
_LARGEST_EXPONENT = 15


def separators() -> tuple[str, str]:
    """(decimal, grouping) of the active language. Django's Chinese format names no grouping mark,
    but Chinese writes 1,000 as English does: the mark is whichever of "," and "." is not the decimal."""
    decimal = formats.get_format("DECIMAL_SEPARATOR") or "."
    return decimal, ("," if decimal != "," else ".")


def _short(text: str) -> str:
    # A message quotes what was typed; a 10,000-digit paste is quoted by its start.
    return text if len(text) <= 24 else text[:20] + "…"


def _unit_of(word: str, amount: str) -> str:
    unit = _UNIT_WORDS.get(word.lower()) if not word[1:2] == "B" else None
    if unit is None:
        raise ValidationError(
            _("“%(unit)s” is not a unit the portal knows: write kbit/s, Mbit/s or Gbit/s (bits, not bytes), "
              "or choose the unit beside the box."), code="unit", params={"unit": _short(word)})
    return unit


def _not_a_number(amount: str) -> ValidationError:
    return ValidationError(_("“%(value)s” is not a number. Enter digits, e.g. 60 (with the unit Mbit/s)."),
                           code="invalid", params={"value": _short(amount)})


def _plain_digits(amount: str, body: str) -> str:
    """The digits of ``body`` (no sign) in ASCII with "." as the decimal point, by the active
    language's separators; refuses groupings that could mean two different numbers."""
    decimal, group = separators()
    for char in _SPACES:
        body = body.replace(char, " ")
    if "e" in body.lower():
        candidate = body.replace(decimal, ".") if decimal != "." and "." not in body else body
        if _EXPONENT.match(candidate):
            return candidate
        raise _not_a_number(amount)
    if not re.fullmatch(rf"[0-9{re.escape(decimal)}{re.escape(group)} ]+", body) or not re.search(r"[0-9]", body):
        raise _not_a_number(amount)
    if body.count(decimal) > 1:
        # "1.000.000" in English: thousands grouped with the decimal mark, as German writes them.
        raise ValidationError(
            _("“%(value)s” has more than one “%(decimal)s”, which marks the decimals here. For one million "
              "write 1000000 or 1%(group)s000%(group)s000."),
            code="ambiguous", params={"value": _short(amount), "decimal": decimal, "group": group})
    whole, _sep, fraction = body.partition(decimal)
    if " " in fraction or group in fraction:
        raise _not_a_number(amount)
    marks = {char for char in whole if not char.isdigit()}
    if marks:
        parts = re.split(r"[ ,.]", whole)
        if len(marks) > 1 or not (1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])):
            if marks == {group} and len(parts) == 2 and not fraction and parts[0] and 1 <= len(parts[1]) <= 2:
                # "1,5": a decimal comma from another language, or a thousands mark with digits missing.
                raise ValidationError(
                    _("“%(value)s” is ambiguous: here “%(group)s” separates thousands (1%(group)s000 is one "
                      "thousand); it is not read as a decimal mark. Write %(fraction)s for a fraction, or "
                      "%(thousands)s for thousands."),
                    code="ambiguous",
                    params={"value": _short(amount), "group": group,
                            "fraction": f"{parts[0]}{decimal}{parts[1]}",
                            "thousands": f"{parts[0]}{group}{parts[1].ljust(3, '0')}"})
            raise ValidationError(
                _("“%(value)s” groups its digits unevenly: separate thousands in groups of three "
                  "(1%(group)s000%(group)s000 or 1 000 000) or write the digits alone (1000000)."),
                code="ambiguous", params={"value": _short(amount), "group": group})
        whole = "".join(parts)
    return f"{whole or '0'}.{fraction or '0'}"


@dataclass(frozen=True)
class Amount:
    kbps: int
    unit: str  # the unit that applied: typed after the number, else the one chosen


def read_amount(amount: str, unit: str, *, maximum: int | None = None) -> Amount:
    """What a person typed, in kbit/s: "1,000" Mbit/s → 1,000,000; "60 Mbit/s"; "1 Gbit/s"; "1e3".

    Read by the active language's separators (English and Chinese: "," groups thousands, "."
    marks decimals); "1 000" groups with spaces in any language. A unit typed after the number wins
    over the one chosen beside the box: it is what the person wrote last and looked at, and the
    reading shown beside the box says which applied. Only ASCII digits count ("٣" is refused, not
    read as 3). Huge values and exponents are refused before any arithmetic can overflow.
    """
    text = (amount or "").strip()
    if not text:
        raise ValidationError(_("Enter a bandwidth."), code="required")
    foreign = next((char for char in text if char.isdecimal() and not char.isascii()), None)
    if foreign:
        raise ValidationError(_("Type the digits 0–9: “%(char)s” is not one of them."), code="digits",
                              params={"char": foreign})
    written = _NUMBER_AND_UNIT.match(text)
    unit_typed = written is not None and bool(written.group("number").strip())
    if written is not None and unit_typed:
        text, unit = written.group("number").strip(), _unit_of(written.group("unit"), amount)
    elif unit not in UNITS:
        raise ValidationError(_("Choose a unit: kbit/s, Mbit/s or Gbit/s."), code="unit")
    sign = ""
    if text[:1] in "+-":
        sign, text = text[0], text[1:].lstrip()
    digits = _plain_digits(amount, text)
    exponent_match = _EXPONENT.match(digits)
    if exponent_match and len(exponent_match.group("exp").lstrip("+-")) > 4:
        # 1e99999999999: far beyond any bandwidth (or far below a kbit/s); never handed to Decimal.
        digits = "1e99999" if not exponent_match.group("exp").startswith("-") else "1e-99999"
    try:
        number = Decimal(sign + digits)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number. Enter digits, e.g. 60 (with the unit Mbit/s)."),
                              code="invalid", params={"value": _short(amount)}) from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(_("Enter a bandwidth greater than zero."), code="invalid")
    if number.adjusted() + len(str(UNITS[unit])) - 1 > _LARGEST_EXPONENT:
        raise ValidationError(_("At most %(max)s is allowed; you entered %(value)s."), code="max",
                              params={"max": format_kbps(maximum or CONTRACT_MAX_KBPS),
                                      "value": _short(amount) if unit_typed else f"{_short(amount)} {unit}"})
    if number.adjusted() < -9:
        number = Decimal("1e-9")  # a fraction of a kbit/s whatever the unit: refused just below
    with localcontext() as exact:
        # Precise enough for every digit typed: "1.0000000000000000000000000000001" is no whole kbit/s.
        exact.prec = max(28, len(number.as_tuple().digits) + 10)
        kbps = number * UNITS[unit]
        whole = kbps == kbps.to_integral_value()
    if not whole:
        raise ValidationError(_("IES counts bandwidth in whole kbit/s: %(value)s %(unit)s is not a whole number of kbit/s."),
                              code="fraction", params={"value": _short(text), "unit": unit})
    return Amount(kbps=int(kbps), unit=unit)


def to_kbps(amount: str, unit: str, *, maximum: int | None = None) -> int:
    """'1.5', 'Mbit/s' → 1500. Raises ValidationError with a message a person can act on."""
    return read_amount(amount, unit, maximum=maximum).kbps


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


@dataclass(frozen=True)
class Reading:
    """How the portal reads what is in the box right now, for the line beside it."""

    ok: bool
    text: str  # "1 Gbit/s" when ok, else the message


def read_for_display(amount: str, unit: str, *, minimum: int | None = None, maximum: int | None = None,
                     step: int | None = None) -> Reading | None:
    """None for an empty box (nothing to say yet)."""
    if not (amount or "").strip():
        return None
    try:
        kbps = to_kbps(amount, unit, maximum=maximum)
    except ValidationError as exc:
        return Reading(ok=False, text=" ".join(exc.messages))
    try:
        check_bounds(kbps, minimum=minimum, maximum=maximum, step=step)
    except ValidationError as exc:
        # "At least/most … you entered …" says how it was read; a step message does not.
        said = " ".join(exc.messages)
        return Reading(ok=False, text=f"= {format_kbps(kbps)}. {said}" if exc.code == "step" else said)
    return Reading(ok=True, text=format_kbps(kbps))


def _whole(value: object) -> int | None:
    return int(Decimal(str(value))) if value not in (None, "") else None


class BandwidthWidget(forms.MultiWidget):
    """A box for the number, a choice of unit, and beside them how the portal reads the two: kept
    current while the person types by an HTMX request (bandwidth_views.interpret), no script of ours."""

    template_name = "core/bandwidth_widget.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__([forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "bw-amount"}),
                          forms.Select(choices=UNIT_CHOICES, attrs={"class": "bw-unit", "aria-label": _("Unit")})],
                         attrs)
        self.bounds: tuple[int | None, int | None, int | None] = (None, None, None)

    def id_for_label(self, id_: str) -> str:
        # MultiWidget labels nothing (for=""): the "Bandwidth" label belongs to the amount box.
        return f"{id_}_0" if id_ else id_

    def decompress(self, value: Any) -> list[str]:
        if value in (None, ""):
            return ["", "Mbit/s"]
        try:
            return list(split_kbps(int(value)))
        except (TypeError, ValueError):
            return [str(value), "kbit/s"]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        minimum, maximum, step = self.bounds
        values = list(value) if isinstance(value, list | tuple) else self.decompress(value)
        amount, unit = (values + ["", ""])[:2]
        widget = context["widget"]
        reading = read_for_display(str(amount or ""), str(unit or ""), minimum=minimum, maximum=maximum, step=step)
        # On a rendered form a refusal already stands under the field: beside it, only a good reading.
        widget["reading"] = reading if reading and reading.ok else None
        widget["reading_id"] = f"{widget['attrs'].get('id') or name}_reading"
        widget["interpret_url"] = reverse("bandwidth_interpret")
        widget["hx_vals"] = json.dumps({"field": name, "min": minimum, "max": maximum, "step": step})
        return context


class BandwidthField(forms.MultiValueField):
    """A number and a unit in; an int of kbit/s out, within the definition's bounds and steps."""

    widget = BandwidthWidget

    def __init__(self, *, minimum: object = None, maximum: object = None, step: object = None, **kwargs: Any) -> None:
        self.minimum, self.maximum, self.step = _whole(minimum), _whole(maximum), _whole(step)
        fields = (forms.CharField(required=False), forms.CharField(required=False))
        super().__init__(fields=fields, require_all_fields=False, **kwargs)
        self.widget.bounds = (self.minimum, self.maximum, self.step)

    def compress(self, data_list: list[str]) -> int | None:
        if not data_list or not (data_list[0] or "").strip():
            if self.required:
                raise ValidationError(_("Enter a bandwidth."), code="required")
            return None
        kbps = to_kbps(data_list[0], data_list[1] or "kbit/s", maximum=self.maximum)
        check_bounds(kbps, minimum=self.minimum, maximum=self.maximum, step=self.step)
        return kbps


class ChangesBandwidthMixin:
    """For a form whose ``bandwidth`` changes a service's: its present bandwidth is refused."""

    if TYPE_CHECKING:
        cleaned_data: dict[str, Any]

    def __init__(self, *args: Any, current_kbps: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_kbps = current_kbps

    def clean_bandwidth(self) -> int | None:
        value = self.cleaned_data["bandwidth"]
        if value is not None and value == self.current_kbps:
            raise ValidationError(_("That is the current bandwidth: enter a different value."), code="unchanged")
        return value


class DescribedAmountMixin:
    """For a form with a number-and-unit field: tie the field's help and errors to its amount box.

    Django leaves aria-describedby off a MultiWidget (it expects a fieldset around the parts), so a
    screen reader would hear neither the help nor why the amount was refused. The ids are those the
    templates give the help (<auto_id>_helptext) and the errors (<auto_id>_error).
    """

    if TYPE_CHECKING:  # what the mixin uses of the form it is mixed into
        fields: dict[str, forms.Field]

        def __getitem__(self, name: str) -> BoundField: ...

    def describe_multi_part_fields(self) -> None:
        for name, field in self.fields.items():
            if not isinstance(field.widget, forms.MultiWidget):
                continue
            bound = self[name]
            ids = ([f"{bound.auto_id}_helptext"] if field.help_text else []) + (
                [f"{bound.auto_id}_error"] if bound.errors else [])
            if ids:
                field.widget.widgets[0].attrs["aria-describedby"] = " ".join(ids)
