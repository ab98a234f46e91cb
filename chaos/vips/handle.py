"""The VIP handle a test asks: who holds the address now, who held it when, and wait until a member does."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from chaos._internal.durations import parse_duration
from chaos.errors import LabError
from chaos.expect import eventually
from chaos.host import Host
from chaos.spec.model import VipSpec
from chaos.vips.history import OwnerHistory
from chaos.vips.observer import OwnerObserver

WATCHER_START_WAIT = 3.0
"""Seconds `wait_owner` gives the watchers started by `Lab.up` to report before it polls instead."""


class Vip:
    """A running VIP: its address, its members, who holds it, and who held it when.

    ``history`` (an `OwnerHistory`) is kept from the lab's start by one netlink watcher per
    member; `owners` asks the members directly.

    Example:
        >>> www = lab.vips["www"]
        >>> www.wait_owner("lb1", within="10s")
        >>> www.owners()
        ['lb1']
        >>> www.history.as_report(), www.history.max_simultaneous_owners
        ([[0.08, []], [3.39, ['lb1']]], 1)
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

    def owners(self) -> list[str]:
        """The members that have the address on an interface now (a stopped member holds nothing)."""
        with ThreadPoolExecutor(max_workers=len(self.members)) as pool:
            held = list(pool.map(lambda host: host.holds(self.address), self.members.values()))
        return [name for name, holds in zip(self.members, held, strict=True) if holds]

    def wait_owner(self, host: str, within: str | float = "10s", interval: float = 0.05) -> float:
        """Wait until ``host`` holds the address; return the seconds waited.

        While the history is kept (always, in a lab) it returns the moment the member's
        watcher reports the address; otherwise it polls every ``interval`` seconds.

        Raises:
            LabError: ``host`` is not a member.
            RecoveryTimeout: it did not happen in time; the error lists the owners seen and when.
        """
        __tracebackhide__ = True
        if host not in self.members:
            raise LabError(f"{host!r} is not a member of VIP {self.name!r}; members: {', '.join(self.members)}")
        what = f"{host} to hold VIP {self.name} ({self.address})"
        limit, waited = parse_duration(within), 0.0
        if self._observer is not None and not self.history.is_complete:  # just after Lab.up
            started = time.monotonic()
            self._observer.wait_live(min(WATCHER_START_WAIT, limit))
            waited = time.monotonic() - started
            limit = max(0.0, limit - waited)
        if self.is_observed:
            # The watchers report each change as it happens: no polling, no exec per member per poll.
            return waited + self.history.wait_until(lambda owners: host in owners, within=limit, what=what)
        return waited + eventually(self.owners, until=lambda owners: host in owners, within=limit, interval=interval, what=what)

    def watch_owner(self, host: str, within: str | float = "10s") -> OwnerWatch:
        """A context that records the kernel time at which ``host`` takes the address.

        Start it before the fault; after the block, ``watch.taken_at`` is the epoch time the
        address appeared on ``host`` (None if it did not within ``within``).

        Example:
            >>> with www.watch_owner("lb2", within="10s") as watch:
            ...     kill_lb1()
            >>> watch.taken_at - fault_time
        """
        if host not in self.members:
            raise LabError(f"{host!r} is not a member of VIP {self.name!r}; members: {', '.join(self.members)}")
        return OwnerWatch(self, host, parse_duration(within))

    def assert_single_owner(self) -> str:
        """Return the one member holding the address; raise AssertionError naming them otherwise."""
        __tracebackhide__ = True
        owners = self.owners()
        if len(owners) != 1:
            raise AssertionError(f"VIP {self.name} ({self.address}) is held by {len(owners)} members: {owners or 'none'}; expected exactly one")
        return owners[0]

    # -- observation: the history of owners ---------------------------------------------

    def start_observing(self, origin: float, timeout: float | None = None) -> bool:
        """Start keeping `history` (times from ``origin``, the lab's start); the lab does this at `Lab.up`.

        A fresh history replaces the old one. The watchers start in the background (each is
        an exec and a Python start, a few hundred ms on a busy machine); meanwhile, and if one
        cannot start (``history.errors`` says why), `wait_owner` polls instead.

        Args:
            origin: the lab clock's origin, epoch seconds.
            timeout: wait up to this many seconds for every member's first report (None: do not wait).

        Returns:
            Whether every member's state is known (always False without ``timeout``, unless instant).

        Example:
            >>> www.start_observing(lab.timeline.origin, timeout=10)
            True
        """
        self.stop_observing()
        self.history = OwnerHistory(self.members, origin)
        self._observer = OwnerObserver(self.address, self.members, self.history)
        self._observer.start()
        return self._observer.wait_live(timeout) if timeout is not None else self.history.is_complete

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
        """The VIP's entry in the test report (DESIGN.md section 6).

        Example:
            >>> www.as_report()
            {'name': 'www', 'address': '172.18.255.254', 'owners': [[0.05, []], [3.41, ['lb1']]], 'max_simultaneous_owners': 1}
        """
        return {
            "name": self.name,
            "address": self.address,
            "owners": self.history.as_report(),
            "max_simultaneous_owners": self.history.max_simultaneous_owners,
        }


# Runs inside the member: netlink tells the moment the address is added, to the millisecond,
# on the kernel clock the runner shares (no polling delay in the figure).
_WATCH_SCRIPT = """
import subprocess, sys, time
address = sys.argv[1]
monitor = subprocess.Popen(["ip", "-o", "-4", "monitor", "address"], stdout=subprocess.PIPE, text=True)
held = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
print("watching", flush=True)
if " %s/" % address in held:
    print("held", repr(time.time()), flush=True)
    sys.exit(0)
for line in monitor.stdout:
    if " %s/" % address in line and not line.startswith("Deleted"):
        print("added", repr(time.time()), flush=True)
        break
"""


class OwnerWatch:
    """Watches one member for the moment it takes a VIP; use through `Vip.watch_owner`."""

    def __init__(self, vip: Vip, host: str, within: float) -> None:
        self.vip = vip
        self.host = host
        self.within = within
        self.taken_at: float | None = None
        self.was_held_already = False
        self._watching = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watch-{vip.name}-{host}", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> OwnerWatch:
        self._thread.start()
        if not self._watching.wait(timeout=10):
            raise LabError(f"could not start watching {self.host} for VIP {self.vip.name}: {self._error or 'no answer in 10 s'}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join(timeout=self.within)

    def _watch(self) -> None:
        argv = ["timeout", f"{self.within:g}", "python3", "-c", _WATCH_SCRIPT, self.vip.address]
        try:
            for line in self.vip.members[self.host].stream(argv):
                word, _, value = line.partition(" ")
                if word == "watching":
                    self._watching.set()
                elif word in ("added", "held"):
                    self.taken_at = float(value)
                    self.was_held_already = word == "held"
        except BaseException as exc:  # reported by __enter__ or by the caller reading taken_at
            self._error = exc
        finally:
            self._watching.set()
