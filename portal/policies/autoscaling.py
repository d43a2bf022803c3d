"""Auto-scale policies: setting one up, the engine's tick that evaluates them, and approvals.

Every minute the tick looks at each active auto-scale policy. What needs no traffic is checked
first and costs IES nothing: a change in flight, the cooldown after the last change (by anyone:
a person's change pauses auto-scale as long as a policy's does), the daily and monthly limits, a
proposal awaiting approval. Then the connection's traffic is read from the cache the charts share
(closed minute buckets only), and IES is asked at most once per connection per tick: for the one
direction it watches, or, watching either, for the two directions in turns (each tick refreshes
one; the evaluation then runs over the minutes both hold, a minute older at most).

A decision is the same :func:`autoscale.decide` the backtest replays. A change runs as an ordinary
planned change (an :class:`Occurrence` at the tick's minute, claimed exactly once, see
services._run), only over the size it was decided on (``expect_kbps``); with approval, it waits as a
proposal a member approves or declines, and lapses when nobody does in time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings as conf
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ies_client import models as ies
from ies_client.errors import IESError
from portal.audit.services import audit_record
from portal.core.bandwidth_input import CONTRACT_MAX_KBPS, CONTRACT_MIN_KBPS, CONTRACT_STEP_KBPS
from portal.core.http import SignedInRequest
from portal.core.units import format_kbps
from portal.operations.models import IN_FLIGHT_STATES, Operation, OperationKind, OperationState
from portal.operations.selectors import expectation_for
from portal.policies import autoscale, backtest, dispatch
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyKind, PolicyState
from portal.policies.services import PolicyRefused, recount_notices, run_occurrence
from portal.policies.signals import policy_event
from portal.services.models import Service
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.ies_errors import describe
from portal.tenants.models import Membership, Tenant
from portal.traffic import series, watch
from portal.traffic.ranges import zone

log = logging.getLogger(__name__)

INDICATOR = "avg"  # a minute's average rate: what utilisation over a window is made of
DEFAULT_APPROVAL_S = 60 * 60


@dataclasses.dataclass(frozen=True)
class Settings:
    """An auto-scale policy as the tenant set it: the decision's rules and whether a member approves."""

    rules: autoscale.AutoScale
    approval: bool = False
    approval_s: int = DEFAULT_APPROVAL_S


def spec_of(settings_: Settings) -> dict[str, Any]:
    rules = dataclasses.asdict(settings_.rules)
    return {**{k: str(v) if isinstance(v, str) else v for k, v in rules.items()},
            "approval": settings_.approval, "approval_s": settings_.approval_s}


def settings_of(policy: BandwidthPolicy) -> Settings:
    spec = dict(policy.spec)
    approval, approval_s = bool(spec.pop("approval", False)), int(spec.pop("approval_s", DEFAULT_APPROVAL_S))
    names = {f.name for f in dataclasses.fields(autoscale.AutoScale)}
    values = {k: v for k, v in spec.items() if k in names}
    values["statistic"] = autoscale.Statistic(values.get("statistic", autoscale.Statistic.P95))
    values["direction"] = autoscale.Direction(values.get("direction", autoscale.Direction.EITHER))
    values["sizing"] = autoscale.Sizing(values.get("sizing", autoscale.Sizing.TARGET))
    return Settings(rules=autoscale.AutoScale(**values), approval=approval, approval_s=approval_s)


def problems(settings_: Settings) -> list[str]:
    found = autoscale.problems(settings_.rules, minimum_kbps=CONTRACT_MIN_KBPS, maximum_kbps=CONTRACT_MAX_KBPS,
                               step_kbps=CONTRACT_STEP_KBPS)
    if settings_.approval and not 5 * 60 <= settings_.approval_s <= 7 * 86400:
        found.append(_("A proposal waits for approval from 5 minutes to 7 days."))
    return found


