"""Faults validate and normalise when built: one construction path, hashable data, names or handles, shares and durations.

Each test here failed on the old catalogue, where the exported classes skipped what their
factory functions checked and percentages were percents.
"""

from __future__ import annotations

import random

import pytest
from paperlab import PaperLab

from chaos import faults
from chaos.errors import ChaosError, FaultError, UsageError
from chaos.faults import targets

LAB = PaperLab.of("lb1", "lb2", "client")
LB1 = LAB.hosts["lb1"]


def test_a_fault_class_refuses_bad_arguments_when_built_not_when_bound():
    with pytest.raises(FaultError, match="delay='banana' is not a duration"):
        faults.Delay("lb1", "banana")
    with pytest.raises(FaultError, match=r"unknown protocol 'bogus'; use a number 0\.\.255 or one of: icmp"):
        faults.partition("lb1", protocol="bogus")
    with pytest.raises(FaultError, match="unknown protocol 'bogus'"):
        faults.Loss("lb1", 0.1, protocol="bogus")
    with pytest.raises(FaultError, match="unknown signal 'SIGFOO'"):
        faults.Kill("lb1", "SIGFOO")


def test_a_fault_built_from_its_class_is_hashable_and_equal_to_the_factorys():
    assert faults.Partition(["lb1"]) == faults.partition("lb1")
    assert hash(faults.Partition(["lb1"])) == hash(faults.partition("lb1"))
    assert faults.partition(["lb1", "lb2"], "client") == faults.Partition([["lb1", "lb2"], "client"])
    built = {
        faults.Partition(["lb1"]),
        faults.OneWay(["lb1", "lb2"], "client"),
        faults.CutLinks([["lb1", "lb2"]]),
        faults.Blackhole("lb1", port=[80, 443]),
        faults.Loss(["lb1"], 0.3, to=["lb2"], port=[80]),
        faults.Kill(["lb1", "lb2"]),
        faults.random_schedule([faults.power_off], targets=[["lb1", "lb2"]]),
    }
    assert len(built) == 7, "every fault is hashable data once built"
    assert faults.loss is faults.Loss and faults.power_off is faults.PowerOff, "one construction path: the lowercase name is the class"


def test_every_host_parameter_takes_a_name_or_a_handle():
    assert faults.power_off(LB1) == faults.power_off("lb1")
    assert str(faults.power_off(LB1)) == "power_off(lb1)"
    assert faults.isolate([LB1, "lb2"]) == faults.isolate(["lb1", "lb2"])
    assert faults.link_down(LB1, "front") == faults.link_down("lb1", "front")
    assert faults.kill_process(LB1, "keepalived") == faults.kill_process("lb1", "keepalived")
    assert faults.partition(LB1, [LAB.hosts["lb2"]]) == faults.partition("lb1", ["lb2"])
    assert faults.one_way(LB1, "client") == faults.one_way("lb1", "client")
    assert faults.cut_links([(LB1, LAB.hosts["client"])]) == faults.cut_links([("lb1", "client")])
    assert faults.loss("client", 0.1, to=LB1) == faults.loss("client", 0.1, to="lb1")
    assert faults.blackhole(LB1, 80, sources=LAB.hosts["client"]) == faults.blackhole("lb1", 80, sources="client")
    assert faults.Pick("one", among=(LB1, "lb2")) == faults.Pick("one", among=("lb1", "lb2"))
    assert targets.resolve(LB1, list(LAB.hosts), random.Random(0)) == ("lb1",)
    assert targets.resolve([LB1, "lb2"], list(LAB.hosts), random.Random(0)) == ("lb1", "lb2")
    assert faults.power_off(LB1).on(LAB).targets == ("lb1",)  # type: ignore[arg-type]
    with pytest.raises(FaultError, match="target=3 is not a target; give a host"):
        faults.power_off(3)  # type: ignore[arg-type]


def test_shares_are_fractions_and_a_percent_slip_is_refused_with_the_fix():
    assert faults.loss("lb1", "30 %") == faults.loss("lb1", 0.3) == faults.loss("lb1", "30%")
    assert faults.loss("lb1", "30 %").share == 0.3
    with pytest.raises(FaultError) as info:
        faults.loss("lb1", 30)
    message = str(info.value)
    assert "loss=30 is not a share" in message and "'30 %'" in message and "0.3" in message
    assert isinstance(info.value, UsageError) and isinstance(info.value, ChaosError)
    for fault in (faults.duplicate, faults.corrupt, faults.reorder):
        with pytest.raises(FaultError, match="is not a share"):
            fault("lb1", 50)
    assert str(faults.loss("lb1", 0.3)) == "loss(lb1, share=30%)"


def test_a_packet_delay_given_as_a_large_bare_number_is_a_slip():
    with pytest.raises(FaultError, match=r"did you mean '100ms'\? write '100s' if you mean it"):
        faults.delay("lb1", 100)
    with pytest.raises(FaultError, match="did you mean '50ms'"):
        faults.jitter("lb1", 50)
    with pytest.raises(FaultError, match="did you mean '30ms'"):
        faults.reorder("lb1", 0.5, delay=30)
    assert faults.delay("lb1", "100ms") == faults.delay("lb1", 0.1)
    assert faults.delay("lb1", "100s").delay == 100.0, "an explicit unit is honoured"
    assert str(faults.delay("lb1", "100ms", jitter="10ms")) == "delay(lb1, delay=100ms, jitter=10ms)"


def test_every_timeout_is_a_duration():
    assert faults.stop("lb1", timeout="5s") == faults.stop("lb1", timeout=5)
    assert faults.stop("lb1", timeout="500ms").timeout == 0.5
    assert faults.restart("lb1", timeout="2s").timeout == 2.0
    with pytest.raises(FaultError, match="timeout='soon' is not a duration"):
        faults.stop("lb1", timeout="soon")


def test_the_filters_are_normalised_once_for_every_network_fault():
    assert faults.partition("lb1", protocol="VRRP") == faults.partition("lb1", protocol="vrrp")
    assert faults.partition("lb1", protocol="112").protocol == 112
    assert faults.loss("lb1", 0.1, port=[80, 443]).port == (80, 443)
    with pytest.raises(FaultError, match="protocol 'icmp' has no ports"):
        faults.delay("lb1", "10ms", protocol="icmp", port=80)
    with pytest.raises(FaultError, match="blackhole needs a port"):
        faults.Blackhole("lb1")
    with pytest.raises(TypeError):
        faults.loss("lb1", 0.1, "lb2")  # type: ignore[misc]  # to= and the filters are keyword-only


def test_what_a_user_can_catch_derives_from_chaos_error():
    builds = [
        lambda: faults.partition(),
        lambda: faults.partition_by("halves"),
        lambda: faults.cut_links([("lb1",)]),
        lambda: faults.rate("lb1", "fast"),
        lambda: faults.kill_process("lb1", "/usr/sbin/keepalived"),
        lambda: faults.kill("lb1", container=3),
        lambda: faults.Pick("most"),  # type: ignore[arg-type]
        lambda: faults.random_schedule([]),
        lambda: faults.Step(faults.pause("lb1"), hold="soon"),
    ]
    for build in builds:
        with pytest.raises(ChaosError):
            build()
