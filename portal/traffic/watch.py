"""Minute averages of many connections for a beat tick (alert rules): each connection's traffic is
asked of IES at most once per tick (for what the cache lacks of the direction whose turn it is), and
the other direction, when wanted too, comes from the cache alone; the next tick refreshes that one.
Whatever a page, a policy or an earlier tick already cached costs no IES call at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ies_client import models as ies
from ies_client.client import IESClient
from ies_client.errors import IESError
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.models import Tenant
from portal.traffic import series

INDICATOR = "avg"  # a minute's average rate, as the auto-scale policies read it (one cache for both)


@dataclasses.dataclass
class Wanted:
    connection: str
    start: int  # from (Unix seconds, a minute boundary) to the tick's last closed minute
    directions: tuple[ies.Direction, ...]


@dataclasses.dataclass
class Reading:
    wanted: Wanted
    values: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # direction → bit/s per minute
    trouble: Exception | None = None


def last_closed_minute(now_s: int) -> int:
    """The end of the last minute IES has settled (its series are final SETTLE_S after the minute)."""
    return (now_s - series.SETTLE_S) // 60 * 60


def _spec(connection: str, direction: ies.Direction) -> series.SeriesSpec:
    return series.SeriesSpec(connection, ies.Metric.TRAFFIC_RATE, direction, INDICATOR, "minute")


class CacheOnly(Exception):  # noqa: N818 - a state: the cache lacks it, and IES is not to be asked
    pass


class _CacheOnlyClient:
    """Stands in for an IES client where the cache alone may answer: every traffic call fails."""

    def get_traffic(self, *args: Any, **kwargs: Any) -> None:
        raise CacheOnly


# For series.fetch: what the cache lacks stays NaN (and nothing is written back).
CACHE_ONLY: Any = _CacheOnlyClient()


def lazy_client(tenant: Tenant) -> Callable[[], IESClient]:
    """The tenant's IES client, made only when the cache lacks something (a tick that finds it all
    cached needs no token at all)."""
    client: IESClient | None = None

    def factory() -> IESClient:
        nonlocal client
        if client is None:
            client = ies_for_tenant(tenant)
        return client

    return factory


def read_minutes(tenant: Tenant, wanted: Sequence[Wanted], *, closed: int,
                 stats: series.FetchStats | None = None) -> list[Reading]:
    """What each connection wants over [start, closed); a reading's ``trouble`` says why it has
    nothing (no token, IES refused). With two directions wanted, the one refreshed alternates by
    minute, so both stay fresh within two ticks."""
    stats = stats if stats is not None else series.FetchStats()
    readings = [Reading(w) for w in wanted]
    turn = (closed // 60) % 2
    fresh: list[tuple[Reading, ies.Direction]] = []
    cached: list[tuple[Reading, ies.Direction]] = []
    for reading in readings:
        directions = reading.wanted.directions
        first = directions[turn % len(directions)]
        fresh.append((reading, first))
        cached.extend((reading, d) for d in directions if d != first)
    tenant_key = series.tenant_cache_key(tenant)
    if fresh:
        try:
            got = series.fetch(lazy_client(tenant), tenant_key=tenant_key,
                               specs=[_spec(r.wanted.connection, d) for r, d in fresh],
                               starts=[r.wanted.start for r, _ in fresh], start=0, end=closed,
                               now=closed + series.SETTLE_S, stats=stats, raise_errors=False)
        except (IESError, TenantNotConfigured) as exc:  # before any call: the tenant has no token, say
            for reading in readings:
                reading.trouble = exc
            return readings
        for (reading, direction), answer in zip(fresh, got, strict=True):
            if answer.error is not None:
                reading.trouble = answer.error
            else:
                reading.values[str(direction)] = answer.values
    others = [(r, d) for r, d in cached if r.trouble is None]
    if others:
        got = series.fetch(lambda: CACHE_ONLY, tenant_key=tenant_key,
                           specs=[_spec(r.wanted.connection, d) for r, d in others],
                           starts=[r.wanted.start for r, _ in others], start=0, end=closed,
                           now=closed + series.SETTLE_S, raise_errors=False)
        for (reading, direction), answer in zip(others, got, strict=True):
            reading.values[str(direction)] = answer.values
    return readings

