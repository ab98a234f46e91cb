"""iptables rules for network faults, as text, without Docker."""

from __future__ import annotations

import pytest

from chaos.errors import FaultError
from chaos.net.rules import (
    MAX_CHAIN,
    Match,
    Rule,
    Tag,
    blackhole_rules,
    egress_rules,
    loss_action,
    mark_action,
    partition_rules,
    protocol_number,
    queue_action,
    restore_input,
)

ADDRESSES = {"lb1": ["10.0.0.2"], "lb2": ["10.0.0.3", "10.0.1.3"], "client": ["10.0.0.4"]}


@pytest.mark.parametrize(("given", "number"), [("vrrp", 112), ("VRRP", 112), ("carp", 112), (112, 112), ("112", 112), ("tcp", 6), (0, 0), (255, 255)])
def test_protocols_by_name_or_number(given, number):
    assert protocol_number(given) == number


@pytest.mark.parametrize("given", ["vrpp", 256, -1, "", True, "6x"])
def test_an_unknown_protocol_names_what_is_accepted(given):
    with pytest.raises(FaultError) as info:
        protocol_number(given)
    assert f"unknown protocol {given!r}" in str(info.value)
    assert "vrrp" in str(info.value) and "0..255" in str(info.value)


def test_match_fragments_for_protocols_and_ports():
    assert Match().fragments() == [""]
    assert Match.of("vrrp").fragments() == ["-p 112"]
    assert Match.of("udp", [53, 5353]).fragments() == ["-p udp -m multiport --ports 53,5353"]
    # Ports without a protocol: TCP and UDP both.
    assert Match.of(port=9000).fragments() == ["-p tcp -m multiport --ports 9000", "-p udp -m multiport --ports 9000"]
    assert Match.of(port=9000).describe() == "tcp+udp/9000"
    assert Match.of("vrrp").describe() == "vrrp"
    assert Match.of(6, 80).describe() == "tcp/80"


@pytest.mark.parametrize(
    ("protocol", "port", "message"),
    [("icmp", 80, "protocol 'icmp' has no ports"), ("tcp", 0, "port 0 is not a port"), ("tcp", 70000, "port 70000"), (None, "80", "port '80'")],
)
def test_bad_filters_are_refused_before_anything_runs(protocol, port, message):
    with pytest.raises(FaultError, match=message):
        Match.of(protocol, port)


def test_tag_names_chains_within_iptables_limits_and_sanitises_the_session():
    tag = Tag("3f2a9c01", 12345)
    assert tag.chain("POSTROUTING") == "CHAOS-3f2a9c01-12345-POST"
    assert len(tag.chain("POSTROUTING")) <= MAX_CHAIN
    assert Tag("my session/!", 1).prefix == "CHAOS-mysessio-1-"
    assert Tag("", 1).prefix == "CHAOS-x-1-"


def test_partition_rules_cut_each_link_at_both_ends():
    rules = partition_rules({"lb2": {"lb1"}}, ADDRESSES)
    # lb2 drops what lb1 sends; lb1 drops what it would send to any address of lb2.
    assert rules["lb2"] == [Rule("filter", "INPUT", "-s 10.0.0.2/32 -j DROP")]
    assert rules["lb1"] == [Rule("filter", "OUTPUT", "-d 10.0.0.3/32 -j DROP"), Rule("filter", "OUTPUT", "-d 10.0.1.3/32 -j DROP")]
    assert "client" not in rules


def test_filtered_partition_rules_carry_the_match():
    rules = partition_rules({"lb1": {"lb2"}, "lb2": {"lb1"}}, {"lb1": ["10.0.0.2"], "lb2": ["10.0.0.3"]}, Match.of("vrrp"))
    assert sorted(r.body for r in rules["lb1"]) == ["-d 10.0.0.3/32 -p 112 -j DROP", "-s 10.0.0.3/32 -p 112 -j DROP"]


def test_blackhole_drops_destination_ports_from_anyone_or_named_sources():
    assert blackhole_rules(Match.of("tcp", 80)) == [Rule("filter", "INPUT", "-p tcp -m multiport --dports 80 -j DROP")]
    assert [r.body for r in blackhole_rules(Match.of(None, 9000), ["10.0.0.4"])] == [
        "-s 10.0.0.4 -p tcp -m multiport --dports 9000 -j DROP",
        "-s 10.0.0.4 -p udp -m multiport --dports 9000 -j DROP",
    ]


def test_egress_rules_never_touch_loopback():
    rules = egress_rules(loss_action(0.3), [])
    assert rules == [Rule("filter", "OUTPUT", "! -o lo -m statistic --mode random --probability 0.30000000 -j DROP")]
    towards = egress_rules(queue_action(4200, 0x10000), ["10.0.0.3", "10.0.0.4"], Match.of("icmp"), table="mangle", hook="POSTROUTING")
    assert [r.body for r in towards] == [
        "! -o lo -d 10.0.0.3 -p 1 -m mark ! --mark 0x10000/0x10000 -j NFQUEUE --queue-num 4200 --queue-bypass",
        "! -o lo -d 10.0.0.4 -p 1 -m mark ! --mark 0x10000/0x10000 -j NFQUEUE --queue-num 4200 --queue-bypass",
    ]
    assert mark_action(0x1000000, 0xF000000) == "-j MARK --set-xmark 0x1000000/0xf000000"


def test_restore_input_declares_chains_hooks_them_first_and_tags_the_jump():
    rules = [
        Rule("filter", "INPUT", "-s 10.0.0.2/32 -j DROP"),
        Rule("filter", "OUTPUT", "-d 10.0.0.2/32 -j DROP"),
        Rule("mangle", "POSTROUTING", "-j MARK --set-xmark 0x1/0x1"),
    ]
    tables = restore_input(Tag("s1", 4), rules, 'partition("lb1")')
    assert tables["filter"].splitlines() == [
        "*filter",
        ":CHAOS-s1-4-IN - [0:0]",
        "-I INPUT 1 -m comment --comment \"chaos-s1-4 partition('lb1')\" -j CHAOS-s1-4-IN",
        "-A CHAOS-s1-4-IN -s 10.0.0.2/32 -j DROP",
        ":CHAOS-s1-4-OUT - [0:0]",
        "-I OUTPUT 1 -m comment --comment \"chaos-s1-4 partition('lb1')\" -j CHAOS-s1-4-OUT",
        "-A CHAOS-s1-4-OUT -d 10.0.0.2/32 -j DROP",
        "COMMIT",
    ]
    assert tables["mangle"].startswith("*mangle\n:CHAOS-s1-4-POST - [0:0]\n-I POSTROUTING 1 ")
    assert restore_input(Tag("s1", 5), [], "nothing") == {}
    with pytest.raises(ValueError, match="hooks no fault uses"):
        restore_input(Tag("s1", 6), [Rule("nat", "PREROUTING", "-j ACCEPT")], "bad")
