"""Host handles: run commands in a lab host, stream a program's output back, read its addresses and logs, hand it to testinfra."""

from __future__ import annotations

import collections
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from chaos._internal.durations import Duration, parse_duration, parse_optional_duration
from chaos.engine import ContainerGone, Engine, ExecResult
from chaos.errors import ChaosError, HostCommandError, LabError
from chaos.spec.model import HostSpec
from chaos_inlab import protocol

if TYPE_CHECKING:
    import testinfra.host

STDERR_TAIL_LINES = 10

PID_MARKER = "chaos-stream-pid"
"""The first line of every program a `RemoteProcess` runs: the wrapping shell's pid, which the program keeps (the shell execs it)."""

PID_WRAPPER = ("/bin/sh", "-c", f'echo "{PID_MARKER} $$"; exec "$@"', "chaos-stream")
"""What a `RemoteProcess` puts before the program's argv: a shell that says its pid, then becomes the program."""

START_TIMEOUT = 10.0
"""Seconds `RemoteProcess.wait_ready` waits by default for the program to say it runs."""
KILL_GRACE = 2.0
"""Seconds `RemoteProcess.stop` waits for the output to end after SIGKILL, when the first signal was not enough."""


class Host:
    """A running lab host: its host container (which owns the network namespace) and its workloads.

    Example::

        lab.hosts["lb1"].check("ip -o -4 addr show").stdout
        lab.hosts["lb1"].address("front")
        # '172.20.0.2'
    """

    def __init__(self, spec: HostSpec, engine: Engine, container: str, workloads: Mapping[str, str], network_names: Mapping[str, str]) -> None:
        self.spec = spec
        self._network_names = dict(network_names)  # spec network name -> Docker network name
        self.name = spec.name
        self.container = container
        self.workloads = dict(workloads)
        self._engine = engine
        self._addresses: dict[str, str] = {}
        self.id = ""

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.id[:8] or 'not started'}>"

    def refresh(self) -> None:
        """Read the container's id and addresses from the engine (after start or restart)."""
        info = self._engine.container_info(self.container)
        self.id = info.id
        by_docker_name = info.addresses
        self._addresses = {spec_name: by_docker_name.get(docker_name, "") for spec_name, docker_name in self._network_names.items()}

    @property
    def addresses(self) -> dict[str, str]:
        """``{network: IPv4 address}`` on every network of this host."""
        return dict(self._addresses)

    def address(self, network: str) -> str:
        """This host's address on ``network``.

        Raises:
            LabError: the host is not on that network; the message lists the ones it is on.
        """
        if network not in self._addresses:
            raise LabError(f"host {self.name!r} is not on network {network!r}; it is on: {', '.join(self._addresses) or 'none'}")
        return self._addresses[network]

    def exec(self, command: str | Sequence[str], container: str | None = None) -> ExecResult:
        """Run ``command`` (a shell string or an argv list) in the host container or a named workload.

        Never raises for a non-zero exit; see `check`.

        Raises:
            ContainerGone: the container is not running.
        """
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        return self._engine.exec(self._container_of(container), argv)

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        """Run ``argv`` and yield its output lines as they come (stdout and stderr together).

        The iterator blocks; to run a program in the background and be able to stop it, use `spawn`.
        """
        return self._engine.exec_lines(self._container_of(container), list(argv))

    def spawn(
        self, argv: Sequence[str], on_line: Callable[[str], object] | None = None, *, ready: Callable[[str], bool] | None = None, **options: Any
    ) -> RemoteProcess:
        """A program in this host whose output lines stream back to ``on_line`` (not started yet).

        See `RemoteProcess` for ``ready`` and the other ``options`` (``on_end``, ``container``,
        ``name``); use it as a context manager, or `RemoteProcess.start` and `RemoteProcess.stop`.

        Example::

            lines = []
            with lab.hosts["client"].spawn(["ping", "-c", "3", "10.0.0.2"], lines.append) as ping:
                ping.join("5s")
        """
        return RemoteProcess(self, argv, on_line, ready=ready, **options)

    def check(self, command: str | Sequence[str], container: str | None = None) -> ExecResult:
        """Like `exec`, but raise `HostCommandError` with the command, rc and stderr tail on failure."""
        __tracebackhide__ = True
        result = self.exec(command, container)
        if not result.ok:
            shown = command if isinstance(command, str) else shlex.join(command)
            tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            raise HostCommandError(f"`{shown}` on {self!r} exited {result.rc}" + (f":\n{tail}" if tail else " (no stderr)"))
        return result

    def kill(self, signal: str = "SIGKILL") -> None:
        """Send ``signal`` to every container of this host (workloads first, then the host container).

        With SIGKILL this is the host losing power: nothing gets to say goodbye. The fault
        catalogue builds on it; a test may call it directly.
        """
        for container in [*self.workloads.values(), self.container]:
            self._engine.kill(container, signal)

    def is_running(self, container: str | None = None) -> bool:
        return self._engine.is_running(self._container_of(container))

    def logs(self, tail: int | str = "all") -> str:
        """The logs of the host container and each workload, each under a heading."""
        parts = [f"--- {self.name} (host container) ---\n{self._engine.logs(self.container, tail)}"]
        parts += [f"--- {self.name}/{w} ---\n{self._engine.logs(c, tail)}" for w, c in self.workloads.items()]
        return "\n".join(parts)

    @property
    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host on the host container (`docker://` backend, needs the docker CLI)."""
        import testinfra

        return testinfra.get_host(f"docker://{self.container}")

    def _container_of(self, workload: str | None) -> str:
        if workload is None:
            return self.container
        if workload not in self.workloads:
            raise LabError(f"host {self.name!r} has no container {workload!r}; it has: {', '.join(self.workloads) or 'none'}")
        return self.workloads[workload]

    def holds(self, address: str) -> bool:
        """Whether ``address`` is on one of this host's interfaces (False when the host is down)."""
        try:
            result = self.exec(["ip", "-o", "-4", "addr", "show"])
        except ContainerGone:
            return False
        return any(field.split("/")[0] == address for line in result.stdout.splitlines() for field in line.split()[3:4])

    def read_file(self, path: str, container: str | None = None) -> bytes:
        """The content of ``path`` in the host container (or a named workload), even after the host stopped.

        Raises:
            EngineError: the container or the file does not exist.

        Example::

            lab.hosts["client"].read_file("/etc/hostname")
            # b'client\\n'
        """
        return self._engine.read_file(self._container_of(container), path)

    def stopped_at(self) -> float | None:
        """When the host container last stopped (epoch seconds, the engine's own record); None while it runs.

        Example::

            lab.hosts["lb1"].kill()
            lab.hosts["lb1"].stopped_at()
            # 1714557072.081
        """
        state = self._engine.state(self.container)
        return None if state.running else state.finished_at


