"""The fault protocol without Docker: bind, inject, heal, the timeline, clashes, partial injects and the ledger.

The faults here are real `Fault` subclasses that write down what they do instead of touching
containers; the lab is a paper one (its host handles and timeline, nothing started).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from paperlab import JOURNAL, PaperLab, clean_journal  # noqa: F401  # clean_journal: an autouse fixture

from chaos.errors import FaultError, HealError
from chaos.faults import Action, Claim, Injection, Ledger, Targeted, active, pause, power_off


@dataclass
class Scribbled:
    """What a Scribble did, for its revert: the typed data of one injection."""

    done: list[str] = field(default_factory=list)
    heal_failures: int = 0


@dataclass(frozen=True)
class Scribble(Targeted[Scribbled]):
    """Writes what it would do; ``fail_at`` makes apply fail after that many hosts, ``heal_fails`` makes revert fail."""

    fail_at: int | None = None
    heal_fails: int = 0
    name: ClassVar[str] = "scribble"

    def new_data(self) -> Scribbled:
        return Scribbled()

    def apply(self, run: Injection[Scribbled]) -> float | None:
        run.data.done = []
        for i, host in enumerate(run.targets):
            if i == self.fail_at:
                raise RuntimeError(f"apply broke at {host}")
            run.data.done.append(host)
            JOURNAL.append(f"inject {host}")
        return run.lab.timeline.origin + 100.0  # "took effect" at lab second 100, measured by the fault

    def revert(self, run: Injection[Scribbled]) -> float | None:
        if run.data.heal_failures < self.heal_fails:
            run.data.heal_failures += 1
            raise RuntimeError("revert broke")
        for host in reversed(run.data.done):
            JOURNAL.append(f"heal {host}")
        run.data.done = []
        return None


@dataclass(frozen=True)
class Unscribble(Targeted[None], Action[None]):
    name: ClassVar[str] = "unscribble"

    def apply(self, run: Injection[None]) -> float | None:
        run.heal_holders(Claim("scribble", host) for host in run.targets)
        JOURNAL.append(f"action {','.join(run.targets)}")
        return None


def test_inject_and_heal_are_recorded_with_requested_and_effective_times():
    lab = PaperLab.of("lb1", "lb2")
    run = Scribble(["lb1", "lb2"]).on(lab)
    assert lab.timeline.faults == [] and run.record is None, "binding alone records nothing"
    run.inject()
    record = lab.timeline.faults[0]
    assert (record.name, record.targets, record.effective) == ("scribble", ("lb1", "lb2"), pytest.approx(100.0))
    assert record.requested < 1 and record.heal_requested is None and run.is_active
    run.heal()
    assert record.heal_requested is not None and record.healed is not None and record.healed >= record.heal_requested
    assert JOURNAL == ["inject lb1", "inject lb2", "heal lb2", "heal lb1"]
    run.heal()
    assert JOURNAL == ["inject lb1", "inject lb2", "heal lb2", "heal lb1"], "heal is idempotent"


def test_a_fault_is_a_context_manager_that_heals_on_error():
    lab = PaperLab.of("lb1")
    with pytest.raises(KeyError), Scribble("lb1").on(lab) as run:
        assert run.is_active
        raise KeyError("the test failed")
    assert not run.is_active and JOURNAL == ["inject lb1", "heal lb1"]


def test_the_same_fault_twice_on_the_same_target_is_refused_and_nothing_happens():
    lab = PaperLab.of("lb1", "lb2")
    first = Scribble("lb1").on(lab).inject()
    with pytest.raises(FaultError) as info:
        Scribble(["lb2", "lb1"]).on(lab).inject()
    message = str(info.value)
    assert "scribble(lb2|lb1) is already injected on scribble lb1" in message
    assert "the same fault cannot be injected twice on the same target" in message and "#0 scribble(lb1)" in message
    assert JOURNAL == ["inject lb1"] and len(lab.timeline.faults) == 1
    with pytest.raises(FaultError, match=r"#0 scribble\(lb1\) is already active on lab paper; heal it before injecting it again"):
        first.inject()
    first.heal()
    Scribble("lb1").on(lab).inject()  # free again once healed


@dataclass(frozen=True)
class HoldContainer(Scribble):
    """Holds the host container as every container-state fault of the catalogue does."""

    name: ClassVar[str] = "hold"

    def claims(self, run: Injection[Scribbled]) -> list[Claim]:
        return [Claim("container", host) for host in run.targets]


def test_clashing_faults_name_the_active_one():
    lab = PaperLab.of("lb1", "lb2")
    holder = HoldContainer("lb1").on(lab).inject()
    assert holder.record is not None
    with pytest.raises(FaultError) as info:
        pause("lb1").on(lab).inject()  # type: ignore[arg-type]
    assert str(info.value) == (
        f"pause(lb1) clashes with active #0 hold(lb1) since {holder.record.requested:.3f}s: both act on container lb1; heal #0 hold(lb1) first"
    )
    assert [str(c) for c in power_off("lb1").on(lab).claims] == ["container lb1"]  # type: ignore[arg-type]
    pause("lb2").on(lab)  # type: ignore[arg-type]  # another host is fine


def test_a_failed_inject_heals_what_it_did_and_says_so():
    lab = PaperLab.of("a", "b", "c")
    run = Scribble(["a", "b", "c"], fail_at=2).on(lab)
    with pytest.raises(RuntimeError, match="apply broke at c"):
        run.inject()
    assert JOURNAL == ["inject a", "inject b", "heal b", "heal a"]
    assert not run.is_active and active(lab) == []  # type: ignore[arg-type]
    record = lab.timeline.faults[0]
    assert record.effective is None and record.healed is not None and "[inject failed: RuntimeError]" in record.detail


def test_a_failed_heal_keeps_the_fault_active_and_the_ledger_retries():
    lab = PaperLab.of("a", "b")
    ledger = Ledger(lambda: [lab], random.Random(1))  # type: ignore[list-item]
    ledger.inject(Scribble("a", heal_fails=1))
    ledger.inject(Scribble("b"))
    with pytest.raises(HealError) as info:
        ledger.undo()
    assert "1 fault(s) could not be healed" in str(info.value) and "#0 scribble(a): RuntimeError: revert broke" in str(info.value)
    assert JOURNAL == ["inject a", "inject b", "heal b"], "the other fault was still healed"
    assert [str(run) for run in ledger.active] == ["#0 scribble(a)"]
    ledger.undo()
    assert JOURNAL[-1] == "heal a" and ledger.active == []
    ledger.undo()  # safe twice


def test_an_unknown_host_fails_at_binding_naming_the_fault():
    lab = PaperLab.of("lb1", "lb2")
    with pytest.raises(FaultError) as info:
        Scribble("lb3").on(lab)
    assert str(info.value) == "scribble(lb3): unknown host 'lb3' in 'lb3'; the lab's hosts: lb1, lb2"
    assert lab.timeline.faults == []


def test_an_action_heals_the_fault_it_undoes_and_is_never_active():
    lab = PaperLab.of("a")
    ledger = Ledger(lambda: [lab], random.Random(1))  # type: ignore[list-item]
    fault_run = ledger.inject(Scribble("a"))
    action_run = ledger.inject(Unscribble("a"))
    assert JOURNAL == ["inject a", "heal a", "action a"]
    assert not fault_run.is_active and not action_run.is_active and ledger.last is action_run
    assert lab.timeline.faults[0].healed is not None and lab.timeline.faults[1].effective is not None
    assert "heal   #0 scribble(a) done" in lab.timeline.render()


def test_the_ledger_needs_exactly_one_lab_or_an_explicit_one():
    one, two = PaperLab.of("a"), PaperLab.of("a")
    two.name = "other"
    with pytest.raises(FaultError, match=r"cannot inject scribble\(a\): this test has no lab; request the `lab` fixture"):
        Ledger(lambda: []).inject(Scribble("a"))
    ledger = Ledger(lambda: [one, two])  # type: ignore[list-item]
    with pytest.raises(FaultError, match=r"this test has 2 labs \(paper, other\); say which with lab=\.\.\."):
        ledger.inject(Scribble("a"))
    assert ledger.inject(Scribble("a"), lab=two).lab is two  # type: ignore[arg-type]
    with pytest.raises(FaultError, match=r"chaos\.last: no fault has been injected"):
        _ = Ledger(lambda: []).last


def test_ledger_heal_by_fault_or_injection():
    lab = PaperLab.of("a", "b")
    ledger = Ledger(lambda: [lab])  # type: ignore[list-item]
    ledger.inject(Scribble("a"))
    ledger.inject(Scribble("b"))
    ledger.heal(Scribble("b"))
    assert JOURNAL[-1] == "heal b" and [str(r) for r in ledger.active] == ["#0 scribble(a)"]
    with pytest.raises(FaultError, match=r"scribble\(b\) is not an active injection of this test"):
        ledger.heal(Scribble("b"))
    ledger.heal()
    assert ledger.active == [] and JOURNAL[-1] == "heal a"


def test_something_that_is_not_a_fault_is_refused():
    with pytest.raises(FaultError, match=r"'power_off' is not a fault; build one with chaos\.faults"):
        Injection("power_off", PaperLab.of("a"))  # type: ignore[arg-type]


def test_labels_show_the_target_and_the_arguments_that_differ_from_their_defaults():
    from chaos import faults

    assert str(faults.kill("lb1")) == "kill(lb1)"
    assert str(faults.kill(["lb1", "lb2"], "term", container="web")) == "kill(lb1|lb2, signal=SIGTERM, container=web)"
    assert faults.kill("lb1", 15).detail() == "signal=SIGTERM"
    assert str(faults.link_down("one", "back")) == "link_down(one, network=back)"
    assert str(faults.kill_process("lb1", "keepalived", "SIGTERM")) == "kill_process(lb1, process=keepalived, signal=SIGTERM)"


def test_bad_signals_and_process_names_are_refused_when_the_fault_is_made():
    from chaos import faults

    with pytest.raises(FaultError, match=r"unknown signal 'SIGFOO'; e\.g\. SIGKILL, SIGTERM"):
        faults.kill("lb1", "SIGFOO")
    with pytest.raises(FaultError, match=r"'/usr/sbin/keepalived' is not a process name; give the name `ps -o comm` shows"):
        faults.kill_process("lb1", "/usr/sbin/keepalived")
