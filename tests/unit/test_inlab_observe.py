"""chaos-capture's and chaos-addrwatch's real lines read by the runner's capture and owner observer, without Docker."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from chaos.engine import ExecResult
from chaos.host import PID_MARKER, PID_WRAPPER
from chaos.observe.capture import Capture
from chaos.observe.packets import Advert, Arp
from chaos.vips import observer
from chaos.vips.history import OwnerHistory
from chaos.vips.owners import Owners
from chaos_inlab import addrwatch, protocol

ORIGIN = 1_700_000_000.0
LB1_IP, LB1_MAC = "10.77.0.2", "02:42:0a:4d:00:02"
VIP = "10.77.0.250"


class Replay:
    """A lab host whose programs' output is recorded lines (behind the pid line every remote process starts with)."""

    name = "client"

    def __init__(self, lines: Sequence[str], files: dict[str, bytes] | None = None) -> None:
        self.lines = list(lines)
        self.files = files or {}
        self.argv: list[str] = []
        self.commands: list[list[str]] = []

    def __repr__(self) -> str:
        return "<Host client replay>"

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        self.argv = list(argv[len(PID_WRAPPER) :])
        yield f"{PID_MARKER} 4242"
        yield from self.lines

    def exec(self, command: Sequence[str], container: str | None = None) -> ExecResult:
        self.commands.append(list(command))
        return ExecResult(0, "", "")

    def read_file(self, path: str, container: str | None = None) -> bytes:
        return self.files.get(path, b"")


# -- chaos-capture -------------------------------------------------------------------------------


def frames() -> list[object]:
    """What a bridge shows a capture during a failover: lb1's VRRP advert, its gratuitous ARP for the VIP, a CARP advert, a TCP segment."""
    pytest.importorskip("scapy")
    from scapy.contrib.carp import CARP
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import ARP, Ether
    from scapy.layers.vrrp import VRRPv3
    from scapy.packet import Padding

    advert = IP(dst="224.0.0.18", ttl=255, proto=112)
    built = [
        Ether(src=LB1_MAC) / advert.copy() / VRRPv3(vrid=51, priority=150, adv=100, addrlist=[VIP]) / Padding(b"\0" * 6),
        Ether(src=LB1_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=VIP, pdst=VIP, hwsrc=LB1_MAC),
        Ether(src="02:42:0a:4d:00:03") / advert.copy() / CARP(version=2, type=1, vhid=7, advskew=10, authlen=7, advbase=1),
        Ether(src=LB1_MAC) / IP(src=LB1_IP, dst="10.77.0.9") / TCP(),
    ]
    received = []
    built[0][IP].src, built[2][IP].src = LB1_IP, "10.77.0.3"
    for at, frame in enumerate(built):
        wire = Ether(bytes(frame))  # as sniff hands it over: parsed from the wire
        wire.time = ORIGIN + 10 + at
        received.append(wire)
    return received


def capture_lines(packets: Sequence[object]) -> list[str]:
    """chaos-capture's stdout for ``packets``: the started event, a line per packet it reads, the stopped event."""
    from chaos_inlab import capture

    records = [capture.packet_line(packet) for packet in packets]
    lines = [protocol.format_capture_line({"event": protocol.STARTED, "pid": 12, "iface": "eth0", "pcap": "/tmp/x.pcap"})]
    lines += [protocol.format_capture_line(record) for record in records if record is not None]
    lines.append(protocol.format_capture_line({"event": protocol.STOPPED, "packets": len(packets)}))
    return lines


