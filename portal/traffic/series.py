"""Traffic series from IES, with closed buckets kept in Redis.

A chart asks for a range at a timedim. The range is cut into fixed blocks (6 hours of minutes,
10 days of hours, 200 days of days, aligned on the epoch so that every chart shares them). A block
in the cache carries the values of its buckets up to ``until``: buckets that are *closed*, i.e.
ended at least ``SETTLE_S`` ago, so IES will not change them any more. Only the rest is asked
from IES: on a cold cache the whole range (one call per 44,640 buckets, the most IES answers); on a
refresh a minute later, just the newest bucket(s) of each series.

Series are dense: one float64 per bucket of the range, NaN where IES sent nothing (before the
connection existed, after it was deleted). That keeps inbound and outbound on one time axis and
makes a cached block a plain byte string.

Cache reads and writes happen on the request's thread; only the IES calls run in a small thread
pool, so that the series of a chart (inbound, outbound, …) are fetched in parallel.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.core.cache import cache

from ies_client import models as ies
from ies_client.client import IESClient
from ies_client.errors import IESError, IESNotFound
from portal.traffic.ranges import INTERVALS, MAX_BUCKETS_PER_CALL

if TYPE_CHECKING:
    from portal.tenants.models import Tenant

log = logging.getLogger(__name__)

CACHE_VERSION = "v1"
BLOCK_SPAN = {"minute": 6 * 3600, "hour": 10 * 86400, "day": 200 * 86400}
# A bucket that ended this long ago is final: a real IES may still fill in the last minute or two.
SETTLE_S = 120
# Closed blocks never change; the TTL only bounds Redis's memory. A partly filled block (the one
# "now" is in) lives shorter: it is rewritten on every refresh anyway.
BLOCK_TTL = {"minute": 8 * 86400, "hour": 45 * 86400, "day": 400 * 86400}
PARTIAL_TTL = 3600
# The process's pool of IES calls: room for every request thread of a web process (gunicorn.conf.py
# runs 8) to have a chart's four calls out at once. A call queued behind other requests' calls waits
# for them: with IES slow that is their time added to its own, and when IES begins to hang it is a
# second timeout (the queued call leaves before the breaker has counted the first ones' failures).
MAX_WORKERS = 32
# What one request sends at once: a page of many series (the overview: two per connection) asks
# IES a few at a time, as before the pool grew, not the whole pool's worth.
PER_REQUEST = 8
# A fetch with ``cached_only`` may still ask IES for the newest buckets, up to this far back: the tail
# a live chart reads on every refresh anyway (a minute series then asks an hour at most, 60 points).
WARM_TAIL_S = 3600


class NotCached(Exception):  # noqa: N818 - a state, not an error: the caller falls back
    """``fetch(cached_only=True)``: the cache lacks more than the newest buckets; IES was not asked."""


@dataclass(frozen=True)
class SeriesSpec:
    """One IES series: a connection's metric in one direction, one indicator, one timedim."""

    connection: str
    metric: ies.Metric
    direction: ies.Direction
    indicator: str
    timedim: str

    @property
    def interval(self) -> int:
        return INTERVALS[self.timedim]


@dataclass
class Series:
    """Dense values over ``[start, end)``, one per bucket (NaN: no value)."""

    spec: SeriesSpec
    start: int
    end: int
    values: np.ndarray
    not_found: bool = False  # IES does not know the connection (yet): no values, not an error
    error: Exception | None = None  # set instead of raised when fetch(raise_errors=False)
    # When IES last answered for what the cache gave (Unix time): what a chart drawn from the cache
    # alone (IES failing) says it shows. None: nothing cached, or blocks stored before it was kept.
    cached_at: int | None = None
    asked_ies: bool = False  # IES was asked for some of it (the cache lacked it)

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.start, self.end, self.spec.interval, dtype=np.int64)


@dataclass
class FetchStats:
    """What a fetch cost: for benchmarks, logs and tests."""

    ies_calls: int = 0
    ies_buckets: int = 0
    cached_blocks: int = 0


# -- the seam every IES traffic call goes through (tests and benchmarks wrap it) ----------------


def ies_get_traffic(client: IESClient, spec: SeriesSpec, start: int, end: int) -> ies.TrafficSeries:
    return client.get_traffic(spec.connection, metric=spec.metric, start=start, end=end,
                              timedim=spec.timedim, direction=spec.direction, indicator=spec.indicator)


def _points(answer: ies.TrafficSeries) -> np.ndarray:
    """The answer's points as an (n, 2) array, made on the worker thread: while it runs, the other
    calls of the chart are still on the wire."""
    if not answer.points:
        return np.zeros((0, 2))
    return np.asarray(answer.points, dtype=np.float64)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="ies-traffic")
        return _pool


