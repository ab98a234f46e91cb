"""`eventually`: returns when the condition holds, else a RecoveryTimeout that explains itself."""

from __future__ import annotations

import itertools

import pytest

from chaos import RecoveryTimeout, eventually


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
