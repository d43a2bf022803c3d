"""Bandwidth and rate figures the way network engineers read them (decimal SI, bit-based)."""

from decimal import Decimal

_STEPS = ((10**9, "Gbit/s"), (10**6, "Mbit/s"), (10**3, "kbit/s"))


def format_bits_per_second(bps: float | int | str | None, *, digits: int = 3) -> str:
    """12_500_000 → '12.5 Mbit/s'; keeps up to `digits` significant digits, no trailing zeros."""
    if bps is None or bps == "":
        return "—"
    value = float(bps)
    for factor, unit in _STEPS:
        if abs(value) >= factor:
            return f"{_trim(value / factor, digits)} {unit}"
    return f"{_trim(value, digits)} bit/s"


def format_kbps(kbps: int | float | str | None) -> str:
    """A bandwidth in kbit/s as IES stores it: 60000 → '60 Mbit/s'."""
    if kbps is None or kbps == "":
        return "—"
    # A configured bandwidth is exact: show every digit it has, not a rounded reading.
    return format_bits_per_second(int(kbps) * 1000, digits=12)


def _trim(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    rounded = Decimal(f"{value:.{digits}g}")
    text = format(rounded.normalize(), "f")
    return text
