"""Amounts the way people type them: read by the active language, refused when they could mean two
things, never overflowing, ASCII digits only."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from portal.core.bandwidth_input import BandwidthField, read_amount, read_for_display, to_kbps


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    # English and Chinese both group thousands with "," and mark decimals with "."
    with translation.override(request.param):
        yield request.param


@pytest.mark.parametrize(
    ("typed", "unit", "kbps"),
    [
        ("1,000", "Mbit/s", 1_000_000),  # was read as 1 Mbit/s: a thousand-fold under-order
        ("10,000", "kbit/s", 10_000),
        ("1,000,000", "kbit/s", 1_000_000),
        ("1,000.5", "Mbit/s", 1_000_500),
        ("1 000", "Mbit/s", 1_000_000),
        ("1\u00a0000", "Mbit/s", 1_000_000),  # no-break space
        ("1\u202f000", "Mbit/s", 1_000_000),  # narrow no-break space
        ("1.5", "Mbit/s", 1500),
        (" 60 ", "Mbit/s", 60_000),
        ("60 Mbit/s", "kbit/s", 60_000),  # the unit typed wins over the one chosen
        ("60Mbit/s", "Gbit/s", 60_000),
        ("1 Gbit/s", "Mbit/s", 1_000_000),
        ("500 kbps", "Mbit/s", 500),
        ("80 Mbps", "kbit/s", 80_000),
        ("2 gbps", "kbit/s", 2_000_000),
        ("1e3", "Mbit/s", 1_000_000),
        ("1.5E2", "Mbit/s", 150_000),
        ("1e3 kbit/s", "Gbit/s", 1000),
        ("0.125", "Gbit/s", 125_000),
    ],
)
def test_it_reads_what_people_type(language, typed, unit, kbps):
    assert to_kbps(typed, unit) == kbps


@pytest.mark.parametrize(
    ("typed", "unit", "code", "words"),
    [
        ("", "Mbit/s", "required", "Enter a bandwidth"),
        ("lots", "Mbit/s", "invalid", "is not a number"),
        ("1,5", "Mbit/s", "ambiguous", "“1,5” is ambiguous: here “,” separates thousands"),
        ("1,50", "Mbit/s", "ambiguous", "Write 1.50 for a fraction, or 1,500 for thousands"),
        ("12,34,567", "kbit/s", "ambiguous", "groups its digits unevenly"),
        ("1,0000", "kbit/s", "ambiguous", "groups its digits unevenly"),
        ("1 5", "Mbit/s", "ambiguous", "groups its digits unevenly"),
        ("1.000.000", "kbit/s", "ambiguous", "more than one “.”"),
        ("1,000 000", "kbit/s", "ambiguous", "groups its digits unevenly"),
        ("1.000,5", "kbit/s", "invalid", "is not a number"),
        ("٣", "Mbit/s", "digits", "“٣” is not one of them"),  # Arabic-Indic three: was read as 3
        ("１００", "Mbit/s", "digits", "Type the digits 0–9"),  # full-width digits
        ("80 MB/s", "Mbit/s", "unit", "“MB/s” is not a unit"),  # bytes, not bits
        ("80 furlongs", "Mbit/s", "unit", "is not a unit"),
        ("80", "Mbps", "unit", "Choose a unit"),
        ("0", "Mbit/s", "invalid", "greater than zero"),
        ("-5", "Mbit/s", "invalid", "greater than zero"),
        ("0.0001", "kbit/s", "fraction", "whole number of kbit/s"),
        ("1.0000000000000000000000000000001", "Mbit/s", "fraction", "whole number of kbit/s"),
        ("1e-999999", "Mbit/s", "fraction", "whole number of kbit/s"),
        ("1e306", "Mbit/s", "max", "At most 10 Gbit/s is allowed; you entered 1e306 Mbit/s."),
        ("1" + "0" * 10_000, "Mbit/s", "max", "At most 10 Gbit/s"),
        ("1e99999999999999999999", "Gbit/s", "max", "At most 10 Gbit/s"),
        ("1e306 Gbit/s", "kbit/s", "max", "At most 10 Gbit/s"),
        ("1e", "Mbit/s", "unit", "“e” is not a unit"),
        ("1,000e3", "Mbit/s", "invalid", "is not a number"),
    ],
)
def test_it_refuses_with_a_message_that_says_how_it_was_read(typed, unit, code, words):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        read_amount(typed, unit, maximum=10_000_000)
    assert refused.value.code == code
    assert words in " ".join(refused.value.messages)


def test_a_quoted_amount_is_cut_short():
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        read_amount("9" * 10_000, "Mbit/s")
    assert len(" ".join(refused.value.messages)) < 120


@pytest.mark.parametrize("typed", ["1e306", "9" * 10_000, "1e99999", "99999999999999999999 Gbit/s"])
def test_a_huge_amount_is_refused_by_the_field_with_the_definitions_maximum(typed):
    field = BandwidthField(minimum=1000, maximum=10_000_000, step=1000)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        field.clean([typed, "Mbit/s"])
    assert "At most 10 Gbit/s" in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("typed", "unit", "ok", "text"),
    [
        ("1,000", "Mbit/s", True, "1 Gbit/s"),
        ("60 Mbit/s", "kbit/s", True, "60 Mbit/s"),
        ("20", "Gbit/s", False, "At most 10 Gbit/s is allowed; you entered 20 Gbit/s."),
        ("1500", "kbit/s", False, "= 1.5 Mbit/s. Bandwidth goes in steps of 1 Mbit/s"),
        ("1,5", "Mbit/s", False, "is ambiguous"),
    ],
)
def test_the_reading_beside_the_box(typed, unit, ok, text):
    with translation.override("en"):
        reading = read_for_display(typed, unit, minimum=1000, maximum=10_000_000, step=1000)
    assert reading.ok is ok
    assert text in reading.text


def test_an_empty_box_has_no_reading():
    assert read_for_display("  ", "Mbit/s") is None
