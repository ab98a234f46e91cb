"""Capture VRRP/CARP adverts and ARP in this network namespace (``chaos-capture``): one JSON line per packet, and a pcap.

`chaos-capture --subnet 172.18.0.0/16 --pcap /tmp/x.pcap [--filter "arp or ip proto 112"]`

Lines on stdout (times are the kernel's receive timestamps, epoch seconds):
  {"event": "started", "pid": 12, "iface": "eth0", "pcap": "/tmp/x.pcap"}   once the socket is open
  {"kind": "vrrp"|"carp", "t": ..., "src": ..., "mac": ..., "vrid": 51, "priority": 150, ...}
  {"kind": "arp", "t": ..., "op": 1, "psrc": ..., "hwsrc": ..., "pdst": ..., "hwdst": ...}
  {"event": "stopped", "packets": 42}                                          on SIGINT/SIGTERM
Every packet the filter passes goes to the pcap, written through at once so a killed
capture still leaves a readable file (Wireshark opens it). scapy is imported only to capture
and to read a packet, so the runner can import this module without it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from chaos_inlab.protocol import CAPTURE, CAPTURE_FILTER, STARTED, STOPPED, format_capture_line

CARP_LENGTH = 36  # type/version, vhid, advskew, authlen, demote, advbase, checksum, 8-byte counter, 20-byte HMAC
CARP_AUTHLEN = 7  # counter and HMAC in 32-bit words; at this place VRRPv2 has its address count, 5 in a 36-byte advert
VRRP_PROTOCOL = 112


def emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(format_capture_line(record) + "\n")
    sys.stdout.flush()


def interface_in(subnet: str) -> str:
    """The interface whose IPv4 address lies in ``subnet`` (Docker does not promise interface names)."""
    network = ipaddress.ip_network(subnet)
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    for line in shown.splitlines():
        fields = line.split()
        if ipaddress.ip_interface(fields[3]).ip in network:
            return fields[1].split("@")[0]
    raise SystemExit(f"{CAPTURE}: no interface has an address in {subnet}")


def _addresses(payload: bytes, count: int) -> list[str]:
    return [socket.inet_ntoa(payload[8 + 4 * i : 12 + 4 * i]) for i in range(count) if 12 + 4 * i <= len(payload)]


def advert(ip: Any, payload: bytes) -> dict[str, Any] | None:
    """VRRP (v2, v3) or CARP, told apart by the header itself: both use IP protocol 112.

    ``ip`` is the IP layer (anything with ``src``, ``dst`` and ``ttl``); ``payload`` what follows its header.
    """
    if len(payload) < 8:
        return None
    version, kind = payload[0] >> 4, payload[0] & 0x0F
    common = {"src": ip.src, "dst": ip.dst, "ttl": ip.ttl, "type": kind}
    if version == 2 and len(payload) == CARP_LENGTH and payload[3] == CARP_AUTHLEN:
        vhid, advskew, demote, advbase = payload[1], payload[2], payload[4], payload[5]
        return {
            "kind": "carp",
            "version": 2,
            "vrid": vhid,
            "priority": None,
            "advskew": advskew,
            "advbase": advbase,
            "demote": demote,
            "interval": advbase + advskew / 256,
            "addresses": [],
            **common,
        }
    if version == 2:
        count, interval = payload[3], payload[5]
        return {
            "kind": "vrrp",
            "version": 2,
            "vrid": payload[1],
            "priority": payload[2],
            "interval": float(interval),
            "addresses": _addresses(payload, count),
            **common,
        }
    if version == 3:
        count = payload[3]
        centiseconds = struct.unpack("!H", payload[4:6])[0] & 0x0FFF
        return {
            "kind": "vrrp",
            "version": 3,
            "vrid": payload[1],
            "priority": payload[2],
            "interval": centiseconds / 100,
            "addresses": _addresses(payload, count),
            **common,
        }
    return None


def describe(packet: Any) -> dict[str, Any] | None:
    """The record of an ARP packet or a VRRP/CARP advert (a scapy packet), None for anything else."""
    from scapy.layers.inet import IP
    from scapy.layers.l2 import ARP

    if ARP in packet:
        arp = packet[ARP]
        return {"kind": "arp", "op": int(arp.op), "psrc": arp.psrc, "hwsrc": arp.hwsrc, "pdst": arp.pdst, "hwdst": arp.hwdst}
    if IP in packet and packet[IP].proto == VRRP_PROTOCOL:
        ip = packet[IP]
        raw = bytes(ip)
        record = advert(ip, raw[ip.ihl * 4 : ip.len])  # by the IP length: no Ethernet padding
        if record is not None:
            return record
    return None


def packet_line(packet: Any) -> dict[str, Any] | None:
    """The full line record of a captured frame (receive time, sender MAC, then `describe`), None for other frames."""
    from scapy.layers.l2 import Ether

    record = describe(packet) if Ether in packet else None
    if record is None:
        return None
    return {"t": float(packet.time), "mac": packet[Ether].src, **record}


def main(argv: Sequence[str] | None = None) -> int:
    from scapy.all import PcapWriter, sniff

    parser = argparse.ArgumentParser(prog=CAPTURE)
    parser.add_argument("--subnet", required=True, help="capture on the interface with an address in this subnet")
    parser.add_argument("--pcap", required=True, help="where to write the pcap")
    parser.add_argument("--filter", default=CAPTURE_FILTER, help=f"BPF filter for the pcap (default: {CAPTURE_FILTER!r})")
    args = parser.parse_args(argv)
    iface = interface_in(args.subnet)
    os.makedirs(os.path.dirname(os.path.abspath(args.pcap)), exist_ok=True)
    writer = PcapWriter(args.pcap, linktype=1, sync=True)  # 1: Ethernet
    seen = 0

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def handle(packet: Any) -> None:
        nonlocal seen
        seen += 1
        writer.write(packet)
        try:
            record = packet_line(packet)
        except Exception as exc:  # one odd packet must not end the capture; it is in the pcap anyway
            sys.stderr.write(f"{CAPTURE}: could not read packet {seen}: {exc}\n")
            return
        if record is not None:
            emit(record)

    try:
        # The filter runs in the kernel (compiled by libpcap), so a busy flow beside the capture costs nothing here.
        sniff(
            iface=iface,
            filter=args.filter,
            prn=handle,
            store=False,
            started_callback=lambda: emit({"event": STARTED, "pid": os.getpid(), "iface": iface, "pcap": args.pcap}),
        )
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()
        emit({"event": STOPPED, "packets": seen})
    return 0


if __name__ == "__main__":
    sys.exit(main())
