"""Who held a VIP when: member address changes on the lab clock, and the figures drawn from them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chaos._internal.durations import Duration, parse_duration
from chaos.errors import RecoveryTimeout, UsageError
from chaos.vips.owners import Owners


@dataclass(frozen=True)
class OwnerEvent:
    """One member's address state changing (or first seen), in seconds on the lab clock.

    ``cause`` says how it was learnt: ``held``/``free`` (the state when watching began),
    ``added``/``deleted`` (a netlink notification in the member), ``gone`` (the member's
    host container stopped: a stopped host holds nothing).
    """

    at: float
    member: str
    holds: bool
    cause: str


@dataclass(frozen=True)
class OwnerPeriod:
    """A stretch of time during which the same members held the address (``end`` None: still so)."""

    start: float
    end: float | None
    owners: Owners

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


@dataclass(frozen=True)
class Handover:
    """The address passing from one sole owner to another, and what lay between.

    ``released`` is when ``previous`` stopped being the sole owner, ``taken`` when ``owner``
    became it; ``via`` lists the owner sets in between: ``((),)`` when nobody held the
    address (the usual failover), ``(("lb1", "lb2"),)`` when both did for a while (each an `Owners`).
    """

    previous: str
    owner: str
    released: float
    taken: float
    via: tuple[Owners, ...]

    @property
    def seconds(self) -> float:
        """How long the change took: from the old owner's release to the new owner's taking it."""
        return self.taken - self.released

    @property
    def was_shared(self) -> bool:
        return any(len(owners) > 1 for owners in self.via)


class OwnerHistory:
    """The record of which members held a VIP, fed by watchers and read by tests, SLOs and reports.

    Times are seconds on the lab clock (``origin`` is the lab's start, epoch seconds).
    Recording is thread-safe; every reader computes from a snapshot.

    Example::

        history = www.history
        history.as_report()
        # [[0.052, []], [3.41, ['lb1']], [9.02, ['lb2']]]
        history.max_simultaneous_owners
        # 1
        [round(h.seconds, 2) for h in history.handovers]
        # [3.52]
    """

    def __init__(self, members: Iterable[str], origin: float = 0.0) -> None:
        self.members: tuple[str, ...] = tuple(members)
        self.origin = origin
        self.errors: list[str] = []
        self._events: list[OwnerEvent] = []
        self._known: set[str] = set()
        self._changed = threading.Condition()

    def __repr__(self) -> str:
        return f"<OwnerHistory members={','.join(self.members)} events={len(self._events)} owners={self.owners}>"

    # -- recording ----------------------------------------------------------------

    def record(self, member: str, holds: bool, epoch: float, cause: str) -> None:
        """Record that ``member`` holds (or not) the address since ``epoch`` (seconds since 1970)."""
        if member not in self.members:
            raise UsageError(f"{member!r} is not a member; members: {', '.join(self.members)}")
        with self._changed:
            self._events.append(OwnerEvent(epoch - self.origin, member, holds, cause))
            self._known.add(member)
            self._changed.notify_all()

    def record_error(self, text: str) -> None:
        with self._changed:
            self.errors.append(text)
            self._changed.notify_all()

    @property
    def is_complete(self) -> bool:
        """Whether the state of every member is known (each watcher has reported at least once)."""
        with self._changed:
            return self._known.issuperset(self.members)

    def wait_complete(self, within: Duration, gave_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait until `is_complete` (every watcher has reported); False if not within ``within`` or once ``gave_up()``.

        Wakes at each recorded event or error, so ``gave_up`` is asked whenever something is recorded.
        """
        limit = parse_duration(within, "within")
        with self._changed:
            self._changed.wait_for(lambda: self._known.issuperset(self.members) or gave_up(), limit)
            return self._known.issuperset(self.members)

    # -- reading --------------------------------------------------------------------

    @property
    def events(self) -> list[OwnerEvent]:
        """Every recorded event in time order (watchers report concurrently, so not in arrival order)."""
        with self._changed:
            events = list(self._events)
        return sorted(events, key=lambda e: e.at)

    @property
    def periods(self) -> list[OwnerPeriod]:
        """Consecutive stretches of one set of owners, from the first event on; the last one is open."""
        return _periods(self.events, self.members)

    @property
    def owners(self) -> Owners:
        """The members holding the address according to the latest events (none before the first event)."""
        periods = self.periods
        return periods[-1].owners if periods else Owners()

    def owners_at(self, at: float) -> Owners:
        """The members holding the address at ``at`` seconds on the lab clock (none before the first event)."""
        held = Owners()
        for period in self.periods:
            if period.start > at:
                break
            held = period.owners
        return held

    @property
    def max_simultaneous_owners(self) -> int:
        """The largest number of members that held the address at the same time (2 or more: split brain).

        Strict: a preempting master adds the address a millisecond before the old master,
        having heard its advert, removes it, and that millisecond counts. See
        `max_owners_lasting` to ignore such handover overlaps.
        """
        return max((len(p.owners) for p in self.periods), default=0)

    def max_owners_lasting(self, seconds: Duration) -> int:
        """The largest number of simultaneous owners that lasted at least ``seconds`` (an open period lasts).

        Example::

            www.history.max_owners_lasting("50ms")     # ignore preemption handovers (~1 ms): 1
        """
        least = parse_duration(seconds, "seconds")
        return max((len(p.owners) for p in self.periods if p.duration is None or p.duration >= least), default=0)

    @property
    def shared_periods(self) -> list[OwnerPeriod]:
        """The stretches during which two or more members held the address."""
        return [p for p in self.periods if len(p.owners) > 1]

    @property
    def handovers(self) -> list[Handover]:
        """Each time the address passed from one sole owner to another, with how long that took."""
        found: list[Handover] = []
        last_sole: OwnerPeriod | None = None
        between: list[Owners] = []
        for period in self.periods:
            if len(period.owners) != 1:
                if last_sole is not None:
                    between.append(period.owners)
                continue
            if last_sole is not None and period.owners != last_sole.owners:
                released = last_sole.end if last_sole.end is not None else period.start
                found.append(Handover(last_sole.owners[0], period.owners[0], released, period.start, tuple(between)))
            last_sole, between = period, []
        return found

    def as_report(self) -> list[list[object]]:
        """``[[seconds, [owners]], ...]``: each change of owners on the lab clock (the report format; owners as JSON lists).

        Example::

            www.history.as_report()
            # [[0.05, []], [3.41, ['lb1']], [9.02, ['lb2']]]
        """
        return [[round(p.start, 3), list(p.owners)] for p in self.periods]

    # -- waiting --------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[Owners], bool], within: Duration, what: str = "the VIP's owners to match") -> float:
        """Block until ``predicate(owners)`` holds (``owners`` an `Owners`); return the seconds waited.

        Wakes at each recorded event, so it returns the moment a watcher reports the change.
        `Owners` equals any list, tuple or set of the same names, so ``owners == ["lb1", "lb2"]``
        matches whatever order the members were found in.

        Raises:
            RecoveryTimeout: not within ``within``; carries the last `Owners` and the changes
                seen during the wait (seconds since the wait began).

        Example::

            www.history.wait_until(lambda owners: owners == ["lb2"], within="5s", what="lb2 alone holds www")
        """
        __tracebackhide__ = True
        limit = parse_duration(within, "within")
        started = time.monotonic()
        began_at = time.time() - self.origin
        with self._changed:
            if self._changed.wait_for(lambda: predicate(self._current()), limit):
                return time.monotonic() - started
            current = self._current()
        seen: list[tuple[float, object]] = [(max(0.0, p.start - began_at), p.owners) for p in self.periods if p.end is None or p.end >= began_at]
        raise RecoveryTimeout(what, limit, current, seen)

    def _current(self) -> Owners:
        periods = _periods(sorted(self._events, key=lambda e: e.at), self.members)
        return periods[-1].owners if periods else Owners()


def _periods(events: list[OwnerEvent], members: tuple[str, ...]) -> list[OwnerPeriod]:
    """Fold time-ordered events into periods of constant owners; events at one instant count together."""
    holding: dict[str, bool] = {}
    periods: list[OwnerPeriod] = []
    index = 0
    while index < len(events):
        at = events[index].at
        while index < len(events) and events[index].at == at:
            holding[events[index].member] = events[index].holds
            index += 1
        owners = Owners(m for m in members if holding.get(m, False))
        if periods and periods[-1].owners == owners:
            continue
        if periods:
            last = periods[-1]
            periods[-1] = OwnerPeriod(last.start, at, last.owners)
        periods.append(OwnerPeriod(at, None, owners))
    return periods
