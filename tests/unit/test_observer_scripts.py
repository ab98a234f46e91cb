"""The in-lab programs' parsers (chaos_inlab): chaos-capture tells VRRP from CARP, chaos-addrwatch reads netlink (no Docker)."""

from __future__ import annotations

import importlib
import socket
import struct
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def capture() -> ModuleType:
    pytest.importorskip("scapy")
    return importlib.import_module("chaos_inlab.capture")


@pytest.fixture(scope="module")
def addrwatch() -> ModuleType:
    return importlib.import_module("chaos_inlab.addrwatch")


def ip_header(src: str = "10.77.0.2") -> object:
    from scapy.layers.inet import IP

    return IP(src=src, dst="224.0.0.18", ttl=255, proto=112)


def test_vrrp2_as_scapy_builds_it(capture: ModuleType) -> None:
    from scapy.layers.vrrp import VRRP

    payload = bytes(VRRP(vrid=51, priority=150, adv=1, addrlist=["10.77.0.250"]))
    record = capture.advert(ip_header(), payload)
    assert record["kind"] == "vrrp" and record["version"] == 2
    assert (record["vrid"], record["priority"], record["interval"], record["addresses"]) == (51, 150, 1.0, ["10.77.0.250"])
    assert (record["src"], record["dst"], record["ttl"]) == ("10.77.0.2", "224.0.0.18", 255)


def test_vrrp2_with_five_addresses_is_as_long_as_carp_and_still_vrrp(capture: ModuleType) -> None:
    from scapy.layers.vrrp import VRRP

    addresses = [f"10.77.0.{n}" for n in range(250, 255)]
    payload = bytes(VRRP(vrid=9, priority=100, addrlist=addresses))
    assert len(payload) == 36
    record = capture.advert(ip_header(), payload)
    assert record["kind"] == "vrrp" and record["addresses"] == addresses


def test_vrrp3_interval_is_in_centiseconds(capture: ModuleType) -> None:
    from scapy.layers.vrrp import VRRPv3

    payload = bytes(VRRPv3(vrid=51, priority=100, adv=25, addrlist=["10.77.0.250"]))
    record = capture.advert(ip_header(), payload)
    assert (record["kind"], record["version"], record["interval"], record["priority"]) == ("vrrp", 3, 0.25, 100)


def test_carp_as_scapy_builds_it(capture: ModuleType) -> None:
    from scapy.contrib.carp import CARP

    # As OpenBSD and ucarp send it (scapy's defaults are not a real CARP header).
    payload = bytes(CARP(version=2, type=1, vhid=7, advskew=10, authlen=7, advbase=1))
    record = capture.advert(ip_header(), payload)
    assert record["kind"] == "carp"
    assert (record["vrid"], record["advskew"], record["advbase"], record["priority"]) == (7, 10, 1, None)
    assert record["interval"] == pytest.approx(1 + 10 / 256)


def test_a_truncated_advert_is_ignored(capture: ModuleType) -> None:
    assert capture.advert(ip_header(), b"\x21\x33") is None


def netlink_address_message(kind: int, address: str) -> bytes:
    """An RTM_NEWADDR/RTM_DELADDR message as the kernel sends it: header, ifaddrmsg, IFA_ADDRESS, IFA_LOCAL, IFA_LABEL."""
    packed = socket.inet_aton(address)
    attributes = struct.pack("=HH", 8, 1) + packed + struct.pack("=HH", 8, 2) + packed + struct.pack("=HH", 9, 3) + b"eth0\0" + b"\0" * 3
    body = struct.pack("=BBBBL", socket.AF_INET, 32, 0, 0, 7) + attributes
    return struct.pack("=LHHLL", 16 + len(body), kind, 0, 0, 0) + body


def test_addrwatch_reports_each_change_once(addrwatch: ModuleType) -> None:
    wanted = socket.inet_aton("10.77.0.250")
    added = netlink_address_message(20, "10.77.0.250")
    assert list(addrwatch.changes(added, wanted)) == ["added"]
    assert list(addrwatch.changes(netlink_address_message(21, "10.77.0.250"), wanted)) == ["deleted"]


def test_addrwatch_reads_several_messages_and_ignores_other_addresses(addrwatch: ModuleType) -> None:
    wanted = socket.inet_aton("10.77.0.250")
    data = netlink_address_message(20, "10.77.0.3") + netlink_address_message(20, "10.77.0.250") + netlink_address_message(21, "10.77.0.250")
    assert list(addrwatch.changes(data, wanted)) == ["added", "deleted"]
    assert list(addrwatch.changes(b"\x00" * 8, wanted)) == []


def test_describe_reads_an_advert_by_the_ip_length_not_the_ethernet_padding(capture: ModuleType) -> None:
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    from scapy.layers.vrrp import VRRP
    from scapy.packet import Padding

    frame = Ether(
        bytes(
            Ether(src="02:42:0a:4d:00:02")
            / IP(src="10.77.0.2", dst="224.0.0.18", ttl=255, proto=112)
            / VRRP(vrid=51, priority=150, addrlist=["10.77.0.250"])
            / Padding(b"\0" * 6)
        )
    )
    record = capture.describe(frame)
    assert record is not None and (record["kind"], record["addresses"]) == ("vrrp", ["10.77.0.250"])


def test_describe_reads_a_gratuitous_arp(capture: ModuleType) -> None:
    from scapy.layers.l2 import ARP, Ether

    frame = Ether(
        bytes(Ether(src="02:42:0a:4d:00:03", dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc="10.77.0.250", pdst="10.77.0.250", hwsrc="02:42:0a:4d:00:03"))
    )
    assert capture.describe(frame) == {
        "kind": "arp",
        "op": 1,
        "psrc": "10.77.0.250",
        "hwsrc": "02:42:0a:4d:00:03",
        "pdst": "10.77.0.250",
        "hwdst": "00:00:00:00:00:00",
    }
