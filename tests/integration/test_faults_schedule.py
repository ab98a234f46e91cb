"""Schedules on a real lab, in the background as Jepsen runs its nemesis: traffic is probed and judged while they run.

The client probes the server over TCP the whole time; each probe is placed on the lab clock
and compared with the timeline's records of the schedule's steps, and the steps' holds and
gaps are read back from those records.
"""

from __future__ import annotations

import itertools
import signal
from dataclasses import dataclass

import pytest

from chaos import faults

DUO = {"networks": {"n": {}}, "hosts": {"server": {"networks": ["n"]}, "client": {"networks": ["n"]}}}

PROBE_TIMEOUT = 0.3
"""Seconds a probe waits for the server; a frozen server never answers."""

MARGIN = 0.25
"""Seconds of the schedule's own timing around each measured edge: a sleep on a busy two-core machine, the exec of a pause."""


@dataclass(frozen=True)
class Probe:
    sent: float
    done: float
    answered: bool


def probe(lab) -> Probe:
    """One TCP probe from the client to the server, placed on the lab clock."""
    sent = lab.timeline.now()
    result = lab.hosts["client"].exec(["chaos-probe", "tcp", lab.hosts["server"].address("n"), "--timeout", str(PROBE_TIMEOUT)])
    return Probe(sent, lab.timeline.now(), result.ok and result.stdout.strip() == "server")


@pytest.mark.topology(DUO)
def test_a_random_schedule_runs_in_the_background_while_traffic_is_judged_and_keeps_its_holds_and_gaps(lab, chaos):
    assert probe(lab).answered
    schedule = chaos.start(faults.random_schedule([faults.pause], targets=["server"], steps=3, hold=("1s", "1.4s"), gap=("1s", "1.4s"), seed=7))
    probes: list[Probe] = []
    while schedule.is_running:
        probes.append(probe(lab))
        # Asserted while the schedule runs: the client never waits longer than a probe's timeout,
        # whether the server is frozen or not (a pause freezes the server, not the client).
        assert probes[-1].done - probes[-1].sent < PROBE_TIMEOUT + 1.0, probes[-1]
    run = schedule.wait(timeout="1s")
    steps, children = run.data.steps, run.data.children
    records = [child.record for child in children]
    assert len(records) == 3 and all(r is not None and r.effective is not None and r.healed is not None for r in records)

    # The holds and gaps drawn from the seed are the ones the timeline shows.
    for i, (step, record) in enumerate(zip(steps, records, strict=True)):
        assert step.hold - 0.01 <= record.heal_requested - record.effective <= step.hold + MARGIN, (i, step, record)
        if i:
            before = records[i - 1]
            assert step.gap - 0.05 <= record.requested - before.healed <= step.gap + MARGIN, (i, step, before, record)

    # Traffic agrees with the records: nothing answers inside a pause, everything between them.
    def inside(p: Probe) -> bool:
        return any(r.effective <= p.sent and p.done <= r.heal_requested for r in records)

    def outside(p: Probe) -> bool:
        return all(p.done < r.requested or p.sent > r.healed + 0.05 for r in records)

    frozen = [p for p in probes if inside(p)]
    free = [p for p in probes if outside(p) and p.sent > records[0].requested - 5]
    assert len(frozen) >= 3 and len(free) >= 3, f"{len(frozen)} probes inside the pauses, {len(free)} between them"
    assert not any(p.answered for p in frozen), [p for p in frozen if p.answered]
    assert all(p.answered for p in free), [p for p in free if not p.answered]
    # Outages seen by the client, one per step.
    outages = sum(1 for a, b in itertools.pairwise(probes) if a.answered and not b.answered)
    assert outages == 3, [(round(p.sent, 2), p.answered) for p in probes]
    assert schedule.run.is_active and faults.active(lab) == [], "every step healed itself; the schedule heals nothing more"


@pytest.mark.topology(DUO)
def test_stopping_a_background_sequence_heals_the_step_it_holds_and_starts_no_other(lab, chaos):
    schedule = chaos.start(faults.sequence(faults.pause("server"), faults.pause("server"), hold="30s"))
    first = probe(lab)
    while first.answered and schedule.is_running:
        first = probe(lab)
    assert not first.answered, "the first pause went in"
    schedule.stop()
    assert not schedule.is_running and probe(lab).answered
    paused = [record for record in lab.timeline.faults if record.name == "pause"]
    assert len(paused) == 1 and paused[0].healed is not None, "stopped during the first hold: no second step"
    assert paused[0].heal_requested - paused[0].effective < 10, "the stop ended the 30 s hold"


INTERRUPTED_TEST = """
import pytest
from chaos import faults

DUO = {duo!r}


@pytest.fixture
def healed_at_teardown(lab):
    yield
    # Torn down after the chaos ledger (requested first, so set up first) and before the lab.
    server = lab.hosts["server"]
    print("AFTER-TEARDOWN paused=%s" % lab.engine.state(server.container).paused, flush=True)
    print(lab.timeline.render(), flush=True)


@pytest.mark.topology(DUO)
def test_interrupted_while_a_schedule_runs(healed_at_teardown, lab, chaos):
    schedule = chaos.start(faults.sequence(faults.pause("server"), faults.pause("server"), hold="60s"))
    while not faults.active(lab):
        pass
    print("SCHEDULE-RUNNING", flush=True)
    schedule.wait()
"""


def test_ctrl_c_during_a_background_schedule_still_heals_it(child_run):
    child_run.start(INTERRUPTED_TEST.format(duo=DUO), until="SCHEDULE-RUNNING")
    child_run.send_signal(signal.SIGINT)
    _, output = child_run.wait(within=60)
    assert "AFTER-TEARDOWN paused=False" in output, output
    assert "heal   #1 pause(server) (in #0) done" in output and "heal   #0 sequence(server)" in output, output
    assert "#2 pause(server)" not in output, "no step after the interrupt"