def test_the_capture_reads_what_chaos_capture_writes(tmp_path: Path) -> None:
    lines = capture_lines(frames())
    assert len(lines) == 2 + 3  # the TCP segment is in the pcap, not a line
    host = Replay([*lines, "WARNING: a scapy warning on stderr"])
    capture = Capture(host, "10.77.0.0/24", tmp_path / "x.pcap", ORIGIN, {LB1_IP: "lb1"})  # type: ignore[arg-type]
    with capture:
        pass
    assert host.argv == protocol.capture_argv("10.77.0.0/24", host.argv[4], protocol.CAPTURE_FILTER)
    vrrp, arp, carp = capture.packets
    assert isinstance(vrrp, Advert) and isinstance(arp, Arp) and isinstance(carp, Advert)
    assert (vrrp.at, vrrp.source, vrrp.mac, vrrp.protocol, vrrp.version) == (10.0, "lb1", LB1_MAC, "vrrp", 3)
    assert (vrrp.router_id, vrrp.priority, vrrp.interval, vrrp.addresses) == (51, 150, 1.0, (VIP,))
    # The gratuitous ARP's sender address is the VIP: the capture names it by lb1's MAC, learnt from the advert.
    assert arp.is_gratuitous and arp.source == "lb1" and arp.at == 11.0
    assert (carp.protocol, carp.router_id, carp.priority, carp.skew, carp.source) == ("carp", 7, None, 10, "10.77.0.3")
    assert carp.interval == pytest.approx(1 + 10 / 256)
    assert capture.seen_by_capturer == 4
    assert capture.log == ["WARNING: a scapy warning on stderr"]
    assert capture.pcap == tmp_path / "x.pcap"


def test_a_capture_that_never_says_started_is_an_error(tmp_path: Path) -> None:
    from chaos.errors import LabError

    host = Replay(["chaos-capture: no interface has an address in 10.99.0.0/24"])
    capture = Capture(host, "10.99.0.0/24", tmp_path / "x.pcap", ORIGIN)  # type: ignore[arg-type]
    with pytest.raises(LabError, match=r"no interface has an address in 10\.99\.0\.0/24"):
        capture.start()


# -- chaos-addrwatch -----------------------------------------------------------------------------


def netlink(kind: int, address: str) -> bytes:
    """An RTM_NEWADDR/RTM_DELADDR message as the kernel sends it: header, ifaddrmsg, IFA_ADDRESS, IFA_LOCAL, IFA_LABEL."""
    packed = socket.inet_aton(address)
    attributes = struct.pack("=HH", 8, 1) + packed + struct.pack("=HH", 8, 2) + packed + struct.pack("=HH", 9, 3) + b"eth0\0" + b"\0" * 3
    body = struct.pack("=BBBBL", socket.AF_INET, 32, 0, 0, 7) + attributes
    return struct.pack("=LHHLL", 16 + len(body), kind, 0, 0, 0) + body


def test_the_owner_observer_reads_what_chaos_addrwatch_writes() -> None:
    shown = f"2: eth0    inet {LB1_IP}/24 brd 10.77.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    start = protocol.format_watching(os.getpid(), ORIGIN + 1, addrwatch.is_held(VIP, shown))
    wanted = socket.inet_aton(VIP)
    lines = [
        start,
        *addrwatch.change_lines(netlink(addrwatch.RTM_NEWADDR, "10.77.0.9") + netlink(addrwatch.RTM_NEWADDR, VIP), wanted, ORIGIN + 2.5),
        *addrwatch.change_lines(netlink(addrwatch.RTM_DELADDR, VIP), wanted, ORIGIN + 4.25),
        "Traceback (most recent call last):",
    ]
    assert observer.is_watching(lines[0]) and not any(observer.is_watching(line) for line in lines[1:])
    history = OwnerHistory(["lb1"], origin=ORIGIN)
    watching = observer.OwnerObserver(VIP, {"lb1": Replay([])}, history)  # type: ignore[dict-item]
    for line in lines:
        watching._take("lb1", line)
    assert [(e.member, e.holds, e.at, e.cause) for e in history.events] == [
        ("lb1", False, 1.0, protocol.FREE),
        ("lb1", True, 2.5, protocol.ADDED),
        ("lb1", False, 4.25, protocol.DELETED),
    ]
    assert history.owners == Owners() and history.owners_at(3.0) == ["lb1"]
    assert history.errors == ["lb1: Traceback (most recent call last):"]


def test_the_watcher_sees_an_address_held_at_start() -> None:
    shown = f"2: eth0    inet {LB1_IP}/24 scope global eth0\n2: eth0    inet {VIP}/32 scope global eth0\n"
    parsed = protocol.parse_watch_line(protocol.format_watching(7, ORIGIN, addrwatch.is_held(VIP, shown)))
    assert parsed == protocol.WatchLine(True, ORIGIN, protocol.HELD, 7)
    assert not addrwatch.is_held("10.77.0.25", shown)  # a prefix of an address is not the address
