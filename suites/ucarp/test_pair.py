"""A ucarp pair: the VIP lives on the lower-advskew host and moves when that host dies.

Steady state: lb1 (advskew 0) alone holds www and answers the client; when lb1 powers off,
lb2 (advskew 100) takes www inside ucarp's takeover window for its advskew, and the client's
traffic comes back through lb2.

ucarp's window is not RFC 5798's: a backup looks at its CARP timer (3 x advbase + advskew/256)
only when its poll() wakes up, every advbase + advskew/256, so it takes over at the third
wake-up after the last advert it read, 3 x (1 + 100/256) = 4.172 s; it reads an advert up to
1 s after it arrived (its capture's 1000 ms timeout), and lb1's last advert left up to one of
its intervals (1 s) before the fault: (3.172, 5.172] after it. keepalived's pair at
advert_int 1 and priority 100 has (2.609, 3.609]: the same three missed intervals, but VRRP's
skew is (256 - priority)/256 once, ucarp's advskew counts three times, and keepalived reads
each advert as it arrives.
"""

from __future__ import annotations

import time

import pytest

from chaos import faults

SLACK = 0.2
"""Seconds around ucarp's window: its up script is a fork and two execs (sh, then ip) before the
address appears, tens of ms on a busy 2-core machine, plus ucarp's own loop and poll rounding
(its poll timeout is whole milliseconds, 3 x 0.6 ms short) and one flow interval (5 ms at 200/s).
The fault is timed from the engine's exit time of lb1's container, and the netlink watcher and
the flow timestamp inside the lab, so neither clock adds more."""


@pytest.mark.topology("pair.yaml")
def test_vip_starts_on_the_lowest_advskew_host(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    assert www.assert_single_owner() == "lb1"
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb1"


@pytest.mark.topology("pair.yaml")
@pytest.mark.slo(max_outage="5.4s", max_owners=1)  # the window's end (5.172 s) plus SLACK and a request interval
def test_vip_moves_within_ucarps_window_when_the_master_host_dies(lab, chaos, record_property):
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
    assert earliest - SLACK <= takeover <= latest + SLACK, f"takeover after {takeover:.3f}s, ucarp window [{earliest:.3f}, {latest:.3f}]s"
    recovery = flow.recovery_after(power_off)
    assert earliest - SLACK <= recovery.seconds <= latest + SLACK, recovery.describe()
    assert flow.served_by()[-1][0] == "lb2"
    assert www.owners() == ["lb2"]
