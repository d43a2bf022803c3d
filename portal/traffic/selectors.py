"""Reads behind the traffic pages: one connection's chart, and the tenant's overview.

Everything here is a read of IES (through the tenant's own client) and of the Redis cache; nothing
changes IES or the database.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from django.core.cache import cache
from django.utils.translation import gettext as _

from ies_client import models as ies
from ies_client.client import IESClient
from ies_client.errors import IESError
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.models import Tenant
from portal.traffic import bandwidth_in_force, series, stats
from portal.traffic.downsample import minmax_downsample
from portal.traffic.ranges import INTERVALS, PRESETS, TimeRange, auto_timedim, zone

if TYPE_CHECKING:
    # The services app sits above this one: its rows are handed in, never queried here.
    from portal.services.models import Service

log = logging.getLogger(__name__)

MIN_WIDTH, MAX_WIDTH, DEFAULT_WIDTH = 100, 4000, 1000
OPERATIONS_TTL = 60  # the log changes only when someone changes the service
OVERVIEW_LIMIT = 60
OVERVIEW_WIDTH = 320
UNITS = ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"))

# The utilisation used to read the bandwidth, one timedim coarser than the chart's (see bandwidth_in_force.py).
PROBE_TIMEDIM = {"minute": "hour", "hour": "hour", "day": "day"}
PROBE_LEAD = 2  # coarse buckets read before the range
SIDE_READS_GRACE_S = 0.5  # how long the chart waits for the operation log and the bounds after its series
SIDE_WORKERS = 4
# Side reads waiting or running at most, for the whole process (its request threads share the pool):
# a chart stops waiting for its side reads after the grace, but they go on; with IES slow, the charts
# opened meanwhile would queue theirs behind them without end. Past this many, a chart skips them.
SIDE_READS_MAX_PENDING = 2 * SIDE_WORKERS
OPERATIONS_READ_GUARD_S = 30  # at most this long one chart's read of the log keeps the others from reading it
# How old the newest read of IES behind a chart usually is at most: a live chart asks IES every
# minute, and the cache keeps what closed SETTLE_S before that. A chart drawn from the cache alone
# (IES failing) says when its values were read, and that they are older than usual past this.
USUAL_AGE_S = series.SETTLE_S + 60


def clamp_width(raw: str | int | None) -> int:
    try:
        width = int(raw) if raw not in (None, "") else DEFAULT_WIDTH
    except (TypeError, ValueError):
        width = DEFAULT_WIDTH
    return min(max(width, MIN_WIDTH), MAX_WIDTH)


def display_unit(max_bps: float | None) -> tuple[str, float]:
    """The unit the values need: kbit/s, Mbit/s or Gbit/s (by the largest value drawn)."""
    for factor, name in UNITS:
        if max_bps is not None and max_bps >= factor:
            return name, factor
    return "kbit/s", 1e3


def epoch_label(epoch: int, *, seconds: bool = False) -> str:
    """1495058150 → '2017-05-18 05:55 CST' (the portal's zone, with its abbreviation)."""
    moment = datetime.fromtimestamp(int(epoch), zone())
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()}" if seconds else f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


@dataclass(frozen=True)
class Stale:
    """IES failed while the chart was read: it shows the cached values, up to ``until``."""

    error: IESError
    until: int  # Unix time: the end of the last bucket known
    problem: str
    advice: str
    label: str  # what the chart shows and when it was read from IES (and that it is older than usual)
    read_at: int | None = None  # Unix time: when IES gave the newest of it (None: not recorded)
    older_than_usual: bool = False
    meta: str = ""  # the chart's toolbar line in place of "Updated <now>"
    figures_note: str = ""  # for figures computed from it elsewhere (the bandwidth editor's)


