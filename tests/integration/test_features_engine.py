"""Features that had no test on the engine: nopreempt, sub-second VRRPv3, the other partition strategies, cut_links, JUnit figures.

VRRP here runs at a small advert_int (VRRPv3, 200 ms) wherever realism is not the point: every
RFC 5798 interval shrinks with it, so a failover takes under a second and each test seconds.
"""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pytest_chaos.slo import flow_key

from chaos import Lab, faults, topology_from_dict
from chaos._internal.parallel import parallel
from chaos.expect import eventually
from chaos.net import grudges
from chaos.vips.keepalived import master_down_interval, takeover_window

SLACK = 0.15
"""Seconds around an RFC 5798 window, as in test_measure_rfc.py: keepalived's timer scheduling on a busy
machine (tens of ms), plus the netlink watcher's report of the new address (a few ms). The takeover is
timed from the engine's exit time of the old master, so the kill call's own latency is no part of it."""

ADVERT = "200ms"
"""A VRRPv3 interval well under a second: Master_Down_Interval for priority 100 is 0.72 s."""


def fast_pair(**vip: object) -> dict[str, Any]:
    """The keepalived pair of suites/keepalived/pair.yaml, on VRRPv3 at `ADVERT`, with ``vip`` settings on top."""
    return {
        "networks": {"front": {}},
        "hosts": {"lb1": {"networks": ["front"]}, "lb2": {"networks": ["front"]}, "client": {"networks": ["front"]}},
        "vips": {
            "www": {
                "network": "front",
                "provider": "keepalived",
                "members": {"lb1": 150, "lb2": 100},
                "vrrp_version": 3,
                "advert_int": ADVERT,
                **vip,
            }
        },
    }


def taken_after(www, member: str, since: float) -> float:
    """When (lab clock) ``member`` first took the VIP after ``since``, from the VIP's history."""
    return next(e.at for e in www.history.events if e.member == member and e.holds and e.at > since)


# -- VRRP ------------------------------------------------------------------------------------


@pytest.mark.topology(fast_pair())
def test_vrrp_v3_at_200ms_fails_over_inside_its_rfc_window(lab, chaos):
    www = lab.vips["www"]
    priority, interval = www.spec.members["lb2"], www.spec.advert_int
    assert (www.spec.vrrp_version, interval) == (3, 0.2)
    earliest, latest = takeover_window(priority, interval)
    assert latest == pytest.approx(master_down_interval(priority, interval)) and latest < 1
    www.wait_owner("lb1", within="10s", sole=True)
    assert "vrrp_version 3" in lab.hosts["lb1"].check("cat /run/chaos/keepalived.conf").stdout
    power_off = chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within=latest + 2)
    takeover = taken_after(www, "lb2", power_off.requested) - power_off.effective
    assert earliest - SLACK <= takeover <= latest + SLACK, f"lb2 took over {takeover:.3f} s after lb1 died; RFC window [{earliest:.3f}, {latest:.3f}]"
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb2"


@pytest.mark.topology(fast_pair(preempt=False))
def test_nopreempt_a_returning_master_leaves_the_vip_where_it_is(lab, chaos):
    www = lab.vips["www"]
    assert "nopreempt" in lab.hosts["lb1"].check("cat /run/chaos/keepalived.conf").stdout
    # Every member starts as a backup: whoever's timer runs out first is master. Either way, the test is the same.
    eventually(www.owners, until=lambda owners: len(owners) == 1, within="10s", what="one member to hold the VIP")
    [first] = www.owners()
    [second] = [m for m in www.members if m != first]
    run = chaos.inject(faults.power_off(first))
    www.wait_owner(second, within="5s", sole=True)
    chaos.heal(run)  # the old master is back, with its keepalived
    assert lab.hosts[first].exec(["pgrep", "-x", "keepalived"]).ok
    # A preempting master with the higher priority would take the VIP back within one Master_Down_Interval
    # of its return at the latest (test_faults_process.py shows it); wait three, then read the history.
    back = run.record.healed
    time.sleep(max(0.0, back + 3 * www.master_down_interval(first) - lab.timeline.now()))
    assert [e for e in www.history.events if e.member == first and e.holds and e.at > back] == [], www.history.as_report()
    assert www.owners() == [second]


# -- partitions --------------------------------------------------------------------------------

