"""Schedules in the background, as Jepsen runs its nemesis: start, assert while it runs, wait or stop; always healed.

Paper faults on a paper lab: the timing is the schedule's own (gaps and holds), read back from
the lab's timeline records.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

import pytest
from paperlab import JOURNAL, Note, PaperLab, clean_journal  # noqa: F401  # clean_journal: an autouse fixture

from chaos import faults
from chaos.errors import RecoveryTimeout
from chaos.faults import Ledger


def ledger_on(lab: PaperLab) -> Ledger:
    return Ledger(lambda: [lab])  # type: ignore[list-item]


def test_a_started_schedule_runs_while_the_test_goes_on_with_its_gaps_and_holds():
    lab = PaperLab.of("a", "b", "c")
    chaos = ledger_on(lab)
    started = time.monotonic()
    schedule = chaos.start(faults.sequence(Note("a"), Note("b"), Note("c"), gap="100ms", hold="150ms"))
    assert time.monotonic() - started < 0.1, "start returns at once"
    assert schedule.is_running
    seen_while_running = list(JOURNAL)
    run = schedule.wait(timeout="5s")
    assert not schedule.is_running and run is chaos.last
    assert seen_while_running != JOURNAL == ["+a", "-a", "+b", "-b", "+c", "-c"]
    steps = [record for record in lab.timeline.faults if record.name == "note"]
    assert len(steps) == 3
    for step in steps:
        assert step.effective is not None and step.heal_requested is not None
        assert 0.15 <= step.heal_requested - step.effective < 0.15 + 0.3, "held for hold (slack for a busy machine)"
    for before, after in itertools.pairwise(steps):
        assert before.healed is not None and 0.1 <= after.requested - before.healed < 0.1 + 0.3, "gap between a heal and the next inject"
    chaos.undo()


def test_stop_injects_no_further_step_and_heals_the_one_it_holds():
    lab = PaperLab.of("a", "b", "c")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), Note("b"), Note("c"), hold="10s"))
    deadline = time.monotonic() + 2
    while JOURNAL != ["+a"] and time.monotonic() < deadline:
        time.sleep(0.005)
    stopped = time.monotonic()
    schedule.stop()
    assert time.monotonic() - stopped < 1, "a stop ends a hold at once"
    assert not schedule.is_running and JOURNAL == ["+a", "-a"]
    assert faults.active(lab) == [] and not schedule.run.is_active  # type: ignore[arg-type]
    schedule.stop()  # safe twice


def test_a_random_schedule_in_the_background_replays_from_its_seed():
    lab = PaperLab.of("a", "b")
    plans = []
    for _ in range(2):
        JOURNAL.clear()
        chaos = ledger_on(lab)
        chaos.start(faults.random_schedule([Note], targets=["a", "b"], steps=4, hold=0, gap=0, seed=5)).wait(timeout="5s")
        chaos.undo()
        plans.append(list(JOURNAL))
    assert plans[0] == plans[1] and len(plans[0]) == 8


def test_an_error_in_the_background_is_raised_by_wait_and_everything_is_healed():
    lab = PaperLab.of("a", "b")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), Note("b", breaks=True)))
    with pytest.raises(RuntimeError, match=r"note\(b, breaks=True\) broke"):
        schedule.wait(timeout="5s")
    assert JOURNAL == ["+a", "-b", "-a"], "the failed part healed itself, then the sequence healed what it had put in"
    chaos.undo()  # reported already: not raised again


def test_the_ledger_raises_a_background_error_nobody_waited_for_after_healing():
    lab = PaperLab.of("a", "b")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), Note("b", breaks=True)))
    schedule.run.background.join()  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="broke") as info:
        chaos.undo()
    assert any("never waited on" in note for note in info.value.__notes__)
    chaos.undo()


def test_wait_with_a_timeout_says_it_is_still_running():
    lab = PaperLab.of("a")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), hold="10s"))
    with pytest.raises(RecoveryTimeout, match=r"sequence\(a\) to finish in the background"):
        schedule.wait(timeout="50ms")
    assert schedule.is_running
    chaos.undo()
    assert not schedule.is_running and JOURNAL == ["+a", "-a"]


def test_the_ledger_stops_and_heals_a_running_schedule_at_teardown():
    lab = PaperLab.of("a", "b")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), Note("b"), gap="10s"))
    time.sleep(0.05)
    chaos.undo()
    assert not schedule.is_running and JOURNAL == ["+a", "-a"], "b never went in, a was healed"


def test_ctrl_c_while_waiting_on_a_schedule_still_heals_at_teardown():
    lab = PaperLab.of("a", "b")
    chaos = ledger_on(lab)
    schedule = chaos.start(faults.sequence(Note("a"), Note("b"), hold="10s"))
    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        schedule.wait()
    chaos.undo()  # what the chaos fixture's teardown does after the interrupt
    assert not schedule.is_running and JOURNAL == ["+a", "-a"]
    assert faults.active(lab) == []  # type: ignore[arg-type]


def test_a_background_handle_is_a_context_manager_and_an_injection_can_start_again():
    lab = PaperLab.of("a")
    run = faults.sequence(Note("a"), hold="10s").on(lab)  # type: ignore[arg-type]
    with run.start() as schedule:
        time.sleep(0.02)
        assert schedule.is_running
    assert JOURNAL == ["+a", "-a"] and not run.is_active
    again = run.start()
    again.stop()
    assert not run.is_active and not again.is_running
