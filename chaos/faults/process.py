"""Process and container faults: kill (any signal), stop, start, restart, pause and resume, and kill a process by name."""

from __future__ import annotations

import shlex
import signal as signals
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from chaos._internal.durations import Duration
from chaos._internal.parallel import parallel
from chaos.errors import FaultError, HostCommandError, RecoveryTimeout
from chaos.expect import eventually
from chaos.faults import _containers
from chaos.faults._containers import Box, Boxes, HoldsContainers, OnContainers
from chaos.faults.base import SECONDS, Action, Claim, Injection, to_seconds
from chaos_inlab import protocol as inlab

KILL_SETTLE = 1.0
"""How long a non-SIGKILL signal is given to end a container or process before it counts as survived."""

STOP_WAIT = 10.0
"""How long a killed or stopped container may take to be seen dead before that is an error."""

PROCESS_RESTART_WAIT = 5.0


def signal_name(signal: str | int) -> str:
    """``"SIGKILL"`` for ``9``, ``"KILL"``, ``"sigkill"`` or ``signal.SIGKILL``.

    Raises:
        FaultError: not a signal; the message lists the usual ones.

    Example:
        >>> signal_name("term")
        'SIGTERM'
    """
    try:
        if isinstance(signal, int):
            return signals.Signals(signal).name
        name = signal.upper()
        return signals.Signals[name if name.startswith("SIG") else f"SIG{name}"].name
    except (KeyError, ValueError):
        raise FaultError(f"unknown signal {signal!r}; e.g. SIGKILL, SIGTERM, SIGHUP, SIGINT, SIGUSR1, SIGSTOP, or a number") from None


@dataclass(frozen=True)
class _Where:
    """The keyword-only ``container`` of every process fault: None the host container, ``"*"`` every container, else a workload."""

    container: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]  # a mixin: the fault after it in the MRO has one
        if self.container is not None and (not isinstance(self.container, str) or not self.container):
            raise FaultError(f"container={self.container!r} is not a container: None (the host container), '*' (every one) or a workload's name")


@dataclass(frozen=True)
class _Graceful:
    """The ``timeout`` of a ``docker stop`` (SIGTERM, then SIGKILL after it), a duration; for stop and restart."""

    timeout: Duration = field(default=10.0, metadata=SECONDS)

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]  # a mixin: the fault after it in the MRO has one
        object.__setattr__(self, "timeout", to_seconds(self.timeout, "timeout"))

    def stop_all(self, run: Injection[Boxes]) -> float:
        """``docker stop`` every container at once; when the last one exited."""
        boxes = run.data.boxes
        parallel(lambda box: run.lab.engine.stop(box.container, self.timeout), boxes)
        return _containers.wait_stopped(run.lab, boxes, STOP_WAIT, f"{self} on lab {run.lab.name}")


def _signal(fault: Kill | KillProcess) -> str:
    return str(fault.signal)


# -- kill and stop: the container dies; heal brings it back --------------------------------------


class _Dies(HoldsContainers[Boxes]):
    """A fault after which the containers are dead; heal starts again the ones it reached (a host comes back whole)."""

    def revert(self, run: Injection[Boxes]) -> float | None:
        return _containers.bring_back(run.lab, run.data.done)


@dataclass(frozen=True)
class Kill(_Where, _Dies):
    """Send ``signal`` to the host container of ``target`` (or ``container=`` a workload, or ``"*"`` every container).

    Effective when the containers were seen dead (the engine's exit time); a signal the
    container survives (PID 1 ignores what it has no handler for) is effective when sent.
    Heal starts again the ones that died.

    Example::

        chaos.inject(faults.kill("lb1"))                                # SIGKILL the host container
        chaos.inject(faults.kill("lb1", "SIGTERM", container="web"))    # one workload, gently
    """

    signal: str | int = "SIGKILL"
    name: ClassVar[str] = "kill"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "signal", signal_name(self.signal))

    def apply(self, run: Injection[Boxes]) -> float | None:
        boxes = run.data.boxes
        run.data.done = list(boxes)
        parallel(lambda box: run.lab.engine.kill(box.container, _signal(self)), boxes)
        sent_at = time.time()
        if self.signal == "SIGKILL":
            return _containers.wait_stopped(run.lab, boxes, STOP_WAIT, f"{self} on lab {run.lab.name}")
        return _containers.stopped_within(run.lab, boxes, KILL_SETTLE) or sent_at


