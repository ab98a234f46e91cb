"""Integration tests run against the real engine; every test here is marked `integration`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import NoReturn

import pytest

from chaos import Lab, gc, topology_from_dict
from chaos._internal import naming
from chaos.net import apply as net_apply


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


SHAPING_PATHS = ("netem", "userspace")
"""The two ways a netem-like degradation is applied; the shaping tests run once per path, each forced."""

NO_NETEM = "no sch_netem in this kernel: the netem path cannot run here; its userspace case runs the same checks"
"""The skip reason of a netem case on a kernel without sch_netem (.ci/check_junit.py allows exactly this one)."""

HAS_NETEM = "kernel has sch_netem: there is no missing netem to report; the netem cases run instead"
"""The mirror skip, for the test of the message a kernel without sch_netem gives (allowed in .ci/check_junit.py)."""


@pytest.fixture(scope="session")
def kernel_has_netem(chaos_engine) -> bool:
    """Whether the engine's kernel has sch_netem, probed once in a one-host lab (containers share the kernel)."""
    with Lab(topology_from_dict({"networks": {"n": {}}, "hosts": {"probe": {"networks": ["n"]}}}), chaos_engine) as lab:
        return net_apply.netem_available(lab, lab.hosts["probe"])


@pytest.fixture
def kernel_without_netem(kernel_has_netem) -> None:
    """For the tests of what a kernel without sch_netem says: they skip, saying why, where it has one."""
    if kernel_has_netem:
        pytest.skip(HAS_NETEM)


@pytest.fixture(params=SHAPING_PATHS)
def shaping_path(request, kernel_has_netem) -> str:
    """``"netem"`` or ``"userspace"``, forced; the netem case skips, saying why, where the kernel lacks sch_netem.

    Request it before ``lab``, so a skipped case brings up no lab.
    """
    if request.param == "netem" and not kernel_has_netem:
        pytest.skip(NO_NETEM)
    return str(request.param)


_child_sessions = itertools.count(1)

CHILD_TIMEOUT = 300.0
"""Seconds a child run may take in all: a lab or two up and down, with room for a busy machine."""


class ChildRun:
    """A pytest run in a subprocess, for tests that interrupt or kill a run in the middle of a lab.

    Its output is read by a thread of its own, so no wait here can hang on a silent child:
    each one has a deadline, after which the child is killed and the test fails with its output.
    """

    def __init__(self, directory: Path, session: str) -> None:
        self.directory = directory
        self.session = session
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self._reader: threading.Thread | None = None
        self._ended = False  # the child's output has ended (it exited, or closed it)

    @property
    def output(self) -> str:
        """Everything the child printed so far."""
        with self._arrived:
            return "".join(self.lines)

    def start(self, source: str, until: str, within: float = 90) -> subprocess.Popen[str]:
        """Run ``source`` as a test file under pytest (session ``self.session``) until it prints ``until``.

        Fails the test (after killing the child) when ``until`` is not printed within ``within`` seconds.
        """
        (self.directory / "test_child.py").write_text(source)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--chaos-require-docker", "test_child.py"],
            cwd=self.directory,
            env={**os.environ, "CHAOS_SESSION": self.session},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.process,), name="child-run-output", daemon=True)
        self._reader.start()
        with self._arrived:
            printed = self._arrived.wait_for(lambda: until in "".join(self.lines) or self._ended, timeout=within)
        if not printed or until not in self.output:
            self._give_up(f"the child run did not print {until!r} within {within} s")
        return self.process

    def send_signal(self, signum: int) -> None:
        assert self.process is not None, "start() first"
        self.process.send_signal(signum)

    def wait(self, within: float = 60) -> tuple[int, str]:
        """Wait for the child to end: its exit code and whole output. Kills it and fails the test after ``within`` seconds."""
        assert self.process is not None and self._reader is not None, "start() first"
        try:
            self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self._give_up(f"the child run did not end within {within} s")
        self._reader.join(10)  # the pipe closes when the child is gone
        return self.process.returncode, self.output

    def next_run(self) -> subprocess.CompletedProcess[str]:
        """A later, separate run (its own session) that only opens the engine, as any next run would."""
        (self.directory / "test_next.py").write_text("def test_next_run(chaos_engine):\n    pass\n")
        try:
            return subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--chaos-require-docker", "test_next.py"],
                cwd=self.directory,
                env={k: v for k, v in os.environ.items() if k != "CHAOS_SESSION"},
                capture_output=True,
                text=True,
                timeout=CHILD_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
            pytest.fail(f"the next run did not end within {CHILD_TIMEOUT} s; its output:\n{exc.output or ''}{exc.stderr or ''}", pytrace=False)

    def stop(self) -> None:
        """Kill the child if it still runs (idempotent)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._arrived:
                self.lines.append(line)
                self._arrived.notify_all()
        with self._arrived:
            self._ended = True
            self._arrived.notify_all()

    def _give_up(self, what: str) -> NoReturn:
        __tracebackhide__ = True
        self.stop()
        if self._reader is not None:
            self._reader.join(10)
        pytest.fail(f"{what}; it was killed. Its output:\n{self.output}", pytrace=False)


@pytest.fixture
def child_run(tmp_path, chaos_engine):
    """A `ChildRun` with a session of its own; whatever it leaves is removed after the test.

    The session's first 8 characters (what chain names keep of it, see `chaos.net.rules.Tag`)
    hold this process's pid, so a concurrent run's children do not share its chain prefix.
    """
    run = ChildRun(tmp_path, f"c{os.getpid() % 100000:05d}x{next(_child_sessions)}")
    yield run
    run.stop()
    for lab in gc.labs(chaos_engine):
        if run.session in lab.lab:
            gc.remove(chaos_engine, lab)
