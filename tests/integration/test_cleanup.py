"""Nothing leaks: Ctrl-C and SIGTERM tear labs down, a killed run is reclaimed by `chaos gc`, and gc never touches what is not ours."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chaos._internal import naming

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
CHAOS = [sys.executable, "-m", "chaos.cli"]

SLEEPING_TEST = textwrap.dedent(
    f"""
    import time, pytest

    @pytest.mark.topology({str(PAIR)!r})
    def test_sleeps_inside_a_lab(lab):
        print("LAB-IS-UP", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_tears_its_lab_down(child_run, leftovers, signum):
    child_run.start(SLEEPING_TEST, until="LAB-IS-UP", within=60)
    assert len(leftovers(session=child_run.session)) == 4, "the lab did not come up in the child run"
    child_run.send_signal(signum)
    returncode, output = child_run.wait(within=60)
    assert returncode != 0
    assert leftovers(session=child_run.session) == [], output


def test_a_killed_run_is_reclaimed_by_chaos_gc(child_run, leftovers):
    session = child_run.session
    child_run.start(SLEEPING_TEST, until="LAB-IS-UP", within=60)
    assert len(leftovers(session=session)) == 4
    child_run.send_signal(signal.SIGKILL)
    child_run.wait(within=30)
    assert len(leftovers(session=session)) == 4, "SIGKILL cannot be caught: the objects stay until gc"
    listed = subprocess.run([*CHAOS, "gc", "--dry-run"], capture_output=True, text=True, check=True).stdout
    assert f"would remove lab pair-{session}-1" in listed
    assert len(leftovers(session=session)) == 4
    removed = subprocess.run([*CHAOS, "gc"], capture_output=True, text=True, check=True).stdout
    assert f"removed lab pair-{session}-1" in removed
    assert leftovers(session=session) == []


def test_gc_spares_live_labs_and_never_touches_unlabelled_objects(lab_factory, chaos_engine, leftovers):
    lab = lab_factory(PAIR)
    stranger = f"chaos-not-ours-{os.getpid()}"
    subprocess.run(["docker", "network", "create", stranger], check=True, capture_output=True)
    try:
        # --all would take live labs too (not run here: it would pull labs from under concurrent runs).
        everything = subprocess.run([*CHAOS, "gc", "--all", "--dry-run"], check=True, capture_output=True, text=True).stdout
        assert f"would remove lab {lab.name}:" in everything and stranger not in everything
        subprocess.run([*CHAOS, "gc"], check=True, capture_output=True)
        assert len(leftovers(lab=lab.name)) == 4, "gc removed a lab whose owner (this process) is alive"
        assert subprocess.run(["docker", "network", "inspect", stranger], capture_output=True).returncode == 0
    finally:
        subprocess.run(["docker", "network", "rm", stranger], capture_output=True)


def test_owner_labels_name_this_process(lab_factory, chaos_engine):
    lab = lab_factory(PAIR)
    labels = chaos_engine.find({naming.LAB: lab.name})[0].labels
    assert labels[naming.OWNER_PID] == str(os.getpid())
    assert naming.owner_is_alive(dict(labels))
