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
from dataclasses import dataclass
from typing import ClassVar

from chaos.errors import FaultError, HostCommandError
from chaos.faults import _containers
from chaos.faults._containers import EVERY_CONTAINER, Box
from chaos.faults.base import Action, Claim, Fault, Injection, active
from chaos.faults.targets import Target

POWER_OFF_WAIT = 10.0

# -- power --------------------------------------------------------------------------------------


def _host_boxes(run: Injection) -> list[Box]:
    boxes: list[Box] = run.state["boxes"]
    return boxes


@dataclass(frozen=True)
class PowerOff(Fault):
    """Every container of the host dies at once (SIGKILL): nothing says goodbye, no VRRP priority 0.

    Effective when the last container was dead (the engine's exit time). Heal is `power_on`:
    the host comes back with the same addresses, its agent starts its daemons, its workloads
    start after it, and the lab waits until the agent is ready.
    """

    target: Target
    name: ClassVar[str] = "power_off"

    def resolve(self, run: Injection) -> Sequence[str]:
        hosts = super().resolve(run)
        run.state["boxes"] = _containers.all_boxes(run.lab, hosts, EVERY_CONTAINER)
        return hosts

    def claims(self, run: Injection) -> Iterable[Claim]:
        return [box.claim for box in _host_boxes(run)]

    def apply(self, run: Injection) -> float | None:
        boxes = _host_boxes(run)
        run.state["off"] = list(boxes)
        # All at once, not one after another: a host loses power in one instant.
        _containers.parallel(lambda box: run.lab.engine.kill(box.container, "SIGKILL"), boxes)
        return _containers.wait_stopped(run.lab, boxes, POWER_OFF_WAIT, f"{self} on lab {run.lab.name}")

    def revert(self, run: Injection) -> float | None:
        return _containers.bring_back(run.lab, run.state.get("off", []))


def power_off(target: Target) -> PowerOff:
    """Cut the power of the target hosts: every container of each dies at once (SIGKILL).

    Example:
        >>> chaos.inject(faults.power_off("lb1"))
        >>> lab.vips["www"].wait_owner("lb2", within="5s")
    """
    return PowerOff(target)


@dataclass(frozen=True)
class PowerOn(Action):
    """Bring powered-off hosts back (heals the active `power_off`, or any fault that stopped a container of theirs)."""

    target: Target
    name: ClassVar[str] = "power_on"

    def resolve(self, run: Injection) -> Sequence[str]:
        hosts = super().resolve(run)
        run.state["boxes"] = _containers.all_boxes(run.lab, hosts, EVERY_CONTAINER)
        return hosts

    def apply(self, run: Injection) -> float | None:
        boxes = _host_boxes(run)
        healed = run.heal_holders(box.claim for box in boxes)
        ready = _containers.bring_back(run.lab, boxes)
        return max([ready, *(run.lab.timeline.origin + h.healed for h in healed if h.healed is not None)])


def power_on(target: Target) -> PowerOn:
    """Power the target hosts on again: same addresses, daemons started again, workloads after the host.

    Example:
        >>> chaos.inject(faults.power_on("lb1"))
        >>> lab.vips["www"].wait_owner("lb1", within="10s")   # keepalived preempts
    """
    return PowerOn(target)


# -- links --------------------------------------------------------------------------------------

# $1: the addresses (one per link to cut). Prints the baseline (addresses, routes), then the
# interfaces it found, then cuts them and prints the time the last one went down.
_CUT = r"""
set -e
ip -o -4 addr show
echo @@
ip -4 route show
echo @@
ifaces=""
for address in "$@"; do
  iface=$(ip -o -4 addr show to "$address/32" | awk '{ print $2; exit }')
  [ -n "$iface" ] || { echo "no interface holds $address" >&2; exit 3; }
  ifaces="$ifaces $iface"
done
echo $ifaces
echo @@
for iface in $ifaces; do ip link set dev "$iface" down; done
date +%s.%N
"""

# $1: the routes to restore (one per line); then the interfaces. Brings the links up, puts
# back every route of the baseline the kernel did not restore itself, prints the time.
_MEND = r"""
routes=$1; shift
for iface in "$@"; do ip link set dev "$iface" up; done
printf '%s\n' "$routes" | while IFS= read -r route; do
  [ -n "$route" ] || continue
  case "$route" in default*) continue ;; esac
  ip -4 route show | grep -qxF -- "$route" || ip route replace $route
done
date +%s.%N
echo @@
ip -o -4 addr show
echo @@
ip -4 route show
"""


def _links(run: Injection, host: str) -> list[str]:
    network: str | None = run.state["network"]
    networks = [network] if network else [a.network for a in run.host(host).spec.networks]
    return networks


