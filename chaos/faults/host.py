"""Host faults: power a host off and on, isolate it (every link cut, processes running), take one link down and up.

Links are cut with ``ip link set dev IFACE down`` inside the host's own network namespace
(an exec in the host container, which has NET_ADMIN), never on the Docker host. Why not
iptables: a DROP rule leaves the carrier up and does not stop ARP (iptables never sees it),
so it is a silent partition, which is what the network faults (`partition`) are for. A link
that is down is what a pulled cable or a dead switch port looks like to the host: the kernel
drops the link's routes and neighbours, and daemons see it (keepalived enters FAULT and lets
the VIP go). Addresses stay on a downed link; heal brings the links up and restores the
routes it saw before, and never a default route (the lab has no route out).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from chaos._internal.parallel import parallel
from chaos.errors import FaultError, HostCommandError
from chaos.faults import _containers
from chaos.faults._containers import EVERY_CONTAINER, Boxes, HoldsContainers, OnContainers
from chaos.faults.base import Action, Claim, Injection, Targeted, active
from chaos_inlab import protocol as inlab

POWER_OFF_WAIT = 10.0

# -- power --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerOff(HoldsContainers[Boxes]):
    """Cut the power of the target hosts: every container of each dies at once (SIGKILL); nothing says goodbye, no VRRP priority 0.

    Effective when the last container was dead (the engine's exit time). Heal is `power_on`:
    the host comes back with the same addresses, its agent starts its daemons, its workloads
    start after it, and the lab waits until the agent is ready.

    Example::

        chaos.inject(faults.power_off("lb1"))            # or power_off(lab.hosts["lb1"])
        lab.vips["www"].wait_owner("lb2", within="5s")
    """

    name: ClassVar[str] = "power_off"

    def containers(self) -> str | None:
        return EVERY_CONTAINER

    def apply(self, run: Injection[Boxes]) -> float | None:
        boxes = run.data.boxes
        run.data.done = list(boxes)
        # All at once, not one after another: a host loses power in one instant.
        parallel(lambda box: run.lab.engine.kill(box.container, "SIGKILL"), boxes)
        return _containers.wait_stopped(run.lab, boxes, POWER_OFF_WAIT, f"{self} on lab {run.lab.name}")

    def revert(self, run: Injection[Boxes]) -> float | None:
        return _containers.bring_back(run.lab, run.data.done)


@dataclass(frozen=True)
class PowerOn(OnContainers[Boxes], Action[Boxes]):
    """Power the target hosts on again (heals the active `power_off`, or any fault that stopped a container of theirs).

    Same addresses, daemons started again, workloads after the host.

    Example::

        chaos.inject(faults.power_on("lb1"))
        lab.vips["www"].wait_owner("lb1", within="10s")   # keepalived preempts
    """

    name: ClassVar[str] = "power_on"

    def containers(self) -> str | None:
        return EVERY_CONTAINER

    def apply(self, run: Injection[Boxes]) -> float | None:
        return _containers.start_holders(run)


power_off = PowerOff
power_on = PowerOn


# -- links --------------------------------------------------------------------------------------

# The links' in-lab half is `chaos-lab links` (chaos_inlab.links): ``cut`` prints the baseline
# (addresses, routes), then the interfaces it found, cuts them and prints the time the last one
# went down; ``mend`` brings the links up, puts back every route of the baseline the kernel did
# not restore itself and prints the time, then the addresses and routes; sections split by @@.
_SECTION = f"{inlab.SECTION}\n"


@dataclass
class Baseline:
    """What a host had before its links were cut: the routes to put back, the interfaces cut, the addresses to see again."""

    routes: list[str]
    ifaces: list[str]
    addresses: list[str]


@dataclass
class Links:
    """What a link fault knows (``run.data``): which network (None: every one), and each host's baseline once cut."""

    network: str | None = None
    cut: dict[str, Baseline] = field(default_factory=dict)


def _links(run: Injection[Links], host: str) -> list[str]:
    network = run.data.network
    return [network] if network else [a.network for a in run.host(host).spec.networks]


class _LinkFault(Targeted[Links]):
    """Cut links of the target hosts; heal brings them up and restores the routes seen before."""

    def new_data(self) -> Links:
        return Links(network=getattr(self, "network", None))

    def claims(self, run: Injection[Links]) -> Iterable[Claim]:
        return [Claim("link", f"{host}:{network}") for host in run.targets for network in _links(run, host)]

    def apply(self, run: Injection[Links]) -> float | None:
        run.data.cut = {}
        return max(parallel(lambda host: self._cut(run, host), list(run.targets)))

    def _cut(self, run: Injection[Links], host: str) -> float:
        handle = run.host(host)
        addresses = [handle.address(network) for network in _links(run, host)]
        result = handle.exec(inlab.links_cut_argv(addresses))
        sections = result.stdout.split(_SECTION)
        if len(sections) >= 3:
            # Recorded before the verdict: a half-done cut still gets healed.
            run.data.cut[host] = Baseline(routes=_lines(sections[1]), ifaces=sections[2].split(), addresses=addresses)
        if not result.ok:
            raise HostCommandError(f"{self}: cutting the links of {handle!r} exited {result.rc}: {result.stderr.strip()}")
        return float(sections[3].strip())

    def revert(self, run: Injection[Links]) -> float | None:
        cut = dict(run.data.cut)
        if not cut:
            return None
        return max(parallel(lambda host: self._mend(run, host, cut[host]), list(cut)))

    def _mend(self, run: Injection[Links], host: str, baseline: Baseline) -> float:
        handle = run.host(host)
        result = handle.exec(inlab.links_mend_argv(baseline.routes, baseline.ifaces))
        if not result.ok:
            raise HostCommandError(f"healing {self}: mending the links of {handle!r} exited {result.rc}: {result.stderr.strip()}")
        healed, addresses, routes = [*result.stdout.split(_SECTION), "", ""][:3]
        missing_addresses = [a for a in baseline.addresses if f" {a}/" not in addresses]
        missing_routes = sorted(set(baseline.routes) - set(_lines(routes)))
        if missing_addresses or missing_routes:
            raise HostCommandError(
                f"healing {self}: {handle!r} is not back at its baseline; missing addresses {missing_addresses or 'none'}, "
                f"missing routes {missing_routes or 'none'}"
            )
        del run.data.cut[host]
        return float(healed.strip())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("default")]


