"""A pytest killed (SIGKILL) in the middle of a partition and a delay leaves nothing the next run cannot reclaim.

The rules and the shaper live in the lab hosts' namespaces, never on the Docker host, so
reclaiming the containers (as the next run does) takes every trace of the faults with them.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import textwrap
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


def docker_host_rules() -> str:
    """The Docker host's own ruleset, read only (empty when this machine has no iptables-save)."""
    tool = shutil.which("iptables-save")
    return subprocess.run([tool], capture_output=True, text=True, check=False).stdout if tool else ""


def test_a_run_killed_during_network_faults_is_reclaimed_by_the_next_run(child_run, leftovers, chaos_engine):
    session = child_run.session
    child = child_run.start(FAULTED_TEST, until="FAULTS-ARE-IN")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    left = leftovers(session=session)
    assert len(left) == 4, left  # three host containers and the network
    containers = {name.split()[1].rsplit("-", 1)[1]: name.split()[1] for name in left if name.startswith("container")}
    # SIGKILL cannot be caught: the faults are still in, inside the namespaces.
    assert "partition(lb1)" in chaos_engine.exec(containers["lb1"], ["iptables-save"]).stdout
    assert "chaos-shaper" in chaos_engine.exec(containers["client"], ["sh", "-c", "ps -eo args"]).stdout
    assert f"CHAOS-{session}" not in docker_host_rules(), "a fault touched the Docker host's own rules"

    nxt = child_run.next_run()
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert leftovers(session=session) == []
    assert f"CHAOS-{session}" not in docker_host_rules()
