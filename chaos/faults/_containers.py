"""Which containers a process or host fault acts on, what it claims, and how their death and return are measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from chaos.errors import EngineError, FaultError
from chaos.faults.base import Claim

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.lab import Lab

EVERY_CONTAINER = "*"
"""``container="*"``: the host container and every workload of the host."""

STOP_POLL = 0.005
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Box:
    """One container of a host: the host container (``workload`` None) or a workload."""

    host: str
    workload: str | None
    container: str

    @property
    def claim(self) -> Claim:
        return Claim("container", self.host if self.workload is None else f"{self.host}/{self.workload}")

    def __str__(self) -> str:
        return self.host if self.workload is None else f"{self.host}/{self.workload}"


def boxes(host: Host, container: str | None) -> list[Box]:
    """The containers of ``host`` that ``container`` names: None the host container, ``"*"`` all, else a workload.

    Raises:
        FaultError: the host has no such workload; the message lists the ones it has.
    """
    host_box = Box(host.name, None, host.container)
    if container is None:
        return [host_box]
    if container == EVERY_CONTAINER:
        return [*(Box(host.name, w, c) for w, c in host.workloads.items()), host_box]
    if container not in host.workloads:
        have = ", ".join(host.workloads) or "none"
        raise FaultError(
            f"host {host.name!r} has no container {container!r}; its workloads: {have} (None is the host container, '*' every container)"
        )
    return [Box(host.name, container, host.workloads[container])]


def all_boxes(lab: Lab, hosts: Iterable[str], container: str | None) -> list[Box]:
    return [box for name in hosts for box in boxes(lab.hosts[name], container)]


def parallel(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Run ``work`` on every item at once (threads); raise the first error after all have finished."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        return [future.result() for future in futures]


def wait_stopped(lab: Lab, items: Sequence[Box], within: float, what: str) -> float:
    """Wait until none of ``items`` runs; return when the last one exited, by the engine's own clock (``FinishedAt``).

    Raises:
        EngineError: one still ran after ``within`` seconds.
    """
    deadline = time.monotonic() + within
    pending = list(items)
    finished: list[float] = []
    while pending:
        still = []
        for box in pending:
            state = lab.engine.state(box.container)
            if state.running:
                still.append(box)
            else:
                finished.append(state.finished_at or time.time())
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise EngineError(f"{what}: {', '.join(map(str, pending))} still running {within:g}s later")
            time.sleep(STOP_POLL)
    return max(finished, default=time.time())


def stopped_within(lab: Lab, items: Sequence[Box], within: float) -> float | None:
    """When every one of ``items`` exited, if they all did within ``within`` seconds; else None."""
    try:
        return wait_stopped(lab, items, within, "")
    except EngineError:
        return None


def bring_back(lab: Lab, items: Iterable[Box]) -> float:
    """Start again what of ``items`` does not run; return when the last one was ready.

    A host whose host container is among them comes back whole (`Lab.start_host`: the host
    container, its agent ready, then its workloads); otherwise each stopped workload starts
    and joins the host's network namespace. Running containers are left alone.
    """
    by_host: dict[str, list[Box]] = {}
    for box in items:
        by_host.setdefault(box.host, []).append(box)

    def revive(host: str) -> float:
        group = by_host[host]
        if any(box.workload is None for box in group) or not lab.engine.is_running(lab.hosts[host].container):
            return lab.start_host(host)
        ready = time.time()
        for box in group:
            if not lab.engine.is_running(box.container):
                lab.engine.start(box.container)
                ready = max(ready, lab.engine.state(box.container).started_at or time.time())
        return ready

    return max(parallel(revive, list(by_host)), default=time.time())
