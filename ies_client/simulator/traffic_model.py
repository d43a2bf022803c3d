"""CloudVPN traffic: a deterministic, plausible time series per connection, computed with numpy.

The value of a minute depends only on the connection's name, the direction and the minute itself
(noise comes from hashing those, never from random state), so the same query gives the same answer
on every call and after every restart. Shape: a daily curve in Asia/Shanghai local time (night
trough, afternoon peak, lunch dip), quieter weekends, a day-to-day drift, smooth and fine noise,
and now and then a burst of a few minutes near line rate. The rate is a share of the bandwidth in
force at that minute, so it never exceeds it; hour and day buckets aggregate the minute series.
A ``Demand`` (set through ``/_sim/traffic/load``, see load.py) replaces the model's average over
its span; everything downstream (max, min, utilisation, buckets) is derived from that average.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import errors
from .errors import IesError, Problem

INTERVALS = {"minute": 60, "hour": 3600, "day": 86400}
UNITS = {"traffic-rate": "bit/s", "bandwidth-utilization": "%"}
DIRECTIONS = ("outbound", "inbound")
INDICATORS = ("max", "avg", "min")
MAX_BUCKETS = 44_640  # 31 days by the minute
TIME_MAX = 4_102_444_800  # 2100-01-01: anything later is a typo, not a query
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai
CHUNK_MINUTES = 180 * 1440  # long hour/day queries are computed half a year at a time
REQUIRED = ("starttime", "endtime", "timedim", "direction", "indicator")
# Within a minute, how far the max and min indicators stray from the average: the model's wide
# spread (a daily curve with bursts), and a narrow one under a demand, so that a test's demand
# shows alike whichever indicator a policy reads.
SPREAD_MAX, SPREAD_MIN = 0.35, 0.40
DEMAND_SPREAD = 0.04
# A demand keeps this much of the model's fine noise (±): percentiles over a loaded span are not
# all one value, and the demand stays recognisable.
DEMAND_NOISE = 0.02


@dataclass(frozen=True, slots=True)
class Query:
    connection: str
    metric: str
    starttime: int
    endtime: int
    timedim: str
    direction: str
    indicator: str

    @property
    def interval(self) -> int:
        return INTERVALS[self.timedim]


@dataclass(frozen=True, slots=True)
class Lifetime:
    """One life of a connection: when it carried traffic and its bandwidth history (s, kbit/s)."""

    started_at: int
    ended_at: int | None
    bandwidth: Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Demand:
    """An average rate imposed on the minutes starting in [start, end) (end None: no end): either
    ``rate_bps`` (capped by the bandwidth in force, so a raise lowers the utilisation) or
    ``utilisation``, a share of the bandwidth in force. Later demands in a sequence win."""

    start: int
    end: int | None
    rate_bps: float | None = None
    utilisation: float | None = None


def parse_query(connection: str, metric: str, params: Mapping[str, list[str]]) -> Query:
    """The query, or 400 naming every parameter that makes no sense."""
    problems: list[Problem] = []
    if metric not in UNITS:
        problems.append(Problem("metric", f"must be one of {', '.join(UNITS)}", metric, ""))
    values: dict[str, str] = {}
    for name in REQUIRED:
        given = params.get(name)
        if not given:
            problems.append(Problem(name, "is required", "", f"add {name}= to the query"))
        elif len(given) > 1:
            problems.append(Problem(name, "is given more than once", ",".join(given)[:200], "send it once"))
        else:
            values[name] = given[0]
    times: dict[str, int] = {}
    for name in ("starttime", "endtime"):
        if name in values:
            text = values[name]
            if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > TIME_MAX:
                problems.append(Problem(name, f"must be Unix seconds, a whole number from 0 to {TIME_MAX}",
                                        text[:200], "e.g. 1493367320"))
            else:
                times[name] = int(text)
    for name, choices in (("timedim", tuple(INTERVALS)), ("direction", DIRECTIONS), ("indicator", INDICATORS)):
        if name in values and values[name] not in choices:
            problems.append(Problem(name, f"must be one of {', '.join(choices)}", values[name][:200], ""))
    if len(times) == 2 and times["endtime"] <= times["starttime"]:
        problems.append(Problem("endtime", "must be later than starttime", str(times["endtime"]), ""))
    elif len(times) == 2 and values.get("timedim") in INTERVALS:
        interval = INTERVALS[values["timedim"]]
        buckets = -(-times["endtime"] // interval) - times["starttime"] // interval
        if buckets > MAX_BUCKETS:
            problems.append(Problem("endtime", f"the range holds {buckets} buckets of one {values['timedim']};"
                                    f" at most {MAX_BUCKETS} are answered", str(times["endtime"]),
                                    "shorten the range or use a coarser timedim"))
    if problems:
        raise IesError(400, errors.WATCH_BAD_PARAM, problems)
    return Query(connection, metric, times["starttime"], times["endtime"], values["timedim"],
                 values["direction"], values["indicator"])


# -- deterministic noise ------------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _seed(*parts: str) -> np.uint64:
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "big"))


def _unit(seed: np.uint64, index: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per index: splitmix64 of (index ^ seed), vectorised; wraps by design."""
    x = index.astype(np.uint64) ^ seed
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _scalar(*parts: str) -> float:
    return float(_unit(_seed(*parts), np.zeros(1, dtype=np.int64))[0])


