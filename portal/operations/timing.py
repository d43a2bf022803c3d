"""How long IES operations take, when to look again, and how far along one probably is.

IES gives no percentage, so the portal estimates: the expected duration is the median (and p90) of
the last successes of the same kind and definition, else a default (10 minutes on a real IES).
Polling is sparse early, dense around the expected end, and backs off after it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings


@dataclass(frozen=True)
class Expectation:
    median_s: float
    p90_s: float
    learned: bool  # False: no history yet, the default applies
    samples: int = 0  # how many past operations it was learned from


def default_expectation() -> Expectation:
    seconds = float(settings.OPERATION_DEFAULT_SECONDS)
    return Expectation(median_s=seconds, p90_s=seconds * 1.2, learned=False)


def expectation_from(durations: list[float]) -> Expectation:
    """Median and p90 (nearest rank) of past durations in seconds."""
    if not durations:
        return default_expectation()
    ordered = sorted(durations)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    p90 = ordered[min(n - 1, max(0, -(-9 * n // 10) - 1))]
    return Expectation(median_s=median, p90_s=max(p90, median), learned=True, samples=n)


# How long after IES took an operation a "settled" status is not believed yet (IES may take a moment
# to show the service running), unless its first look comes sooner.
SETTLE_S = 3.0
# The longest wait between two looks at an operation, whatever its phase.
MAX_DELAY_S = 30.0
# Inside the dense window a look every 1.5 % of the expected time, between 1 and 2 s: an end is seen
# at most one step after it happened (half of it on average), within about a second for the one-minute
# operations of a fast IES and within 2 s for a 10-minute one (so 95 % of ends show within 3 s, reads
# and writes included). A tenant's operations share their looks (one list call covers them all), so
# the dense steps cost little each.
DENSE_FRACTION = 0.015
DENSE_MAX_S = 2.0


def next_poll_delay(elapsed_s: float, expected_s: float) -> float:
    """Seconds until the next look at IES.

    Early on an operation is far from done: look rarely (a tenth of the expected time, at most
    30 s). From 80 % of the expected time, look often (1.5 % of it, between 1 and 2 s) so that
    the end is seen within seconds. Past 1.5× the expected time, back off again.
    """
    expected_s = max(expected_s, 1.0)
    dense = min(DENSE_MAX_S, max(1.0, expected_s * DENSE_FRACTION))
    fraction = elapsed_s / expected_s
    if fraction < 0.8:
        sparse = min(MAX_DELAY_S, max(dense, expected_s * 0.1))
        # Never sleep past the start of the dense window.
        return max(dense, min(sparse, expected_s * 0.8 - elapsed_s))
    if fraction < 1.5:
        return dense
    return min(MAX_DELAY_S, dense + (elapsed_s - 1.5 * expected_s) * 0.1)


def give_up_after(expected_s: float) -> timedelta:
    """How long to keep watching before calling an operation stuck (a multiple of the expectation)."""
    return timedelta(seconds=max(expected_s, 1.0) * float(settings.OPERATION_STUCK_FACTOR))


@dataclass(frozen=True)
class Progress:
    percent: int  # 0–99 while running; IES decides 100
    elapsed_s: float
    expected_end: datetime | None
    late: bool  # past p90: "taking longer than usual"


def estimate_progress(*, started_at: datetime | None, now: datetime, expected_s: float, p90_s: float) -> Progress:
    if started_at is None:
        return Progress(percent=0, elapsed_s=0.0, expected_end=None, late=False)
    elapsed = max(0.0, (now - started_at).total_seconds())
    expected_s = max(expected_s, 1.0)
    fraction = elapsed / expected_s
    # Linear up to 90 % at the expected end, then creeping towards 99 %: never claims "done".
    if fraction <= 1:
        percent = fraction * 90
    else:
        percent = 90 + 9 * (1 - 1 / (1 + (fraction - 1) * 2))
    return Progress(
        percent=int(min(99, percent)),
        elapsed_s=elapsed,
        expected_end=started_at + timedelta(seconds=expected_s),
        late=elapsed > p90_s,
    )
