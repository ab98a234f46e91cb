"""Per-object state under typed keys, as pytest's ``item.stash``: modules keep what they know about a lab on the lab."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class StashKey(Generic[T]):
    """A key whose value type is known: ``SWEPT = StashKey[set[str]]("swept")``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<StashKey {self.name}>"


class Stash:
    """A typed, thread-safe mapping from `StashKey` to value; lives and dies with its owner (a lab).

    Example:
        >>> COUNT = StashKey[list[int]]("count")
        >>> stash = Stash()
        >>> stash.setdefault(COUNT, list).append(1)
        >>> stash[COUNT]
        [1]
    """

    def __init__(self) -> None:
        self._values: dict[object, object] = {}  # keys are StashKeys; each value has its key's type
        self._lock = threading.RLock()  # a factory may itself use the stash (a shell pool made on first use)

    def __getitem__(self, key: StashKey[T]) -> T:
        return cast(T, self._values[key])

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        with self._lock:
            self._values[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: StashKey[T], default: T | None = None) -> T | None:
        return cast("T | None", self._values.get(key, default))

    def setdefault(self, key: StashKey[T], factory: Callable[[], T]) -> T:
        """The value under ``key``, made by ``factory()`` the first time (atomically)."""
        with self._lock:
            if key not in self._values:
                self._values[key] = factory()
            return cast(T, self._values[key])