@transaction.atomic
def policy_autoscale_create(*, membership: Membership, service: Service, settings: Settings, name: str = "",
                            request: SignedInRequest | None = None) -> BandwidthPolicy:
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to plan changes."))
    if service.tenant_id != membership.tenant_id or service.gone_at is not None:
        raise PolicyRefused(_("The service was deleted."))
    found = problems(settings)
    if found:
        raise PolicyRefused(" ".join(found))
    # Locked: of two forms posted at once, the second sees the first's policy.
    Service.objects.select_for_update().filter(pk=service.pk).first()
    rivals = BandwidthPolicy.objects.filter(service=service, kind__in=(PolicyKind.AUTOSCALE, PolicyKind.WEEKLY)).exclude(
        state=PolicyState.ENDED)
    if rivals.filter(kind=PolicyKind.AUTOSCALE).exists():
        raise PolicyRefused(_("This service already has an auto-scale policy: end it first, or pause it and change "
                              "it by ending it and setting a new one."))
    if rivals.exists():
        raise PolicyRefused(_("This service follows a weekly calendar: the two would undo each other's changes. "
                              "End the calendar first."))
    rules = settings.rules
    policy = BandwidthPolicy.objects.create(
        tenant=membership.tenant, service=service, kind=PolicyKind.AUTOSCALE, created_by=membership.user,
        name=(name.strip() or _("Auto-scale %(floor)s to %(ceiling)s") % {
            "floor": format_kbps(rules.floor_kbps), "ceiling": format_kbps(rules.ceiling_kbps)})[:80],
        spec=spec_of(settings))
    audit_record(action="policy.create", actor=membership.user, tenant=membership.tenant, object_type="service",
                 object_id=service.ies_service_id, object_label=service.name, request=request,
                 after={"policy": policy.name, "kind": policy.kind, "rules": policy.spec})
    return policy


# -- the backtest -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BacktestResult:
    outcome: backtest.Outcome
    rate_in: np.ndarray
    rate_out: np.ndarray
    fixed_kbps: int
    learned_change_s: float

    @property
    def busy_change_s(self) -> int:
        """Time above the busy threshold with the policy, less than at the fixed size (negative: less)."""
        return self.outcome.busy_s_policy - self.outcome.busy_s_fixed


def backtest_for(*, tenant: Tenant, service: Service, settings: Settings, days: int, now: datetime) -> BacktestResult:
    """Replay ``settings`` over the connection's last ``days`` of minute traffic (from the cache the
    charts share; IES is asked for what it lacks, two calls at most for 30 days)."""
    if not service.bandwidth_kbps or not service.cloud_vpn_name:
        raise PolicyRefused(_("The portal does not know this service's connection or bandwidth yet: reload the "
                              "page in a moment."))
    epoch = int(now.timestamp())
    closed = (epoch - series.SETTLE_S) // 60 * 60
    start = closed - days * 86400
    specs = [series.SeriesSpec(service.cloud_vpn_name, ies.Metric.TRAFFIC_RATE, d, INDICATOR, "minute")
             for d in (ies.Direction.INBOUND, ies.Direction.OUTBOUND)]
    try:
        rate_in, rate_out = series.fetch(lambda: ies_for_tenant(tenant, for_page=True),
                                         tenant_key=series.tenant_cache_key(tenant), specs=specs, start=start,
                                         end=closed, now=epoch)
    except (IESError, TenantNotConfigured) as exc:
        trouble = describe(exc)  # never str(exc): an IES error's text is not for the tenant's eyes
        raise PolicyRefused(_("The backtest needs the connection's traffic from IES, and could not read it. "
                              "%(problem)s %(advice)s") % {"problem": trouble.problem, "advice": trouble.advice}) from exc
    learned = expectation_for(kind=OperationKind.MODIFY, definition_id=service.service_definition_id or "").median_s
    outcome = backtest.run(settings.rules, times=rate_in.times, rate_in=rate_in.values, rate_out=rate_out.values,
                           interval=60, fixed_kbps=service.bandwidth_kbps, learned_change_s=learned,
                           step_kbps=CONTRACT_STEP_KBPS, tz=zone())
    return BacktestResult(outcome=outcome, rate_in=rate_in.values, rate_out=rate_out.values,
                          fixed_kbps=service.bandwidth_kbps, learned_change_s=learned)


# -- the tick -----------------------------------------------------------------------------------


@dataclasses.dataclass
class TickStats:
    evaluated: int = 0
    ies_calls: int = 0
    planned: int = 0  # changes decided and handed to the run that starts planned changes
    deferred: int = 0  # policies not looked at this tick (over POLICY_AUTOSCALE_LOOKS_PER_TICK)
    proposed: int = 0
    expired: int = 0


