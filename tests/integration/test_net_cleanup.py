"""A pytest killed (SIGKILL) in the middle of a partition and a delay leaves nothing the next run cannot reclaim.

The rules and the shaper live in the lab hosts' namespaces, never on the Docker host, so
reclaiming the containers (as the next run does) takes every trace of the faults with them.
The search for a session's chains is the one a leak would be found with; the first test
proves it finds them where they are.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from chaos import faults
from chaos.net.rules import Tag

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
DUO = {"networks": {"front": {}}, "hosts": {"a": {"networks": ["front"]}, "b": {"networks": ["front"]}}}

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


def session_prefix(session: str) -> str:
    """What the chain names of every fault of ``session`` start with (the library cuts the session short)."""
    return os.path.commonprefix([Tag(session, 1).prefix, Tag(session, 2).prefix])  # noqa: RUF071 - strings: what two faults share


def chains(ruleset: str, session: str) -> list[str]:
    """The chains of ``session``'s faults an ``iptables-save`` output declares."""
    return re.findall(rf"^:({re.escape(session_prefix(session))}\S+) ", ruleset, flags=re.MULTILINE)


def docker_host_rules() -> str:
    """The Docker host's own ruleset, read only. dockerd itself needs iptables: without it this test cannot look."""
    tool = shutil.which("iptables-save")
    assert tool, "iptables-save is missing on the Docker host (dockerd's own rules need iptables; Debian: apt-get install iptables)"
    return subprocess.run([tool], capture_output=True, text=True, check=True).stdout


@pytest.mark.topology(DUO)
def test_the_chain_search_finds_a_fault_while_it_is_in_and_nothing_after_heal(lab, chaos):
    session, a = lab.owner.session, lab.hosts["a"]
    assert chains(a.check("iptables-save").stdout, session) == []
    run = chaos.inject(faults.partition("a"))
    found = chains(a.check("iptables-save").stdout, session)
    assert found and all(name.startswith(session_prefix(session)) for name in found), a.check("iptables-save").stdout
    assert chains(docker_host_rules(), session) == [], "a fault touched the Docker host's own rules"
    chaos.heal(run)
    assert chains(a.check("iptables-save").stdout, session) == []


def test_a_run_killed_during_network_faults_is_reclaimed_by_the_next_run(child_run, leftovers, chaos_engine):
    session = child_run.session
    child_run.start(FAULTED_TEST, until="FAULTS-ARE-IN")
    child_run.send_signal(signal.SIGKILL)
    child_run.wait(within=30)
    left = leftovers(session=session)
    assert len(left) == 4, left  # three host containers and the network
    containers = {name.split()[1].rsplit("-", 1)[1]: name.split()[1] for name in left if name.startswith("container")}
    # SIGKILL cannot be caught: the faults are still in, inside the namespaces, where the search finds them.
    assert chains(chaos_engine.exec(containers["lb1"], ["iptables-save"]).stdout, session), "the partition's chains in lb1"
    assert "chaos-shaper" in chaos_engine.exec(containers["client"], ["sh", "-c", "ps -eo args"]).stdout
    assert chains(docker_host_rules(), session) == [], "a fault touched the Docker host's own rules"

    nxt = child_run.next_run()
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert leftovers(session=session) == []
    assert chains(docker_host_rules(), session) == []
