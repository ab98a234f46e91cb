"""The keepalived pair on the real engine: the VIP starts on the higher priority host and moves inside the RFC 5798 window."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import RecoveryTimeout
from chaos.vips import Owners
from chaos.vips.keepalived import master_down_interval

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"

SLACK = 0.15
"""Seconds around the RFC 5798 window, as in test_measure_rfc.py: keepalived's timer scheduling on a busy
machine (tens of ms); the takeover is timed from the container's exit time as the engine records it, and
the netlink watcher reports the new address within a few ms, so neither clock adds more."""


@pytest.mark.topology(PAIR)
def test_vip_moves_to_the_backup_inside_the_rfc_window(lab, record_property):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    assert www.assert_single_owner() == "lb1"
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb1"

    lb1 = lab.hosts["lb1"]
    with www.watch_owner("lb2", within="10s") as watch:
        lb1.kill()
    assert watch.taken_at is not None and not watch.was_held_already
    # From the moment lb1 died (the engine's exit time), not from before the kill call: the call's own
    # latency is no part of the takeover.
    died_at = lab.engine.state(lb1.container).finished_at
    assert died_at is not None
    takeover = watch.taken_at - died_at
    record_property("takeover_seconds", round(takeover, 3))
    earliest, latest = www.takeover_window("lb2")
    assert (earliest, latest) == pytest.approx((2.609, 3.609), abs=0.001)
    assert earliest - SLACK <= takeover <= latest + SLACK, f"{takeover:.3f}s outside [{earliest:.3f}, {latest:.3f}]"
    assert www.owners() == ["lb2"]
    for protocol in ("http", "tcp", "udp"):
        assert lab.hosts["client"].check(["chaos-probe", protocol, www.address]).stdout.strip() == "lb2"


@pytest.mark.topology(PAIR)
def test_wait_owner_times_out_with_what_it_saw(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    with pytest.raises(RecoveryTimeout) as info:
        www.wait_owner("lb2", within="0.5s")
    assert info.value.last == ["lb1"]
    assert "timed out after 0.5s waiting for lb2 to hold VIP www" in str(info.value)
    assert f"last seen {Owners(['lb1'])!r}" in str(info.value)


def test_master_down_interval_matches_the_design_figure():
    assert master_down_interval(100, 1) == pytest.approx(3.609, abs=0.001)