def policies_autoscale(now: datetime | None = None, stats: TickStats | None = None) -> TickStats:
    """Evaluate every active auto-scale policy once; run by the beat each minute."""
    now = now or timezone.now()
    stats = stats if stats is not None else TickStats()
    stats.expired += _expire_proposals(now)
    # Only what the tick reads: thousands of rows a minute (the tenant is read once, for its IES).
    policies = list(BandwidthPolicy.objects.filter(
        kind=PolicyKind.AUTOSCALE, state=PolicyState.ACTIVE, tenant__automation_paused=False,
        service__gone_at__isnull=True).select_related("service").only(
            "id", "tenant_id", "service_id", "name", "spec", "last_check", "service__id", "service__tenant_id",
            "service__cloud_vpn_name", "service__bandwidth_kbps", "service__service_definition_id",
            "service__gone_at"))
    if not policies:
        return stats
    service_ids = [p.service_id for p in policies]
    busy = set(Operation.objects.filter(service_id__in=service_ids, state__in=IN_FLIGHT_STATES)
               .values_list("service_id", flat=True))
    last_change = dict(Operation.objects.filter(service_id__in=service_ids, kind=OperationKind.MODIFY,
                                                state=OperationState.SUCCEEDED)
                       .values("service_id").annotate(at=Max("finished_at")).values_list("service_id", "at"))
    waiting = set(Occurrence.objects.filter(policy__in=policies, state=OccurrenceState.PROPOSED)
                  .values_list("policy_id", flat=True))
    counts = _change_counts(policies, now)
    learned: dict[str, float] = {}
    checks: dict[int, dict[str, Any]] = {}
    by_tenant: dict[int, list[BandwidthPolicy]] = defaultdict(list)
    candidates: list[BandwidthPolicy] = []
    for policy in policies:
        settings_ = settings_of(policy)
        rules = settings_.rules
        service = policy.service
        definition = service.service_definition_id or ""
        if definition not in learned:
            learned[definition] = expectation_for(kind=OperationKind.MODIFY, definition_id=definition).median_s
        cooldown = max(rules.cooldown_s, learned[definition])
        changed_at = last_change.get(service.pk)
        today, month = counts.get(policy.pk, (0, 0))
        early = None
        if policy.pk in waiting:
            early = autoscale.Reason.AWAITING_APPROVAL
        elif service.pk in busy:
            early = autoscale.Reason.CHANGE_IN_FLIGHT
        elif changed_at is not None and (now - changed_at).total_seconds() < cooldown:
            early = autoscale.Reason.COOLDOWN
        elif today >= rules.max_per_day:
            early = autoscale.Reason.DAY_LIMIT
        elif month >= rules.max_per_month:
            early = autoscale.Reason.MONTH_LIMIT
        elif not service.bandwidth_kbps or not service.cloud_vpn_name:
            early = autoscale.Reason.NOT_ENOUGH_DATA
        if early is not None:
            checks[policy.pk] = {**_check(now, early), "dir": (policy.last_check or {}).get("dir")}
            continue
        candidates.append(policy)
    budget = int(conf.POLICY_AUTOSCALE_LOOKS_PER_TICK)
    if len(candidates) > budget:
        # More connections than one tick may ask IES about: the likeliest to change, then those
        # looked at longest ago, first; the others keep their last look for a tick or a few.
        candidates.sort(key=_priority)
        stats.deferred += len(candidates) - budget
        candidates = candidates[:budget]
    for policy in candidates:
        by_tenant[policy.tenant_id].append(policy)
    decided: list[tuple[BandwidthPolicy, autoscale.Decision]] = []
    for group in by_tenant.values():
        for policy, decision in _evaluate(group, now=now, last_change=last_change, learned=learned, counts=counts,
                                          stats=stats):
            checks[policy.pk] = {**_check(now, decision.reason, decision), "dir": policy.last_check.get("dir")}
            if decision.kbps is not None:
                decided.append((policy, decision))
    _record_checks(policies, checks)
    if decided:
        _act(decided, now, stats)
    return stats


QUIET_REASONS = {str(autoscale.Reason.STEADY), str(autoscale.Reason.COOLDOWN), str(autoscale.Reason.AT_CEILING),
                 str(autoscale.Reason.AT_FLOOR), str(autoscale.Reason.DAY_LIMIT), str(autoscale.Reason.MONTH_LIMIT)}


