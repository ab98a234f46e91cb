"""The rendered ucarp options on the real daemon: preempt or not, the orderly stop's down script, the events on the log."""

from __future__ import annotations

import time

import pytest

from chaos import faults
from chaos.expect import eventually


def pair(preempt: bool) -> dict[str, object]:
    return {
        "name": "ucarp",
        "networks": {"front": {}},
        "hosts": {"lb1": {"networks": ["front"]}, "lb2": {"networks": ["front"]}, "client": {"networks": ["front"]}},
        "vips": {"www": {"network": "front", "provider": "ucarp", "members": {"lb1": 0, "lb2": 100}, "advbase": 1, "vhid": 9, "preempt": preempt}},
    }


@pytest.mark.topology(pair(preempt=True))
def test_with_preempt_the_faster_member_takes_the_vip_back_after_power_on(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within=www.takeover_window("lb2")[1] + 1)
    chaos.inject(faults.power_on("lb1"))
    # lb1 starts as BACKUP, hears lb2's slower adverts and, with --preempt, takes over at once.
    www.wait_owner("lb1", within="8s", sole=True)
    # ucarp logs "Preferred master" after its down script returns, a moment after the address went.
    lines = ("ucarp www: ip addr add", "Switching to state: MASTER", "ucarp www: ip addr del", "Preferred master advertised")
    eventually(lab.hosts["lb2"].logs, until=lambda log: all(line in log for line in lines), within="3s", what="lb2's ucarp events on its log")


@pytest.mark.topology(pair(preempt=False))
def test_without_preempt_the_vip_stays_where_it_is_after_power_on(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within=www.takeover_window("lb2")[1] + 1)
    chaos.inject(faults.power_on("lb1"))
    time.sleep(6)  # longer than lb1's own timeout: it hears lb2 and stays BACKUP
    assert www.owners() == ["lb2"]
    launcher = lab.hosts["lb1"].check(["cat", "/run/chaos/ucarp-www.sh"]).stdout
    assert "--interface=eth" in launcher and "--preempt" not in launcher  # the agent filled in the interface


@pytest.mark.topology(pair(preempt=True))
def test_sigterm_runs_the_down_script_and_the_backup_takes_over(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    chaos.inject(faults.kill_process("lb1", "ucarp", "SIGTERM"))  # --shutdown: ucarp removes the address as it exits
    www.history.wait_until(lambda owners: "lb1" not in owners, within="3s", what="lb1 to let www go")
    www.wait_owner("lb2", within=www.takeover_window("lb2")[1] + 1)
    assert "ucarp www: ip addr del" in lab.hosts["lb1"].logs()


@pytest.mark.topology(pair(preempt=True))
def test_the_gap_on_the_wire_is_three_wake_ups_plus_the_reading_delay(lab, chaos, tmp_path, record_property):
    """From lb1's last advert to lb2's first: 3 x (advbase + advskew/256) after ucarp read the last one, read up to 1 s late."""
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    with lab.capture("client", directory=tmp_path) as capture:
        eventually(lambda: len(capture.adverts(www)), until=lambda n: n >= 2, within=5, what="lb1's adverts on the wire")
        time.sleep(chaos.rng.uniform(0, 1))
        chaos.inject(faults.power_off("lb1"))
        www.wait_owner("lb2", within=www.takeover_window("lb2")[1] + 1)
        eventually(lambda: [a for a in capture.adverts(www) if a.source == "lb2"], until=bool, within=3, what="lb2's first advert")
    adverts = capture.adverts(www)
    last_lb1 = max(a.at for a in adverts if a.source == "lb1")
    first_lb2 = min(a.at for a in adverts if a.source == "lb2")
    gap = first_lb2 - last_lb1
    record_property("ucarp_gap_on_wire", round(gap, 3))
    wake_ups = 3 * (1 + 100 / 256)
    # 0.1 s: the up script (fork, sh, ip) runs before ucarp's first advert, and ucarp's loop on a busy machine.
    assert wake_ups <= gap <= wake_ups + 1 + 0.1, f"gap {gap:.3f} s; ucarp reads the last advert up to 1 s late: [{wake_ups:.3f}, {wake_ups + 1:.3f}]"
