"""A pytest killed (SIGKILL) in the middle of a partition and a delay leaves nothing the next run cannot reclaim.

The rules and the shaper live in the lab hosts' namespaces, never on the Docker host, so
reclaiming the containers (as the next run does) takes every trace of the faults with them.
"""

from __future__ import annotations

import os
import shutil
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
    def test_sleeps_inside_network_faults(lab, chaos):
        chaos.inject(faults.partition("lb1"))
        chaos.inject(faults.delay("client", "50ms"))
        print("FAULTS-ARE-IN", flush=True)
        time.sleep(120)
    """
)

NEXT_RUN = "def test_next_run(chaos_engine):\n    pass\n"


def docker_host_rules() -> str:
    """The Docker host's own ruleset, read only (empty when this machine has no iptables-save)."""
    tool = shutil.which("iptables-save")
    return subprocess.run([tool], capture_output=True, text=True, check=False).stdout if tool else ""


def test_a_run_killed_during_network_faults_is_reclaimed_by_the_next_run(tmp_path, leftovers, chaos_engine):
    session = f"nk{os.getpid() % 10000}"
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
        assert len(left) == 4, left  # three host containers and the network
        containers = {name.split()[1].rsplit("-", 1)[1]: name.split()[1] for name in left if name.startswith("container")}
        # SIGKILL cannot be caught: the faults are still in, inside the namespaces.
        assert "partition(lb1)" in chaos_engine.exec(containers["lb1"], ["iptables-save"]).stdout
        assert "chaos-shaper" in chaos_engine.exec(containers["client"], ["sh", "-c", "ps -eo args"]).stdout
        assert f"CHAOS-{session}" not in docker_host_rules(), "a fault touched the Docker host's own rules"

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
        assert f"CHAOS-{session}" not in docker_host_rules()
    finally:
        child.kill()
        from chaos import gc

        for lab in gc.labs(chaos_engine):
            if session in lab.lab:
                gc.remove(chaos_engine, lab)
