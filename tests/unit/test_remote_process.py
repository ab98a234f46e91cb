"""RemoteProcess, the one "program in a lab host whose output streams back", run on this machine (no Docker).

`LocalHost` stands in for a lab host: its ``stream`` and ``exec`` run the very argv the class
sends to a container (the pid-announcing wrapper, and ``chaos-lab process signal`` from the
in-lab package), as local processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from chaos.engine import ExecResult
from chaos.errors import LabError, UsageError
from chaos.host import PID_MARKER, RemoteProcess
from chaos_inlab import protocol

PYTHON = sys.executable
IGNORES_TERM = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
COUNTS = "import time\nfor n in range(1000):\n    print(n, flush=True)\n    time.sleep(0.01)"


class LocalHost:
    """A lab host's stream and exec, run here: ``chaos-lab`` is the in-lab package's tool."""

    name = "local"

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[str]] = []

    def __repr__(self) -> str:
        return "<Host local>"

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        child = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.children.append(child)
        assert child.stdout is not None
        for line in child.stdout:
            yield line.rstrip("\n")
        child.wait()

    def exec(self, command: Sequence[str], container: str | None = None) -> ExecResult:
        argv = list(command)
        if argv[0] == protocol.TOOL:
            argv = [PYTHON, "-m", "chaos_inlab.tool", *argv[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=False)
        return ExecResult(done.returncode, done.stdout, done.stderr)


def is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def host() -> Iterator[LocalHost]:
    made = LocalHost()
    yield made
    for child in made.children:  # nothing outlives a test, even a failing one
        child.kill()
        child.wait()


def test_lines_stream_to_the_callback_and_the_pid_is_the_programs(host: LocalHost) -> None:
    lines: list[str] = []
    process = RemoteProcess(host, [PYTHON, "-c", COUNTS], lines.append, ready=lambda line: line == "3")  # type: ignore[arg-type]
    with process:
        assert process.is_ready and process.is_running
        assert process.pid == host.children[0].pid  # the wrapper exec'd the program: one process, one pid
        with open(f"/proc/{process.pid}/cmdline", "rb") as cmdline:
            assert b"-c" in cmdline.read()  # the program itself, not the wrapping shell
    assert lines[:4] == ["0", "1", "2", "3"]
    assert not any(line.startswith(PID_MARKER) for line in lines)
    assert not process.is_running and not is_alive(host.children[0].pid)


def test_stop_ends_the_process_and_leaves_nothing_behind(host: LocalHost) -> None:
    process = RemoteProcess(host, [PYTHON, "-c", COUNTS]).start().wait_ready("5s")  # type: ignore[arg-type]
    pid = process.pid
    assert pid is not None and is_alive(pid)
    assert process.stop()
    assert not is_alive(pid) and process.ended_at is not None and process.error is None
    assert process.stop()  # idempotent


def test_stop_kills_a_program_that_ignores_its_signal(host: LocalHost) -> None:
    process = RemoteProcess(host, [PYTHON, "-c", IGNORES_TERM], ready=lambda line: line == "ready").start().wait_ready("5s")  # type: ignore[arg-type]
    pid = process.pid
    assert pid is not None
    started = time.monotonic()
    assert process.stop("TERM", grace="300ms")
    assert 0.3 <= time.monotonic() - started < 5
    assert not is_alive(pid)


def test_a_pid_that_now_names_another_program_is_not_signalled(host: LocalHost) -> None:
    # A host that restarted may have given the pid to someone else: the signal checks the command line first.
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        process = RemoteProcess(host, [PYTHON, "-c", COUNTS]).start().wait_ready("5s")  # type: ignore[arg-type]
        own = process.pid
        process.pid = stranger.pid
        assert not process.signal("KILL")
        assert stranger.poll() is None
        process.pid = own
        assert process.signal("KILL")
        assert process.join("5s")
    finally:
        stranger.kill()
        stranger.wait()


def test_a_program_that_never_says_ready_is_stopped_with_what_it_said(host: LocalHost) -> None:
    process = RemoteProcess(host, [PYTHON, "-c", "print('no such option: --rate')"], ready=lambda line: False, name="flow x")  # type: ignore[arg-type]
    with pytest.raises(LabError) as info:
        process.start().wait_ready("5s")
    message = str(info.value)
    assert message.startswith("flow x did not start on <Host local> within 5 s: `") and "no such option: --rate" in message
    assert not process.is_running


def test_a_silent_program_times_out_and_is_gone_afterwards(host: LocalHost) -> None:
    process = RemoteProcess(host, [PYTHON, "-c", IGNORES_TERM], ready=lambda line: False)  # type: ignore[arg-type]
    with pytest.raises(LabError, match=r"did not start .* within 0.2 s"):
        process.start().wait_ready("200ms")
    assert process.pid is not None and not is_alive(process.pid)


def test_a_failing_callback_is_kept_and_the_reading_goes_on(host: LocalHost) -> None:
    seen: list[str] = []

    def take(line: str) -> None:
        seen.append(line)
        if line == "1":
            raise RuntimeError("bad line")

    process = RemoteProcess(host, [PYTHON, "-c", "print(0); print(1); print(2)"], take)  # type: ignore[arg-type]
    process.start()
    assert process.join("5s")
    assert seen == ["0", "1", "2"]
    assert isinstance(process.error, RuntimeError)


def test_on_end_is_told_once_the_output_ended(host: LocalHost) -> None:
    ended = threading.Event()
    process = RemoteProcess(host, [PYTHON, "-c", "print('bye')"], on_end=lambda p: ended.set())  # type: ignore[arg-type]
    process.start()
    assert ended.wait(5) and process.join(0)
    assert list(process.lines) == ["bye"]


def test_a_stream_error_is_kept_and_ends_the_process(host: LocalHost) -> None:
    class GoneHost(LocalHost):
        def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
            raise LabError("container gone")
            yield ""

    process = RemoteProcess(GoneHost(), ["chaos-addrwatch", "10.0.0.9"], ready=lambda line: True)  # type: ignore[arg-type]
    with pytest.raises(LabError, match="LabError: container gone"):
        process.start().wait_ready("5s")
    assert isinstance(process.error, LabError)


def test_a_process_runs_once_and_takes_durations(host: LocalHost) -> None:
    process = RemoteProcess(host, [PYTHON, "-c", "print(1)"]).start()  # type: ignore[arg-type]
    with pytest.raises(LabError, match="was started already"):
        process.start()
    assert process.join("5s")
    with pytest.raises(UsageError, match="within='soon' is not a duration"):
        process.join("soon")
    with pytest.raises(LabError, match="argv is empty"):
        RemoteProcess(host, [])  # type: ignore[arg-type]
