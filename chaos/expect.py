"""Waiting for things to become true, built on tenacity, with errors that explain themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from chaos._internal.durations import Duration, parse_duration
from chaos.errors import RecoveryTimeout, UsageError

T = TypeVar("T")


def eventually(probe: Callable[[], T], until: Callable[[T], bool], within: Duration, interval: Duration = 0.1, what: str = "a condition") -> float:
    """Call ``probe`` every ``interval`` until ``until(value)`` holds; return the seconds waited.

    An exception from ``probe`` or ``until`` is not a failed attempt: it ends the wait and
    propagates (use `recovers` to retry through errors).

    Args:
        probe: reads the current value (``vip.owners``).
        until: whether the value is the one awaited.
        within: how long to wait at most: seconds, or a string such as ``"5s"``, ``"500ms"``.
        interval: the pause between two probes, a duration like ``within``.
        what: what is awaited, for the message.

    Raises:
        RecoveryTimeout: not within ``within``; carries the last value and the history of changes.
        UsageError: ``within`` or ``interval`` is not a duration.

    Example:
        >>> from itertools import count
        >>> calls = count()
        >>> waited = eventually(lambda: next(calls), until=lambda n: n >= 2, within="2s", interval="10ms")
        >>> 0 < waited < 2
        True
    """
    __tracebackhide__ = True
    limit = parse_duration(within, "within")
    pause = parse_duration(interval, "interval")
    started = time.monotonic()
    history: list[tuple[float, object]] = []

    def record(value: T) -> T:
        if not history or history[-1][1] != value:
            history.append((time.monotonic() - started, value))
        return value

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(limit),
        wait=tenacity.wait_fixed(pause),
        retry=tenacity.retry_if_result(lambda value: not until(value)),
        reraise=True,
    )
    try:
        retrying(lambda: record(probe()))
    except tenacity.RetryError:
        last = history[-1][1] if history else None
        raise RecoveryTimeout(what, limit, last, history) from None
    return time.monotonic() - started


def recovers(
    action: Callable[[], T],
    within: Duration,
    interval: Duration = 0.1,
    what: str | None = None,
    consecutive: int = 1,
    is_ok: Callable[[T], bool] = lambda value: True,
) -> float:
    """Retry ``action`` until it works ``consecutive`` times in a row; return the seconds until the first of those.

    "Works" means it returns without raising and ``is_ok(value)`` holds. Unlike `eventually`,
    an exception is a failed attempt, not an error: it goes into the history, so a timeout
    tells what kept failing and how.

    Args:
        action: the attempt (a request, a probe).
        within: how long to keep trying: seconds, or a string such as ``"10s"``.
        interval: the pause between two attempts, a duration like ``within``.
        what: what is awaited, for the message (default: the action's name).
        consecutive: successes in a row that count as recovered (1 or more).
        is_ok: whether a returned value is a success.

    Raises:
        RecoveryTimeout: not within ``within``; carries the last value (or exception) and the history of changes.
        UsageError: ``within`` or ``interval`` is not a duration, or ``consecutive`` is not a count of 1 or more.

    Example::

        probe = lambda: client.check(["chaos-probe", "http", www.address]).stdout.strip()
        recovers(probe, within="10s", is_ok=lambda name: name == "lb2", what="www to answer from lb2")
    """
    __tracebackhide__ = True
    limit = parse_duration(within, "within")
    pause = parse_duration(interval, "interval")
    if isinstance(consecutive, bool) or not isinstance(consecutive, int) or consecutive < 1:
        raise UsageError(f"consecutive={consecutive!r} is not a count of successes; need at least one success (a whole number, 1 or more)")
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
        wait=tenacity.wait_fixed(pause),
        retry=tenacity.retry_if_result(lambda done: not done),
        reraise=True,
    )
    try:
        retrying(attempt)
    except tenacity.RetryError:
        last = history[-1][1] if history else None
        raise RecoveryTimeout(label, limit, last, history) from None
    return streak[0]
