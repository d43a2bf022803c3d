"""When a traffic condition fires, eases off and clears: one value a minute, the newest last."""

import numpy as np
import pytest

from portal.alerts import conditions

nan = np.nan


def util(*values):
    return np.array(values, dtype=float)


def level(values, current="", window=5, warning=80.0, critical=95.0, clear=70.0):
    return conditions.utilisation(util(*values), current=current, window=window, warning=warning, critical=critical,
                                  clear=clear).level


def test_a_level_fires_only_when_every_minute_of_the_window_held_it():
    assert level([50, 85, 85, 85, 85, 85]) == "warning"
    assert level([85, 85, 85, 85, 79.9]) == ""  # the newest minute fell below: not held
    assert level([85, 85, 85, 85]) == ""  # a window not yet covered
    assert level([96, 96, 96, 96, 96]) == "critical"
    assert level([96, 96, 96, 94, 96]) == "warning"  # one minute under critical


def test_a_one_minute_spike_is_no_alert_and_a_missing_minute_proves_nothing():
    assert level([10, 10, 100, 10, 10]) == ""
    assert level([90, 90, nan, 90, 90]) == ""
    assert level([90, 90, nan, 90, 90], current="warning") == "warning"  # nor clears


def test_firing_clears_only_below_the_lower_level_for_the_clearing_minutes():
    assert level([90, 90, 75, 75, 75], current="warning") == "warning"  # under 80 but above the clear level
    assert level([90, 90, 60, 60, 60], current="warning") == ""
    assert level([90, 90, 60, 60, 71], current="warning") == "warning"
    verdict = conditions.utilisation(util(90, 90, 60, 60, 42.5), current="warning", window=5, warning=80, critical=None,
                                     clear=70)
    assert verdict.level == "" and verdict.figure == 42.5


def test_warning_escalates_and_critical_eases_off_to_warning():
    assert level([96] * 5, current="warning") == "critical"
    assert level([90] * 5, current="critical") == "warning"
    assert level([90, 90, 96, 90, 90], current="critical") == "critical"  # a minute at critical: not eased


def test_without_a_clear_level_the_lowest_threshold_clears():
    verdict = conditions.utilisation(util(90, 50, 50, 50), current="critical", window=3, warning=None, critical=95,
                                     clear=None)
    assert verdict.level == ""


@pytest.mark.parametrize(("rates", "current", "expected"), [
    ([5, 5, 5, 5, 5], "", "critical"),
    ([5, 5, 500, 5, 5], "", ""),
    ([5, 5, nan, 5, 5], "", ""),
    ([5, 5, 500, 500, 500], "critical", ""),
    ([5, 5, 5, 500, 500], "critical", "critical"),
])
def test_a_connection_is_quiet_after_the_window_and_back_after_the_clearing_minutes(rates, current, expected):
    verdict = conditions.quiet(util(*rates), current=current, level="critical", window=5, floor=100)
    assert verdict.level == expected
