"""Failover analysis over synthetic captures: masters, split brain, gratuitous ARP, gaps (no Docker)."""

from __future__ import annotations

import pytest

from chaos.errors import UsageError
from chaos.observe import analysis
from chaos.observe.packets import Advert, Arp, Packet, from_record
from chaos.spec.model import VipSpec
from chaos.vips import Vip
from chaos.vips.keepalived import master_down_interval

VIP = "10.77.0.250"
MACS = {"lb1": "02:42:0a:4d:00:02", "lb2": "02:42:0a:4d:00:03"}
PRIORITIES = {"lb1": 150, "lb2": 100}


def advert(at: float, source: str, priority: int | None = None, router_id: int = 51, interval: float = 1.0) -> Advert:
    priority = PRIORITIES[source] if priority is None else priority
    address = {"lb1": "10.77.0.2", "lb2": "10.77.0.3"}[source]
    return Advert(at, source, address, MACS[source], "vrrp", 2, router_id, priority, interval, (VIP,))


def garp(at: float, source: str, address: str = VIP) -> Arp:
    return Arp(at, 1, address, MACS[source], address, "ff:ff:ff:ff:ff:ff", source)


def every(start: float, stop: float, source: str, step: float = 1.0, **kw: object) -> list[Packet]:
    count = round((stop - start) / step) + 1
    return [advert(round(start + i * step, 6), source, **kw) for i in range(count)]  # type: ignore[arg-type]


MDI_100 = master_down_interval(100, 1)  # 3.609 s

# lb1 is elected at 3.41 and advertises every second until 9.41; it dies at 9.9. lb2 takes
# over one Master_Down_Interval after lb1's last advert and announces the VIP at once.
POWER_OFF: list[Packet] = [
    *every(3.41, 9.41, "lb1"),
    garp(3.4102, "lb1"),
    garp(4.4102, "lb1"),  # keepalived repeats its gratuitous ARP after vrrp_garp_master_delay
    *every(9.41 + MDI_100, 19.1, "lb2"),
    garp(9.41 + MDI_100 + 0.0003, "lb2"),
    garp(9.41 + MDI_100 + 1.0003, "lb2"),
]


def test_runs_split_at_a_silence_of_three_intervals() -> None:
    runs = analysis.runs(POWER_OFF, 51)
    assert [(r.source, r.first, r.last, r.count, r.priority) for r in runs] == [
        ("lb1", 3.41, 9.41, 7, 150),
        ("lb2", pytest.approx(9.41 + MDI_100), pytest.approx(15.41 + MDI_100), 7, 100),
    ]
    assert analysis.runs(every(0, 3, "lb1") + every(6.5, 8, "lb1"), 51)[1].first == 6.5
    assert len(analysis.runs(every(0, 3, "lb1") + every(5.9, 8, "lb1"), 51)) == 1  # 2.9 s: jitter, not silence


def test_a_power_off_is_one_transition_with_the_master_down_interval_as_gap() -> None:
    election, failover = analysis.transitions(POWER_OFF, 51)
    assert (election.master, election.previous, election.gap) == ("lb1", None, None)
    assert (failover.master, failover.previous, failover.previous_last) == ("lb2", "lb1", 9.41)
    assert failover.gap == pytest.approx(MDI_100, abs=1e-9)
    assert not failover.is_overlapping
    assert analysis.split_brains(POWER_OFF, 51) == []


def test_the_first_gratuitous_arp_after_a_failover_is_the_new_masters() -> None:
    [failover] = analysis.failovers(POWER_OFF, 51, addresses=[VIP])
    assert failover.garp is not None and failover.garp.source == "lb2"
    assert failover.garp_delay == pytest.approx(0.0003, abs=1e-6)


def test_a_late_gratuitous_arp_from_the_old_master_is_not_the_failovers() -> None:
    # lb1 dies within a second of its election: its repeated ARP comes after its last advert.
    packets = [*every(3.41, 4.41, "lb1"), garp(4.4102, "lb1"), *every(4.41 + MDI_100, 12, "lb2"), garp(4.41 + MDI_100 + 0.001, "lb2")]
    [failover] = analysis.failovers(packets, 51, addresses=[VIP])
    assert failover.garp is not None and failover.garp.source == "lb2"


