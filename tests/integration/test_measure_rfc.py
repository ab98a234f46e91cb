"""Measure against an outside truth: a keepalived failover's figures agree with RFC 5798 (its takeover window and Master_Down_Interval).

The master of the pair loses power while an HTTP flow runs from the client to the VIP and a
capture runs on the client. The flow's recovery and the capture's master transition must
both fall inside the RFC's takeover window, and the gap on the wire between the old
master's last advert and the new master's first must equal Master_Down_Interval.

`CHAOS_RFC_RUNS=10` runs it ten times (each run a fresh lab); `bench/rfc_measure.py` does
that and prints the figures as a table.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chaos import faults
from chaos.expect import eventually
from chaos.faults import Injection
from chaos.lab import Lab
from chaos.vips.keepalived import master_down_interval, takeover_window

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
RUNS = int(os.environ.get("CHAOS_RFC_RUNS", "1"))

SLACK = 0.15
"""Seconds around the RFC window, as in test_failover.py: keepalived's scheduling, and for the
flow its resolution (one request interval) plus the client's first round trip to the new master."""

GAP_TOLERANCE = 0.05
"""The issue's bound on |gap - Master_Down_Interval| (a hand measurement here: 3.610 s against 3.609 s)."""

RATE = 200  # requests per second: the flow's figures are exact to 1 / RATE = 5 ms

REQUEST_TIMEOUT = "500ms"
"""Below TCP's initial SYN retransmission timeout (1 s): a connection begun before the takeover
cannot succeed after it through a retransmitted SYN and so count as sent before the outage ended."""


@pytest.mark.topology(PAIR)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
def test_failover_figures_agree_with_rfc_5798(lab: Lab, chaos: object, tmp_path: Path, record_property: object, run: int) -> None:
    www = lab.vips["www"]
    priority, interval = www.spec.members["lb2"], www.spec.advert_int
    mdi = master_down_interval(priority, interval)
    earliest, latest = takeover_window(priority, interval)
    www.wait_owner("lb1", within="10s")

    with lab.capture("client", directory=tmp_path) as capture, lab.traffic.http("client", www, rate=RATE, timeout=REQUEST_TIMEOUT) as flow:
        flow.wait_recovered(within="5s")
        eventually(lambda: len(capture.adverts(www)), until=lambda n: n >= 1, within=5, what="an advert from lb1 on the wire")
        # Waiting for an advert put us just after one; a random phase (seeded: --chaos-seed) spreads
        # the fault over the whole advert interval, and so the takeovers over the whole window.
        time.sleep(chaos.rng.uniform(0, interval))  # type: ignore[attr-defined]
        power_off: Injection = chaos.inject(faults.power_off("lb1"))  # type: ignore[attr-defined]
        www.wait_owner("lb2", within="10s")
        flow.wait_recovered(within="5s")
        eventually(
            lambda: capture.failovers(www), until=lambda found: bool(found) and found[0].garp is not None, within=5, what="lb2's gratuitous ARP"
        )

    assert power_off.record is not None and power_off.record.effective is not None
    effective = power_off.record.effective
    recovery = flow.recovery_after(power_off)
    [failover] = capture.failovers(www)
    transition = failover.transition
    assert (transition.previous, transition.master) == ("lb1", "lb2")
    assert transition.gap is not None and transition.previous_last is not None
    takeover = transition.at - effective
    figures = {
        "rfc_fault_to_takeover_capture": takeover,
        "rfc_fault_to_recovery_flow": recovery.seconds,
        "rfc_gap_on_wire": transition.gap,
        "rfc_master_down_interval": mdi,
        "rfc_last_advert_before_fault": effective - transition.previous_last,
        "rfc_garp_delay": failover.garp_delay,
        "rfc_handover_history": www.history.handovers[-1].seconds if www.history.handovers else None,
        "rfc_pcap": str(capture.pcap),
    }
    for name, value in figures.items():
        record_property(name, round(value, 4) if isinstance(value, float) else value)  # type: ignore[operator]

    window = f"RFC 5798 window [{earliest:.3f}, {latest:.3f}] s after the fault (slack {SLACK} s)"
    assert earliest - SLACK <= takeover <= latest + SLACK, f"capture: lb2's first advert {takeover:.3f} s after the fault, outside the {window}"
    assert recovery.outage is not None and recovery.outage.after == "lb2", recovery
    assert earliest - SLACK <= recovery.seconds <= latest + SLACK, f"flow: recovered {recovery.seconds:.3f} s after the fault, outside the {window}"
    assert transition.gap == pytest.approx(mdi, abs=GAP_TOLERANCE), (
        f"gap between lb1's last advert and lb2's first: {transition.gap:.4f} s; Master_Down_Interval {mdi:.4f} s"
    )
    assert capture.split_brains(www) == [], capture.adverts(www)
    # From the fault on, never two holders. (Before it, at the lab's start, lb2 may have been
    # elected first and preempted by lb1, which holds both for about a millisecond.)
    shared_after_fault = [p for p in www.history.shared_periods if p.end is None or p.end > effective]
    assert shared_after_fault == [], www.history.as_report()
