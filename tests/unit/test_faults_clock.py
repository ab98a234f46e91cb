"""The engine's own times (a container's start and exit), which faults report as "effective", read as epoch seconds."""

from __future__ import annotations

import datetime

import pytest

from chaos.engine import _epoch  # private: the parser behind Engine.state and Engine.log_lines_since


def test_nanosecond_times_keep_their_fraction():
    whole = datetime.datetime(2024, 5, 1, 10, 11, 12, tzinfo=datetime.UTC).timestamp()
    assert _epoch("2024-05-01T10:11:12.123456789Z") == pytest.approx(whole + 0.123456789, abs=1e-6)
    assert _epoch("2024-05-01T10:11:12Z") == whole
    assert _epoch("2024-05-01T12:11:12.5+02:00") == whole + 0.5


def test_docker_zero_time_and_garbage_are_none():
    assert _epoch("0001-01-01T00:00:00Z") is None  # "never": a container that has not stopped yet
    assert _epoch("") is None
    assert _epoch("yesterday") is None