def _coarse(seed: np.uint64, index: np.ndarray) -> np.ndarray:
    """``_unit`` for a slowly changing, ascending index (days, hours, quarters): hash each value once."""
    if index.size == 0:
        return np.zeros(0, dtype=np.float64)
    low = int(index[0])
    values = _unit(seed, np.arange(low, int(index[-1]) + 1, dtype=np.int64))
    return values[index - low]


# -- the minute model ---------------------------------------------------------------------------


def minute_utilisation(name: str, direction: str, minutes: np.ndarray) -> np.ndarray:
    """Average utilisation (0..1) of each minute; ``minutes`` are Unix seconds of minute starts."""
    key = (name, direction)
    base = 0.05 + 0.08 * _scalar(*key, "base")
    peak = 0.40 + 0.30 * _scalar(*key, "peak")
    if direction == "inbound":  # inbound mostly carries less than outbound on the same line
        peak *= 0.55 + 0.35 * _scalar(name, "ratio")
    local = minutes + LOCAL_OFFSET
    hour = (local % 86400) / 3600.0
    day = local // 86400
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    daily = (0.5 - 0.5 * np.cos((hour - 4.0) * (2 * math.pi / 24))) ** 1.3
    daily -= 0.10 * np.exp(-(((hour - 12.5) / 0.6) ** 2))
    weekly = np.where(weekday == 5, 0.72, np.where(weekday == 6, 0.62, 1.0))
    level = base + (peak - base) * np.clip(daily, 0, 1) * weekly
    level *= 0.85 + 0.30 * _coarse(_seed(*key, "day"), day)
    minute = minutes // 60
    quarter, frac = minute // 15, (minute % 15) / 15.0
    knots = _coarse(_seed(*key, "slow"), quarter)
    after = _coarse(_seed(*key, "slow"), quarter + 1)
    level *= 0.80 + 0.40 * (knots * (1 - frac) + after * frac)
    level *= 0.92 + 0.16 * _unit(_seed(*key, "fine"), minute)
    # A burst: in about one hour out of twenty, a 2-10 minute run near line rate.
    block, within = minute // 60, minute % 60
    burst_seed = _seed(*key, "burst")
    chance = _coarse(burst_seed, block)
    start = (_coarse(_seed(*key, "burst-start"), block) * 50).astype(np.int64)
    length = 2 + (_coarse(_seed(*key, "burst-length"), block) * 9).astype(np.int64)
    bursting = (chance < 0.05) & (within >= start) & (within < start + length)
    height = 0.82 + 0.16 * _coarse(_seed(*key, "burst-height"), block)
    level = np.where(bursting, np.maximum(level, height), level)
    return np.clip(level, 0.003, 0.985)


def _bandwidth_at(history: Sequence[tuple[int, int]], minutes: np.ndarray) -> np.ndarray:
    """kbit/s in force at each minute start (the last change at or before it)."""
    at = np.fromiter((h[0] for h in history), dtype=np.int64, count=len(history))
    kbps = np.fromiter((h[1] for h in history), dtype=np.float64, count=len(history))
    index = np.searchsorted(at, minutes, side="right") - 1
    return kbps[np.clip(index, 0, len(kbps) - 1)]


