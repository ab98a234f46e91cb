"""Traffic flows inside a lab (``lab.traffic``): paced requests, every one recorded, and the figures from them."""

from __future__ import annotations

import inspect
import ipaddress
from typing import TYPE_CHECKING, Any

from chaos._internal.durations import Duration
from chaos._internal.hosts import HostRef, host_name
from chaos.errors import ChaosError, LabError, UsageError
from chaos.host import Host
from chaos.traffic.figures import FlowFigures, Outage, Recovery
from chaos.traffic.flow import DEFAULT_PORTS, PROTOCOLS, Flow, Target
from chaos.traffic.records import Outcome, Request, Requests
from chaos.vips import Vip

if TYPE_CHECKING:
    from chaos.lab import Lab

__all__ = ["Flow", "FlowFigures", "Outage", "Outcome", "Recovery", "Request", "Requests", "Target", "Traffic"]

DEFAULT_RATE = 200.0
DEFAULT_TIMEOUT = 0.5
"""Short on purpose: below TCP's first SYN retransmission (1 s), so a request sent into an
outage times out instead of succeeding later on a retried SYN and hiding part of the outage."""


class Traffic:
    """The flows of one lab: a maker per protocol, and every flow made (for the report and the SLO check).

    A target is a VIP handle, a host (handle or name), or the address of one of them; a
    flow never sends anywhere else. For a VIP, an answer from a host that is not a member
    counts as a wrong answer; for a host, an answer from any other host does.

    Example::

        with lab.traffic.http("client", lab.vips["www"], rate=200, timeout="500ms") as flow:
            ...
        lab.traffic.flows
        # [<Flow http client->www 200/s stopped requests=812>]
    """

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.flows: list[Flow] = []

    def __repr__(self) -> str:
        return f"<Traffic of {self._lab.name}: {len(self.flows)} flows>"

    def http(self, client: HostRef, target: Vip | HostRef, **options: object) -> Flow:
        """An HTTP GET flow (a new connection per request; default port 80). See `flow` for the options."""
        return self.flow("http", client, target, **_options(options))

    def tcp(self, client: HostRef, target: Vip | HostRef, **options: object) -> Flow:
        """A TCP connect flow: connect, read the responder's name line (default port 9000). See `flow` for the options."""
        return self.flow("tcp", client, target, **_options(options))

    def udp(self, client: HostRef, target: Vip | HostRef, **options: object) -> Flow:
        """A UDP request/response flow (default port 9000). See `flow` for the options."""
        return self.flow("udp", client, target, **_options(options))

    def icmp(self, client: HostRef, target: Vip | HostRef, **options: object) -> Flow:
        """An ICMP echo flow; the responder is named by the MAC address of the reply. See `flow` for the options."""
        return self.flow("icmp", client, target, **_options(options))

    def flow(
        self,
        protocol: str,
        client: HostRef,
        target: Vip | HostRef,
        *,
        port: int | None = None,
        rate: float = DEFAULT_RATE,
        timeout: Duration = DEFAULT_TIMEOUT,
        network: str | None = None,
        expect: list[str] | tuple[str, ...] | None = None,
        name: str | None = None,
    ) -> Flow:
        """A flow (not yet started: use ``with``, or `Flow.start`) from ``client`` to ``target``.

        Args:
            protocol: ``http``, ``tcp``, ``udp`` or ``icmp``.
            client: the lab host that sends (a name or a handle).
            target: a VIP handle, a host (name or handle), or the address of a lab host or VIP.
            port: the target port (default: 80 for http, 9000 for tcp and udp, where every
                host's agent answers with its name).
            rate: requests per second.
            timeout: how long each request may take (``0.5``, ``"500ms"``).
            network: for a host target, the network to reach it on (default: the first one
                it shares with the client).
            expect: the hosts whose answers count as right (default: the VIP's members, or
                the target host); ``[]`` accepts any answer.
            name: the flow's name in reports (default ``"http client->www"``).

        Raises:
            UsageError: an unknown protocol or option, a rate, timeout or port that is not one.
            LabError: an unknown client or target, a target outside the lab, or one the client
                shares no network with.

        Example::

            flow = lab.traffic.flow("udp", "client", "lb1", rate=500, timeout=0.2)
        """
        if protocol not in PROTOCOLS:
            raise UsageError(f"unknown flow protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise UsageError(f"port={port!r} is not a port; give a number from 1 to 65535")
        sender = self._host(client, "client")
        address, label, default_expect = self._resolve(sender, target, network)
        if isinstance(expect, str):
            expect = [expect]  # one host's name, not its letters
        wanted = default_expect if expect is None else tuple(host_name(h, "expect") for h in expect)
        names = self._mac_names() if protocol == "icmp" else ()
        made = Flow(
            sender,
            protocol,
            Target(address, label, DEFAULT_PORTS[protocol] if port is None else port, tuple(sorted(set(wanted))), names),
            rate=rate,
            timeout=timeout,
            timeline=self._lab.timeline,
            name=name,
        )
        self.flows.append(made)
        return made

    def stop_all(self) -> None:
        """Stop every flow still running (the SLO check does this after the test body)."""
        for flow in self.flows:
            flow.stop()

    # -- resolving ----------------------------------------------------------------------

    def _host(self, host: HostRef, role: str) -> Host:
        name = host_name(host, role)
        if name not in self._lab.hosts or (isinstance(host, Host) and self._lab.hosts[name] is not host):
            raise LabError(f"{role} {name!r} is not a host of lab {self._lab.name}; hosts: {', '.join(self._lab.hosts) or 'none'}")
        return self._lab.hosts[name]

    def _resolve(self, client: Host, target: Vip | HostRef, network: str | None) -> tuple[str, str, tuple[str, ...]]:
        """(address, label, expected responders) of a target, refusing anything outside the lab."""
        if isinstance(target, Vip):
            vip = self._lab.vips.get(target.name)
            if vip is not target:
                raise LabError(f"VIP {target.name!r} is not a VIP of lab {self._lab.name}; VIPs: {', '.join(self._lab.vips) or 'none'}")
            self._reachable(client, vip.network, f"VIP {vip.name}")
            return vip.address, vip.name, tuple(vip.members)
        if isinstance(target, Host) or target in self._lab.hosts:
            host = self._host(target, "target")
            shared = [n for n in client.addresses if n in host.addresses]
            chosen = network or (shared[0] if shared else None)
            if chosen is None or chosen not in host.addresses:
                on = ", ".join(host.addresses) or "none"
                raise LabError(
                    f"flow target {host.name!r} is not reachable from {client.name!r} on {network or 'a shared network'}; {host.name} is on: {on}"
                )
            self._reachable(client, chosen, f"host {host.name}")
            return host.address(chosen), host.name, (host.name,)
        return self._resolve_address(client, str(target))

    def _resolve_address(self, client: Host, text: str) -> tuple[str, str, tuple[str, ...]]:
        try:
            address = str(ipaddress.IPv4Address(text))
        except ValueError:
            known = f"hosts: {', '.join(self._lab.hosts)}; VIPs: {', '.join(self._lab.vips) or 'none'}"
            raise LabError(f"flow target {text!r} is neither a host nor a VIP of lab {self._lab.name}; {known}") from None
        for vip in self._lab.vips.values():
            if vip.address == address:
                return self._resolve(client, vip, None)
        for host in self._lab.hosts.values():
            for network, held in host.addresses.items():
                if held == address:
                    return self._resolve(client, host, network)
        # The network rule: test traffic goes only to the lab's own containers and VIPs.
        raise LabError(
            f"refusing to send a flow to {address}: it is not the address of a host or VIP of lab {self._lab.name}; flows only target the lab itself"
        )

    def _reachable(self, client: Host, network: str, what: str) -> None:
        if network not in client.addresses:
            raise LabError(
                f"{what} is on network {network!r}, which client {client.name!r} is not on; it is on: {', '.join(client.addresses) or 'none'}"
            )

    def _mac_names(self) -> tuple[tuple[str, str], ...]:
        """MAC address -> host name for every interface in the lab (an ICMP reply is named by its source MAC)."""
        names: list[tuple[str, str]] = []
        docker_names = {net.docker_name for net in self._lab.networks.values()}
        for host in self._lab.hosts.values():
            try:
                networks = self._lab.engine.container_info(host.container).networks
            except ChaosError:  # a host that is down names nothing
                continue
            names += [(endpoint.mac.lower(), host.name) for net, endpoint in networks.items() if net in docker_names and endpoint.mac]
        return tuple(names)


def _options(options: dict[str, object]) -> dict[str, Any]:  # Any: `Traffic.flow` checks each value
    """The keyword options of `Traffic.flow`, refusing unknown ones with the list of known ones."""
    known = [name for name, p in inspect.signature(Traffic.flow).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UsageError(f"unknown flow option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; the options are: {', '.join(known)}")
    return options
