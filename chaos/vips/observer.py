"""Keep a VIP's owner history up to date: one long-running address watcher per member, streamed back."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from chaos.engine import ContainerGone
from chaos.errors import ChaosError
from chaos.host import Host
from chaos.vips.history import OwnerHistory

WATCHER = "chaos-addrwatch"
"""The in-lab script (chaos/images/dockerfiles/host/bin): netlink address notifications as lines."""

RESTART_PAUSE = 0.2
"""Seconds between looks at a stopped host (is it back?) and between restarts of a failed watcher."""

MAX_FAILED_STARTS = 3
"""A watcher that dies this many times in a row on a running host is given up (the image lacks it?)."""


class OwnerObserver:
    """Streams ``chaos-addrwatch`` from every member of a VIP into an `OwnerHistory`.

    Why a watcher per member rather than polling: an exec costs about 50 ms, so polling two
    members every 50 ms keeps a core busy and still misses a change by up to a poll; the
    kernel's netlink notification gives each change the moment it happens, for one idle
    process per member. When a member's host stops (power off), its stream ends: the member
    is recorded as holding nothing from then on, and its watcher starts again when the host
    is back.

    Example:
        >>> observer = OwnerObserver(www.address, www.members, www.history)
        >>> observer.start(); observer.wait_live(10)
        >>> observer.stop()
    """

    def __init__(self, address: str, members: Mapping[str, Host], history: OwnerHistory) -> None:
        self.address = address
        self.members = dict(members)
        self.history = history
        self._stopping = threading.Event()
        self._pids: dict[str, int] = {}
        self._threads = [
            threading.Thread(target=self._follow, args=(name, host), name=f"owners-{address}-{name}", daemon=True)
            for name, host in self.members.items()
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_live(self, timeout: float) -> bool:
        """Wait until every member's state is known; False if that did not happen in ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.history.is_complete:
            if time.monotonic() > deadline or not any(t.is_alive() for t in self._threads):
                return False
            time.sleep(0.01)
        return True

    def stop(self, kill_watchers: bool = True) -> None:
        """Stop following; with ``kill_watchers``, end the in-lab processes too (not needed when the lab goes down)."""
        self._stopping.set()
        if kill_watchers and self._pids:
            with ThreadPoolExecutor(max_workers=len(self._pids)) as pool:
                list(pool.map(self._kill_watcher, list(self._pids.items())))
            for thread in self._threads:
                thread.join(timeout=2)

    def _kill_watcher(self, item: tuple[str, int]) -> None:
        name, pid = item
        with contextlib.suppress(ChaosError):  # a host that is gone took its watcher with it
            self.members[name].exec(["kill", str(pid)])

    def _follow(self, name: str, host: Host) -> None:
        failed_starts = 0
        while not self._stopping.is_set():
            was_live = False
            try:
                for line in host.stream([WATCHER, self.address]):
                    was_live = self._take(name, line) or was_live
            except ContainerGone:
                pass
            except Exception as exc:  # an engine hiccup: say so in the history, then try again
                self.history.record_error(f"{name}: watcher stream failed: {exc}")
            ended = time.time()
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
                self.history.record(name, False, stopped if stopped is not None else ended, "gone")
                while not self._stopping.wait(RESTART_PAUSE):
                    try:
                        if host.is_running():
                            break
                    except ChaosError:
                        continue
                continue
            failed_starts = 0 if was_live else failed_starts + 1
            if failed_starts >= MAX_FAILED_STARTS:
                self.history.record_error(f"{name}: {WATCHER} did not start {MAX_FAILED_STARTS} times on a running host; not watching it any more")
                return
            self._stopping.wait(RESTART_PAUSE)

    def _take(self, name: str, line: str) -> bool:
        """Record one watcher line; True for the line that says the watcher is live."""
        fields = line.split()
        try:
            if fields[:1] == ["watching"] and len(fields) == 4:
                self._pids[name] = int(fields[1])
                self.history.record(name, fields[3] == "held", float(fields[2]), fields[3])
                return True
            if fields[:1] in (["added"], ["deleted"]) and len(fields) == 2:
                self.history.record(name, fields[0] == "added", float(fields[1]), fields[0])
        except ValueError:
            pass
        if fields and fields[0] not in ("watching", "added", "deleted"):
            self.history.record_error(f"{name}: {line.strip()}")
        return False
