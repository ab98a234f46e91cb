"""The packets a capture records (VRRP/CARP adverts and ARP), and reading them from the capture's lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Advert:
    """A VRRP or CARP advertisement (IP protocol 112), as the capture saw it.

    Attributes:
        at: the kernel's receive time, seconds on the lab clock.
        source: the sending lab host's name (its address when the lab does not know it).
        address: the sender's IPv4 address; ``mac`` its Ethernet address.
        protocol: ``vrrp`` or ``carp``; ``version`` the protocol version.
        router_id: VRRP's virtual router id, CARP's vhid.
        priority: VRRP's priority (0: the master resigns); None for CARP, which uses ``skew``.
        interval: the advertised interval in seconds (CARP: advbase + advskew / 256).
        addresses: the virtual addresses VRRP lists (CARP lists none).
    """

    at: float
    source: str
    address: str
    mac: str
    protocol: str
    version: int
    router_id: int
    priority: int | None
    interval: float
    addresses: tuple[str, ...] = ()
    skew: int | None = None


@dataclass(frozen=True)
class Arp:
    """An ARP packet; gratuitous when the sender announces its own address (sender IP == target IP)."""

    at: float
    op: int  # 1 request, 2 reply
    sender_ip: str
    sender_mac: str
    target_ip: str
    target_mac: str
    source: str = ""  # the lab host that sent it, when known (by address, else by MAC)

    @property
    def is_gratuitous(self) -> bool:
        return self.sender_ip == self.target_ip


Packet = Advert | Arp


def from_record(record: Mapping[str, Any], origin: float, names_by_ip: Mapping[str, str], names_by_mac: Mapping[str, str]) -> Packet | None:
    """A packet from one JSON line of ``chaos-capture`` (None for lines that are not packets).

    Args:
        record: the decoded line.
        origin: the lab clock's origin (epoch seconds); packet times are given relative to it.
        names_by_ip: lab host names by address, to name an advert's sender.
        names_by_mac: lab host names by MAC, to name the sender of a gratuitous ARP (whose
            address is the VIP, not the host's).

    Example:
        >>> from_record({"kind": "arp", "t": 105.2, "op": 1, "psrc": "10.0.0.9", "pdst": "10.0.0.9",
        ...              "hwsrc": "02:42:0a:00:00:03", "hwdst": "ff:ff:ff:ff:ff:ff"}, 100.0, {}, {}).is_gratuitous
        True
    """
    kind = record.get("kind")
    if kind in ("vrrp", "carp"):
        source_ip = str(record["src"])
        return Advert(
            at=float(record["t"]) - origin,
            source=names_by_ip.get(source_ip, source_ip),
            address=source_ip,
            mac=str(record.get("mac", "")),
            protocol=str(kind),
            version=int(record["version"]),
            router_id=int(record["vrid"]),
            priority=None if record.get("priority") is None else int(record["priority"]),
            interval=float(record["interval"]),
            addresses=tuple(record.get("addresses") or ()),
            skew=None if record.get("advskew") is None else int(record["advskew"]),
        )
    if kind == "arp":
        sender_ip, sender_mac = str(record["psrc"]), str(record["hwsrc"])
        return Arp(
            at=float(record["t"]) - origin,
            op=int(record["op"]),
            sender_ip=sender_ip,
            sender_mac=sender_mac,
            target_ip=str(record["pdst"]),
            target_mac=str(record["hwdst"]),
            source=names_by_ip.get(sender_ip) or names_by_mac.get(sender_mac, ""),
        )
    return None
