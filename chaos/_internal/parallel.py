"""The one helper for parallel work: run a function on every item at once, in threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar, overload

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 16
"""Most calls are a Docker API round trip each; 16 threads keep a 100-host lab moving on two cores."""


@overload
def parallel(work: Callable[[T], R], items: Iterable[T], *, return_exceptions: Literal[False] = False) -> list[R]: ...
@overload
def parallel(work: Callable[[T], R], items: Iterable[T], *, return_exceptions: Literal[True]) -> list[R | Exception]: ...


def parallel(work: Callable[[T], R], items: Iterable[T], *, return_exceptions: bool = False) -> list[R] | list[R | Exception]:
    """``[work(item) for item in items]``, run at once; results in the order of ``items``.

    Every call finishes before this returns, even when one fails or the caller is interrupted
    (a KeyboardInterrupt never leaves a creation in flight behind the teardown that follows).

    Args:
        work: what to do with one item.
        items: the items.
        return_exceptions: give an item's exception in its place instead of raising (as
            ``asyncio.gather`` does); otherwise the first item's error (in item order) is raised
            after all have finished, the others attached to it as notes.

    Example:
        >>> parallel(lambda n: n * n, [1, 2, 3])
        [1, 4, 9]
        >>> parallel(lambda n: 1 // n, [1, 0], return_exceptions=True)
        [1, ZeroDivisionError('integer division or modulo by zero')]
    """
    items = list(items)
    outcomes: list[R | Exception] = []
    if len(items) <= 1:
        for item in items:
            try:
                outcomes.append(work(item))
            except Exception as exc:
                outcomes.append(exc)
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items))) as pool:
            futures = [pool.submit(work, item) for item in items]
            try:
                for future in futures:
                    error = future.exception()
                    outcomes.append(future.result() if error is None else error)  # type: ignore[arg-type]  # error is an Exception here
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    interrupt = next((o for o in outcomes if not isinstance(o, Exception) and isinstance(o, BaseException)), None)
    if interrupt is not None:  # a KeyboardInterrupt or SystemExit in a worker is the caller's, never a result
        raise interrupt
    if return_exceptions:
        return outcomes
    errors = [o for o in outcomes if isinstance(o, Exception)]
    if errors:
        first = errors[0]
        for other in errors[1:]:
            first.add_note(f"also failed: {type(other).__name__}: {other}")
        raise first
    return outcomes
