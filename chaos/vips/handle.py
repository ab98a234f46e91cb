"""The VIP handle a test asks: who holds the address now, who held it when, and wait until a member does."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType

from chaos import providers
from chaos._internal.durations import Duration, parse_duration, parse_optional_duration
from chaos._internal.hosts import HostRef, host_name
from chaos._internal.parallel import parallel
from chaos.errors import LabError
from chaos.expect import eventually
from chaos.host import Host, RemoteProcess
from chaos.spec.model import VipSpec
from chaos.vips.history import OwnerHistory
from chaos.vips.observer import OwnerObserver, is_watching
from chaos.vips.owners import Owners
from chaos_inlab import protocol as inlab

WATCHER_START_WAIT = 3.0
"""Seconds `wait_owner` gives the watchers started by `Lab.up` to report before it polls instead."""


class Vip:
    """A running VIP: its address, its members, who holds it, and who held it when.

    ``history`` (an `OwnerHistory`) is kept from the lab's start by one netlink watcher per
    member; `owners` asks the members directly. Both give owners as an `Owners`, which equals
    any list, tuple or set of the same names (``www.owners() == ["lb1"]``).

    `wait_owner` returns once the member holds the address, even while another member still
    holds it too (a preempting master takes it a moment before the old one lets go); with
    ``sole=True`` it waits until the member holds it alone. The examples in this project's
    documentation use the plain form after a failover (the old master is dead, so the new one
    is alone anyway) and ``sole=True`` where both members are alive.

    Example::

        www = lab.vips["www"]
        www.wait_owner("lb1", within="10s", sole=True)
        www.owners()                                     # Owners('lb1'), == ["lb1"]
        www.takeover_window("lb2")                       # (2.609375, 3.609375) for priority 100, advert_int 1
        www.history.as_report()                          # [[0.08, []], [3.39, ['lb1']]]
    """

    def __init__(self, spec: VipSpec, address: str, members: Mapping[str, Host]) -> None:
        self.spec = spec
        self.name = spec.name
        self.address = address
        self.network = spec.network
        self.members = dict(members)
        self.history = OwnerHistory(self.members)
        self._observer: OwnerObserver | None = None

    def __repr__(self) -> str:
        return f"<Vip {self.name} {self.address} members={','.join(self.members)}>"

    def owners(self) -> Owners:
        """The members that have the address on an interface now (a stopped member holds nothing)."""
        held = parallel(lambda host: host.holds(self.address), list(self.members.values()))
        return Owners(name for name, holds in zip(self.members, held, strict=True) if holds)

    def wait_owner(self, host: HostRef, within: Duration = "10s", interval: Duration = 0.05, *, sole: bool = False) -> float:
        """Wait until ``host`` holds the address (with ``sole=True``: holds it alone); return the seconds waited.

        Without ``sole`` it returns as soon as ``host`` holds the address, even if another member
        still holds it as well: right after a preemption, or in a split brain.

        While the history is kept (always, in a lab) it returns the moment the member's
        watcher reports the address; otherwise it polls every ``interval``.

        Raises:
            LabError: ``host`` is not a member.
            RecoveryTimeout: it did not happen in time; ``last`` is the `Owners` seen last, and
                the error lists the owners seen and when.

        Example::

            www.wait_owner("lb2", within="5s")               # lb2 holds it (maybe not alone)
            www.wait_owner("lb1", within="10s", sole=True)   # lb1 holds it and nobody else does
        """
        __tracebackhide__ = True
        member = self._member(host)
        limit = parse_duration(within, "within")
        poll = parse_duration(interval, "interval")
        if sole:
            what = f"{member} alone to hold VIP {self.name} ({self.address})"

            def is_done(owners: Owners) -> bool:
                return owners.sole == member

        else:
            what = f"{member} to hold VIP {self.name} ({self.address})"

            def is_done(owners: Owners) -> bool:
                return member in owners

        waited = 0.0
        if self._observer is not None and not self.history.is_complete:  # just after Lab.up
            started = time.monotonic()
            self._observer.wait_live(min(WATCHER_START_WAIT, limit))
            waited = time.monotonic() - started
            limit = max(0.0, limit - waited)
        if self.is_observed:
            # The watchers report each change as it happens: no polling, no exec per member per poll.
            return waited + self.history.wait_until(is_done, within=limit, what=what)
        return waited + eventually(self.owners, until=is_done, within=limit, interval=poll, what=what)

    def watch_owner(self, host: HostRef, within: Duration = "10s") -> OwnerWatch:
        """A context that records the kernel time at which ``host`` takes the address.

        Start it before the fault; after the block, ``watch.taken_at`` is the epoch time the
        address appeared on ``host`` (None if it did not within ``within`` of the watch's start).

        Example::

            with www.watch_owner("lb2", within="10s") as watch:
                kill_lb1()
            watch.taken_at - fault_time
        """
        return OwnerWatch(self, self._member(host), parse_duration(within, "within"))

    def assert_single_owner(self) -> str:
        """Return the one member holding the address; raise AssertionError naming them otherwise."""
        __tracebackhide__ = True
        owners = self.owners()
        if owners.sole is None:
            raise AssertionError(f"VIP {self.name} ({self.address}) is held by {len(owners)} members: {owners}; expected exactly one")
        return owners.sole

    # -- what the protocol promises ------------------------------------------------------

    def master_down_interval(self, member: HostRef) -> float:
        """Seconds ``member`` (a backup) waits without adverts before it takes over, by the VIP's provider.

        keepalived: RFC 5798's Master_Down_Interval, 3 x advert_int + Skew_Time with the member's
        priority. ucarp: 3 x (advbase + advskew/256), as ucarp really times it (see
        `chaos.providers.ucarp.master_down_interval`).

        Raises:
            LabError: ``member`` is not a member of this VIP.
        """
        return providers.provider(self.spec.provider).master_down_interval(self.spec, self._member(member))

    def takeover_window(self, member: HostRef) -> tuple[float, float]:
        """``(earliest, latest)`` seconds after the master dies at which ``member`` takes over, by the VIP's provider.

        The window is (master_down_interval - the master's advert interval, master_down_interval]:
        the master's last advert left up to one interval before it died (keepalived: RFC 5798;
        ucarp: `chaos.providers.ucarp.takeover_window`). Measure from the engine's exit time of
        the master (``power_off``'s effective time), not from when the kill was asked.

        Raises:
            LabError: ``member`` is not a member of this VIP.

        Example::

            earliest, latest = www.takeover_window("lb2")
            assert earliest - 0.05 <= taken_at - died_at <= latest + 0.05
        """
        return providers.provider(self.spec.provider).takeover_window(self.spec, self._member(member))

    def state(self, member: HostRef) -> str | None:
        """The provider's state on ``member`` as its daemon last announced it on the container's log (None: not known).

        keepalived: MASTER, BACKUP or FAULT; ucarp: MASTER or BACKUP. Read from the member's
        current life only: after ``power_on`` the old announcements do not count.

        Raises:
            LabError: ``member`` is not a member of this VIP.

        Example::

            www.state("lb2")     # 'MASTER' after lb1 powered off
        """
        name = self._member(member)
        return providers.provider(self.spec.provider).state(self.spec, name, self.members[name].logs())

    def _member(self, host: HostRef) -> str:
        name = host_name(host, "host")
        if name not in self.members:
            raise LabError(f"{name!r} is not a member of VIP {self.name!r}; members: {', '.join(self.members)}")
        return name

    # -- observation: the history of owners ---------------------------------------------

    def start_observing(self, origin: float, timeout: Duration | None = None) -> bool:
        """Start keeping `history` (times from ``origin``, the lab's start); the lab does this at `Lab.up`.

        A fresh history replaces the old one. The watchers start in the background (each is
        an exec and a Python start, a few hundred ms on a busy machine); meanwhile, and if one
        cannot start (``history.errors`` says why), `wait_owner` polls instead.

        Args:
            origin: the lab clock's origin, epoch seconds.
            timeout: wait up to this long for every member's first report (None: do not wait).

        Returns:
            Whether every member's state is known (always False without ``timeout``, unless instant).

        Example::

            www.start_observing(lab.timeline.origin, timeout="10s")   # True
        """
        limit = parse_optional_duration(timeout, "timeout")
        self.stop_observing()
        self.history = OwnerHistory(self.members, origin)
        self._observer = OwnerObserver(self.address, self.members, self.history)
        self._observer.start()
        return self._observer.wait_live(limit) if limit is not None else self.history.is_complete

    def stop_observing(self, kill_watchers: bool = True) -> None:
        """Stop keeping `history` (it stays readable); ``kill_watchers=False`` when the lab is about to go anyway."""
        if self._observer is not None:
            self._observer.stop(kill_watchers)
            self._observer = None

    @property
    def is_observed(self) -> bool:
        """Whether watchers keep `history` up to date and every member's state is known."""
        return self._observer is not None and self.history.is_complete

    def as_report(self) -> dict[str, object]:
        """The VIP's entry in the test report (owners as JSON lists).

        Example::

            www.as_report()
            # {'name': 'www', 'address': '172.18.255.254', 'owners': [[0.05, []], [3.41, ['lb1']]], 'max_simultaneous_owners': 1}
        """
        return {
            "name": self.name,
            "address": self.address,
            "owners": self.history.as_report(),
            "max_simultaneous_owners": self.history.max_simultaneous_owners,
        }


class OwnerWatch:
    """Watches one member for the moment it takes a VIP (a ``chaos-addrwatch`` in it); use through `Vip.watch_owner`.

    Attributes:
        taken_at: the epoch time (kernel clock) the address appeared on the member; None if it did not.
        was_held_already: the member held the address when the watch began (``taken_at`` is then that moment).
    """

    def __init__(self, vip: Vip, host: str, within: float) -> None:
        self.vip = vip
        self.host = host
        self.within = within
        self.taken_at: float | None = None
        self.was_held_already = False
        self._taken = threading.Event()
        self._started = 0.0
        self._watcher = RemoteProcess(
            vip.members[host], inlab.addrwatch_argv(vip.address), self._take, ready=is_watching, name=f"watch for {host} to take VIP {vip.name}"
        )

    def __enter__(self) -> OwnerWatch:
        self._started = time.monotonic()
        self._watcher.start().wait_ready()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._taken.wait(max(0.0, self.within - (time.monotonic() - self._started)))
        finally:
            self._watcher.stop()

    def _take(self, line: str) -> None:
        parsed = inlab.parse_watch_line(line)
        if self.taken_at is not None or parsed is None or not parsed.held:
            return
        self.taken_at, self.was_held_already = parsed.at, parsed.is_start
        self._taken.set()
