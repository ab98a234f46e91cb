"""Partitions and blackholes on the real engine, proven with traffic between lab hosts, and healed to the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import faults
from chaos.errors import FaultError, HostCommandError
from chaos.expect import eventually

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"


def pings(lab, source: str, target: str, count: int = 3) -> int:
    """How many of ``count`` pings from ``source`` to ``target``'s address got an answer (200 ms apart, 0.5 s patience)."""
    address = lab.hosts[target].address("front")
    result = lab.hosts[source].exec(f"ping -n -q -c {count} -i 0.2 -W 0.5 {address}")
    for line in result.stdout.splitlines():
        if "received" in line:
            return int(line.split(",")[1].split()[0])
    raise AssertionError(f"no ping summary: {result.stdout} {result.stderr}")


def echo_requests_seen(lab, host: str) -> int:
    """ICMP echo requests ``host``'s kernel has received so far (/proc/net/snmp, Icmp InEchos)."""
    lines = [line.split() for line in lab.hosts[host].check("cat /proc/net/snmp").stdout.splitlines() if line.startswith("Icmp:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("InEchos")])


def our_rules(lab, host: str) -> str:
    """Every line of iptables-save in ``host`` that a fault could have left."""
    saved = lab.hosts[host].check("iptables-save").stdout
    return "\n".join(line for line in saved.splitlines() if "CHAOS" in line or "chaos-" in line)


def answers(lab, source: str, address: str, protocol: str, port: int | None = None, timeout: float = 0.5) -> str | None:
    argv = ["chaos-probe", protocol, address, *([str(port)] if port else []), "--timeout", str(timeout)]
    result = lab.hosts[source].exec(argv)
    return result.stdout.strip() if result.ok else None


@pytest.mark.topology(PAIR)
def test_a_partition_stops_packets_both_ways_and_heal_restores_them(lab, chaos):
    assert pings(lab, "client", "lb1") == 3 and pings(lab, "lb2", "lb1") == 3
    run = chaos.inject(faults.partition("lb1"))
    assert run.effective is not None and run.effective >= run.requested
    assert pings(lab, "client", "lb1") == 0 and pings(lab, "lb1", "client") == 0
    assert pings(lab, "lb2", "lb1") == 0 and pings(lab, "lb1", "lb2") == 0
    assert pings(lab, "client", "lb2") == 3, "hosts on the same side still talk"
    assert "CHAOS-" in our_rules(lab, "lb1") and "partition(lb1)" in our_rules(lab, "client")
    run.heal()
    assert run.healed is not None and run.healed >= run.record.heal_requested
    assert pings(lab, "client", "lb1") == 3 and pings(lab, "lb1", "lb2") == 3
    assert [our_rules(lab, h) for h in lab.hosts] == ["", "", ""]


@pytest.mark.topology(PAIR)
def test_a_one_way_partition_loses_packets_in_one_direction_only(lab, chaos):
    chaos.inject(faults.one_way("client", "lb1"))
    # client -> lb1: the requests never reach lb1.
    before = echo_requests_seen(lab, "lb1")
    assert pings(lab, "client", "lb1") == 0
    assert echo_requests_seen(lab, "lb1") == before
    # lb1 -> client: the requests arrive (client counts them); only the answers, going client -> lb1, are lost.
    before = echo_requests_seen(lab, "client")
    assert pings(lab, "lb1", "client") == 0
    assert echo_requests_seen(lab, "client") == before + 3
    assert pings(lab, "lb2", "lb1") == 3 and pings(lab, "client", "lb2") == 3
    chaos.heal()
    assert pings(lab, "client", "lb1") == 3


@pytest.mark.topology(PAIR)
def test_dropping_only_vrrp_between_the_pair_makes_both_master_while_http_flows(lab, chaos):
    www = lab.vips["www"]
    eventually(www.owners, until=lambda owners: owners == ["lb1"], within=10, what="lb1 alone to hold www")
    chaos.inject(faults.partition("lb1", "lb2", protocol="vrrp"))
    # lb2 stops hearing lb1's adverts: after Master_Down_Interval (about 3.6 s) it takes the VIP too.
    eventually(www.owners, until=lambda owners: owners == ["lb1", "lb2"], within=8, what="both members to hold www (split brain)")
    for host in ("lb1", "lb2"):
        assert answers(lab, "client", lab.hosts[host].address("front"), "http") == host, f"HTTP to {host} must still flow"
    assert pings(lab, "lb1", "lb2") == 3
    chaos.heal()
    # lb2 hears lb1's higher priority again and steps down.
    eventually(www.owners, until=lambda owners: owners == ["lb1"], within=8, what="lb1 alone to hold www again")


@pytest.mark.topology(PAIR)
def test_dropping_only_http_leaves_vrrp_and_ping_alone(lab, chaos):
    www = lab.vips["www"]
    eventually(www.owners, until=lambda owners: owners == ["lb1"], within=10, what="lb1 alone to hold www")
    assert answers(lab, "client", www.address, "http") == "lb1"
    chaos.inject(faults.partition("client", ["lb1", "lb2"], protocol="tcp", port=80))
    assert answers(lab, "client", www.address, "http") is None
    assert answers(lab, "client", lab.hosts["lb2"].address("front"), "http") is None
    assert answers(lab, "client", www.address, "tcp", 9000) == "lb1", "another TCP port is not filtered"
    assert pings(lab, "client", "lb1") == 3
    assert www.owners() == ["lb1"], "VRRP was not touched: no failover"
    chaos.heal()
    assert answers(lab, "client", www.address, "http") == "lb1"


@pytest.mark.topology(PAIR)
def test_a_blackholed_port_hangs_while_the_host_answers_on_others(lab, chaos):
    lb1 = lab.hosts["lb1"].address("front")
    assert answers(lab, "client", lb1, "http") == "lb1"
    chaos.inject(faults.blackhole("lb1", 80))
    refused_or_hung = lab.hosts["client"].exec(["chaos-probe", "http", lb1, "--timeout", "1"])
    assert not refused_or_hung.ok and "timed out" in refused_or_hung.stderr, "a blackhole drops silently: no reset, a timeout"
    assert answers(lab, "client", lb1, "tcp", 9000) == "lb1" and pings(lab, "client", "lb1") == 3
    chaos.heal()
    assert answers(lab, "client", lb1, "http") == "lb1"


@pytest.mark.topology(PAIR)
def test_heal_leaves_rules_that_are_not_ours_and_the_first_fault_sweeps_stale_ones(lab, chaos):
    lb1 = lab.hosts["lb1"]
    # Someone else's rules, and a stale chain of a fault whose process died (a killed run).
    lb1.check("iptables -N USER-KEEP && iptables -A USER-KEEP -p tcp --dport 2222 -j ACCEPT && iptables -A INPUT -j USER-KEEP")
    lb1.check("iptables -t mangle -A OUTPUT -p udp --dport 5353 -j MARK --set-mark 7")
    lb1.check("iptables -N CHAOS-dead0000-9-IN && iptables -A CHAOS-dead0000-9-IN -j DROP && iptables -I INPUT -j CHAOS-dead0000-9-IN")
    assert pings(lab, "client", "lb1") == 0, "the stale rule drops everything"
    baseline = lb1.check("iptables-save | grep -v '^#' | grep -v CHAOS").stdout
    run = chaos.inject(faults.partition("lb1", "lb2"))
    assert "CHAOS-dead0000" not in our_rules(lab, "lb1"), "binding the first network fault swept the stale chain"
    assert pings(lab, "client", "lb1") == 3 and pings(lab, "lb2", "lb1") == 0
    run.heal()
    run.heal()  # idempotent
    assert lb1.check("iptables-save | grep -v '^#' | grep -v CHAOS").stdout == baseline
    assert our_rules(lab, "lb1") == ""


@pytest.mark.topology(PAIR)
def test_the_same_partition_twice_is_refused_and_changes_nothing(lab, chaos):
    chaos.inject(faults.partition("lb1"))
    rules = our_rules(lab, "lb2")
    with pytest.raises(FaultError, match="already injected on partition"):
        chaos.inject(faults.partition("lb1", ["lb2", "client"]))
    assert our_rules(lab, "lb2") == rules
    with pytest.raises(FaultError, match="unknown host 'lb3' in 'lb3'; the lab's hosts: lb1, lb2, client"):
        chaos.inject(faults.partition("lb3"))


@pytest.mark.topology(PAIR)
def test_a_paused_host_is_reported_not_silently_skipped(lab, chaos):
    chaos.inject(faults.pause("lb1"))
    chaos.inject(faults.partition("lb2", "client"))  # hosts that answer are cut as usual
    assert pings(lab, "client", "lb2") == 0
    with pytest.raises(HostCommandError, match=r"cannot reach <Host lb1 .*is it paused"):
        chaos.inject(faults.partition("lb1", "client"))
    assert our_rules(lab, "client").count("partition(lb1|client)") == 0, "the failed partition left nothing on client"