@dataclass(frozen=True)
class Isolate(_LinkFault):
    """Cut every link of the target hosts (inside their namespace); processes keep running, alone; heal brings the links back.

    keepalived on an isolated host enters FAULT and lets the VIP go.

    Example::

        with chaos.inject(faults.isolate("lb1")):
            lab.vips["www"].wait_owner("lb2", within="5s")
    """

    name: ClassVar[str] = "isolate"


@dataclass(frozen=True)
class _OneLink(Targeted[Links]):
    """A fault on the target hosts' link to one network (checked against the lab when bound)."""

    network: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.network, str) or not self.network:
            raise FaultError(f"{self.name}: network={self.network!r} is not a network name")

    def resolve(self, run: Injection[Links]) -> Sequence[str]:
        if self.network not in run.lab.networks:
            raise FaultError(f"unknown network {self.network!r}; the lab's networks: {', '.join(run.lab.networks) or 'none'}")
        hosts = super().resolve(run)
        for host in hosts:
            on = [a.network for a in run.host(host).spec.networks]
            if self.network not in on:
                raise FaultError(f"host {host!r} is not on network {self.network!r}; it is on: {', '.join(on)}")
        return hosts


@dataclass(frozen=True)
class LinkDown(_OneLink, _LinkFault):
    """Take the target hosts' link to ``network`` down (inside their namespace); their other links stay up; heal (or `link_up`) brings it back.

    Example::

        chaos.inject(faults.link_down("app", "back"))   # the database is gone, the front still answers
    """

    name: ClassVar[str] = "link_down"


@dataclass(frozen=True)
class LinkUp(_OneLink, Action[Links]):
    """Bring the target hosts' link to ``network`` up again; heals the active `link_down` of that link.

    Example::

        chaos.inject(faults.link_up("app", "back"))
    """

    name: ClassVar[str] = "link_up"

    def new_data(self) -> Links:
        return Links(network=self.network)

    def resolve(self, run: Injection[Links]) -> Sequence[str]:
        hosts = super().resolve(run)
        mine = {Claim("link", f"{host}:{self.network}") for host in hosts}
        for holder in active(run.lab):
            if set(holder.claims) & mine and not set(holder.claims) <= mine:
                held = ", ".join(map(str, holder.claims))
                raise FaultError(f"would heal only part of active {holder} (it holds {held}); heal {holder} instead")
        return hosts

    def apply(self, run: Injection[Links]) -> float | None:
        mine = [Claim("link", f"{host}:{self.network}") for host in run.targets]
        healed = run.heal_holders(mine)
        done = time.time()
        for host in run.targets:
            handle = run.host(host)
            address = handle.address(self.network)
            iface = handle.exec(inlab.links_iface_argv(address)).stdout.split()
            result = handle.exec(inlab.links_mend_argv([], iface))
            if not iface or not result.ok:
                why = result.stderr.strip() or "no interface holds it"
                raise HostCommandError(f"{self}: bringing the link of {address} up on {handle!r} failed: {why}")
            done = max(done, float(result.stdout.split(_SECTION)[0].strip()))
        return _containers.after_heals(run, healed, done)


isolate = Isolate
link_down = LinkDown
link_up = LinkUp
