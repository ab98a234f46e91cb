"""The `chaos` command on the real engine: up, down, images, doctor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chaos import gc

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
CHAOS = [sys.executable, "-m", "chaos.cli"]


def chaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHAOS, *args], capture_output=True, text=True, timeout=300)


def test_up_leaves_a_lab_running_until_down(leftovers):
    up = chaos("up", str(PAIR))
    assert up.returncode == 0, up.stderr
    name = up.stdout.split()[1]
    try:
        assert "vip www:" in up.stdout and f"chaos down {name}" in up.stdout
        assert len(leftovers(lab=name)) == 5  # 3 containers, 1 network, 1 keep marker
        assert "nothing to reclaim" in chaos("gc").stdout or name not in chaos("gc").stdout
        assert len(leftovers(lab=name)) == 5, "gc must spare a kept lab"
        down = chaos("down", name)
        assert down.returncode == 0 and f"removed lab {name}" in down.stdout
        assert leftovers(lab=name) == []
    finally:
        chaos("down", name)


def test_down_of_an_unknown_lab_says_what_exists():
    result = chaos("down", "no-such-lab")
    assert result.returncode == 1
    assert "no lab named no-such-lab; labs on this engine:" in result.stderr


def test_up_with_a_bad_file_creates_nothing(tmp_path, chaos_engine):
    bad = tmp_path / "badfile.yaml"
    bad.write_text("networks: {front: {}}\nhosts: {a: {networks: [back]}}\n")
    result = chaos("up", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip() == f"chaos up: {bad}: hosts.a.networks[0]: unknown network 'back'; defined networks: front"
    assert [lab.lab for lab in gc.labs(chaos_engine) if lab.lab.startswith("badfile-")] == []


def test_images_build_twice_builds_nothing_the_second_time():
    first = chaos("images", "build")
    assert first.returncode == 0, first.stderr
    second = chaos("images", "build")
    assert second.returncode == 0
    assert "present, nothing to build" in second.stdout and "built" not in second.stdout.replace("nothing to build", "")
    listed = chaos("images", "list")
    assert listed.returncode == 0 and "present" in listed.stdout


def test_staged_wheels_are_importable_in_the_host_image(lab_factory):
    lab = lab_factory({"networks": {"n": {}}, "hosts": {"a": {"networks": ["n"]}}})
    result = lab.hosts["a"].check(["python3", "-c", "import fnfqueue, scapy.all; print(fnfqueue.__name__)"])
    assert result.stdout.strip() == "fnfqueue"


def test_doctor_reports_engine_images_and_kernel_paths():
    result = chaos("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and "engine" in line and "Docker" in line for line in lines)
    assert any("chaos/host:" in line and "present" in line for line in lines)
    for feature in ("netem", "iptables statistic", "NFQUEUE", "tbf"):
        assert any(f"kernel {feature}" in line for line in lines), feature
    # This machine's kernel has no sch_netem: the doctor must say which path delay takes.
    netem = next(line for line in lines if "kernel netem" in line)
    assert ("available" in netem and netem.startswith("ok")) or "userspace NFQUEUE shaper" in netem


def test_no_engine_is_one_clear_message():
    result = chaos("--docker-host", "unix:///nonexistent/docker.sock", "doctor")
    assert result.returncode == 1
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in result.stdout