def _demanded(key: tuple[str, str], minutes: np.ndarray, capacity: np.ndarray, utilisation: np.ndarray,
              demands: Sequence[Demand]) -> tuple[np.ndarray, np.ndarray | None]:
    """The utilisation with the demands applied, and the mask of the minutes they cover (None when
    none does, so that a connection without demands keeps the model's values to the bit)."""
    loaded = np.zeros(len(minutes), dtype=bool)
    target = utilisation
    for demand in demands:
        inside = minutes >= demand.start
        if demand.end is not None:
            inside &= minutes < demand.end
        if not inside.any():
            continue
        if demand.rate_bps is not None:
            share: np.ndarray | float = np.minimum(demand.rate_bps / capacity, 1.0)
        else:
            share = float(demand.utilisation or 0.0)
        target = np.where(inside, share, target)
        loaded |= inside
    if not loaded.any():
        return utilisation, None
    fine = _unit(_seed(*key, "fine"), minutes // 60)
    noisy = np.minimum(target * (1.0 + DEMAND_NOISE * (2.0 * fine - 1.0)), 1.0)
    return np.where(loaded, noisy, utilisation), loaded


def _minute_values(query: Query, minutes: np.ndarray, kbps: np.ndarray, indicator: str,
                   demands: Sequence[Demand] = ()) -> np.ndarray:
    """The minute series for one indicator, in the query's metric."""
    key = (query.connection, query.direction)
    capacity = kbps * 1000.0
    utilisation = minute_utilisation(query.connection, query.direction, minutes)
    spread_max: np.ndarray | float = SPREAD_MAX
    spread_min: np.ndarray | float = SPREAD_MIN
    if demands:
        utilisation, loaded = _demanded(key, minutes, capacity, utilisation, demands)
        if loaded is not None:
            spread_max = np.where(loaded, DEMAND_SPREAD, SPREAD_MAX)
            spread_min = np.where(loaded, DEMAND_SPREAD, SPREAD_MIN)
    avg = utilisation * capacity
    minute = minutes // 60
    if indicator == "max":
        rate = np.minimum(avg * (1.0 + spread_max * _unit(_seed(*key, "max"), minute)), capacity)
    elif indicator == "min":
        rate = avg * (1.0 - spread_min * _unit(_seed(*key, "min"), minute))
    else:
        rate = avg
    rate = np.floor(rate)  # whole bit/s, rounded down so the cap still holds
    if query.metric == "traffic-rate":
        return rate
    return np.floor(rate / capacity * 10000.0) / 100.0


def _minute_bounds(query: Query, now: int) -> tuple[int, int]:
    """[first, last) minute starts the query needs: whole buckets (an hour or a day is the aggregate
    of all its minutes, whatever the window), and only complete minutes: the future has no traffic."""
    interval = query.interval
    first = query.starttime // interval * interval
    last = query.endtime if interval == 60 else -(-query.endtime // interval) * interval
    return first, min(last, now // 60 * 60)


def _life_bounds(life: Lifetime, low: int, high: int) -> tuple[int, int]:
    """The minutes of one life within [low, high): from its first whole minute (a minute that began
    before the connection existed carries nothing) to its end."""
    start = max(low, -(-life.started_at // 60) * 60)
    end = min(high, life.ended_at) if life.ended_at is not None else high
    return start, end


def _chunks(lifetimes: Sequence[Lifetime], first: int, last: int) -> Iterator[tuple[int, int]]:
    """Half-year windows, aligned to multiples of their size (so no hour or day straddles two),
    covering every life; a 9-year-old connection's day query thus never holds 5 million minutes."""
    spans = [span for life in lifetimes if (span := _life_bounds(life, first, last))[0] < span[1]]
    if not spans:
        return
    size = CHUNK_MINUTES * 60
    low = min(lo for lo, _ in spans) // size * size
    high = max(hi for _, hi in spans)
    while low < high:
        yield max(low, first), min(low + size, last)
        low += size


def _aggregate(query: Query, minutes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hour or day buckets of a minute series (sorted; gaps allowed)."""
    interval = query.interval
    buckets = minutes // interval * interval
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    if query.indicator == "max":
        aggregated = np.maximum.reduceat(values, starts)
    elif query.indicator == "min":
        aggregated = np.minimum.reduceat(values, starts)
    else:
        counts = np.diff(np.r_[starts, len(values)])
        aggregated = np.round(np.add.reduceat(values, starts) / counts, 0 if query.metric == "traffic-rate" else 2)
    return buckets[starts], aggregated


def series(query: Query, lifetimes: Sequence[Lifetime], now: int,
           demands: Sequence[Demand] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(bucket starts, values) of the query over every life of the connection (lives never overlap:
    a CloudVpnName is unique among live services, but may be used again after a deletion).
    ``demands`` are those of this connection and direction, in order (later ones win)."""
    first, last = _minute_bounds(query, now)
    out_t: list[np.ndarray] = []
    out_v: list[np.ndarray] = []
    for low, high in _chunks(lifetimes, first, last):
        parts_t, parts_v = [], []
        for life in lifetimes:
            a, b = _life_bounds(life, low, high)
            if a < b:
                minutes = np.arange(a, b, 60, dtype=np.int64)
                kbps = _bandwidth_at(life.bandwidth, minutes)
                parts_t.append(minutes)
                parts_v.append(_minute_values(query, minutes, kbps, query.indicator, demands))
        if not parts_t:
            continue
        minutes, values = np.concatenate(parts_t), np.concatenate(parts_v)
        if query.interval != 60:
            minutes, values = _aggregate(query, minutes, values)
        out_t.append(minutes)
        out_v.append(values)
    if not out_t:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return np.concatenate(out_t), np.concatenate(out_v)


def _digits(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ASCII digits of non-negative integers, right-aligned in a fixed-width matrix, and the mask
    of the digits that count (no leading zeros; a lone 0 keeps its digit)."""
    width = max(1, len(str(int(numbers.max()))))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // powers) % 10 + 48).astype(np.uint8)
    lengths = np.searchsorted(10 ** np.arange(1, width + 1, dtype=np.int64), numbers, side="right") + 1
    return digits, np.arange(width) >= (width - lengths)[:, None]


def encode_points(stamps: np.ndarray, values: np.ndarray, decimals: int) -> str:
    """``[[stamp,value],…]`` as JSON text, formatted by numpy rather than by the JSON encoder.

    Tens of thousands of points are the common answer, and json.dumps spends ~1 µs on each float;
    laying the characters out in a byte matrix and keeping the masked ones costs a few ms in all.
    Values print with exactly ``decimals`` decimals (41234567.0, 45.67).
    """
    if len(stamps) == 0:
        return "[]"
    scale = 10**decimals
    whole, fraction = np.divmod(np.rint(np.maximum(values, 0) * scale).astype(np.int64), scale)
    stamp_digits, stamp_mask = _digits(stamps.astype(np.int64))
    whole_digits, whole_mask = _digits(whole)
    fraction_digits = ((fraction[:, None] // 10 ** np.arange(decimals - 1, -1, -1, dtype=np.int64)) % 10 + 48)

    def column(char: str) -> np.ndarray:
        return np.full((len(stamps), 1), ord(char), dtype=np.uint8)

    matrix = np.concatenate([column("["), stamp_digits, column(","), whole_digits, column("."),
                             fraction_digits.astype(np.uint8), column("]"), column(",")], axis=1)
    keep = np.ones(matrix.shape, dtype=bool)
    keep[:, 1:1 + stamp_mask.shape[1]] = stamp_mask
    start = 2 + stamp_mask.shape[1]
    keep[:, start:start + whole_mask.shape[1]] = whole_mask
    return "[" + matrix[keep].tobytes()[:-1].decode("ascii") + "]"


def answer(query: Query, lifetimes: Sequence[Lifetime], now: int, demands: Sequence[Demand] = ()) -> bytes:
    """The JSON answer: a small head from the JSON encoder, the points from ``encode_points``."""
    stamps, values = series(query, lifetimes, now, demands)
    head = {
        "connection": query.connection,
        "metric": query.metric,
        "unit": UNITS[query.metric],
        "direction": query.direction,
        "timedim": query.timedim,
        "indicator": query.indicator,
        "interval": query.interval,
        "starttime": query.starttime,
        "endtime": query.endtime,
    }
    text = json.dumps(head, separators=(",", ":"))
    points = encode_points(stamps, values, 1 if query.metric == "traffic-rate" else 2)
    return (text[:-1] + ',"points":' + points + "}").encode()
