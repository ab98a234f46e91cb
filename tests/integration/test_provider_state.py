"""A provider's state as the test reads it (`Vip.state`), against the real keepalived and ucarp."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import faults
from chaos.expect import eventually

SUITES = Path(__file__).resolve().parents[2] / "suites"


@pytest.mark.topology(SUITES / "keepalived" / "pair.yaml")
def test_keepalived_state_follows_the_failover(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    assert eventually(lambda: (www.state("lb1"), www.state("lb2")), until=lambda s: s == ("MASTER", "BACKUP"), within="3s")
    chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within="10s")
    assert eventually(lambda: www.state("lb2"), until=lambda s: s == "MASTER", within="3s")


@pytest.mark.topology(SUITES / "ucarp" / "pair.yaml")
def test_ucarp_state_follows_the_failover_and_the_preemption(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s", sole=True)
    assert (www.state("lb1"), www.state("lb2")) == ("MASTER", "BACKUP")
    chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within="10s")
    assert www.state("lb2") == "MASTER"
    chaos.inject(faults.power_on("lb1"))
    assert www.state("lb1") == "BACKUP"  # a new life: lb1's earlier MASTER does not count
    www.wait_owner("lb1", within="8s", sole=True)
    assert eventually(lambda: (www.state("lb1"), www.state("lb2")), until=lambda s: s == ("MASTER", "BACKUP"), within="3s")
