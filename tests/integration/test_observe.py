"""VIP history and packet capture on the real engine: a failover seen both ways, two holders forced, CARP read."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP
from scapy.utils import rdpcap

from chaos.engine import Engine
from chaos.expect import eventually
from chaos.host import Host
from chaos.lab import Lab
from chaos.observe import Capture
from chaos.spec import load_topology
from chaos.vips import Owners, Vip

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"

SLACK = 0.15
"""Seconds around each bound, as in test_measure_rfc.py: keepalived's timer scheduling on a busy machine
(tens of ms). The takeover is timed from lb1's exit time as the engine records it (its "gone" event), not
from the kill call; netlink, the capture and the engine give the times themselves to the millisecond."""


@dataclass
class PowerOffSeen:
    """What the observers recorded while lb1 of the pair lost power."""

    vip: Vip
    capture: Capture
    killed: tuple[float, float]  # lab clock: the kill call's start and end
    addresses: dict[str, str]


@pytest.fixture(scope="module")
def power_off_seen(chaos_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PowerOffSeen]:
    """One failover (lb1 killed) watched by a capture on the client and by the VIP's history; the lab is gone after."""
    with Lab(load_topology(PAIR), chaos_engine) as lab:
        www = lab.vips["www"]
        www.wait_owner("lb1", within="10s")
        with lab.capture("client", directory=tmp_path_factory.mktemp("pcap")) as capture:
            eventually(lambda: len(capture.adverts(www)), until=lambda n: n >= 2, within=5, what="two adverts from lb1")
            before = lab.timeline.now()
            lab.hosts["lb1"].kill()
            after = lab.timeline.now()
            www.wait_owner("lb2", within="10s")
            eventually(lambda: [a.source for a in capture.adverts(www)].count("lb2"), until=lambda n: n >= 2, within=5, what="two adverts from lb2")
        addresses = {name: host.address("front") for name, host in lab.hosts.items()}
    yield PowerOffSeen(www, capture, (before, after), addresses)


def test_the_capture_sees_each_masters_adverts_with_its_vrid_and_priority(power_off_seen: PowerOffSeen) -> None:
    seen = power_off_seen
    adverts = seen.capture.adverts()
    assert adverts, f"no adverts captured; the capture said: {seen.capture.log}"
    assert {a.router_id for a in adverts} == {seen.vip.spec.virtual_router_id} == {51}
    assert {(a.source, a.address, a.priority) for a in adverts} == {("lb1", seen.addresses["lb1"], 150), ("lb2", seen.addresses["lb2"], 100)}
    assert {(a.protocol, a.version, a.interval, a.addresses) for a in adverts} == {("vrrp", 2, 1.0, (seen.vip.address,))}
    sources = [a.source for a in adverts]
    assert sources == sorted(sources), "lb2 advertised before lb1 stopped"


def test_the_capture_sees_the_failover_and_the_new_masters_gratuitous_arp(power_off_seen: PowerOffSeen) -> None:
    seen = power_off_seen
    [failover] = seen.capture.failovers(seen.vip)
    assert (failover.transition.previous, failover.transition.master) == ("lb1", "lb2")
    assert failover.garp is not None, f"no gratuitous ARP after the failover; ARP seen: {seen.capture.arps()}"
    assert (failover.garp.source, failover.garp.sender_ip, failover.garp.target_ip) == ("lb2", seen.vip.address, seen.vip.address)
    # keepalived announces the address as it becomes master, not after vrrp_garp_master_delay:
    # before the new master's second advert.
    second_advert = [a for a in seen.capture.adverts(seen.vip) if a.source == "lb2"][1]
    assert failover.transition.at <= failover.garp.at + SLACK and failover.garp.at < second_advert.at
    assert seen.capture.split_brains(seen.vip) == []


def test_the_pcap_holds_what_was_streamed(power_off_seen: PowerOffSeen) -> None:
    capture = power_off_seen.capture
    assert capture.pcap is not None and capture.pcap.exists(), capture.log
    frames = rdpcap(str(capture.pcap))
    assert len(frames) == capture.seen_by_capturer == len(capture.packets)
    assert sum(1 for f in frames if IP in f and f[IP].proto == 112) == len(capture.adverts())
    assert sum(1 for f in frames if ARP in f) == len(capture.arps())


def test_the_history_records_lb1_then_lb2_with_the_times_of_the_failover(power_off_seen: PowerOffSeen) -> None:
    seen = power_off_seen
    history = seen.vip.history
    owners = [owners for _, owners in history.as_report()]
    assert owners[-3:] == [["lb1"], [], ["lb2"]], history.as_report()
    # Never two holders around the failover (at the lab's start a preemption may overlap by a millisecond).
    assert all(p.end is not None and p.end <= seen.killed[0] for p in history.shared_periods), history.as_report()
    gone = [e for e in history.events if e.member == "lb1" and e.cause == "gone"]
    assert len(gone) == 1 and seen.killed[0] <= gone[0].at <= seen.killed[1] + SLACK, (gone, seen.killed)
    [handover] = history.handovers
    earliest, latest = seen.vip.takeover_window("lb2")
    assert (handover.previous, handover.owner, handover.via) == ("lb1", "lb2", ((),))
    assert earliest - SLACK <= handover.seconds <= latest + SLACK, f"{handover.seconds:.3f}s outside [{earliest:.3f}, {latest:.3f}]"
    # The history and the capture saw the same takeover: lb2 adds the address as it sends its first advert.
    [failover] = seen.capture.failovers(seen.vip)
    assert handover.taken == pytest.approx(failover.transition.at, abs=SLACK)


