"""Process and container faults: kill (any signal), stop, start, restart, pause and resume, and kill a process by name."""

from __future__ import annotations

import shlex
import signal as signals
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from chaos.errors import FaultError, HostCommandError
from chaos.faults import _containers
from chaos.faults._containers import Box
from chaos.faults.base import Action, Claim, Fault, Injection
from chaos.faults.targets import Target

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


class _OnContainers(Fault):
    """Acts on containers of the target hosts: ``container`` None is the host container, ``"*"`` all, else a workload."""

    container: str | None

    def resolve(self, run: Injection) -> Sequence[str]:
        hosts = super().resolve(run)
        run.state["boxes"] = _containers.all_boxes(run.lab, hosts, self.container)
        return hosts


class _ContainerFault(_OnContainers):
    """A fault that holds the containers it acts on until healed."""

    def claims(self, run: Injection) -> Iterable[Claim]:
        return [box.claim for box in _boxes(run)]


def _boxes(run: Injection) -> list[Box]:
    boxes: list[Box] = run.state["boxes"]
    return boxes


# -- kill and stop: the container dies; heal brings it back --------------------------------------


@dataclass(frozen=True)
class Kill(_ContainerFault):
    """Send a signal to containers; heal starts again the ones that died (a host comes back whole).

    Effective when the containers were seen dead (the engine's exit time); a signal the
    container survives (PID 1 ignores what it has no handler for) is effective when sent.
    """

    target: Target
    signal: str = "SIGKILL"
    container: str | None = None
    name: ClassVar[str] = "kill"

    def __post_init__(self) -> None:
        object.__setattr__(self, "signal", signal_name(self.signal))

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        run.state["sent"] = list(boxes)
        _containers.parallel(lambda box: run.lab.engine.kill(box.container, self.signal), boxes)
        sent_at = time.time()
        if self.signal == "SIGKILL":
            return _containers.wait_stopped(run.lab, boxes, STOP_WAIT, f"{self} on lab {run.lab.name}")
        return _containers.stopped_within(run.lab, boxes, KILL_SETTLE) or sent_at

    def revert(self, run: Injection) -> float | None:
        return _containers.bring_back(run.lab, run.state.get("sent", []))


def kill(target: Target, signal: str | int = "SIGKILL", container: str | None = None) -> Kill:
    """Send ``signal`` to the host container of ``target`` (or a workload, or ``"*"`` every container).

    Example:
        >>> chaos.inject(faults.kill("lb1"))                                # SIGKILL the host container
        >>> chaos.inject(faults.kill("lb1", "SIGTERM", container="web"))    # one workload, gently
    """
    return Kill(target, signal_name(signal), container)


@dataclass(frozen=True)
class Stop(_ContainerFault):
    """``docker stop``: SIGTERM, SIGKILL after ``timeout``; heal starts the containers again."""

    target: Target
    container: str | None = None
    timeout: float = 10.0
    name: ClassVar[str] = "stop"

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        run.state["sent"] = list(boxes)
        _containers.parallel(lambda box: run.lab.engine.stop(box.container, self.timeout), boxes)
        return _containers.wait_stopped(run.lab, boxes, STOP_WAIT, f"{self} on lab {run.lab.name}")

    def revert(self, run: Injection) -> float | None:
        return _containers.bring_back(run.lab, run.state.get("sent", []))


def stop(target: Target, container: str | None = None, timeout: float = 10.0) -> Stop:
    """Stop containers the way ``docker stop`` does (SIGTERM, then SIGKILL after ``timeout`` seconds).

    Example:
        >>> with faults.stop("lb1", container="web").on(lab):
        ...     ...
    """
    return Stop(target, container, timeout)


# -- pause: frozen, not dead -------------------------------------------------------------------


@dataclass(frozen=True)
class Pause(_ContainerFault):
    """Freeze every process of the containers (cgroup freezer); the network namespace stays, nothing answers."""

    target: Target
    container: str | None = None
    name: ClassVar[str] = "pause"

    def apply(self, run: Injection) -> float | None:
        run.state["paused"] = []

        def freeze(box: Box) -> None:
            run.state["paused"].append(box)
            run.lab.engine.pause(box.container)

        _containers.parallel(freeze, _boxes(run))
        return time.time()

    def revert(self, run: Injection) -> float | None:
        def thaw(box: Box) -> None:
            if run.lab.engine.state(box.container).paused:
                run.lab.engine.unpause(box.container)

        _containers.parallel(thaw, list(run.state.get("paused", [])))
        return time.time()


