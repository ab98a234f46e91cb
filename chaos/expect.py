"""Waiting for things to become true, built on tenacity, with errors that explain themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from chaos._internal.durations import parse_duration
from chaos.errors import RecoveryTimeout

T = TypeVar("T")


def eventually(probe: Callable[[], T], until: Callable[[T], bool], within: float, interval: float = 0.1, what: str = "a condition") -> float:
    """Call ``probe`` every ``interval`` seconds until ``until(value)`` holds; return the seconds waited.

    Raises:
        RecoveryTimeout: not within ``within`` seconds; carries the last value and the history of changes.

    Example:
        >>> eventually(vip.owners, until=lambda o: o == ["lb2"], within=5, what="lb2 alone holds www")
    """
    __tracebackhide__ = True
    started = time.monotonic()
    history: list[tuple[float, object]] = []

    def record(value: T) -> T:
        if not history or history[-1][1] != value:
            history.append((time.monotonic() - started, value))
        return value

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(within),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda value: not until(value)),
        reraise=True,
    )
    try:
        retrying(lambda: record(probe()))
    except tenacity.RetryError:
        last = history[-1][1] if history else None
        raise RecoveryTimeout(what, within, last, history) from None
    return time.monotonic() - started


def recovers(
    action: Callable[[], T],
    within: float | str,
    interval: float = 0.1,
    what: str | None = None,
    consecutive: int = 1,
    is_ok: Callable[[T], bool] = lambda value: True,
) -> float:
    """Retry ``action`` until it works ``consecutive`` times in a row; return the seconds until the first of those.

    "Works" means it returns without raising and ``is_ok(value)`` holds. Unlike `eventually`,
    an exception is a failed attempt, not an error: it goes into the history, so a timeout
    tells what kept failing and how.

    Raises:
        RecoveryTimeout: not within ``within``; carries the last value (or exception) and the history of changes.

    Example:
        >>> probe = lambda: client.check(["chaos-probe", "http", www.address]).stdout.strip()
        >>> recovers(probe, within="10s", is_ok=lambda name: name == "lb2", what="www to answer from lb2")
        3.41
    """
    __tracebackhide__ = True
    limit = parse_duration(within)
    if consecutive < 1:
        raise ValueError(f"consecutive={consecutive!r}: need at least one success")
    started = time.monotonic()
    history: list[tuple[float, object]] = []
    streak: list[float] = []  # start times of the current run of successes
    label = what or f"{getattr(action, '__name__', 'the action')} to succeed" + (f" {consecutive} times in a row" if consecutive > 1 else "")

    def attempt() -> bool:
        at = time.monotonic() - started
        try:
            value: object = action()
            ok = is_ok(value)  # type: ignore[arg-type]
        except Exception as exc:
            value, ok = f"{type(exc).__name__}: {exc}", False
        if not history or history[-1][1] != value:
            history.append((at, value))
        if ok:
            streak.append(at)
        else:
            streak.clear()
        return len(streak) >= consecutive

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(limit),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda done: not done),
        reraise=True,
    )
    try:
        retrying(attempt)
    except tenacity.RetryError:
        last = history[-1][1] if history else None
        raise RecoveryTimeout(label, limit, last, history) from None
    return streak[0]
