"""parse_duration: numbers are seconds; strings carry ms, s or m."""

from __future__ import annotations

import pytest

from chaos._internal.durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(0, 0.0), (3, 3.0), (4.5, 4.5), ("4.5s", 4.5), ("500ms", 0.5), ("2m", 120.0), ("7", 7.0), (" 1.5 s ", 1.5), ("0ms", 0.0)],
)
def test_parses(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)
    assert isinstance(parse_duration(value), float)


@pytest.mark.parametrize("value", ["", "s", "4.5h", "-1s", "1e3", ".5s", "five", "4.5 sec", True])
def test_rejects_non_durations(value: object) -> None:
    with pytest.raises(ValueError, match=r"is not a duration; use seconds \(4\.5\) or a string like '4\.5s', '500ms', '2m'"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, -0.5, float("inf"), float("nan")])
def test_rejects_negative_and_infinite_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="a duration is a finite number of seconds, zero or more"):
        parse_duration(value)
