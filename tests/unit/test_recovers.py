"""`recovers`: retries through failures (exceptions included) and says what kept failing when it gives up."""

from __future__ import annotations

import itertools
import re

import pytest

from chaos import RecoveryTimeout
from chaos._internal.durations import parse_duration
from chaos.errors import UsageError
from chaos.expect import recovers


def flaky(failures: int, value: str = "lb2"):
    """An action that raises ``failures`` times, then returns ``value``."""
    calls = itertools.count()

    def action() -> str:
        if next(calls) < failures:
            raise ConnectionRefusedError("connection refused")
        return value

    return action


def test_returns_the_seconds_until_the_first_success():
    waited = recovers(flaky(3), within="2s", interval=0.01)
    assert 0.02 <= waited < 1


def test_consecutive_successes_are_timed_from_the_first_of_the_run():
    answers = iter(["lb1", "lb2", "lb1", "lb2", "lb2", "lb2"] + ["lb2"] * 100)
    waited = recovers(lambda: next(answers), within=2, interval=0.01, consecutive=3, is_ok=lambda name: name == "lb2")
    assert 0.025 <= waited < 1  # the run that counts starts at the fourth call


def test_timeout_carries_the_last_failure_and_the_history_of_changes():
    answers = iter(["lb1", "lb1"])

    def action() -> str:
        try:
            return next(answers)
        except StopIteration:
            raise TimeoutError("timed out") from None

    with pytest.raises(RecoveryTimeout) as info:
        recovers(action, within=0.1, interval=0.01, is_ok=lambda name: name == "lb2", what="www to answer from lb2")
    error = info.value
    assert error.last == "TimeoutError: timed out"
    assert [value for _, value in error.history] == ["lb1", "TimeoutError: timed out"]
    assert str(error).startswith("timed out after 0.1s waiting for www to answer from lb2; last seen 'TimeoutError: timed out'")


def test_a_nameless_wait_names_the_action():
    def probe_www() -> bool:
        raise OSError("no route")

    with pytest.raises(RecoveryTimeout, match="waiting for probe_www to succeed 2 times in a row"):
        recovers(probe_www, within=0.05, interval=0.01, consecutive=2)


@pytest.mark.parametrize("consecutive", [0, -1, 1.5, True])
def test_consecutive_must_be_a_positive_count(consecutive):
    """A usage error a user can catch as a ChaosError (it was a plain ValueError)."""
    with pytest.raises(UsageError, match="at least one success"):
        recovers(lambda: True, within=1, consecutive=consecutive)


def test_within_and_interval_take_durations_with_units():
    assert recovers(flaky(2), within="2s", interval="10ms") < 1
    with pytest.raises(UsageError) as expected:
        parse_duration("often", "interval")
    with pytest.raises(UsageError, match=re.escape(str(expected.value))):
        recovers(lambda: True, within="1s", interval="often")