RING = ["n1", "n2", "n3", "n4", "n5"]
FIVE = {"networks": {"front": {}}, "hosts": {name: {"networks": ["front"]} for name in RING}}


@pytest.fixture(scope="module")
def five(chaos_engine) -> Iterator[Lab]:
    """Five plain hosts, one lab for every partition test of this module (each heals what it injects)."""
    with Lab(topology_from_dict(FIVE), chaos_engine) as lab:
        yield lab


def reachable(lab: Lab) -> set[tuple[str, str]]:
    """Every ordered pair (a, b) where a TCP probe from a to b is answered, by b (all probes at once)."""

    def probe(pair: tuple[str, str]) -> bool:
        source, target = pair
        result = lab.hosts[source].exec(["chaos-probe", "tcp", lab.hosts[target].address("front"), "--timeout", "0.5"])
        return result.ok and result.stdout.strip() == target

    pairs = list(itertools.permutations(RING, 2))
    return {pair for pair, answered in zip(pairs, parallel(probe, pairs), strict=True) if answered}


def expected(grudge: Mapping[str, frozenset[str]]) -> set[tuple[str, str]]:
    """Pairs a TCP probe gets through: a's packets reach b (a not in b's grudge) and b's answers reach a."""
    return {(a, b) for a, b in itertools.permutations(RING, 2) if a not in grudge.get(b, ()) and b not in grudge.get(a, ())}


@pytest.mark.parametrize(
    ("strategy", "grudge"),
    [
        ("majority_minority", grudges.complete(grudges.majority_minority(RING))),
        ("bridge", grudges.bridge(RING)),
        ("majorities_ring", grudges.majorities_ring(RING)),
    ],
)
def test_partition_by_a_strategy_cuts_exactly_its_grudge(five, strategy, grudge):
    everyone = set(itertools.permutations(RING, 2))  # the lab starts whole: each test checks its heal
    # No shuffle: the strategy sees the hosts in this order, so the grudge computed above is the one injected.
    with faults.partition_by(strategy, among=RING, shuffle=False).on(five):
        cut = reachable(five)
    assert cut == expected(grudge), f"{strategy}: reached {sorted(cut)}; expected {sorted(expected(grudge))}"
    assert cut != everyone, "the strategy cut something"
    assert reachable(five) == everyone, "heal restores every link"


def test_cut_links_cuts_only_the_links_named(five):
    with faults.cut_links([("n1", "n2"), ("n3", "n4")]).on(five):
        cut = reachable(five)
    assert cut == set(itertools.permutations(RING, 2)) - {("n1", "n2"), ("n2", "n1"), ("n3", "n4"), ("n4", "n3")}
    assert reachable(five) == set(itertools.permutations(RING, 2))


# -- JUnit figures -----------------------------------------------------------------------------

FAILOVER_TEST = """
import pytest
from chaos import faults

@pytest.mark.topology(TOPOLOGY)
@pytest.mark.slo(max_outage="3s", max_owners=1)
def test_failover(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    with lab.traffic.tcp("client", www, rate=100, timeout=0.5) as flow:
        flow.wait_recovered(within="5s")
        chaos.inject(faults.power_off("lb1"))
        www.wait_owner("lb2", within="5s")
        flow.wait_recovered(within="5s")
"""


def test_junit_carries_outage_recovery_owners_and_the_slo_verdict(pytester):
    pytester.makepyfile(test_junit_child=f"TOPOLOGY = {fast_pair()!r}\n{FAILOVER_TEST}")
    result = pytester.runpytest("--chaos-require-docker", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    properties = {p.get("name", ""): p.get("value", "") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    earliest, latest = takeover_window(100, 0.2)
    # The flow is "tcp client->www", the power_off fault #0 of the test; names as the plugin builds them.
    flow = f"chaos.flow.{flow_key('tcp client->www')}"
    outage, recovery = float(properties[f"{flow}.max_outage_seconds"]), float(properties[f"{flow}.recovery_seconds.0"])
    assert earliest - SLACK <= recovery <= latest + SLACK, properties
    assert 0 < outage <= latest + SLACK, properties
    assert properties["chaos.vip.www.max_simultaneous_owners"] == "1"
    assert properties["chaos.slo"] == "pass"
    assert int(properties[f"{flow}.requests"]) > 100 and int(properties[f"{flow}.lost"]) > 0
