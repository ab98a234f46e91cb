"""A pytest killed (SIGKILL) in the middle of faults leaves nothing the next run cannot reclaim."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
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

NEXT_RUN = "def test_next_run(chaos_engine):\n    pass\n"


def test_a_run_killed_during_faults_is_reclaimed_by_the_next_run(tmp_path, leftovers, chaos_engine):
    session = f"fk{os.getpid() % 10000}"
    (tmp_path / "test_faulted.py").write_text(FAULTED_TEST)
    (tmp_path / "test_next.py").write_text(NEXT_RUN)
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--chaos-require-docker", "test_faulted.py"],
        cwd=tmp_path,
        env={**os.environ, "CHAOS_SESSION": session},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 90
        seen = []
        for line in child.stdout:
            seen.append(line)
            if "FAULTS-ARE-IN" in line or time.monotonic() > deadline:
                break
        assert "FAULTS-ARE-IN" in "".join(seen), "".join(seen)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        left = leftovers(session=session)
        assert len(left) == 4, left  # three containers (one paused, one isolated, one dead) and the network
        lb1 = next(name.split()[1] for name in left if name.endswith("-lb1"))
        assert chaos_engine.state(lb1).paused, "SIGKILL cannot be caught: the fault is still in"

        # The next run (another session) reclaims it when it first uses the engine.
        nxt = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--chaos-require-docker", "test_next.py"],
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if k != "CHAOS_SESSION"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert nxt.returncode == 0, nxt.stdout + nxt.stderr
        assert leftovers(session=session) == []
    finally:
        child.kill()
        from chaos import gc

        for lab in gc.labs(chaos_engine):
            if session in lab.lab:
                gc.remove(chaos_engine, lab)