@dataclass(frozen=True)
class Stop(_Where, _Graceful, _Dies):
    """Stop containers the way ``docker stop`` does: SIGTERM, then SIGKILL after ``timeout`` (a duration); heal starts them again.

    Example::

        with faults.stop("lb1", container="web", timeout="2s").on(lab):
            ...
    """

    name: ClassVar[str] = "stop"

    def apply(self, run: Injection[Boxes]) -> float | None:
        run.data.done = list(run.data.boxes)
        return self.stop_all(run)


# -- pause: frozen, not dead -------------------------------------------------------------------


@dataclass(frozen=True)
class Pause(_Where, HoldsContainers[Boxes]):
    """Freeze every process of the host container of ``target`` (or a workload, or ``"*"``): the network namespace stays, nothing answers.

    The cgroup freezer; heal (or `resume`) thaws it.

    Example::

        with chaos.inject(faults.pause("lb1")):
            assert client.exec(["chaos-probe", "tcp", lb1]).rc == 1    # frozen: no answer
    """

    name: ClassVar[str] = "pause"

    def apply(self, run: Injection[Boxes]) -> float | None:
        run.data.done = []

        def freeze(box: Box) -> None:
            run.data.done.append(box)
            run.lab.engine.pause(box.container)

        parallel(freeze, run.data.boxes)
        return time.time()

    def revert(self, run: Injection[Boxes]) -> float | None:
        parallel(lambda box: _thaw(run, box), list(run.data.done))
        return time.time()


def _thaw(run: Injection[Boxes], box: Box) -> None:
    if run.lab.engine.state(box.container).paused:
        run.lab.engine.unpause(box.container)


# -- actions: start, restart, resume -----------------------------------------------------------


@dataclass(frozen=True)
class Start(_Where, OnContainers[Boxes], Action[Boxes]):
    """Start what is stopped (a host comes back whole, its workloads after it); heals the fault that stopped it (kill, stop, power_off).

    Example::

        chaos.inject(faults.stop("lb1"))
        chaos.inject(faults.start("lb1"))     # heals the stop: the timeline shows both
    """

    name: ClassVar[str] = "start"

    def apply(self, run: Injection[Boxes]) -> float | None:
        return _containers.start_holders(run)


@dataclass(frozen=True)
class Restart(_Where, _Graceful, HoldsContainers[Boxes], Action[Boxes]):
    """Restart containers: ``docker stop`` (SIGTERM, SIGKILL after ``timeout``), then start; a host restarts whole.

    Effective when they are ready again. Restarting a container another fault holds (paused,
    killed) is refused: it would undo that fault behind its back.

    Example::

        chaos.inject(faults.restart("lb1", container="web"))
    """

    name: ClassVar[str] = "restart"

    def apply(self, run: Injection[Boxes]) -> float | None:
        self.stop_all(run)
        return _containers.bring_back(run.lab, run.data.boxes)


@dataclass(frozen=True)
class Resume(_Where, OnContainers[Boxes], Action[Boxes]):
    """Thaw what `pause` froze; heals the active `pause` on it.

    Example::

        chaos.inject(faults.resume("lb1"))
    """

    name: ClassVar[str] = "resume"

    def apply(self, run: Injection[Boxes]) -> float | None:
        run.heal_holders(box.claim for box in run.data.boxes)
        for box in run.data.boxes:
            _thaw(run, box)
        return time.time()


# -- one process inside a host -------------------------------------------------------------------

# The in-lab half is `chaos-lab process` (chaos_inlab.process), which reads /proc itself: ``list``
# prints pid, parent pid and the command line (\x1f between arguments) of each process with the
# name; ``kill`` signals them, waits up to the settle time for them to go and prints "gone TIME"
# or "alive TIME" (the time the signal left), on the lab's clock; ``start`` runs a command
# detached, its output going to the container's log (PID 1's stdout), as the agent's daemons do.


