"""`eventually`: returns when the condition holds, else a RecoveryTimeout that explains itself."""

from __future__ import annotations

import itertools

import pytest
import tenacity

from chaos import RecoveryTimeout, eventually
from chaos._internal.durations import parse_duration
from chaos.errors import UsageError


def test_returns_the_seconds_waited_once_the_condition_holds():
    counter = itertools.count()
    waited = eventually(lambda: next(counter), until=lambda n: n >= 3, within=2, interval=0.01)
    assert 0.02 <= waited < 1


def test_timeout_carries_what_was_awaited_the_last_value_and_the_history():
    values = iter(["a", "a", "b"] + ["c"] * 1000)
    with pytest.raises(RecoveryTimeout) as info:
        eventually(lambda: next(values), until=lambda v: v == "z", within=0.1, interval=0.01, what="the value to be z")
    error = info.value
    assert isinstance(error, AssertionError)
    assert error.last == "c"
    assert [value for _, value in error.history] == ["a", "b", "c"]
    assert str(error).startswith("timed out after 0.1s waiting for the value to be z; last seen 'c'; history: 0.00s: 'a'")


def test_an_exception_in_the_probe_is_not_swallowed():
    def probe() -> int:
        raise OSError("engine gone")

    with pytest.raises(OSError, match="engine gone"):
        eventually(probe, until=lambda v: True, within=1)


def test_within_and_interval_take_durations_with_units():
    """`eventually(within="5s")` failed inside tenacity before durations were parsed at the entry point."""
    counter = itertools.count()
    waited = eventually(lambda: next(counter), until=lambda n: n >= 3, within="5s", interval="10ms")
    assert 0.02 <= waited < 1


def test_the_timeout_names_the_limit_in_seconds_when_given_with_a_unit():
    with pytest.raises(RecoveryTimeout) as info:
        eventually(lambda: 1, until=lambda v: v == 2, within="50ms", interval="10ms", what="two")
    assert info.value.within == 0.05
    assert str(info.value).startswith("timed out after 0.05s waiting for two; last seen 1")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"within": "soon"}, ("soon", "within")),
        ({"within": -1}, (-1, "within")),
        ({"within": 1, "interval": "fast"}, ("fast", "interval")),
    ],
)
def test_bad_durations_are_usage_errors_naming_the_parameter(arguments, message):
    """The message is the duration parser's own, naming the parameter."""
    with pytest.raises(UsageError) as expected:
        parse_duration(*message)
    with pytest.raises(UsageError) as info:
        eventually(lambda: 1, until=lambda v: True, **arguments)
    assert str(info.value) == str(expected.value) and f"{message[1]}=" in str(info.value)


def test_eventually_is_built_on_tenacity(monkeypatch):
    """The one retry loop: eventually hands its schedule to tenacity instead of sleeping by hand."""
    calls = []
    real = tenacity.Retrying

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(tenacity, "Retrying", spy)
    eventually(lambda: 1, until=lambda v: True, within="1s")
    assert len(calls) == 1
