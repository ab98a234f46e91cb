"""``chaos-lab process``: find, signal and start processes by name inside a container (the kill_process fault's in-lab half).

    names                        the name (comm) of every process, one a line, sorted, each once
    list NAME                    PID PPID ARGS per process named NAME (``pgrep -x``: its comm),
                                 ARGS its command line with \\x1f between the arguments
    kill SIGNAL NAME SETTLE      signal them; wait SETTLE seconds for them to go; print ``gone TIME``
                                 or ``alive TIME`` (the time the signal left); exit 3 when none ran
    start -- ARGV...             run ARGV with its output in the container's log (PID 1's stdout), as the agent's daemons
    signal PID SIGNAL [--if-command WORD]
                                 signal PID, only when WORD is in its command line (exit 1 otherwise)

It reads /proc itself, so a container needs no procps.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence

from chaos_inlab.protocol import TOOL, format_process_line

POLL = 0.005


def signal_number(name: str) -> int:
    """``KILL``, ``SIGKILL`` or ``9`` as a signal number.

    Example:
        >>> signal_number("TERM") == signal.SIGTERM
        True
    """
    if name.isdigit():
        return int(name)
    return int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def comms(proc: str = "/proc") -> dict[int, str]:
    """``{pid: name (comm)}`` of every process but this one."""
    found = {}
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        comm = _read(f"{proc}/{entry}/comm")
        if comm is not None:
            found[int(entry)] = comm.rstrip(b"\n").decode(errors="replace")
    return found


def pids_named(name: str, proc: str = "/proc") -> list[int]:
    """The processes whose name (comm) is ``name``, in pid order, not counting this one (as ``pgrep -x``)."""
    return sorted(pid for pid, comm in comms(proc).items() if comm == name)


def parent_of(pid: int, proc: str = "/proc") -> int | None:
    stat = _read(f"{proc}/{pid}/stat")
    if stat is None:
        return None
    # The name (in parentheses) may hold spaces and parentheses: the fields after the last ")" are fixed.
    return int(stat.rsplit(b")", 1)[1].split()[1])


def list_lines(name: str, proc: str = "/proc") -> list[bytes]:
    """``PID PPID ARGS`` per process named ``name``, ARGS joined by \\x1f (each followed by one)."""
    lines = []
    for pid in pids_named(name, proc):
        cmdline = _read(f"{proc}/{pid}/cmdline")
        ppid = parent_of(pid, proc)
        if cmdline is None or ppid is None:
            continue  # gone meanwhile
        lines.append(format_process_line(pid, ppid, cmdline))
    return lines


def kill(signal_name: str, name: str, settle: float) -> int:
    number = signal_number(signal_name)
    signalled = 0
    for pid in pids_named(name):
        try:
            os.kill(pid, number)
            signalled += 1
        except ProcessLookupError:
            pass
        except OSError as exc:
            print(f"{TOOL}: signalling {name} ({pid}) failed: {exc}", file=sys.stderr)
    if not signalled:
        return 3
    sent = time.time()
    while pids_named(name):
        if time.time() > sent + settle:
            print(f"alive {sent!r}")
            return 0
        time.sleep(POLL)
    print(f"gone {time.time()!r}")
    return 0


def start(argv: Sequence[str]) -> int:
    """Replace this process with ``argv``, stdin /dev/null, stdout and stderr PID 1's (the container's log)."""
    stdin = os.open("/dev/null", os.O_RDONLY)
    stdout = os.open("/proc/1/fd/1", os.O_WRONLY)
    stderr = os.open("/proc/1/fd/2", os.O_WRONLY)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.execvp(argv[0], list(argv))


def signal_if(pid: int, signal_name: str, word: str | None) -> int:
    if word is not None:
        cmdline = _read(f"/proc/{pid}/cmdline")
        if cmdline is None or word.encode() not in cmdline:
            return 1
    try:
        os.kill(pid, signal_number(signal_name))
    except OSError as exc:
        print(f"{TOOL}: signalling {pid} failed: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str]) -> int:
    action, *rest = argv or ["help"]
    if action == "names" and not rest:
        print("\n".join(sorted(set(comms().values()))))
        return 0
    if action == "list" and len(rest) == 1:
        for line in list_lines(rest[0]):
            sys.stdout.buffer.write(line + b"\n")
        return 0
    if action == "kill" and len(rest) == 3:
        return kill(rest[0], rest[1], float(rest[2]))
    if action == "start" and rest[1:] and rest[0] == "--":
        return start(rest[1:])
    if action == "signal" and len(rest) in (2, 4) and rest[0].isdigit() and (len(rest) == 2 or rest[2] == "--if-command"):
        return signal_if(int(rest[0]), rest[1], rest[3] if len(rest) == 4 else None)
    print(
        "usage: chaos-lab process names | list NAME | kill SIGNAL NAME SETTLE | start -- ARGV... | signal PID SIGNAL [--if-command WORD]",
        file=sys.stderr,
    )
    return 2
