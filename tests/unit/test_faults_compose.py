"""Composition without Docker: together, sequence, random schedules (same seed, same schedule), and loud failures."""

from __future__ import annotations

import random

import pytest
from paperlab import JOURNAL, Note, PaperLab, clean_journal  # noqa: F401  # clean_journal: an autouse fixture

from chaos import faults
from chaos.errors import FaultError
from chaos.faults import Step, draw, random_schedule, sequence, together


def test_together_injects_every_part_and_heals_newest_first():
    lab = PaperLab.of("a", "b", "c")
    run = together(Note("a"), Note("b"), Note("c")).on(lab)  # type: ignore[arg-type]
    assert run.targets == ("a", "b", "c")
    run.inject()
    assert sorted(JOURNAL) == ["+a", "+b", "+c"]  # at once: any order
    run.heal()
    assert JOURNAL[3:] == ["-c", "-b", "-a"]
    names = [(r.name, r.detail) for r in lab.timeline.faults]
    assert names[0] == ("together", "note(a) + note(b) + note(c)")
    assert all(detail.endswith("(in #0)") for _, detail in names[1:])


def test_a_part_that_fails_heals_the_parts_that_went_in():
    lab = PaperLab.of("a", "b")
    run = together(Note("a"), Note("b", breaks=True)).on(lab)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="broke"):
        run.inject()
    # The parts run in threads: the broken part heals itself, whenever it breaks; then "a" is healed.
    assert sorted(JOURNAL[:2]) == ["+a", "-b"] and JOURNAL[2:] == ["-a"]
    assert not run.is_active and faults.active(lab) == []  # type: ignore[arg-type]


def test_stacking_the_same_fault_twice_fails_loudly_when_bound():
    lab = PaperLab.of("a", "b")
    with pytest.raises(FaultError) as info:
        together(Note("a"), Note(["b", "a"])).on(lab)  # type: ignore[arg-type]
    assert "note(a) and note(b|a) both act on note a; a composition cannot stack a fault on the same target twice" in str(info.value)
    with pytest.raises(FaultError, match="both act on container a"):
        sequence(faults.power_off("a"), faults.pause("a")).on(lab)  # type: ignore[arg-type]
    sequence(faults.power_off("a"), faults.pause("a"), hold=1).on(lab)  # type: ignore[arg-type]  # rolling: each healed before the next
    assert JOURNAL == [] and lab.timeline.faults == []


def test_a_composition_refuses_a_part_already_active_in_the_lab():
    lab = PaperLab.of("a", "b")
    Note("a").on(lab).inject()  # type: ignore[arg-type]
    with pytest.raises(FaultError, match=r"together\(note\(b\), note\(a\)\) clashes with active #0 note\(a\) on note a; heal it first"):
        together(Note("b"), Note("a")).on(lab)  # type: ignore[arg-type]


def test_sequence_keeps_parts_until_healed_or_rolls_with_hold():
    lab = PaperLab.of("a", "b")
    with sequence(Note("a"), Note("b")).on(lab):  # type: ignore[arg-type]
        assert JOURNAL == ["+a", "+b"]
    assert JOURNAL == ["+a", "+b", "-b", "-a"]
    JOURNAL.clear()
    run = sequence(Note("a"), Note("a"), hold=0.01).on(lab).inject()  # type: ignore[arg-type]
    assert JOURNAL == ["+a", "-a", "+a", "-a"]
    run.heal()
    assert JOURNAL == ["+a", "-a", "+a", "-a"], "rolling parts are already healed"


def test_operators_compose_and_flatten():
    a, b, c = Note("a"), Note("b"), Note("c")
    assert (a & b & c) == together(a, b, c)
    assert (a >> b >> c) == sequence(a, b, c)
    assert sequence(sequence(a, b, gap=1), c).parts == (sequence(a, b, gap=1), c), "a sequence with its own gap stays a unit"


def test_compositions_of_nothing_or_of_non_faults_are_refused():
    with pytest.raises(FaultError, match="a composition needs at least one fault"):
        together()
    with pytest.raises(FaultError, match=r"'lb1' is not a fault; compose faults made by chaos\.faults"):
        together(Note("a"), "lb1")  # type: ignore[arg-type]


MAKERS = [faults.power_off, faults.pause, faults.isolate, lambda t: faults.kill(t, "SIGTERM")]


def test_the_same_seed_draws_the_same_schedule():
    first = draw(MAKERS, ["one", "lb1", ["lb1", "lb2"]], 12, (1.0, 3.0), (0.0, 1.0), random.Random(42))
    again = draw(MAKERS, ["one", "lb1", ["lb1", "lb2"]], 12, (1.0, 3.0), (0.0, 1.0), random.Random(42))
    other = draw(MAKERS, ["one", "lb1", ["lb1", "lb2"]], 12, (1.0, 3.0), (0.0, 1.0), random.Random(43))
    assert first == again and first != other
    assert all(isinstance(step, Step) and 1.0 <= step.hold <= 3.0 and 0.0 <= step.gap <= 1.0 for step in first)  # type: ignore[operator]
    assert len({type(step.fault) for step in first}) > 1


def test_a_bound_schedule_replays_faults_and_picked_targets_from_the_seed():
    lab = PaperLab.of("lb1", "lb2", "lb3", "client")
    schedule = random_schedule(MAKERS, targets=["one", "majority"], steps=6, hold=("1s", "2s"), gap=0)

    def plan(seed: int) -> list[str]:
        run = schedule.on(lab, random.Random(seed))  # type: ignore[arg-type]
        return [
            f"{child.fault.name}({','.join(child.targets)}) {step.hold}"
            for step, child in zip(run.data.steps, run.data.children, strict=True)
        ]

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)
    fixed = random_schedule(MAKERS, targets=["one"], steps=4, seed="replay-me")
    assert [c.targets for c in fixed.on(lab, 1).data.children] == [c.targets for c in fixed.on(lab, 2).data.children]  # type: ignore[arg-type]


def test_a_schedule_runs_its_steps_one_after_another_each_healed():
    lab = PaperLab.of("a", "b")
    run = random_schedule([Note], targets=["a", "b"], steps=3, hold=0, gap=0, seed=1).on(lab).inject()  # type: ignore[arg-type]
    assert len(JOURNAL) == 6 and all(JOURNAL[i][0] == "+" and JOURNAL[i + 1] == "-" + JOURNAL[i][1:] for i in range(0, 6, 2))
    assert run.is_active and [r.name for r in lab.timeline.faults] == ["schedule", "note", "note", "note"]
    run.heal()
    assert len(JOURNAL) == 6 and not run.is_active, "its steps were healed already"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"choices": []}, "a random schedule needs at least one fault maker"),
        ({"steps": 0}, "a random schedule needs steps >= 1; got 0"),
        ({"hold": ("3s", "1s")}, r"random_schedule hold: \(3, 1\) runs backwards; give \(low, high\)"),
        ({"gap": "soon"}, "random_schedule gap: gap='soon' is not a duration"),
        ({"choices": ["power_off"]}, "'power_off' is neither a fault nor a fault maker"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(kwargs, message):
    arguments = {"choices": [faults.power_off], "targets": ["one"], "steps": 3, **kwargs}
    with pytest.raises(FaultError, match=message):
        random_schedule(**arguments)
