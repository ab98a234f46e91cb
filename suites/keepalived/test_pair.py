"""A keepalived pair: the VIP lives on the higher priority host and moves when that host dies.

Steady state: lb1 (priority 150) alone holds www and answers the client; when lb1 powers off,
lb2 takes www inside RFC 5798's takeover window for its priority, and the client's traffic
comes back through lb2.
"""

from __future__ import annotations

import time

import pytest

from chaos import faults

SLACK = 0.15
"""Seconds around the RFC 5798 window: keepalived's timer scheduling on a busy 2-core machine (tens of ms)
plus one flow interval (5 ms at 200/s). The fault is timed from the engine's exit time of lb1's container,
and the netlink watcher and the flow timestamp inside the lab, so neither clock adds more."""


@pytest.mark.topology("pair.yaml")
def test_vip_starts_on_the_higher_priority_host(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    assert www.assert_single_owner() == "lb1"
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb1"


@pytest.mark.topology("pair.yaml")
@pytest.mark.slo(max_outage="3.8s", max_owners=1)  # the window's end (3.609 s) plus SLACK and a request interval
def test_vip_moves_within_the_rfc_window_when_the_master_host_dies(lab, chaos, record_property):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    with lab.traffic.http("client", www, rate=200, timeout="500ms") as flow, www.watch_owner("lb2", within="10s") as watch:
        time.sleep(1)
        power_off = chaos.inject(faults.power_off("lb1"))  # effective at lb1's exit time, as the engine records it
        flow.wait_recovered(within="10s")
    assert watch.taken_at is not None, "lb2 never took the VIP after lb1 died"
    takeover = lab.timeline.at(watch.taken_at) - power_off.effective
    record_property("takeover_seconds", round(takeover, 3))
    earliest, latest = www.takeover_window("lb2")
    assert earliest - SLACK <= takeover <= latest + SLACK, f"takeover after {takeover:.3f}s, RFC 5798 window [{earliest:.3f}, {latest:.3f}]s"
    recovery = flow.recovery_after(power_off)
    assert earliest - SLACK <= recovery.seconds <= latest + SLACK, recovery.describe()
    assert flow.served_by()[-1][0] == "lb2"
    assert www.owners() == ["lb2"]
