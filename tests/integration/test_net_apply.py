"""The network layer driven directly on host handles: rules in, rules out, the persistent shell, and what the kernel lacks."""

from __future__ import annotations

import re
import time

import pytest

from chaos.errors import FaultError
from chaos.expect import eventually
from chaos.net import apply, grudges
from chaos.net.rules import Match, partition_rules
from chaos.net.shaping import Shape, netem_leaf
from chaos.net.shell import shell

DUO = {"networks": {"front": {}}, "hosts": {"a": {"networks": ["front"]}, "b": {"networks": ["front"]}}}


def reaches(lab, source: str, target: str) -> bool:
    return lab.hosts[source].exec(["ping", "-c", "1", "-W", "0.5", lab.hosts[target].address("front")]).ok


def round_trips(lab, source: str, target: str, count: int = 5) -> list[float]:
    """Round-trip times in ms of ``count`` pings (each must be answered)."""
    out = lab.hosts[source].check(["ping", "-n", "-c", str(count), "-i", "0.05", "-W", "1", lab.hosts[target].address("front")]).stdout
    times = [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]
    assert len(times) == count, out
    return times


def chaos_lines(host) -> list[str]:
    return [line for line in host.check("iptables-save").stdout.splitlines() if "CHAOS" in line]


def cut(lab, grudge, match: Match | None = None):
    addresses = {name: [h.address("front")] for name, h in lab.hosts.items()}
    rules = partition_rules(grudge, addresses, match or Match())
    applied = apply.prepare(lab, [lab.hosts[h] for h in rules])
    changes = {lab.hosts[h]: apply.Change(tuple(r)) for h, r in rules.items()}
    return applied, changes


@pytest.mark.topology(DUO)
def test_inject_and_heal_report_times_taken_inside_the_namespace(lab):
    applied, changes = cut(lab, grudges.complete([["a"], ["b"]]))
    before = time.time()
    effective = apply.inject(applied, changes, "partition(a|b)")
    assert before < effective <= time.time()
    assert not reaches(lab, "a", "b") and not reaches(lab, "b", "a")
    healed = apply.heal(applied)
    assert effective < healed <= time.time()
    assert reaches(lab, "a", "b") and chaos_lines(lab.hosts["a"]) == [] and chaos_lines(lab.hosts["b"]) == []
    assert apply.heal(applied) > 0, "a second heal finds nothing and succeeds"


@pytest.mark.topology(DUO)
def test_a_dead_host_counts_as_healed_and_its_shell_comes_back_after_a_restart(lab):
    a = lab.hosts["a"]
    # The persistent shell is the parent of each script; its start time (clock ticks since boot) tells
    # one shell from another even when a restarted container hands out the same pid again.
    shell_identity = "cut -d' ' -f22 /proc/$PPID/stat"
    first = shell(lab, a).run(shell_identity).stdout.strip()
    assert shell(lab, a).run(shell_identity).stdout.strip() == first, "one shell serves every request"
    applied, changes = cut(lab, grudges.one_way(["b"], ["a"]))
    apply.inject(applied, changes, "one_way(b->a)")
    assert not reaches(lab, "b", "a")
    a.kill()
    eventually(a.is_running, until=lambda running: not running, within=10, what="a to be dead")
    apply.heal(applied)  # a is gone with its rules: no error; b's rules are removed
    assert chaos_lines(lab.hosts["b"]) == []
    lab.start_host("a")
    again, changes = cut(lab, grudges.one_way(["b"], ["a"]))
    assert apply.inject(again, changes, "one_way(b->a)") > 0
    assert shell(lab, a).run(shell_identity).stdout.strip() != first, "a new shell in the new life of the container"
    assert not reaches(lab, "b", "a")
    apply.heal(again)
    assert reaches(lab, "b", "a")


@pytest.mark.topology(DUO)
def test_a_delay_applies_and_heals_on_each_shaping_path(shaping_path, lab):
    a = lab.hosts["a"]
    shape = Shape(delay_ms=20)
    degrade = apply.Degrade(leaf=netem_leaf(shape)) if shaping_path == "netem" else apply.Degrade(shape=shape)
    applied = apply.prepare(lab, [a])
    assert apply.inject(applied, {a: apply.Change(degrade=degrade)}, f"delay(a) on the {shaping_path} path") > 0
    qdiscs, processes = a.check("tc qdisc show dev eth0").stdout, a.check("ps -eo args").stdout
    assert ("netem" in qdiscs, "chaos-shaper" in processes) == (shaping_path == "netem", shaping_path == "userspace"), (qdiscs, processes)
    assert min(round_trips(lab, "b", "a")) >= 18, "a's answers leave 20 ms late"
    apply.heal(applied)
    assert chaos_lines(a) == [] and "netem" not in a.check("tc qdisc show dev eth0").stdout
    assert "chaos-shaper" not in a.check("ps -eo args").stdout and max(round_trips(lab, "b", "a")) < 15


@pytest.mark.topology(DUO)
def test_a_change_the_kernel_cannot_do_names_what_is_missing_and_what_is_offered(kernel_without_netem, lab):
    a = lab.hosts["a"]
    applied = apply.prepare(lab, [a])
    change = apply.Change(degrade=apply.Degrade(leaf=netem_leaf(Shape(delay_ms=20))))
    with pytest.raises(FaultError) as info:
        apply.inject(applied, {a: change}, "delay(a, delay=20ms)")
    message = str(info.value)
    assert "delay(a, delay=20ms) needs tc netem, which this kernel lacks (probed in a)" in message
    assert "it offers: iptables statistic, NFQUEUE, tc htb+u32, tc tbf" in message and "Nothing was left applied" in message
    assert chaos_lines(a) == [] and " 0: " in a.check("tc qdisc show dev eth0").stdout, "nothing half-applied"
    assert reaches(lab, "b", "a")


@pytest.mark.topology(DUO)
def test_the_sweep_clears_every_fault_but_leaves_other_rules(lab):
    a = lab.hosts["a"]
    a.check("iptables -A INPUT -p tcp --dport 2222 -j ACCEPT")
    for serial in (1, 2):
        a.check(f"iptables -N CHAOS-feed0000-{serial}-IN && iptables -I INPUT -j CHAOS-feed0000-{serial}-IN")
    a.check("iptables -t mangle -N CHAOS-feed0000-3-POST && iptables -t mangle -I POSTROUTING -j CHAOS-feed0000-3-POST")
    apply.sweep(lab, [a, lab.hosts["b"]])
    assert chaos_lines(a) == []
    assert "--dport 2222 -j ACCEPT" in a.check("iptables-save -t filter").stdout


@pytest.mark.topology(DUO)
def test_the_doctor_names_the_shaping_path_a_lab_will_take(lab):
    from chaos.doctor import run_checks

    checks = {check.topic: check for check in run_checks(lab.engine.url)}
    netem = apply.netem_available(lab, lab.hosts["a"])
    line = checks["shaping path"]
    assert line.status == "ok"
    assert ("the netem path" if netem else "the userspace path: chaos-shaper on NFQUEUE") in line.detail
