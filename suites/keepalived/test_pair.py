"""A keepalived pair: the VIP lives on the higher priority host and moves when that host dies."""

from __future__ import annotations

import time

import pytest

from chaos.vips.keepalived import takeover_window

# The takeover is timed from the kill call; netlink timestamps the address on the backup.
# The slack covers the kill call itself and keepalived's own scheduling.
SLACK = 0.15


@pytest.mark.topology("pair.yaml")
def test_vip_starts_on_the_higher_priority_host(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    assert www.assert_single_owner() == "lb1"
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb1"


@pytest.mark.topology("pair.yaml")
def test_vip_moves_within_the_rfc_window_when_the_master_host_dies(lab, record_property):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    with www.watch_owner("lb2", within="10s") as watch:
        killed_at = time.time()
        lab.hosts["lb1"].kill()
    assert watch.taken_at is not None, "lb2 never took the VIP after lb1 died"
    takeover = watch.taken_at - killed_at
    record_property("takeover_seconds", round(takeover, 3))
    earliest, latest = takeover_window(priority=www.spec.members["lb2"], advert_int=www.spec.advert_int)
    assert earliest - SLACK <= takeover <= latest + SLACK, f"takeover after {takeover:.3f}s, RFC 5798 window [{earliest:.3f}, {latest:.3f}]s"
    assert www.owners() == ["lb2"]
    assert lab.hosts["client"].check(["chaos-probe", "http", www.address]).stdout.strip() == "lb2"
