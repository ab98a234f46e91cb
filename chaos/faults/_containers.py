"""Which containers a process or host fault acts on, what it claims, and how their death and return are measured."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chaos._internal.parallel import parallel
from chaos.errors import EngineError, FaultError, RecoveryTimeout
from chaos.expect import eventually
from chaos.faults.base import Claim, Injection, Targeted

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.lab import Lab

EVERY_CONTAINER = "*"
"""``container="*"``: the host container and every workload of the host."""

STOP_POLL = 0.005


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


@dataclass
class Boxes:
    """What a container fault knows (``run.data``): the containers it acts on, and those its inject reached."""

    boxes: list[Box] = field(default_factory=list)
    """Resolved when bound: the containers the fault acts on."""
    done: list[Box] = field(default_factory=list)
    """Recorded by apply, each before it is touched: what revert brings back (killed, stopped, paused)."""


B = TypeVar("B", bound=Boxes)


class OnContainers(Targeted[B]):
    """A fault on containers of its target hosts; `containers` says which (a process fault's ``container`` field)."""

    def containers(self) -> str | None:
        """None: the host container; ``"*"``: every container of the host; else a workload's name."""
        container: str | None = getattr(self, "container", None)
        return container

    def new_data(self) -> B:
        return cast(B, Boxes())

    def resolve(self, run: Injection[B]) -> Sequence[str]:
        hosts = super().resolve(run)
        run.data.boxes = all_boxes(run.lab, hosts, self.containers())
        return hosts


class HoldsContainers(OnContainers[B]):
    """A container fault that holds the containers it acts on until healed (kill, stop, pause, power_off)."""

    def claims(self, run: Injection[B]) -> Iterable[Claim]:
        return [box.claim for box in run.data.boxes]


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


def wait_stopped(lab: Lab, items: Sequence[Box], within: float, what: str) -> float:
    """Wait until none of ``items`` runs; return when the last one exited, by the engine's own clock (``FinishedAt``).

    Raises:
        EngineError: one still ran after ``within`` seconds.
    """
    finished: dict[Box, float] = {}

    def still_running() -> list[Box]:
        for box in items:
            if box not in finished:
                state = lab.engine.state(box.container)
                if not state.running:
                    finished[box] = state.finished_at or time.time()
        return [box for box in items if box not in finished]

    try:
        eventually(still_running, until=lambda pending: not pending, within=within, interval=STOP_POLL, what=f"{what}: containers to stop")
    except RecoveryTimeout as exc:
        pending = cast(list[Box], exc.last or [])
        raise EngineError(f"{what}: {', '.join(map(str, pending))} still running {within:g}s later") from None
    return max(finished.values(), default=time.time())


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


def start_holders(run: Injection[B]) -> float:
    """Heal the faults holding ``run``'s containers, start what does not run; when the last was ready (start, power_on)."""
    boxes = run.data.boxes
    healed = run.heal_holders(box.claim for box in boxes)
    return after_heals(run, healed, bring_back(run.lab, boxes))


def after_heals(run: Injection[Any], healed: Iterable[Injection[Any]], done: float) -> float:
    """The epoch of ``done`` or of the latest heal among ``healed``, whichever came last (an action that undid faults)."""
    return max([done, *(run.lab.timeline.origin + h.healed for h in healed if h.healed is not None)])
