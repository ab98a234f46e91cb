"""The `chaos` command on the real engine: up, down, images, doctor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chaos import Lab, cli, gc, load_topology

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
        # gc lists a lab as "<verb> lab <name>:"; --all proves the listing would show this one.
        assert f"would remove lab {name}:" in chaos("gc", "--all", "--dry-run").stdout
        collected = chaos("gc")
        assert collected.returncode == 0 and f"lab {name}:" not in collected.stdout, collected.stdout
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


def test_doctor_reports_engine_images_and_kernel_paths(kernel_has_netem):
    result = chaos("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and "engine" in line and "Docker" in line for line in lines)
    assert any("chaos/host:" in line and "present" in line for line in lines)
    for feature in ("netem", "iptables statistic", "NFQUEUE", "tbf"):
        assert any(f"kernel {feature}" in line for line in lines), feature
    # The doctor says which path delay takes, and it is the one the kernel's probe (in a lab) allows.
    netem = next(line for line in lines if "kernel netem" in line)
    if kernel_has_netem:
        assert "available" in netem and netem.startswith("ok"), netem
    else:
        assert "userspace NFQUEUE shaper" in netem, netem


def test_no_engine_is_one_clear_message():
    result = chaos("--docker-host", "unix:///nonexistent/docker.sock", "doctor")
    assert result.returncode == 1
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in result.stdout


ONE_HOST = "networks: {n: {}}\nhosts: {solo: {networks: [n]}}\n"


def test_down_without_a_name_removes_the_kept_labs_and_gc_all_the_live_ones(tmp_path, chaos_engine, leftovers, monkeypatch, capsys):
    # A kept lab (left by `chaos up`) and a live one (this process owns it, nobody kept it).
    topology = tmp_path / "solo.yaml"
    topology.write_text(ONE_HOST)
    up = chaos("up", str(topology))
    assert up.returncode == 0, up.stderr
    kept = up.stdout.split()[1]
    live = Lab(load_topology(topology), chaos_engine).up()
    try:
        # `chaos down` and `gc --all` act on every lab of the engine, other runs' too: run in-process,
        # they see only this test's two labs, so a shared engine's other runs are never touched.
        every_lab = gc.labs
        monkeypatch.setattr(gc, "labs", lambda engine: [found for found in every_lab(engine) if found.lab in (kept, live.name)])

        assert cli.main(["down"]) == 0
        assert capsys.readouterr().out.splitlines() == [f"removed lab {kept} (3 objects)"]  # container, network, keep marker
        assert leftovers(lab=kept) == [] and len(leftovers(lab=live.name)) == 2, "down removes kept labs only"
        assert cli.main(["down"]) == 0 and capsys.readouterr().out.strip() == "no kept labs to remove"

        assert cli.main(["gc"]) == 0 and capsys.readouterr().out.strip() == "nothing to reclaim", "its owner (this process) is alive"
        assert cli.main(["gc", "--all"]) == 0
        assert capsys.readouterr().out.startswith(f"removed lab {live.name}: ")
        assert leftovers(lab=live.name) == []
    finally:
        live.down()
        chaos("down", kept)