@dataclass
class Chart:
    """One connection's chart over a range, ready to serialise."""

    service: Service
    trange: TimeRange
    width: int
    # every bucket of the range (for the figures)
    times: np.ndarray
    rate_in: np.ndarray
    rate_out: np.ndarray
    steps: list[bandwidth_in_force.Step]
    figures: stats.Figures
    suggestion: stats.Suggestion | None
    # what is drawn (downsampled)
    shown_times: np.ndarray
    shown_in: np.ndarray
    shown_out: np.ndarray
    shown_bandwidth: np.ndarray  # bit/s at each shown time
    downsampled: bool
    unit: str
    unit_factor: float
    not_found: bool = False
    notes: list[str] = field(default_factory=list)
    fetch: series.FetchStats = field(default_factory=series.FetchStats)
    stale: Stale | None = None  # IES failed: the values are the cache's, up to stale.until

    @property
    def empty(self) -> bool:
        return self.figures.samples == 0

    @property
    def known_until(self) -> int:
        """The end of the newest bucket with a value (the range's start when none has one): what a
        later export of this chart is cut at, so that it holds what was shown, not what IES has
        added since."""
        known = self.times[~(np.isnan(self.rate_in) & np.isnan(self.rate_out))]
        return int(known[-1]) + self.trange.interval if len(known) else self.trange.start

    @property
    def bucket_seconds(self) -> int:
        """How much time one drawn point stands for (the pixel column when downsampled)."""
        if not self.downsampled:
            return self.trange.interval
        return max(self.trange.interval, self.trange.span // self.width)


_side_pool: ThreadPoolExecutor | None = None
_side_pool_lock = threading.Lock()
_side_pending = 0


def _side_executor() -> ThreadPoolExecutor:
    global _side_pool
    with _side_pool_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(max_workers=SIDE_WORKERS, thread_name_prefix="ies-traffic-side")
        return _side_pool


def side_reads_pending() -> int:
    """Side reads submitted and not yet ended (waiting in the pool's queue or running)."""
    return _side_pending


def _side_read_ended(_: Future) -> None:
    global _side_pending
    with _side_pool_lock:
        _side_pending -= 1


def _submit_side_read[T](fn: Callable[..., T], *args: object) -> Future[T] | None:
    """``fn(*args)`` in the side pool, in a copy of the caller's context (its request id goes into
    the log lines); None, and nothing run, when SIDE_READS_MAX_PENDING are pending already."""
    global _side_pending
    pool = _side_executor()
    with _side_pool_lock:
        if _side_pending >= SIDE_READS_MAX_PENDING:
            log.info("traffic side read skipped: %d pending", _side_pending)
            return None
        _side_pending += 1
    try:
        future: Future[T] = pool.submit(contextvars.copy_context().run, fn, *args)
    except BaseException:
        _side_read_ended(Future())
        raise
    future.add_done_callback(_side_read_ended)
    return future


def _side_result[T](future: Future[T] | None, default: T) -> T:
    """The side read's answer, or ``default`` when it was skipped, failed or takes too long."""
    if future is None:
        return default
    try:
        return future.result(timeout=SIDE_READS_GRACE_S)
    except Exception:  # noqa: BLE001 - a side read only refines the chart (a TimeoutError too)
        return default


def _operations(tenant: Tenant, service: Service, client_factory: Callable[[], IESClient]) -> list[ies.Operation] | None:
    """The service's operation log (cached a minute), or None when IES cannot give it."""
    if not service.ies_service_id:
        return None
    key = f"traffic:ops:{series.tenant_cache_key(tenant)}:{service.ies_service_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    # One reader at a time per service: when the cached log expires, the charts open at that
    # moment do not all ask IES (and, if it hangs, all wait) for the same log.
    if not cache.add(key + ":reading", 1, OPERATIONS_READ_GUARD_S):
        return None
    try:
        ops = client_factory().list_operations(service.ies_service_id)
    except IESError as exc:
        # An IES without the endpoint, or a deleted service: the steps come from the data alone.
        log.info("no operation log for %s: %s", service.ies_service_id, type(exc).__name__)
        cache.set(key, [], OPERATIONS_TTL)
        return None
    finally:
        cache.delete(key + ":reading")
    cache.set(key, ops, OPERATIONS_TTL)
    return ops


def _bandwidth_bounds(tenant: Tenant, service: Service) -> tuple[int | None, int | None, int | None]:
    """(min, max, step) of the bandwidth field of the service's definition; None where unknown."""
    if not service.service_definition_id:
        return None, None, None
    from portal.catalog.selectors import LastKnown, definition_detail_or_last_known

    try:
        known = definition_detail_or_last_known(tenant=tenant, definition_id=service.service_definition_id)
    except (IESError, TenantNotConfigured):
        return None, None, None
    detail = known.value if isinstance(known, LastKnown) else known
    spec = detail.field_with_role(ies.ParameterRole.BANDWIDTH)
    if spec is None:
        return None, None, None

    def whole(v: float | None) -> int | None:
        return int(v) if v else None

    return whole(spec.min), whole(spec.max), whole(spec.step)


def chart_for_connection(*, tenant: Tenant, service: Service, trange: TimeRange, width: int, now: int,
                         client_factory: Callable[[], IESClient] | None = None, cached_only: bool = False,
                         until: int | None = None) -> Chart:
    """The chart of ``service``'s connection: rate in and out, the bandwidth in force, the figures.

    Raises the client's IESError (or TenantNotConfigured) when IES cannot answer the rate and the
    cache holds none of it; when the cache holds some, the chart is drawn from it (``stale``).
    ``cached_only``: raises series.NotCached, asking IES nothing, unless the cache holds all but the
    newest buckets (the chart page inlines its first chart only then).
    ``until``: no value from this time on (the :attr:`Chart.known_until` of a chart drawn before),
    so that an export holds the points that chart showed.
    """
    if client_factory is None:
        def client_factory() -> IESClient:
            return ies_for_tenant(tenant, for_page=True)

    connection = service.cloud_vpn_name
    timedim, indicator = trange.timedim, trange.indicator
    probe = PROBE_TIMEDIM[timedim]
    piv = INTERVALS[probe]
    # The rate is read from a little before the range (two coarse buckets), on the coarse grid: the
    # stretch of bandwidth in force at the range's start then has whole buckets to be read from even
    # when it began just before. The coarse rate is the chart's rate aggregated (as IES aggregates
    # it), so only the coarse utilisation is an extra call: four calls in all, not six.
    lead_start = trange.start // piv * piv - PROBE_LEAD * piv
    specs = [
        series.SeriesSpec(connection, ies.Metric.TRAFFIC_RATE, ies.Direction.INBOUND, indicator, timedim),
        series.SeriesSpec(connection, ies.Metric.TRAFFIC_RATE, ies.Direction.OUTBOUND, indicator, timedim),
        series.SeriesSpec(connection, ies.Metric.BANDWIDTH_UTILIZATION, ies.Direction.INBOUND, indicator, probe),
        series.SeriesSpec(connection, ies.Metric.BANDWIDTH_UTILIZATION, ies.Direction.OUTBOUND, indicator, probe),
    ]

    # The operation log and the definition's bounds are read while the traffic calls run, in a
    # pool of their own: a side read that waits on a slow IES never holds up a chart's series.
    ops_future = _submit_side_read(_operations, tenant, service, client_factory)
    bounds_future = _submit_side_read(_bandwidth_bounds, tenant, service)
    fetch_stats = series.FetchStats()
    fetched = series.fetch(client_factory, tenant_key=series.tenant_cache_key(tenant), specs=specs,
                           start=lead_start, end=trange.end, now=now, stats=fetch_stats, raise_errors=False,
                           cached_only=cached_only)
    if until is not None:
        fetched = [_before(s, until) for s in fetched]
    stale = _last_known(fetched, now=now)
    lead_in, lead_out, util_in, util_out = fetched
    probe_in = _aggregate(lead_in, util_in, indicator)
    probe_out = _aggregate(lead_out, util_out, indicator)
    rate_in, rate_out = _from(lead_in, trange.start), _from(lead_out, trange.start)
    # The log and the bounds only refine the chart: it does not wait long for them once its own
    # series are in. A slow or hanging IES (before its breaker opens) then costs the chart nothing
    # more; the read goes on in the pool and caches its answer for the next load.
    operations = _side_result(ops_future, None)
    minimum, maximum, step = _side_result(bounds_future, (None, None, None))

    # When the bandwidth changed comes from the operation log, what it was from rate ÷ utilisation
    # (see bandwidth_in_force.py for why both); without a log, both come from the data.
    changes = bandwidth_in_force.change_times(operations) if operations else None
    steps = bandwidth_in_force.steps(
        start=trange.start, end=trange.end, probe_times=util_in.times, probe_interval=INTERVALS[probe],
        rate_in=probe_in, rate_out=probe_out, util_in=util_in.values,
        util_out=util_out.values, changes=changes, current_kbps=service.bandwidth_kbps,
        live=service.gone_at is None, step_kbps=step or stats.BANDWIDTH_STEP_KBPS,
    )
    times = rate_in.times
    bw_bps = bandwidth_in_force.at_times(steps, times, trange.interval)
    figs = stats.figures(times, rate_in.values, rate_out.values, bw_bps, trange.interval)
    suggestion = None
    if service.gone_at is None:
        suggestion = stats.suggest_bandwidth(figs, current_kbps=service.bandwidth_kbps, minimum=minimum,
                                             maximum=maximum, step=step)

    shown_t, (shown_in, shown_out) = minmax_downsample(times, [rate_in.values, rate_out.values], width,
                                                       lo=trange.start, hi=trange.end, step=trange.interval)
    downsampled = len(shown_t) < int((~(np.isnan(rate_in.values) & np.isnan(rate_out.values))).sum())
    peak = np.nanmax([figs.inbound.peak_bps or 0, figs.outbound.peak_bps or 0,
                      *[s.kbps * 1000 for s in steps if s.kbps]])
    unit, factor = display_unit(float(peak) if peak else None)
    notes = list(trange.notes)
    if stale is not None:
        notes.insert(0, stale.label)
    not_found = rate_in.not_found or rate_out.not_found
    if not_found:
        notes.append(_("IES does not know this connection yet: it reports traffic once the connection is up."))
    return Chart(
        service=service, trange=trange, width=width, times=times, rate_in=rate_in.values,
        rate_out=rate_out.values, steps=steps, figures=figs, suggestion=suggestion, shown_times=shown_t,
        shown_in=shown_in, shown_out=shown_out, shown_bandwidth=bandwidth_in_force.at_times(steps, shown_t, trange.interval),
        downsampled=downsampled, unit=unit, unit_factor=factor, not_found=not_found, notes=notes,
        fetch=fetch_stats, stale=stale,
    )


def _last_known(fetched: list[series.Series], *, now: int) -> Stale | None:
    """When IES failed: what the cache still holds, or the failure raised when it holds nothing.

    Closed buckets are kept in Redis (series.py), so a chart seen before can still be drawn up to
    where it was last read, with a note saying so, instead of an error after IES's timeout.
    """
    errors = [s.error for s in fetched if s.error is not None]
    if not errors:
        return None
    error = next((e for e in errors if isinstance(e, IESError)), errors[0])
    if not isinstance(error, IESError):
        raise error  # a bug of ours, not IES's trouble: never hide it behind "last known"
    rates = [s for s in fetched[:2] if s.error is not None or not s.not_found]
    known = [s.times[~np.isnan(s.values)] for s in rates]
    until = max((int(t[-1]) + s.spec.interval for t, s in zip(known, rates, strict=True) if len(t)), default=None)
    if until is None:
        raise error
    from portal.tenants.ies_errors import describe

    trouble = describe(error)
    read_at = max((s.cached_at for s in rates if s.cached_at is not None), default=None)
    # Blocks stored before "at" was kept: judged by the values' end, which lags a read by SETTLE_S.
    age = now - read_at if read_at is not None else now - until - series.SETTLE_S
    older = age > USUAL_AGE_S
    if read_at is not None:
        figures_note = _("IES is not answering: these figures come from the traffic last read from IES, at "
                         "%(read)s (values until %(time)s).") % {
            "read": epoch_label(read_at, seconds=True), "time": epoch_label(until)}
        label = _("The chart shows the last known traffic, as read from IES at %(read)s (values until %(time)s).") % {
            "read": epoch_label(read_at, seconds=True), "time": epoch_label(until)}
        meta = _("Read from IES at %(time)s") % {"time": epoch_label(read_at, seconds=True)}
    else:
        figures_note = _("IES is not answering: these figures come from the last known traffic, until "
                         "%(time)s.") % {"time": epoch_label(until)}
        label = _("The chart shows the last known traffic, until %(time)s.") % {"time": epoch_label(until)}
        meta = _("Last known values, until %(time)s") % {"time": epoch_label(until)}
    if older:
        label = f"{label} {_('That is older than usual.')}"
        figures_note = f"{figures_note} {_('That is older than usual.')}"
        meta = f"{meta} · {_('older than usual')}"
    return Stale(error=error, until=until, problem=trouble.problem, advice=trouble.advice, label=label,
                 read_at=read_at, older_than_usual=older, meta=meta, figures_note=figures_note)


def _from(s: series.Series, start: int) -> series.Series:
    """``s`` from ``start`` on (a view, no copy)."""
    skip = (start - s.start) // s.spec.interval
    return series.Series(s.spec, start, s.end, s.values[skip:], not_found=s.not_found, error=s.error)


def _before(s: series.Series, until: int) -> series.Series:
    """``s`` with no value in the buckets that begin at ``until`` or later (a copy)."""
    values = s.values.copy()
    values[s.times >= until] = np.nan
    return replace(s, values=values)


def _aggregate(rate: series.Series, coarse: series.Series, indicator: str) -> np.ndarray:
    """``rate`` on ``coarse``'s buckets, aggregated as IES aggregates: the max of the maxima, the
    min of the minima, the mean of the means. Both series start on the same coarse boundary."""
    if rate.spec.interval == coarse.spec.interval:
        return rate.values[: len(coarse.values)]
    per = coarse.spec.interval // rate.spec.interval
    values = np.full(len(coarse.values) * per, np.nan)
    n = min(len(values), len(rate.values))
    values[:n] = rate.values[:n]
    grid = values.reshape(len(coarse.values), per)
    if indicator == "max":
        return np.fmax.reduce(grid, axis=1)
    if indicator == "min":
        return np.fmin.reduce(grid, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = (~np.isnan(grid)).sum(axis=1)
        return np.where(counts > 0, np.nansum(grid, axis=1) / np.maximum(counts, 1), np.nan)


# -- the overview ---------------------------------------------------------------------------------


@dataclass
class Card:
    service: Service
    peak_util: float | None = None
    peak_at: int | None = None
    times: list[int] = field(default_factory=list)
    util_in: list[float | None] = field(default_factory=list)
    util_out: list[float | None] = field(default_factory=list)
    problem: str = ""

    @property
    def data(self) -> dict:
        return {"t": self.times, "in": self.util_in, "out": self.util_out}


@dataclass
class Overview:
    cards: list[Card]
    preset: str
    timedim: str
    start: int
    end: int
    total: int  # connections of the tenant (the cards may be fewer: OVERVIEW_LIMIT)
    problem: str = ""
    advice: str = ""


def overview_for_tenant(*, tenant: Tenant, services: list[Service], preset: str, indicator: str, now: int,
                        client_factory: Callable[[], IESClient] | None = None) -> Overview:
    """One small utilisation chart per connection, busiest first (by IES's peak utilisation)."""
    from portal.tenants.ies_errors import describe

    if client_factory is None:
        def client_factory() -> IESClient:
            return ies_for_tenant(tenant, for_page=True)

    span = PRESETS[preset]
    timedim = auto_timedim(span) if span <= 3600 else "hour"
    iv = INTERVALS[timedim]
    start, end = (now - span) // iv * iv, -(-now // iv) * iv
    connections = [s for s in services if s.cloud_vpn_name][:OVERVIEW_LIMIT]
    specs = [series.SeriesSpec(s.cloud_vpn_name, ies.Metric.BANDWIDTH_UTILIZATION, d, indicator, timedim)
             for s in connections for d in (ies.Direction.INBOUND, ies.Direction.OUTBOUND)]
    overview = Overview(cards=[], preset=preset, timedim=timedim, start=start, end=end,
                        total=len([s for s in services if s.cloud_vpn_name]))
    try:
        fetched = series.fetch(client_factory, tenant_key=series.tenant_cache_key(tenant), specs=specs,
                               start=start, end=end, now=now, raise_errors=False) if specs else []
    except (IESError, TenantNotConfigured) as exc:  # the client could not even be made
        trouble = describe(exc)
        overview.problem, overview.advice = trouble.problem, trouble.advice
        overview.cards = [Card(service=s, problem=trouble.problem) for s in connections]
        return overview
    for i, service in enumerate(connections):
        s_in, s_out = fetched[2 * i], fetched[2 * i + 1]
        card = Card(service=service)
        error = s_in.error or s_out.error
        if error is not None:
            card.problem = describe(error).problem if isinstance(error, IESError) else _("IES answered with an error.")
            overview.cards.append(card)
            continue
        both = np.fmax(s_in.values, s_out.values)
        if not np.isnan(both).all():
            index = int(np.nanargmax(both))
            card.peak_util, card.peak_at = float(both[index]), int(s_in.times[index])
        t, (u_in, u_out) = minmax_downsample(s_in.times, [s_in.values, s_out.values], OVERVIEW_WIDTH,
                                             lo=start, hi=end, step=iv)
        card.times = t.tolist()
        card.util_in = _json_floats(u_in)
        card.util_out = _json_floats(u_out)
        overview.cards.append(card)
    overview.cards.sort(key=lambda c: (c.peak_util is None, -(c.peak_util or 0), c.service.name))
    return overview


def _json_floats(values: np.ndarray, digits: int = 2) -> list[float | None]:
    return [None if v != v else round(v, digits) for v in values.tolist()]
