"""Names sort the way people count them."""

import pytest

from portal.core.natural import natural_key, natural_sorted


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["user10", "user2", "user1"], ["user1", "user2", "user10"]),
        (["nbitest_16", "nbitest_9", "nbitest_11"], ["nbitest_9", "nbitest_11", "nbitest_16"]),
        (["User2", "user10", "USER1"], ["USER1", "User2", "user10"]),
        (["a10b2", "a10b10", "a9b99"], ["a9b99", "a10b2", "a10b10"]),
        (["x", "x0", ""], ["", "x", "x0"]),
        (["site007", "site7", "site8"], ["site007", "site7", "site8"]),
        # An ESN's 20 digits still compare as a number.
        (["21500102003000000010", "2150010200300000009"], ["2150010200300000009", "21500102003000000010"]),
    ],
)
def test_it_orders_names_as_people_count(names, expected):
    assert natural_sorted(names) == expected


def test_it_makes_a_key_that_orders_as_text():
    """The key is stored in a column and ordered by in SQL: plain string order must be the natural one."""
    names = ["site10", "site2", "site1", "Site3"]
    assert sorted(names, key=natural_key) == ["site1", "site2", "Site3", "site10"]


def test_it_pads_only_ascii_digits():
    # "٣" (Arabic-Indic three) is a letter here, not a number: it must not be padded as one.
    assert natural_key("a٣") == "a٣"