def interface_of(host: Host, network: str) -> str:
    """The interface that carries ``host``'s address on ``network`` (Docker does not promise names)."""
    address = host.address(network)
    for line in host.check(["ip", "-o", "-4", "addr", "show"]).stdout.splitlines():
        fields = line.split()
        if fields[3].split("/")[0] == address:
            return fields[1].split("@")[0]
    raise AssertionError(f"no interface of {host} has {address}")


@pytest.mark.topology(PAIR)
def test_an_address_added_by_hand_is_a_second_owner(lab: Lab) -> None:
    www = lab.vips["www"]
    lb2 = lab.hosts["lb2"]
    www.wait_owner("lb1", within="10s")
    www.history.wait_until(lambda owners: owners == ("lb1",), within=5, what="lb1 alone to hold www")
    lb2.check(["ip", "addr", "add", f"{www.address}/32", "dev", interface_of(lb2, "front")])
    www.history.wait_until(lambda owners: owners == ("lb1", "lb2"), within=5, what="lb1 and lb2 to hold www")
    with pytest.raises(AssertionError, match=f"held by 2 members: {re.escape(str(Owners(['lb1', 'lb2'])))};"):
        www.assert_single_owner()
    lb2.check(["ip", "addr", "del", f"{www.address}/32", "dev", interface_of(lb2, "front")])
    www.history.wait_until(lambda owners: owners == ("lb1",), within=5, what="lb1 alone to hold www")
    assert www.history.max_simultaneous_owners == 2
    shared = www.history.shared_periods[-1]
    assert shared.owners == ("lb1", "lb2") and shared.duration is not None and shared.duration > 0
    assert www.as_report()["max_simultaneous_owners"] == 2


@pytest.mark.topology(PAIR)
def test_vrrp_dropped_on_the_backup_is_a_split_brain_both_observers_see(lab: Lab, tmp_path: Path) -> None:
    www = lab.vips["www"]
    lb2 = lab.hosts["lb2"]
    www.wait_owner("lb1", within="10s")
    with lab.capture("client", directory=tmp_path) as capture:
        # lb2 stops hearing lb1's adverts, so it becomes master too; lb1 ignores lb2's lower priority.
        lb2.check(["iptables", "-A", "INPUT", "-p", "112", "-j", "DROP"])
        www.history.wait_until(lambda owners: owners == ("lb1", "lb2"), within=10, what="lb2 to hold www beside lb1")
        # Three adverts: lb2's stretch as master lasts two intervals, well over the one asserted below.
        eventually(lambda: [a.source for a in capture.adverts(www)].count("lb2"), until=lambda n: n >= 3, within=6, what="three adverts from lb2")
        lb2.check(["iptables", "-D", "INPUT", "-p", "112", "-j", "DROP"])
        www.history.wait_until(lambda owners: owners == ("lb1",), within=5, what="lb2 to step back")
    [split] = capture.split_brains(www)
    assert split.sources == ("lb1", "lb2") and split.duration >= www.spec.advert_int
    assert www.history.max_simultaneous_owners == 2
    shared = www.history.shared_periods[-1]
    # Two observers of one event: lb2 adds the address in the same step as it sends its first advert.
    assert shared.start == pytest.approx(split.start, abs=SLACK)
    assert capture.pcap is not None and capture.pcap.exists()


CARP_LAB = {"networks": {"front": {}}, "hosts": {"c1": {"networks": ["front"]}, "client": {"networks": ["front"]}}}


@pytest.mark.topology(CARP_LAB)
def test_the_capture_reads_ucarps_carp_adverts(lab: Lab) -> None:
    c1 = lab.hosts["c1"]
    subnet = ipaddress.ip_network(lab.networks["front"].subnet)
    vip = str(subnet.broadcast_address - 5)
    with lab.capture("client") as capture:
        # ucarp runs its scripts directly; /bin/true stands in for "add/remove the address".
        identity = ["-i", interface_of(c1, "front"), "-s", c1.address("front"), "-v", "7", "-p", "secret", "-a", vip]
        c1.check(["ucarp", "-B", *identity, "-b", "1", "-k", "10", "-u", "/bin/true", "-d", "/bin/true"])
        eventually(lambda: len(capture.adverts(7)), until=lambda n: n >= 2, within=10, what="two CARP adverts from ucarp")
    advert = capture.adverts(7)[0]
    assert (advert.protocol, advert.source, advert.router_id, advert.priority, advert.skew) == ("carp", "c1", 7, None, 10)
    assert advert.interval == pytest.approx(1 + 10 / 256)
    assert [t.master for t in capture.transitions(7)] == ["c1"]