class RemoteProcess:
    """A program running inside a lab host whose output streams back, one ``on_line`` call per line.

    Flows, packet captures and the VIP address watchers are each one of these. The program
    runs through the engine's exec; a reader thread feeds every line it writes (stdout and
    stderr together) to ``on_line``. Its pid in the host is known from its first line on (a
    wrapping shell says it, then execs the program), so `stop` ends that process and no other.

    Args:
        host: the lab host to run in.
        argv: the program and its arguments.
        on_line: called in the reader thread for each line (without the newline). An exception
            it raises is kept in `error` and the reading goes on.
        ready: a test of a line that says the program is ready (``chaos-flow``'s header); without
            one, the program is ready as soon as its pid is known.
        on_end: called in the reader thread once the output has ended, however it ended.
        container: a workload of the host instead of the host container.
        name: what the program is, for messages (default: its argv).

    Attributes:
        pid: the program's pid in the host (None until known).
        error: what ended the output early (``ContainerGone`` when the host stopped), or the
            first exception ``on_line`` raised; None otherwise.
        lines: the last lines the program wrote, for messages.
        ended_at: when the output ended (epoch seconds), None while it runs.

    Example::

        with host.spawn(["chaos-addrwatch", www.address], print, ready=lambda l: l.startswith("watching")) as watcher:
            ...
        assert not watcher.is_running
    """

    def __init__(
        self,
        host: Host,
        argv: Sequence[str],
        on_line: Callable[[str], object] | None = None,
        *,
        ready: Callable[[str], bool] | None = None,
        on_end: Callable[[RemoteProcess], object] | None = None,
        container: str | None = None,
        name: str | None = None,
        keep_lines: int = 20,
    ) -> None:
        if not argv:
            raise LabError("a remote process needs a program to run; argv is empty")
        self.host = host
        self.argv = list(argv)
        self.name = name or shlex.join(self.argv)
        self.container = container
        self.pid: int | None = None
        self.error: BaseException | None = None
        self.lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self.ended_at: float | None = None
        self._on_line = on_line
        self._ready_line = ready
        self._on_end = on_end
        self._ready = threading.Event()
        self._ended = threading.Event()
        self._has_pid = threading.Event()  # or ended without one
        self._settled = threading.Event()  # ready, or ended
        self._stop_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        state = "not started" if self._thread is None else "ended" if self._ended.is_set() else f"running pid={self.pid}"
        return f"<RemoteProcess {self.name} on {self.host.name} {state}>"

    # -- life ---------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether the program's output is still streaming back (it was started and has not ended)."""
        return self._thread is not None and not self._ended.is_set()

    @property
    def is_ready(self) -> bool:
        """Whether the program said it is ready (see ``ready``)."""
        return self._ready.is_set()

    def start(self) -> RemoteProcess:
        """Start the program and its reader thread; return at once (see `wait_ready`).

        Raises:
            LabError: it was started before (a process runs once; spawn another).
        """
        if self._thread is not None:
            raise LabError(f"{self!r} was started already; spawn a new one for another run")
        self._thread = threading.Thread(target=self._read, name=f"stream-{self.host.name}-{self.argv[0]}", daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, within: Duration = START_TIMEOUT) -> RemoteProcess:
        """Wait until the program says it is ready; stop it and raise if it does not.

        Raises:
            LabError: it ended or stayed silent instead; the message shows the command and what it said.
        """
        limit = parse_duration(within, "within")
        if self._thread is None:
            self.start()
        self._settled.wait(limit)
        if self._ready.is_set():
            return self
        self.stop(grace=KILL_GRACE)  # it is not doing what it should: no long goodbye
        raise LabError(f"{self.name} did not start on {self.host!r} within {limit:g} s: `{shlex.join(self.argv)}` said:\n{self.said()}")

    def said(self) -> str:
        """The last lines the program wrote, or what ended it, or ``nothing``."""
        if self.lines:
            return "\n".join(self.lines)
        return f"{type(self.error).__name__}: {self.error}" if self.error is not None else "nothing"

    def join(self, within: Duration | None = None) -> bool:
        """Wait until the output ends (at most ``within``; None: no limit); return whether it did."""
        return self._ended.wait(parse_optional_duration(within, "within"))

    def signal(self, signal: str = "TERM") -> bool:
        """Send ``signal`` (``"TERM"``, ``"INT"``, ``"KILL"``) to the program; return whether it was sent.

        Not sent when the pid is not known yet, the host is down, or the pid now belongs to
        another program (the host restarted).
        """
        if self.pid is None:
            return False
        # Only while its command line still names the program: a host that restarted may have given the pid to another.
        command = protocol.process_signal_argv(self.pid, signal.removeprefix("SIG"), self.argv[0].rsplit("/", 1)[-1])
        try:
            return self.host.exec(command, self.container).ok
        except ChaosError:  # the host is down: the program went with it
            return False

    def stop(self, signal: str = "TERM", grace: Duration = 5.0) -> bool:
        """End the program: ``signal``, then SIGKILL if its output has not ended after ``grace``; idempotent.

        Returns:
            Whether the output has ended (the program is gone, or the host is).
        """
        limit = parse_duration(grace, "grace")
        with self._stop_lock:
            if self._thread is None or self._stopped:
                return self._thread is None or self._ended.wait(limit)
            self._stopped = True
        if self._ended.is_set():
            return True
        self._has_pid.wait(min(limit, START_TIMEOUT))  # the pid is the first line; it may be on its way
        self.signal(signal)
        if self._ended.wait(limit):
            return True
        self.signal("KILL")
        return self._ended.wait(KILL_GRACE)

    def kill(self) -> bool:
        """`stop` with SIGKILL: no chance for the program to finish anything."""
        return self.stop("KILL", KILL_GRACE)

    def __enter__(self) -> RemoteProcess:
        return self.start().wait_ready() if self._thread is None else self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the reader thread ----------------------------------------------------------------

    def _read(self) -> None:
        try:
            for line in self.host.stream([*PID_WRAPPER, *self.argv], self.container):
                if self.pid is None and line.startswith(PID_MARKER):
                    self.pid = int(line.split()[1])
                    self._has_pid.set()
                    if self._ready_line is None:
                        self._set_ready()
                    continue
                self.lines.append(line)
                self._take(line)
        except BaseException as exc:  # kept for the owner to read; the thread must not die loudly
            self.error = self.error or exc
        finally:
            self.ended_at = time.time()
            self._ended.set()
            self._has_pid.set()
            self._settled.set()
            if self._on_end is not None:
                try:
                    self._on_end(self)
                except Exception as exc:
                    self.error = self.error or exc

    def _take(self, line: str) -> None:
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception as exc:
                self.error = self.error or exc
        if self._ready_line is not None and not self._ready.is_set() and self._ready_line(line):
            self._set_ready()

    def _set_ready(self) -> None:
        self._ready.set()
        self._settled.set()
