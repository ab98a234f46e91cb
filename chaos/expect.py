"""Waiting for things to become true, built on tenacity, with errors that explain themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

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