def run_parallel(jobs: Sequence[Callable[[], object]]) -> list[object]:
    """Run callables on the shared pool, PER_REQUEST at a time; results in order. An exception is
    returned, not raised."""
    if len(jobs) == 1:
        try:
            return [jobs[0]()]
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, who decides
            return [exc]
    results: list[object] = []
    for start in range(0, len(jobs), PER_REQUEST):
        # Each job runs in a copy of the caller's context, so its IES calls log the request's id.
        futures: list[Future] = [executor().submit(contextvars.copy_context().run, job)
                                 for job in jobs[start:start + PER_REQUEST]]
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001
                results.append(exc)
    return results


# -- cache keys and blocks ------------------------------------------------------------------------


def tenant_cache_key(tenant: Tenant) -> str:
    """The tenant's part of a cache key: its id, and a digest of the IES it talks to and its name,
    so that pointing a tenant at another IES (or a reused id in a fresh database) starts afresh."""
    digest = hashlib.blake2b(f"{tenant.base_url}\0{tenant.name}".encode(), digest_size=6).hexdigest()
    return f"{tenant.pk}.{digest}"


def _block_key(tenant_key: str, spec: SeriesSpec, block_start: int) -> str:
    name = hashlib.blake2b(spec.connection.encode(), digest_size=8).hexdigest()
    return (f"traffic:{CACHE_VERSION}:{tenant_key}:{name}:{spec.metric}:{spec.direction}:{spec.indicator}:"
            f"{spec.timedim}:{block_start}")


