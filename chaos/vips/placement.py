"""Where VIPs live and which files each member host needs: pure functions over the topology."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping

from chaos import providers
from chaos.spec import Topology
from chaos_inlab import protocol as inlab

DAEMONS_PATH = inlab.DAEMONS_PATH
"""The daemons a member's agent starts (chaos-agent reads it at every start)."""


def vip_addresses(topology: Topology, subnets: Mapping[str, str]) -> dict[str, str]:
    """Each VIP's address: the one given, else counting down from the top of its network's subnet.

    Docker hands out addresses from the bottom of a subnet, so the top is free.

    Example::

        vip_addresses(topology, {"front": "172.18.0.0/16"})
        # {'www': '172.18.255.254'}
    """
    taken = {a.address for h in topology.hosts.values() for a in h.networks if a.address}
    taken |= {v.address for v in topology.vips.values() if v.address}
    placed: dict[str, str] = {}
    for name, vip in topology.vips.items():
        if vip.address:
            placed[name] = vip.address
            continue
        candidate = ipaddress.IPv4Network(subnets[vip.network]).broadcast_address - 1
        while str(candidate) in taken:
            candidate -= 1
        placed[name] = str(candidate)
        taken.add(placed[name])
    return placed


def host_addresses(topology: Topology, subnets: Mapping[str, str], vip_addresses: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """``{(host, network): address}`` for every attachment: the one given, else the next free from the bottom.

    Fixed addresses survive a host's restart, so power_off then power_on keeps them.

    Example::

        host_addresses(topology, {"front": "172.18.0.0/16"}, {})[("lb1", "front")]
        # '172.18.0.2'
    """
    taken = {a.address for h in topology.hosts.values() for a in h.networks if a.address} | set(vip_addresses.values())
    cursors = {name: ipaddress.IPv4Network(subnet).network_address + 2 for name, subnet in subnets.items()}  # .1 is the gateway
    placed: dict[tuple[str, str], str] = {}
    for host in topology.hosts.values():
        for attachment in host.networks:
            if attachment.address:
                placed[host.name, attachment.network] = attachment.address
                continue
            while str(cursors[attachment.network]) in taken:
                cursors[attachment.network] += 1
            placed[host.name, attachment.network] = str(cursors[attachment.network])
            taken.add(placed[host.name, attachment.network])
    return placed


def member_files(topology: Topology, host: str, addresses: Mapping[str, str], subnets: Mapping[str, str]) -> dict[str, bytes]:
    """``{path in the host container: content}`` for the provider daemons ``host`` runs (empty if none).

    Each provider renders its own files and daemon entries; the daemons file lists them all.
    """
    own = host_addresses(topology, subnets, addresses)
    files: dict[str, bytes] = {}
    daemons: list[dict[str, object]] = []
    for name in providers.names():
        member_of = [
            providers.PlacedVip(vip, addresses[vip_name], subnets[vip.network], own.get((host, vip.network)))
            for vip_name, vip in topology.vips.items()
            if host in vip.members and vip.provider == name
        ]
        if member_of:
            provider_files, provider_daemons = providers.provider(name).member_files(topology.name, host, member_of)
            files |= provider_files
            daemons += provider_daemons
    if daemons:
        files[DAEMONS_PATH] = json.dumps(daemons, indent=2).encode()
    return files
