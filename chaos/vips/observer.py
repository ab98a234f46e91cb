"""Keep a VIP's owner history up to date: one long-running address watcher per member, streamed back."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from chaos._internal.durations import Duration
from chaos._internal.parallel import parallel
from chaos.engine import ContainerGone
from chaos.errors import ChaosError
from chaos.host import Host, RemoteProcess
from chaos.vips.history import OwnerHistory
from chaos_inlab import protocol as inlab

WATCHER = inlab.ADDRWATCH
"""The in-lab program: netlink address notifications as lines (``watching PID TIME held|free``, ``added TIME``, ``deleted TIME``)."""

RESTART_PAUSE = 0.2
"""Seconds between looks at a stopped host (is it back?) and between restarts of a failed watcher."""

MAX_FAILED_STARTS = 3
"""A watcher that dies this many times in a row on a running host is given up (the image lacks it?)."""

STOP_GRACE = 2.0
"""Seconds `OwnerObserver.stop` gives each watcher to end after SIGTERM before it is killed."""


class OwnerObserver:
    """Streams ``chaos-addrwatch`` from every member of a VIP into an `OwnerHistory`.

    Why a watcher per member rather than polling: an exec costs about 50 ms, so polling two
    members every 50 ms keeps a core busy and still misses a change by up to a poll; the
    kernel's netlink notification gives each change the moment it happens, for one idle
    process per member. When a member's host stops (power off), its stream ends: the member
    is recorded as holding nothing from then on, and its watcher starts again when the host
    is back. Each watcher is a `RemoteProcess`; a thread per member restarts it.

    Example::

        observer = OwnerObserver(www.address, www.members, www.history)
        observer.start(); observer.wait_live("10s")
        observer.stop()
    """

    def __init__(self, address: str, members: Mapping[str, Host], history: OwnerHistory) -> None:
        self.address = address
        self.members = dict(members)
        self.history = history
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # between stop() and a member thread starting a new watcher
        self._watchers: dict[str, RemoteProcess] = {}
        self._given_up: set[str] = set()
        self._threads = [
            threading.Thread(target=self._follow, args=(name, host), name=f"owners-{address}-{name}", daemon=True)
            for name, host in self.members.items()
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_live(self, within: Duration) -> bool:
        """Wait until every member's state is known; False if that did not happen within ``within`` (or every watcher gave up)."""
        return self.history.wait_complete(within, gave_up=lambda: self._given_up.issuperset(self.members))

    def stop(self, kill_watchers: bool = True) -> None:
        """Stop following; with ``kill_watchers``, end the in-lab processes too (not needed when the lab goes down)."""
        with self._lock:
            self._stopping.set()
            watchers = list(self._watchers.values())
        if kill_watchers:
            parallel(lambda watcher: watcher.stop("TERM", STOP_GRACE), watchers)
            for thread in self._threads:
                thread.join(timeout=STOP_GRACE)

    def _watch(self, name: str, host: Host) -> RemoteProcess | None:
        """Start a watcher on ``host``; None when stopping."""
        with self._lock:
            if self._stopping.is_set():
                return None
            watcher = RemoteProcess(
                host,
                inlab.addrwatch_argv(self.address),
                lambda line: self._take(name, line),
                ready=is_watching,
                name=f"{WATCHER} for {name}",
            )
            self._watchers[name] = watcher
            return watcher.start()

    def _follow(self, name: str, host: Host) -> None:
        failed_starts = 0
        while True:
            watcher = self._watch(name, host)
            if watcher is None:
                return
            watcher.join()
            if watcher.error is not None and not isinstance(watcher.error, ContainerGone):  # an engine hiccup: say so, then try again
                self.history.record_error(f"{name}: watcher stream failed: {watcher.error}")
            if self._stopping.is_set():
                return
            try:
                running = host.is_running()
            except ChaosError:
                running = False
            if not running:
                failed_starts = 0
                # The engine's exit time (FinishedAt), the clock power_off's "effective" uses too: the
                # address goes with the namespace, which the engine tears down as it records the exit.
                try:
                    stopped = host.stopped_at()
                except ChaosError:
                    stopped = None
                self.history.record(name, False, stopped if stopped is not None else watcher.ended_at or 0.0, "gone")
                while not self._stopping.wait(RESTART_PAUSE):
                    try:
                        if host.is_running():
                            break
                    except ChaosError:
                        continue
                continue
            failed_starts = 0 if watcher.is_ready else failed_starts + 1
            if failed_starts >= MAX_FAILED_STARTS:
                self._given_up.add(name)  # before the error, whose record wakes `wait_live`
                self.history.record_error(f"{name}: {WATCHER} did not start {MAX_FAILED_STARTS} times on a running host; not watching it any more")
                return
            self._stopping.wait(RESTART_PAUSE)

    def _take(self, name: str, line: str) -> None:
        """Record one watcher line."""
        parsed = inlab.parse_watch_line(line)
        if parsed is not None:
            self.history.record(name, parsed.held, parsed.at, parsed.reason)
            return
        fields = line.split()
        if fields and fields[0] not in inlab.WATCH_WORDS:
            self.history.record_error(f"{name}: {line.strip()}")


def is_watching(line: str) -> bool:
    """Whether ``line`` is the watcher's first (it is subscribed, and says the state)."""
    parsed = inlab.parse_watch_line(line)
    return parsed is not None and parsed.is_start