def _blocks(spec: SeriesSpec, start: int, end: int) -> list[int]:
    span = BLOCK_SPAN[spec.timedim]
    return list(range(start // span * span, end, span))


@dataclass
class _Plan:
    spec: SeriesSpec
    start: int
    end: int
    values: np.ndarray
    # block start -> (covered until, cached values of [block start, until))
    cached: dict[int, tuple[int, np.ndarray]]
    pieces: list[tuple[int, int]]  # [lo, hi) to ask IES, bucket-aligned
    results: list[ies.TrafficSeries | Exception] | None = None
    cached_at: int | None = None  # the newest "at" of the blocks read


def _plan(spec: SeriesSpec, start: int, end: int, now: int, tenant_key: str,
          stored: dict[str, dict]) -> _Plan:
    iv = spec.interval
    span = BLOCK_SPAN[spec.timedim]
    # IES has nothing beyond the bucket "now" falls in.
    fetch_end = min(end, -(-now // iv) * iv)
    values = np.full((end - start) // iv, np.nan)
    cached: dict[int, tuple[int, np.ndarray]] = {}
    cached_at: int | None = None
    missing: list[tuple[int, int]] = []
    for bs in _blocks(spec, start, end):
        be = bs + span
        entry = stored.get(_block_key(tenant_key, spec, bs))
        until = bs
        if entry is not None:
            until = int(entry["until"])
            block_values = np.frombuffer(entry["v"], dtype=np.float64)
            cached[bs] = (until, block_values)
            if entry.get("at") is not None and (cached_at is None or entry["at"] > cached_at):
                cached_at = int(entry["at"])
            lo, hi = max(bs, start), min(until, end)
            if hi > lo:
                values[(lo - start) // iv:(hi - start) // iv] = block_values[(lo - bs) // iv:(hi - bs) // iv]
        # Ask from the block's covered end (or its start), so a block stays one contiguous run.
        lo, hi = until, min(be, fetch_end)
        if until < be and hi > lo and min(be, end) > max(until, start):
            missing.append((lo, hi))
    # Adjacent pieces become one call, split again at IES's limit per call.
    merged: list[tuple[int, int]] = []
    for lo, hi in missing:
        if merged and merged[-1][1] == lo:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    pieces: list[tuple[int, int]] = []
    chunk = MAX_BUCKETS_PER_CALL * iv
    for lo, hi in merged:
        while lo < hi:
            pieces.append((lo, min(hi, lo + chunk)))
            lo += chunk
    return _Plan(spec, start, end, values, cached, pieces, cached_at=cached_at)


def fetch(
    client_factory: Callable[[], IESClient],
    *,
    tenant_key: str,
    specs: Sequence[SeriesSpec],
    start: int,
    end: int,
    now: int,
    stats: FetchStats | None = None,
    raise_errors: bool = True,
    starts: Sequence[int] | None = None,
    cached_only: bool = False,
) -> list[Series]:
    """The series ``specs`` over ``[start, end)`` (bucket-aligned to each spec's timedim).

    ``client_factory`` is called only when IES must be asked. Raises the first IESError of the
    calls, except IESNotFound (IES does not know the connection yet): that series is empty. With
    ``raise_errors=False`` a failed series carries its exception in ``error`` instead (an overview
    of many connections must not fail for one of them). ``starts``: a start per spec, if they differ.
    ``cached_only``: raise NotCached, before any IES call, when the cache lacks more than the newest
    buckets (:data:`WARM_TAIL_S`, or the last closed bucket of a coarse series): a page that inlines
    its chart does so only when that costs no more than a refresh.
    """
    spans = [(starts[i] if starts is not None else start, end) for i in range(len(specs))]
    stats = stats if stats is not None else FetchStats()
    keys: list[str] = []
    for spec, (s0, s1) in zip(specs, spans, strict=True):
        iv = spec.interval
        a, b = s0 // iv * iv, -(-s1 // iv) * iv
        keys.extend(_block_key(tenant_key, spec, bs) for bs in _blocks(spec, a, b))
    stored = cache.get_many(keys) if keys else {}
    plans = []
    for spec, (s0, s1) in zip(specs, spans, strict=True):
        iv = spec.interval
        plans.append(_plan(spec, s0 // iv * iv, -(-s1 // iv) * iv, now, tenant_key, stored))
    stats.cached_blocks += len(stored)
    if cached_only:
        for plan in plans:
            iv = plan.spec.interval
            tail = min(now - WARM_TAIL_S, (now - SETTLE_S) // iv * iv - iv)
            if any(lo < tail for lo, _ in plan.pieces):
                raise NotCached(plan.spec)

    jobs: list[Callable[[], object]] = []
    owners: list[_Plan] = []
    if any(plan.pieces for plan in plans):
        client = client_factory()
        for plan in plans:
            for lo, hi in plan.pieces:
                def job(plan: _Plan = plan, lo: int = lo, hi: int = hi) -> object:
                    return _points(ies_get_traffic(client, plan.spec, lo, hi))

                jobs.append(job)
                owners.append(plan)
                stats.ies_calls += 1
                stats.ies_buckets += (hi - lo) // plan.spec.interval
    results = run_parallel(jobs)
    failed: dict[int, Exception] = {}
    not_found: set[int] = set()
    for owner, result in zip(owners, results, strict=True):
        if isinstance(result, IESNotFound):
            not_found.add(id(owner))
        elif isinstance(result, Exception):
            failed.setdefault(id(owner), result)
    if failed and raise_errors:
        # An IES error says more than a programming error of ours would: raise that first.
        errors = list(failed.values())
        raise next((e for e in errors if isinstance(e, IESError)), errors[0])

    out: list[Series] = []
    writes: dict[int, dict[str, dict]] = {}
    for plan in plans:
        spec, iv = plan.spec, plan.spec.interval
        answers = [r for p, r in zip(owners, results, strict=True) if p is plan and isinstance(r, np.ndarray)]
        if not plan.pieces:
            out.append(Series(spec, plan.start, plan.end, plan.values, cached_at=plan.cached_at))
            continue
        if id(plan) in failed:
            out.append(Series(spec, plan.start, plan.end, plan.values, error=failed[id(plan)],
                              cached_at=plan.cached_at))
            continue
        # Everything IES sent for this series, dense over the span of the calls and of the range.
        fa = min(plan.start, plan.pieces[0][0])
        fb = max(plan.end, plan.pieces[-1][1])
        dense = np.full((fb - fa) // iv, np.nan)
        for pts in answers:
            if not len(pts):
                continue
            ts = pts[:, 0].astype(np.int64) // iv * iv
            inside = (ts >= fa) & (ts < fb)
            dense[(ts[inside] - fa) // iv] = pts[inside, 1]
        for lo, hi in plan.pieces:  # only what was asked: the rest of the range came from the cache
            lo, hi = max(lo, plan.start), min(hi, plan.end)
            if hi > lo:
                plan.values[(lo - plan.start) // iv:(hi - plan.start) // iv] = dense[(lo - fa) // iv:(hi - fa) // iv]
        if id(plan) in not_found:
            out.append(Series(spec, plan.start, plan.end, plan.values, not_found=True))
            continue
        closed_until = (now - SETTLE_S) // iv * iv
        # Store what was asked and is closed, block by block, after what the block held already.
        span = BLOCK_SPAN[spec.timedim]
        for lo, hi in plan.pieces:
            for bs in range(lo // span * span, hi, span):
                be = bs + span
                new_until = min(hi, be, closed_until)
                until, old = plan.cached.get(bs, (bs, np.zeros(0)))
                if new_until <= until or lo > until:
                    continue
                block = np.empty((new_until - bs) // iv)
                block[: (until - bs) // iv] = old[: (until - bs) // iv]
                block[(until - bs) // iv:] = dense[(until - fa) // iv:(new_until - fa) // iv]
                plan.cached[bs] = (new_until, block)
                ttl = BLOCK_TTL[spec.timedim] if new_until >= be else PARTIAL_TTL
                # "at": when IES gave it, which a chart drawn from the cache alone tells the person.
                writes.setdefault(ttl, {})[_block_key(tenant_key, spec, bs)] = {"until": new_until,
                                                                                 "v": block.tobytes(), "at": now}
        out.append(Series(spec, plan.start, plan.end, plan.values))
    for ttl, entries in writes.items():
        cache.set_many(entries, ttl)
    for got, plan in zip(out, plans, strict=True):
        got.asked_ies = bool(plan.pieces)
    return out