def _priority(policy: BandwidthPolicy) -> tuple[int, str]:
    """Sort key of a policy to look at: first those never looked at, with no figure, or whose last
    figure was within a tenth of a threshold (the next minutes may decide), then by the time of
    their last look."""
    check = policy.last_check or {}
    figure, reason = check.get("figure"), check.get("reason")
    if figure is None or reason not in QUIET_REASONS:
        return 0, check.get("at", "")
    spec = policy.spec
    near = (figure >= spec.get("up_above_pct", 80) * 0.9 or figure <= spec.get("down_below_pct", 30) * 1.1)
    return (0 if near else 1), check.get("at", "")


def _check(now: datetime, reason: str, decision: autoscale.Decision | None = None) -> dict[str, Any]:
    return {"at": now.isoformat(), "reason": str(reason),
            "figure": None if decision is None or decision.figure_pct is None else round(decision.figure_pct, 1),
            "kbps": None if decision is None else decision.kbps}


def _record_checks(policies: list[BandwidthPolicy], checks: dict[int, dict[str, Any]]) -> None:
    """Write the looks that say something new (a look with traffic always: its time orders the next
    looks); a policy waiting out its cooldown is not rewritten every minute."""
    previous = {p.pk: p.last_check or {} for p in policies}
    keys = ("reason", "figure", "kbps")
    rows = [BandwidthPolicy(pk=pk, last_check=check) for pk, check in checks.items()
            if check["reason"] not in EARLY_REASONS or any(check[k] != previous[pk].get(k) for k in keys)]
    BandwidthPolicy.objects.bulk_update(rows, ["last_check"], batch_size=500)


EARLY_REASONS = {str(r) for r in (autoscale.Reason.AWAITING_APPROVAL, autoscale.Reason.CHANGE_IN_FLIGHT,
                                  autoscale.Reason.COOLDOWN, autoscale.Reason.DAY_LIMIT, autoscale.Reason.MONTH_LIMIT)}


def _change_counts(policies: Iterable[BandwidthPolicy], now: datetime) -> dict[int, tuple[int, int]]:
    """Per policy: the changes it started today and this month, in the portal's zone."""
    local = timezone.localtime(now, zone())
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (Occurrence.objects.filter(policy__in=list(policies), state=OccurrenceState.STARTED, ran_at__gte=month_start)
            .values("policy_id").annotate(month=Count("id"), today=Count("id", filter=Q(ran_at__gte=day_start))))
    return {row["policy_id"]: (row["today"], row["month"]) for row in rows}


@dataclasses.dataclass
class _Reading:
    """What one policy reads this tick: a direction refreshed (IES asked for what the cache lacks)
    and, watching either, the other from the cache alone; both over [start, end)."""

    policy: BandwidthPolicy
    rules: autoscale.AutoScale
    start: int
    end: int
    fresh: series.SeriesSpec
    cached: series.SeriesSpec | None = None
    values: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    trouble: Exception | None = None