def test_a_failover_without_gratuitous_arp_says_so() -> None:
    packets = [p for p in POWER_OFF if isinstance(p, Advert)]
    [failover] = analysis.failovers(packets, 51, addresses=[VIP])
    assert failover.garp is None and failover.garp_delay is None


def test_gratuitous_arp_for_another_address_does_not_count() -> None:
    assert analysis.first_gratuitous_arp(POWER_OFF, after=10, addresses=["10.77.0.99"]) is None
    assert analysis.first_gratuitous_arp([garp(11, "lb2", "10.77.0.99")], after=10, addresses=["10.77.0.99"]) is not None


def test_first_gratuitous_arp_respects_its_window() -> None:
    assert analysis.first_gratuitous_arp(POWER_OFF, after=4.5, before=13.0) is None
    found = analysis.first_gratuitous_arp(POWER_OFF, after=4.0, before=13.0)
    assert found is not None and found.at == 4.4102


def test_two_masters_advertising_at_once_are_a_split_brain() -> None:
    # Multicast dropped between the two (a Docker internal network): both become master.
    packets = every(3.41, 12.41, "lb1") + every(3.61, 12.61, "lb2")
    [split] = analysis.split_brains(packets, 51)
    assert (split.start, split.end, split.sources) == (3.61, 12.41, ("lb1", "lb2"))
    assert split.duration == pytest.approx(8.8)
    [_, second] = analysis.transitions(packets, 51)
    assert second.is_overlapping and second.master == "lb2"


def test_a_single_advert_inside_another_masters_run_is_a_zero_length_split_brain() -> None:
    packets = [*every(0, 10, "lb1"), advert(5.5, "lb2")]
    [split] = analysis.split_brains(packets, 51)
    assert (split.start, split.end, split.sources) == (5.5, 5.5, ("lb1", "lb2"))
    # The blip does not make lb2 "the" master: lb1 kept advertising after it.
    later = [*packets, *every(14, 16, "lb2")]
    assert [t.previous for t in analysis.transitions(later, 51)][-1] == "lb1"


def test_a_preemption_is_a_transition_without_split_brain() -> None:
    # lb2 is master; lb1 comes back with a higher priority and takes over; lb2 falls silent.
    packets = every(0, 10, "lb2") + every(10.3, 15.3, "lb1")
    transition = analysis.transitions(packets, 51)[-1]
    assert (transition.previous, transition.master, transition.gap) == ("lb2", "lb1", pytest.approx(0.3))
    assert analysis.split_brains(packets, 51) == []


def test_a_resigning_master_is_not_advertising_as_master() -> None:
    # keepalived stopped gracefully sends priority 0; the backup takes over after its skew time.
    packets = [*every(0, 5, "lb1"), advert(5.5, "lb1", priority=0), *every(5.5 + 0.61, 9, "lb2")]
    assert [r.source for r in analysis.runs(packets, 51)] == ["lb1", "lb2"]
    assert analysis.transitions(packets, 51)[-1].previous_last == 5.0
    assert analysis.split_brains(packets, 51) == []


def test_other_router_ids_are_kept_apart() -> None:
    packets = every(0, 5, "lb1") + every(0.5, 5.5, "lb2", router_id=52)
    assert analysis.split_brains(packets, 51) == []
    assert [t.master for t in analysis.transitions(packets, 52)] == ["lb2"]


def test_a_router_back_after_a_silence_is_a_transition_from_itself() -> None:
    packets = every(0, 3, "lb1") + every(10, 12, "lb1")
    assert [(t.previous, t.master, t.gap) for t in analysis.transitions(packets, 51)] == [(None, "lb1", None), ("lb1", "lb1", 7.0)]


def test_nothing_captured_means_nothing_found() -> None:
    assert analysis.runs([], 51) == [] and analysis.transitions([], 51) == [] and analysis.split_brains([], 51) == []
    assert analysis.failovers([], 51) == [] and analysis.first_gratuitous_arp([], after=0) is None


def test_merge_keeps_one_copy_of_a_packet_two_captures_saw() -> None:
    on_lb1 = [advert(1.0, "lb1"), advert(2.0, "lb1")]
    on_lb2 = [advert(1.0002, "lb1"), advert(1.5, "lb2"), advert(2.0001, "lb1")]
    merged = analysis.merge(on_lb1, on_lb2)
    assert [(p.at, p.source) for p in merged] == [(1.0, "lb1"), (1.5, "lb2"), (2.0, "lb1")]
    # The same router advertising twice a second apart is two packets.
    assert len(analysis.merge([advert(1.0, "lb1")], [advert(2.0, "lb1")])) == 2


