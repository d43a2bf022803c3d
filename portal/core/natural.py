"""Order text the way people count: "user2" before "user10", "nbitest_9" before "nbitest_11"."""

import re
from collections.abc import Callable, Iterable
from typing import Any

_DIGITS = re.compile(r"[0-9]+")
# Wider than any number a person reads in a name (an ESN has 20 digits), so that the padded key
# compares as text exactly as the numbers compare: the key can be stored and ordered by in SQL.
_WIDTH = 24


def _pad(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return digits.rjust(_WIDTH, "0")


def natural_key(text: str | None) -> str:
    """A text key whose plain order is the natural order of ``text``, case-insensitive.

    Each run of digits is zero-padded to a fixed width, so "user2" sorts before "user10".
    Store it in a column and ``order_by`` it, or sort by it in Python.
    """
    return _DIGITS.sub(_pad, (text or "").casefold())


def _itself(item: Any) -> Any:
    return item


def natural_sorted[T](items: Iterable[T], key: Callable[[T], str | None] = _itself) -> list[T]:
    """``sorted`` in natural order of ``key(item)``, ties broken by the original text."""
    return sorted(items, key=lambda item: (natural_key(key(item)), key(item) or ""))