def pause(target: Target, container: str | None = None) -> Pause:
    """Freeze the host container of ``target`` (or a workload, or ``"*"``); heal (or `resume`) thaws it.

    Example:
        >>> with chaos.inject(faults.pause("lb1")):
        ...     assert client.exec(["chaos-probe", "tcp", lb1]).rc == 1    # frozen: no answer
    """
    return Pause(target, container)


# -- actions: start, restart, resume -----------------------------------------------------------


@dataclass(frozen=True)
class Start(_OnContainers, Action):
    """Start containers that do not run; heals the active fault that stopped them (kill, stop, power_off)."""

    target: Target
    container: str | None = None
    name: ClassVar[str] = "start"

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        healed = run.heal_holders(box.claim for box in boxes)
        ready = _containers.bring_back(run.lab, boxes)
        return max([ready, *(run.lab.timeline.origin + h.healed for h in healed if h.healed is not None)])


def start(target: Target, container: str | None = None) -> Start:
    """Start what is stopped (a host comes back whole, its workloads after it).

    Example:
        >>> chaos.inject(faults.stop("lb1"))
        >>> chaos.inject(faults.start("lb1"))     # heals the stop: the timeline shows both
    """
    return Start(target, container)


@dataclass(frozen=True)
class Restart(_OnContainers, Action):
    """Stop then start containers (a host restarts whole); effective when they are ready again."""

    target: Target
    container: str | None = None
    timeout: float = 10.0
    name: ClassVar[str] = "restart"

    def claims(self, run: Injection) -> Iterable[Claim]:
        # Restarting a container another fault holds (paused, killed) would undo that fault behind its back.
        return [box.claim for box in _boxes(run)]

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        _containers.parallel(lambda box: run.lab.engine.stop(box.container, self.timeout), boxes)
        _containers.wait_stopped(run.lab, boxes, STOP_WAIT, f"{self} on lab {run.lab.name}")
        return _containers.bring_back(run.lab, boxes)


def restart(target: Target, container: str | None = None, timeout: float = 10.0) -> Restart:
    """Restart containers: ``docker stop`` (SIGTERM, SIGKILL after ``timeout``), then start; a host restarts whole.

    Example:
        >>> chaos.inject(faults.restart("lb1", container="web"))
    """
    return Restart(target, container, timeout)


@dataclass(frozen=True)
class Resume(_OnContainers, Action):
    """Thaw paused containers; heals the active `pause` on them."""

    target: Target
    container: str | None = None
    name: ClassVar[str] = "resume"

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        run.heal_holders(box.claim for box in boxes)
        for box in boxes:
            if run.lab.engine.state(box.container).paused:
                run.lab.engine.unpause(box.container)
        return time.time()


def resume(target: Target, container: str | None = None) -> Resume:
    """Thaw what `pause` froze.

    Example:
        >>> chaos.inject(faults.resume("lb1"))
    """
    return Resume(target, container)


# -- one process inside a host -------------------------------------------------------------------

# Lists the processes named $1: pid, parent pid, and the command line with \x1f between arguments.
_LIST = r"""
for p in $(pgrep -x -- "$1"); do
  args=$(tr '\0' '\037' < /proc/$p/cmdline 2>/dev/null) || continue
  printf '%s %s %s\n' "$p" "$(ps -o ppid= -p "$p" | tr -d ' ')" "$args"
done
"""

# Signals every process named $2 with $1, then waits up to $3 seconds for them to go; prints
# "gone TIME" or "alive TIME" (the time the signal left), on the lab's clock.
_KILL = r"""
pkill "-$1" -x -- "$2" || exit 3
sent=$(date +%s.%N)
end=$(awk -v s="$sent" -v w="$3" 'BEGIN { printf "%.3f", s + w }')
while pgrep -x -- "$2" >/dev/null; do
  now=$(date +%s.%N)
  if awk -v n="$now" -v e="$end" 'BEGIN { exit !(n > e) }'; then echo "alive $sent"; exit 0; fi
  sleep 0.005
done
echo "gone $(date +%s.%N)"
"""

# Starts a command detached, its output going to the container's log (PID 1's stdout), as the agent's daemons do.
_START_DETACHED = 'exec "$@" </dev/null >/proc/1/fd/1 2>/proc/1/fd/2'


