"""The host image carries the in-lab package: its build context holds every module and a launcher per command, and its tag hashes them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chaos_inlab
from chaos.images import build
from chaos_inlab.protocol import COMMANDS


def test_the_context_holds_the_package_and_a_launcher_per_command() -> None:
    files = build.context_files("host")
    package = Path(chaos_inlab.__file__).parent
    sources = {f"chaos_inlab/{p.name}" for p in package.glob("*.py")}
    assert sources and sources <= set(files)
    assert files["chaos_inlab/protocol.py"] == (package / "protocol.py").read_bytes()
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]
    assert {path for path in files if path.startswith("bin/")} == {f"bin/{command}" for command in COMMANDS}
    assert "Dockerfile" in files and "wheels.txt" in files


def test_every_launcher_runs_its_module(tmp_path: Path) -> None:
    for command, module in COMMANDS.items():
        launcher = build.launcher(module)
        assert launcher.startswith("#!/usr/bin/python3\n")
        script = tmp_path / command
        script.write_text(launcher)
        if command == "chaos-agent":
            continue  # with no arguments it is PID 1: it would cut this machine's default route
        # --help exits 0 for argparse programs; the others print usage and exit 2: either way main() ran.
        done = subprocess.run(
            [sys.executable, str(script), "--help"],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(Path(chaos_inlab.__file__).parents[1])},
            timeout=30,
        )
        assert done.returncode in (0, 2), (command, done.stderr)
        assert command in done.stdout + done.stderr


def test_a_change_to_an_in_lab_program_changes_the_image_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "chaos_inlab"
    shutil.copytree(Path(chaos_inlab.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build, "_package", lambda: copy)
    before = build.image_reference("host")
    assert build.image_reference("host") == before  # stable
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "flow.cpython-311.pyc").write_bytes(b"compiled")
    assert build.image_reference("host") == before  # bytecode is not source
    (copy / "flow.py").write_text((copy / "flow.py").read_text() + "\n# changed\n")
    assert build.image_reference("host") != before
