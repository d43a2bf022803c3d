"""Load switches: rules that set a connection's traffic demand over a time span.

The traffic model's curve is plausible but nobody's choice; a test of auto-scaling needs "this
connection was busy for the last 30 minutes" on demand. A rule names a tenant's connection, a
direction and a span, and either a rate (bit/s, independent of the bandwidth, so that a raise
lowers the utilisation as it would on a real line) or a utilisation (a share of the bandwidth in
force). Traffic is computed on every query, so a rule applies to past minutes as well.

Rules live in memory only, like the API's fault rules: a restart drops them and the connection
answers the model's values again. Thread-safe: every traffic query of every thread consults them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from . import errors
from .errors import IesError, Problem
from .rulebook import RuleBook
from .traffic_model import DIRECTIONS, TIME_MAX, Demand

LOAD_DIRECTIONS = ("both", *DIRECTIONS)
MAX_RATE_BPS = 1e12  # 1 Tbit/s, a hundred times the largest bandwidth: more is a typo
FIELDS = ("tenant", "connection", "direction", "rate_bps", "utilisation", "from", "until")
# Keys a caller may well mean: the metric is spelled "utilization" on the IES side.
SPELLINGS = {"utilization": "utilisation", "rate": "rate_bps", "bps": "rate_bps", "start": "from",
             "starttime": "from", "end": "until", "endtime": "until", "name": "connection",
             "CloudVpnName": "connection"}

# (tenant, connection) -> the problems with that pair (unknown tenant, no such connection).
Resolver = Callable[[str, str], list[Problem]]


@dataclass(frozen=True, slots=True)
class LoadRule:
    id: str
    tenant: str
    connection: str
    direction: str
    start: int
    end: int | None
    rate_bps: int | float | None = None
    utilisation: float | None = None

    def applies(self, tenant: str, connection: str, direction: str) -> bool:
        return (self.tenant == tenant and self.connection == connection
                and self.direction in ("both", direction))

    def demand(self) -> Demand:
        rate = None if self.rate_bps is None else float(self.rate_bps)
        return Demand(self.start, self.end, rate, self.utilisation)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "connection": self.connection,
            "direction": self.direction,
            "rate_bps": self.rate_bps,
            "utilisation": self.utilisation,
            "from": self.start,
            "until": self.end,
        }


def _name(data: Mapping[str, Any], key: str, what: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        reason = "is required" if value is None else "must be a non-empty string"
        problems.append(Problem(key, f"{reason}: {what}", errors._as_text(value), ""))
        return None
    return value


def _time(data: Mapping[str, Any], key: str, problems: list[Problem]) -> int | None:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= TIME_MAX:
        problems.append(Problem(key, f"must be Unix seconds, a whole number from 0 to {TIME_MAX}",
                                errors._as_text(value), "e.g. int(time.time()) - 1800"))
        return None
    return value


def _number(data: Mapping[str, Any], key: str, high: float, problems: list[Problem]) -> int | float | None:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(Problem(key, "must be a number", errors._as_text(value), ""))
        return None
    if not (math.isfinite(value) and 0 <= value <= high):  # json.loads lets NaN and Infinity through
        problems.append(Problem(key, f"must be between 0 and {high:g}", errors._as_text(value), ""))
        return None
    return value


def parse_rule(data: Any, resolve: Resolver) -> LoadRule:
    """A rule (its id still empty) from its JSON form; 400 naming every field that makes no sense."""
    if not isinstance(data, dict):
        raise errors.fail(400, errors.BAD_PARAM, "body", "must be a JSON object", data)
    problems: list[Problem] = []
    for key in data:
        if key not in FIELDS:
            advice = f"did you mean {SPELLINGS[key]}?" if key in SPELLINGS else f"known fields: {', '.join(FIELDS)}"
            problems.append(Problem(key, "is not a field of a load rule", errors._as_text(data[key]), advice))
    tenant = _name(data, "tenant", "the IES tenant's name", problems)
    connection = _name(data, "connection", "the connection's CloudVpnName", problems)
    direction = data.get("direction", "both")
    if direction not in LOAD_DIRECTIONS:
        problems.append(Problem("direction", f"must be one of {', '.join(LOAD_DIRECTIONS)}",
                                errors._as_text(direction), "or leave it out for both"))
    rate = utilisation = None
    given = [key for key in ("rate_bps", "utilisation") if data.get(key) is not None]
    if not given:
        problems.append(Problem("rate_bps", "is required, or utilisation instead: exactly one of the two", "",
                                "e.g. rate_bps: 90000000 or utilisation: 0.9"))
    elif len(given) == 2:
        problems.append(Problem("utilisation", "may not be given with rate_bps: exactly one of the two",
                                errors._as_text(data["utilisation"]), "drop one of them"))
    elif given == ["rate_bps"]:
        rate = _number(data, "rate_bps", MAX_RATE_BPS, problems)
    else:
        number = _number(data, "utilisation", 1.0, problems)
        utilisation = None if number is None else float(number)
    start = None
    if data.get("from") is None:
        problems.append(Problem("from", "is required: Unix seconds, the start of the span", "",
                                "e.g. int(time.time()) - 1800"))
    else:
        start = _time(data, "from", problems)
    end = _time(data, "until", problems) if data.get("until") is not None else None
    if start is not None and end is not None and end <= start:
        problems.append(Problem("until", "must be later than from (or null: no end)", str(end), ""))
    if tenant is not None and connection is not None:
        problems.extend(resolve(tenant, connection))
    if problems:
        raise IesError(400, errors.BAD_PARAM, problems)
    assert tenant is not None and connection is not None and start is not None  # no problems: all were set
    return LoadRule("", tenant, connection, direction, start, end, rate, utilisation)


@dataclass
class LoadBook(RuleBook[LoadRule]):
    """The active load rules, oldest first (later rules win where spans overlap)."""

    prefix: ClassVar[str] = "l"

    def add(self, data: Any, resolve: Resolver) -> LoadRule:
        rule = parse_rule(data, resolve)  # outside the lock: resolving reads the store
        return self._keep(lambda rule_id: replace(rule, id=rule_id))

    def demands(self, tenant: str, connection: str, direction: str) -> list[Demand]:
        """This connection's demands in one direction, oldest first."""
        if not self._rules:  # the common case: no lock, no work
            return []
        with self._lock:
            return [r.demand() for r in self._rules if r.applies(tenant, connection, direction)]