@dataclass(frozen=True)
class KillProcess(_OnContainers):
    """Signal every process with a given name (its ``comm``, as ``pkill -x``) inside containers of the target hosts.

    Effective when every such process is gone (measured inside the namespace), or when the
    signal left if one survived ``KILL_SETTLE`` (SIGHUP to keepalived reloads it). With
    ``restart`` (the default) heal starts each killed top-level process again with its own
    command line, its output going to the container's log, unless one with that name runs.
    """

    target: Target
    process: str
    signal: str = "SIGKILL"
    container: str | None = None
    restart: bool = True
    name: ClassVar[str] = "kill_process"

    def __post_init__(self) -> None:
        object.__setattr__(self, "signal", signal_name(self.signal))
        if not self.process or "/" in self.process or len(self.process) > 15:
            raise FaultError(
                f"kill_process: {self.process!r} is not a process name; give the name `ps -o comm` shows "
                "(at most 15 characters, no path), e.g. 'keepalived'"
            )

    def claims(self, run: Injection) -> Iterable[Claim]:
        return [Claim("process", f"{box}:{self.process}") for box in _boxes(run)]

    def apply(self, run: Injection) -> float | None:
        boxes = _boxes(run)
        # Look everywhere before signalling anywhere: a host without the process fails the
        # fault before it is half-applied.
        found = {box: self._list(run, box) for box in boxes}
        missing = [box for box, procs in found.items() if not procs]
        if missing:
            box = missing[0]
            running = run.host(box.host).exec(["ps", "-e", "-o", "comm="], container=box.workload).stdout.split()
            raise FaultError(f"{self}: no process named {self.process!r} runs in {box}; it runs: {', '.join(sorted(set(running))) or 'nothing'}")
        run.state["killed"] = {}
        times: list[float] = []
        for box, procs in found.items():
            pids = {pid for pid, _, _ in procs}
            run.state["killed"][box] = [argv for _, ppid, argv in procs if ppid not in pids]
            result = run.host(box.host).exec(
                ["sh", "-c", _KILL, "kill", self.signal.removeprefix("SIG"), self.process, f"{KILL_SETTLE:g}"], box.workload
            )
            if result.rc != 0:
                why = result.stderr.strip() or result.stdout.strip()
                raise HostCommandError(f"{self}: signalling {self.process} in {box} exited {result.rc}: {why}")
            times.append(float(result.stdout.split()[1]))
        return max(times)

    def revert(self, run: Injection) -> float | None:
        if not self.restart:
            return None
        done = time.time()
        for box, roots in dict(run.state.get("killed", {})).items():
            host = run.host(box.host)
            if not host.is_running(box.workload) or self._list(run, box):
                continue  # the container is gone (another fault's business) or the process runs again
            for argv in roots:
                run.lab.engine.exec_detached(box.container, ["sh", "-c", _START_DETACHED, "start", *argv])
            done = max(done, self._wait_running(run, box))
        return done

    def _list(self, run: Injection, box: Box) -> list[tuple[str, str, list[str]]]:
        result = run.host(box.host).exec(["sh", "-c", _LIST, "list", self.process], box.workload)
        if result.rc == 127 or "not found" in result.stderr:
            raise FaultError(f"{self}: {box} lacks pgrep/ps (procps), which kill_process needs: {result.stderr.strip()}")
        procs = []
        for line in result.stdout.splitlines():
            pid, ppid, args = [*line.split(" ", 2), "", ""][:3]
            procs.append((pid, ppid, [a for a in args.split("\x1f") if a] or [self.process]))
        return procs

    def _wait_running(self, run: Injection, box: Box) -> float:
        deadline = time.monotonic() + PROCESS_RESTART_WAIT
        while time.monotonic() < deadline:
            if self._list(run, box):
                return time.time()
            time.sleep(0.02)
        raise HostCommandError(
            f"healing {self}: {self.process} did not start again in {box} within {PROCESS_RESTART_WAIT:g}s; "
            f"its command line was {shlex.join(run.state['killed'][box][0]) if run.state['killed'][box] else '?'}"
        )


def kill_process(target: Target, process: str, signal: str | int = "SIGKILL", container: str | None = None, restart: bool = True) -> KillProcess:
    """Signal the processes named ``process`` in the target hosts (e.g. keepalived); heal starts them again.

    Example:
        >>> chaos.inject(faults.kill_process("lb1", "keepalived"))              # SIGKILL: adverts just stop
        >>> chaos.inject(faults.kill_process("lb1", "keepalived", "SIGTERM"))   # priority 0: an orderly handover
    """
    return KillProcess(target, process, signal_name(signal), container, restart)
