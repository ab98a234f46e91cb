"""Integration tests run against the real engine; every test here is marked `integration`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos import gc
from chaos._internal import naming


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def leftovers(chaos_engine):
    """A function listing the Docker objects still labelled with a given lab or session."""

    def find(**labels: str) -> list[str]:
        keys = {"lab": naming.LAB, "session": naming.SESSION}
        return sorted(f"{o.kind} {o.name}" for o in chaos_engine.find({keys[k]: v for k, v in labels.items()}))

    return find


_child_sessions = itertools.count(1)


class ChildRun:
    """A pytest run in a subprocess, for tests that interrupt or kill a run in the middle of a lab."""

    def __init__(self, directory: Path, session: str) -> None:
        self.directory = directory
        self.session = session
        self.process: subprocess.Popen[str] | None = None

    def start(self, source: str, until: str, within: float = 90) -> subprocess.Popen[str]:
        """Run ``source`` as a test file under pytest (session ``self.session``) until it prints ``until``."""
        (self.directory / "test_child.py").write_text(source)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--chaos-require-docker", "test_child.py"],
            cwd=self.directory,
            env={**os.environ, "CHAOS_SESSION": self.session},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + within
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            if until in line or time.monotonic() > deadline:
                break
        assert until in "".join(seen), "".join(seen)
        return self.process

    def next_run(self) -> subprocess.CompletedProcess[str]:
        """A later, separate run (its own session) that only opens the engine, as any next run would."""
        (self.directory / "test_next.py").write_text("def test_next_run(chaos_engine):\n    pass\n")
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--chaos-require-docker", "test_next.py"],
            cwd=self.directory,
            env={k: v for k, v in os.environ.items() if k != "CHAOS_SESSION"},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def child_run(tmp_path, chaos_engine):
    """A `ChildRun` with a session of its own; whatever it leaves is removed after the test."""
    run = ChildRun(tmp_path, f"child{os.getpid() % 10000}x{next(_child_sessions)}")
    yield run
    if run.process is not None:
        run.process.kill()
        run.process.wait()
    for lab in gc.labs(chaos_engine):
        if run.session in lab.lab:
            gc.remove(chaos_engine, lab)