@dataclass
class Killed(Boxes):
    """What `kill_process` knows (``run.data``): besides the containers, the command lines of the top-level processes it killed."""

    killed: dict[Box, list[list[str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class KillProcess(_Where, OnContainers[Killed]):
    """Signal every process named ``process`` (its ``comm``, as ``pkill -x``; e.g. keepalived) in containers of the target hosts.

    Effective when every such process is gone (measured inside the namespace), or when the
    signal left if one survived ``KILL_SETTLE`` (SIGHUP to keepalived reloads it). With
    ``restart`` (the default) heal starts each killed top-level process again with its own
    command line, its output going to the container's log, unless one with that name runs.

    Example::

        chaos.inject(faults.kill_process("lb1", "keepalived"))              # SIGKILL: adverts just stop
        chaos.inject(faults.kill_process("lb1", "keepalived", "SIGTERM"))   # priority 0: an orderly handover
    """

    process: str
    signal: str | int = "SIGKILL"
    restart: bool = True
    name: ClassVar[str] = "kill_process"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "signal", signal_name(self.signal))
        if not isinstance(self.process, str) or not self.process or "/" in self.process or len(self.process) > 15:
            raise FaultError(
                f"kill_process: {self.process!r} is not a process name; give the name `ps -o comm` shows "
                "(at most 15 characters, no path), e.g. 'keepalived'"
            )

    def new_data(self) -> Killed:
        return Killed()

    def claims(self, run: Injection[Killed]) -> Iterable[Claim]:
        return [Claim("process", f"{box}:{self.process}") for box in run.data.boxes]

    def apply(self, run: Injection[Killed]) -> float | None:
        boxes = run.data.boxes
        # Look everywhere before signalling anywhere: a host without the process fails the
        # fault before it is half-applied.
        found = {box: self._list(run, box) for box in boxes}
        missing = [box for box, procs in found.items() if not procs]
        if missing:
            box = missing[0]
            running = run.host(box.host).exec(inlab.process_names_argv(), container=box.workload).stdout.split()
            raise FaultError(f"{self}: no process named {self.process!r} runs in {box}; it runs: {', '.join(sorted(set(running))) or 'nothing'}")
        run.data.killed = {}
        times: list[float] = []
        for box, procs in found.items():
            pids = {pid for pid, _, _ in procs}
            run.data.killed[box] = [argv for _, ppid, argv in procs if ppid not in pids]
            result = run.host(box.host).exec(
                inlab.process_kill_argv(_signal(self).removeprefix("SIG"), self.process, KILL_SETTLE), box.workload
            )
            if result.rc != 0:
                why = result.stderr.strip() or result.stdout.strip()
                raise HostCommandError(f"{self}: signalling {self.process} in {box} exited {result.rc}: {why}")
            times.append(float(result.stdout.split()[1]))
        return max(times)

    def revert(self, run: Injection[Killed]) -> float | None:
        if not self.restart:
            return None
        done = time.time()
        for box, roots in dict(run.data.killed).items():
            host = run.host(box.host)
            if not host.is_running(box.workload) or self._list(run, box):
                continue  # the container is gone (another fault's business) or the process runs again
            for argv in roots:
                run.lab.engine.exec_detached(box.container, inlab.process_start_argv(argv))
            done = max(done, self._wait_running(run, box))
        return done

    def _list(self, run: Injection[Killed], box: Box) -> list[tuple[str, str, list[str]]]:
        result = run.host(box.host).exec(inlab.process_list_argv(self.process), box.workload)
        if result.rc in (126, 127) or "not found" in result.stderr:
            raise FaultError(f"{self}: {box} lacks {inlab.TOOL} (build its image FROM chaos/host), which kill_process needs: {result.stderr.strip()}")
        procs = []
        for line in result.stdout.splitlines():
            pid, ppid, argv = inlab.parse_process_line(line)
            procs.append((pid, ppid, argv or [self.process]))
        return procs

    def _wait_running(self, run: Injection[Killed], box: Box) -> float:
        try:
            eventually(lambda: self._list(run, box), until=bool, within=PROCESS_RESTART_WAIT, interval=0.02, what=f"{self.process} in {box}")
        except RecoveryTimeout:
            roots = run.data.killed.get(box)
            raise HostCommandError(
                f"healing {self}: {self.process} did not start again in {box} within {PROCESS_RESTART_WAIT:g}s; "
                f"its command line was {shlex.join(roots[0]) if roots else '?'}"
            ) from None
        return time.time()


kill = Kill
stop = Stop
pause = Pause
start = Start
restart = Restart
resume = Resume
kill_process = KillProcess
