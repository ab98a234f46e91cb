"""A pytest killed (SIGKILL) in the middle of faults leaves nothing the next run cannot reclaim."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"

FAULTED_TEST = textwrap.dedent(
    f"""
    import time, pytest
    from chaos import faults

    @pytest.mark.topology({str(PAIR)!r})
    def test_sleeps_inside_faults(lab, chaos):
        chaos.inject(faults.together(faults.pause("lb1"), faults.isolate("lb2"), faults.power_off("client")))
        print("FAULTS-ARE-IN", flush=True)
        time.sleep(120)
    """
)


def test_a_run_killed_during_faults_is_reclaimed_by_the_next_run(child_run, leftovers, chaos_engine):
    child_run.start(FAULTED_TEST, until="FAULTS-ARE-IN")
    child_run.send_signal(signal.SIGKILL)
    child_run.wait(within=30)
    left = leftovers(session=child_run.session)
    assert len(left) == 4, left  # three containers (one paused, one isolated, one dead) and the network
    lb1 = next(name.split()[1] for name in left if name.endswith("-lb1"))
    assert chaos_engine.state(lb1).paused, "SIGKILL cannot be caught: the fault is still in"

    # The next run (another session) reclaims it when it first uses the engine.
    nxt = child_run.next_run()
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert leftovers(session=child_run.session) == []
