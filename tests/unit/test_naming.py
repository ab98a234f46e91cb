"""Labels, names and owner liveness, without Docker."""

from __future__ import annotations

import os
import socket
import subprocess

from chaos._internal import naming


def test_labels_carry_session_lab_worker_and_owner():
    owner = naming.Owner.current("abc123")
    labels = owner.labels("pair-abc123-1")
    assert labels[naming.SESSION] == "abc123"
    assert labels[naming.LAB] == "pair-abc123-1"
    assert labels[naming.WORKER] == os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert labels[naming.OWNER_PID] == str(os.getpid())
    assert labels[naming.OWNER_MACHINE] == socket.gethostname()


def test_worker_id_comes_from_xdist(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert naming.Owner.current("s").worker == "gw3"
    assert naming.Owner.current("s").object_name("lab", "lb1") == "chaos-s-gw3-lab-lb1"


def test_session_comes_from_the_environment_else_is_random(monkeypatch):
    monkeypatch.setenv("CHAOS_SESSION", "fromenv")
    assert naming.Owner.current().session == "fromenv"
    monkeypatch.delenv("CHAOS_SESSION")
    first, second = naming.Owner.current().session, naming.Owner.current().session
    assert first != second and len(first) == 8


def test_safe_name_replaces_what_docker_refuses():
    assert naming.safe_name("a b/c:d") == "a_b_c_d"
    assert naming.safe_name("") == "_"


def test_this_process_is_alive():
    assert naming.owner_is_alive(naming.Owner.current("s").labels("lab"))


def test_a_finished_process_is_dead():
    child = subprocess.Popen(["true"])
    labels = {
        naming.OWNER_MACHINE: socket.gethostname(),
        naming.OWNER_PID: str(child.pid),
        naming.OWNER_START: naming.process_start_ticks(child.pid),
    }
    child.wait()
    assert not naming.owner_is_alive(labels)


def test_a_reused_pid_is_not_the_owner():
    labels = naming.Owner.current("s").labels("lab")
    labels[naming.OWNER_START] = "1"  # another process that once had this pid
    assert not naming.owner_is_alive(labels)


def test_an_owner_on_another_machine_counts_as_alive_and_no_owner_as_dead():
    assert naming.owner_is_alive({naming.OWNER_MACHINE: "elsewhere", naming.OWNER_PID: "1"})
    assert not naming.owner_is_alive({naming.SESSION: "s"})