def test_arps_of_separates_gratuitous_from_ordinary_arp() -> None:
    asking = Arp(1.0, 1, "10.77.0.4", "02:42:0a:4d:00:04", VIP, "00:00:00:00:00:00", "client")
    packets: list[Packet] = [asking, garp(2.0, "lb1")]
    assert analysis.arps_of(packets, gratuitous=True) == [packets[1]]
    assert analysis.arps_of(packets, gratuitous=False) == [asking]
    assert len(analysis.arps_of(packets)) == 2


def test_from_record_reads_the_capture_lines() -> None:
    names = {"10.77.0.2": "lb1"}
    vrrp = from_record(
        {
            "kind": "vrrp",
            "t": 105.25,
            "src": "10.77.0.2",
            "mac": MACS["lb1"],
            "version": 2,
            "vrid": 51,
            "priority": 150,
            "interval": 1.0,
            "addresses": [VIP],
        },
        100.0,
        names,
        {},
    )
    assert vrrp == Advert(5.25, "lb1", "10.77.0.2", MACS["lb1"], "vrrp", 2, 51, 150, 1.0, (VIP,))
    carp = from_record(
        {"kind": "carp", "t": 101, "src": "10.77.0.9", "mac": "m", "version": 2, "vrid": 7, "priority": None, "advskew": 10, "interval": 1.04},
        100.0,
        names,
        {},
    )
    assert isinstance(carp, Advert) and (carp.source, carp.priority, carp.skew, carp.router_id) == ("10.77.0.9", None, 10, 7)
    arp = from_record(
        {"kind": "arp", "t": 102, "op": 1, "psrc": VIP, "hwsrc": MACS["lb2"], "pdst": VIP, "hwdst": "ff:ff:ff:ff:ff:ff"},
        100.0,
        names,
        {MACS["lb2"]: "lb2"},
    )
    assert isinstance(arp, Arp) and arp.is_gratuitous and arp.source == "lb2" and arp.at == 2.0
    assert from_record({"event": "started", "pid": 3}, 100.0, names, {}) is None


# -- the analysis takes the VIP itself ------------------------------------------------------


def www_handle(router_id: int = 51) -> Vip:
    """A VIP handle as a lab makes it (no Docker is touched until it is asked something live)."""
    return Vip(VipSpec("www", "front", {"lb1": 150, "lb2": 100}, virtual_router_id=router_id), VIP, {})


def test_every_analysis_takes_a_vip_handle_as_well_as_its_router_id() -> None:
    www = www_handle()
    assert analysis.runs(POWER_OFF, www) == analysis.runs(POWER_OFF, 51)
    assert analysis.transitions(POWER_OFF, www) == analysis.transitions(POWER_OFF, 51)
    assert analysis.split_brains(POWER_OFF, www) == analysis.split_brains(POWER_OFF, 51)
    assert analysis.adverts_of(POWER_OFF, www) == analysis.adverts_of(POWER_OFF, 51)
    assert analysis.failovers(POWER_OFF, www) == analysis.failovers(POWER_OFF, 51, addresses=[VIP])
    assert analysis.transitions(POWER_OFF, www_handle(router_id=52)) == []  # the handle's own router id is used


def test_a_vip_handle_brings_its_address_to_the_gratuitous_arp_search() -> None:
    # lb2 announces another address first: given the handle, only the VIP's own address counts.
    packets = [p for p in POWER_OFF if not isinstance(p, Arp)] + [garp(9.41 + MDI_100 + 0.0001, "lb2", "10.77.0.99")]
    [by_handle] = analysis.failovers(packets, www_handle())
    [by_id] = analysis.failovers(packets, 51)
    assert by_handle.garp is None
    assert by_id.garp is not None and by_id.garp.sender_ip == "10.77.0.99"


@pytest.mark.parametrize("wrong", ["www", None, True, 5.0])
def test_something_that_is_not_a_vip_is_refused_with_a_usage_error(wrong: object) -> None:
    with pytest.raises(UsageError, match="is not a VIP; give its handle"):
        analysis.transitions(POWER_OFF, wrong)  # type: ignore[arg-type]