class _LinkFault(Fault):
    """Cut links of the target hosts; heal brings them up and restores the routes seen before."""

    def claims(self, run: Injection) -> Iterable[Claim]:
        return [Claim("link", f"{host}:{network}") for host in run.targets for network in _links(run, host)]

    def apply(self, run: Injection) -> float | None:
        run.state["cut"] = {}
        return max(_containers.parallel(lambda host: self._cut(run, host), list(run.targets)))

    def _cut(self, run: Injection, host: str) -> float:
        handle = run.host(host)
        addresses = [handle.address(network) for network in _links(run, host)]
        result = handle.exec(["sh", "-c", _CUT, "cut", *addresses])
        sections = result.stdout.split("@@\n")
        if len(sections) >= 3:
            # Recorded before the verdict: a half-done cut still gets healed.
            run.state["cut"][host] = {"routes": _lines(sections[1]), "ifaces": sections[2].split(), "addresses": addresses}
        if not result.ok:
            raise HostCommandError(f"{self}: cutting the links of {handle!r} exited {result.rc}: {result.stderr.strip()}")
        return float(sections[3].strip())

    def revert(self, run: Injection) -> float | None:
        cut = dict(run.state.get("cut", {}))
        if not cut:
            return None
        return max(_containers.parallel(lambda host: self._mend(run, host, cut[host]), list(cut)))

    def _mend(self, run: Injection, host: str, baseline: dict[str, list[str]]) -> float:
        handle = run.host(host)
        result = handle.exec(["sh", "-c", _MEND, "mend", "\n".join(baseline["routes"]), *baseline["ifaces"]])
        if not result.ok:
            raise HostCommandError(f"healing {self}: mending the links of {handle!r} exited {result.rc}: {result.stderr.strip()}")
        healed, addresses, routes = [*result.stdout.split("@@\n"), "", ""][:3]
        missing_addresses = [a for a in baseline["addresses"] if f" {a}/" not in addresses]
        missing_routes = sorted(set(baseline["routes"]) - set(_lines(routes)))
        if missing_addresses or missing_routes:
            raise HostCommandError(
                f"healing {self}: {handle!r} is not back at its baseline; missing addresses {missing_addresses or 'none'}, "
                f"missing routes {missing_routes or 'none'}"
            )
        del run.state["cut"][host]
        return float(healed.strip())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("default")]


@dataclass(frozen=True)
class Isolate(_LinkFault):
    """Every link of the host goes down; its processes keep running, alone (keepalived there enters FAULT)."""

    target: Target
    name: ClassVar[str] = "isolate"

    def resolve(self, run: Injection) -> Sequence[str]:
        run.state["network"] = None
        return super().resolve(run)


def isolate(target: Target) -> Isolate:
    """Cut every link of the target hosts (inside their namespace); processes keep running; heal brings the links back.

    Example:
        >>> with chaos.inject(faults.isolate("lb1")):
        ...     lab.vips["www"].wait_owner("lb2", within="5s")
    """
    return Isolate(target)


@dataclass(frozen=True)
class LinkDown(_LinkFault):
    """The host's link to one network goes down; its other links stay up."""

    target: Target
    network: str
    name: ClassVar[str] = "link_down"

    def resolve(self, run: Injection) -> Sequence[str]:
        return _resolve_link(self, run)


def _resolve_link(fault: LinkDown | LinkUp, run: Injection) -> Sequence[str]:
    if fault.network not in run.lab.networks:
        raise FaultError(f"unknown network {fault.network!r}; the lab's networks: {', '.join(run.lab.networks) or 'none'}")
    hosts = Fault.resolve(fault, run)
    for host in hosts:
        on = [a.network for a in run.host(host).spec.networks]
        if fault.network not in on:
            raise FaultError(f"host {host!r} is not on network {fault.network!r}; it is on: {', '.join(on)}")
    run.state["network"] = fault.network
    return hosts


def link_down(target: Target, network: str) -> LinkDown:
    """Take the target hosts' link to ``network`` down (inside their namespace); heal (or `link_up`) brings it back.

    Example:
        >>> chaos.inject(faults.link_down("app", "back"))   # the database is gone, the front still answers
    """
    return LinkDown(target, network)


@dataclass(frozen=True)
class LinkUp(Action):
    """Bring a host's link to a network up again; heals the active `link_down` of that link."""

    target: Target
    network: str
    name: ClassVar[str] = "link_up"

    def resolve(self, run: Injection) -> Sequence[str]:
        hosts = _resolve_link(self, run)
        mine = {Claim("link", f"{host}:{self.network}") for host in hosts}
        for holder in active(run.lab):
            if set(holder.claims) & mine and not set(holder.claims) <= mine:
                held = ", ".join(map(str, holder.claims))
                raise FaultError(f"would heal only part of active {holder} (it holds {held}); heal {holder} instead")
        return hosts

    def apply(self, run: Injection) -> float | None:
        mine = [Claim("link", f"{host}:{self.network}") for host in run.targets]
        healed = run.heal_holders(mine)
        done = time.time()
        for host in run.targets:
            handle = run.host(host)
            address = handle.address(self.network)
            iface = handle.exec(["sh", "-c", f"ip -o -4 addr show to {address}/32 | awk '{{ print $2; exit }}'"]).stdout.split()
            result = handle.exec(["sh", "-c", _MEND, "mend", "", *iface])
            if not iface or not result.ok:
                why = result.stderr.strip() or "no interface holds it"
                raise HostCommandError(f"{self}: bringing the link of {address} up on {handle!r} failed: {why}")
            done = max(done, float(result.stdout.split("@@\n")[0].strip()))
        return max([done, *(run.lab.timeline.origin + h.healed for h in healed if h.healed is not None)])


def link_up(target: Target, network: str) -> LinkUp:
    """Bring the target hosts' link to ``network`` up (heals a `link_down` of it).

    Example:
        >>> chaos.inject(faults.link_up("app", "back"))
    """
    return LinkUp(target, network)