def _evaluate(policies: list[BandwidthPolicy], *, now: datetime, last_change: dict[int, datetime],
              learned: dict[str, float], counts: dict[int, tuple[int, int]],
              stats: TickStats) -> Iterable[tuple[BandwidthPolicy, autoscale.Decision]]:
    readings = _read_traffic(policies, now=now, stats=stats)
    for reading in readings:
        policy, service = reading.policy, reading.policy.service
        # Watching either direction: which one this look refreshed (the next refreshes the other).
        policy.last_check = {**(policy.last_check or {}), "dir": str(reading.fresh.direction)}
        if reading.trouble is not None:
            log.warning("auto-scale of %r: traffic unavailable (%s)", service.cloud_vpn_name,
                        type(reading.trouble).__name__)
            yield policy, autoscale.Decision(autoscale.Reason.NO_TRAFFIC)
            continue
        stats.evaluated += 1
        kbps = service.bandwidth_kbps or 0  # known: a service without one was not evaluated
        changed_at = last_change.get(service.pk)
        today, month = counts.get(policy.pk, (0, 0))
        empty = np.full((reading.end - reading.start) // 60, np.nan)
        traffic = autoscale.Traffic(interval=60, rate_in=reading.values.get(str(ies.Direction.INBOUND), empty),
                                    rate_out=reading.values.get(str(ies.Direction.OUTBOUND), empty),
                                    bandwidth_bps=np.full(len(empty), kbps * 1000, dtype=np.int64))
        decision = autoscale.decide(
            reading.rules, traffic, current_kbps=kbps,
            # Counted to the end of the traffic read: only minutes wholly after the change count.
            since_change_s=None if changed_at is None else max(0.0, reading.end - changed_at.timestamp()),
            learned_change_s=learned[service.service_definition_id or ""], changes_today=today,
            changes_this_month=month, step_kbps=CONTRACT_STEP_KBPS)
        if decision.reason == autoscale.Reason.DOWN and reading.cached is not None:
            # Smaller only on both directions: the one read from the cache must cover the window too.
            other = reading.values.get(str(reading.cached.direction), empty)
            window = autoscale.window_buckets(reading.rules.down_for_s, 60)
            if np.count_nonzero(~np.isnan(other[-window:])) < autoscale.COVERAGE * window:
                decision = autoscale.Decision(autoscale.Reason.NOT_ENOUGH_DATA)
        yield policy, decision


def _read_traffic(policies: list[BandwidthPolicy], *, now: datetime, stats: TickStats) -> list[_Reading]:
    """The minute averages each policy watches, for one tenant's policies, over the window up to the
    last closed minute: the refreshed series in one fetch (its IES calls run in parallel, one per
    connection at most), the other direction of a policy watching either from the cache alone, as
    far as it holds it (the next look refreshes that one)."""
    tenant = Tenant.objects.get(pk=policies[0].tenant_id)
    tenant_key = series.tenant_cache_key(tenant)
    closed = (int(now.timestamp()) - series.SETTLE_S) // 60 * 60
    inbound, outbound = ies.Direction.INBOUND, ies.Direction.OUTBOUND
    readings = []
    for policy in policies:
        rules = settings_of(policy).rules
        start = closed - autoscale.window_buckets(max(rules.up_for_s, rules.down_for_s), 60) * 60

        def spec(d: ies.Direction, policy: BandwidthPolicy = policy) -> series.SeriesSpec:
            return series.SeriesSpec(policy.service.cloud_vpn_name, ies.Metric.TRAFFIC_RATE, d, INDICATOR, "minute")

        if rules.direction == autoscale.Direction.EITHER:
            # In turns: the direction not refreshed at the last look.
            last = (policy.last_check or {}).get("dir")
            turn = outbound if last == str(inbound) else inbound
            readings.append(_Reading(policy, rules, start, closed, fresh=spec(turn),
                                     cached=spec(inbound if turn == outbound else outbound)))
        else:
            direction = inbound if rules.direction == autoscale.Direction.INBOUND else outbound
            readings.append(_Reading(policy, rules, start, closed, fresh=spec(direction)))
    client_factory = watch.lazy_client(tenant)
    fetch_stats = series.FetchStats()
    try:
        refreshed = series.fetch(client_factory, tenant_key=tenant_key, specs=[r.fresh for r in readings],
                                 starts=[r.start for r in readings], start=0, end=closed,
                                 now=closed + series.SETTLE_S, stats=fetch_stats, raise_errors=False)
    except (IESError, TenantNotConfigured) as exc:  # before any call: the tenant has no token, say
        for reading in readings:
            reading.trouble = exc
        return readings
    finally:
        stats.ies_calls += fetch_stats.ies_calls
    for reading, got in zip(readings, refreshed, strict=True):
        if got.error is not None:
            reading.trouble = got.error
        else:
            reading.values[str(reading.fresh.direction)] = got.values
    others = [r for r in readings if r.cached is not None and r.trouble is None]
    if others:
        # A client that never calls: what the cache lacks stays NaN (and nothing is written back).
        cached = series.fetch(lambda: watch.CACHE_ONLY, tenant_key=tenant_key, specs=[r.cached for r in others if r.cached],
                              starts=[r.start for r in others], start=0, end=closed, now=closed + series.SETTLE_S,
                              raise_errors=False)
        for reading, got in zip(others, cached, strict=True):
            if reading.cached is not None:
                reading.values[str(reading.cached.direction)] = got.values
    return readings




def _act(decided: list[tuple[BandwidthPolicy, autoscale.Decision]], now: datetime, stats: TickStats) -> None:
    """Plan (or propose) the changes decided, as occurrences at the tick's minute, and ask for a run
    of the planned ones: the same run that starts scheduled changes starts them (services._run:
    each once, only over the size it was decided on, not at all once stale). A second tick in the
    same minute (a duplicated beat) finds the rows taken and adds nothing."""
    minute = now.replace(second=0, microsecond=0)
    rows = []
    for policy, decision in decided:
        settings_ = settings_of(policy)
        service = policy.service
        assert decision.kbps is not None  # only a decision to change is acted on
        rows.append(Occurrence(
            policy=policy, due_at=minute, kbps=decision.kbps, expect_kbps=service.bandwidth_kbps,
            decision={"reason": str(decision.reason), "figure": decision.figure_pct, "from_kbps": service.bandwidth_kbps},
            state=OccurrenceState.PROPOSED if settings_.approval else OccurrenceState.PLANNED,
            expires_at=now + timedelta(seconds=settings_.approval_s) if settings_.approval else None))
    made = Occurrence.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    planned = [o for o in made if o.state == OccurrenceState.PLANNED]
    proposed = {o.policy.tenant_id for o in made if o.state == OccurrenceState.PROPOSED}
    stats.planned += len(planned)
    stats.proposed += sum(1 for o in made if o.state == OccurrenceState.PROPOSED)
    for tenant_id in proposed:
        recount_notices(tenant_id)
    for occurrence in made:
        if occurrence.state == OccurrenceState.PROPOSED:
            policy = occurrence.policy
            policy_event.send(sender=BandwidthPolicy, tenant_id=policy.tenant_id, service=policy.service,
                              event="awaiting", policy_name=policy.name or policy.get_kind_display(),
                              kbps=occurrence.kbps, reason="")
    if planned:
        dispatch.run_due(countdown=0)


def _expire_proposals(now: datetime) -> int:
    expired = list(Occurrence.objects.filter(state=OccurrenceState.PROPOSED, expires_at__lte=now)
                   .values_list("pk", "policy__tenant_id"))
    if not expired:
        return 0
    Occurrence.objects.filter(pk__in=[pk for pk, _t in expired], state=OccurrenceState.PROPOSED).update(
        state=OccurrenceState.SKIPPED, ran_at=now, note=_("Nobody approved it in time: it lapsed."))
    for tenant_id in {t for _pk, t in expired}:
        recount_notices(tenant_id)
    return len(expired)


# -- approvals ----------------------------------------------------------------------------------


def proposal_decide(*, membership: Membership, occurrence: Occurrence, approve: bool,
                    request: SignedInRequest | None = None, now: datetime | None = None) -> Occurrence:
    """A member approves (the change starts now) or declines a proposed change."""
    now = now or timezone.now()
    if not membership.can_write:
        raise PolicyRefused(_("Your role in this tenant is read-only: ask a member to approve changes."))
    policy = occurrence.policy
    if policy.tenant_id != membership.tenant_id:
        raise PolicyRefused(_("No such proposal."))
    with transaction.atomic():
        if approve:
            moved = Occurrence.objects.filter(pk=occurrence.pk, state=OccurrenceState.PROPOSED,
                                              expires_at__gt=now).update(state=OccurrenceState.PLANNED,
                                                                         decided_by=membership.user)
        else:
            moved = Occurrence.objects.filter(pk=occurrence.pk, state=OccurrenceState.PROPOSED).update(
                state=OccurrenceState.SKIPPED, decided_by=membership.user, ran_at=now,
                note=_("Declined by %(who)s.") % {"who": membership.user.get_username()})
        if moved != 1:
            raise PolicyRefused(_("This proposal was already approved, declined, or it lapsed."))
        audit_record(action="policy.approve" if approve else "policy.decline", actor=membership.user,
                     tenant=membership.tenant, object_type="service", object_id=policy.service.ies_service_id,
                     object_label=policy.service.name, request=request,
                     after={"policy": policy.name, "kbps": occurrence.kbps})
    recount_notices(membership.tenant_id)
    if approve:
        run_occurrence(occurrence.pk, now)
    occurrence.refresh_from_db()
    return occurrence

