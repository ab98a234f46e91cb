"""A persistent shell in each host, so a network change costs a round trip on an open socket, not a ``docker exec``.

A ``docker exec`` is three API calls (about 50 ms here); a request to a shell that is
already running inside the host is a write and a read (about 2 ms). The shell is opened the
first time a host is used (network faults do that when they are bound, before the clock of
an inject starts) and opened again when its container was restarted.
"""

from __future__ import annotations

import itertools
import secrets
import shlex
import threading
import weakref
from typing import TYPE_CHECKING

from chaos._internal.stash import StashKey
from chaos.engine import ContainerGone, Engine, ExecResult, ExecSession
from chaos.errors import EngineError
from chaos.host import Host

if TYPE_CHECKING:
    from chaos.lab import Lab


class NotReached(ContainerGone):
    """No shell could be started in the host (not running, or paused): whatever was asked did not run."""


class Shell:
    """``sh`` running in a host container with its stdin open; `run` sends it one script at a time.

    Example::

        Shell(engine, lab.hosts["lb1"].container).run("date +%s.%N").stdout    # '1714560000.123456789\\n'
    """

    def __init__(self, engine: Engine, container: str) -> None:
        self._engine = engine
        self._container = container
        self._session: ExecSession | None = None
        self._lock = threading.Lock()
        self._requests = itertools.count(1)
        self._nonce = secrets.token_hex(4)  # so no script's output can fake the end marker

    def run(self, script: str) -> ExecResult:
        """Run ``script`` with ``sh -c`` in the host; its output (stdout and stderr together) comes back as stdout.

        Raises:
            NotReached: no shell could be started (the container is not running, or is paused): the script did not run.
            ContainerGone: the shell went away while the script may have been running.
        """
        marker = f"@@chaos-{self._nonce}-{next(self._requests)}@@"
        request = f'sh -c {shlex.quote(script)} 2>&1; echo "{marker} $?"\n'.encode()
        with self._lock:
            for attempt in (1, 2):
                if self._session is not None and self._session.is_open:
                    session = self._session
                elif attempt == 1:
                    session = self._open()
                else:
                    try:
                        session = self._open()
                    except NotReached as exc:
                        # The first shell died under the script: it may have run part of it.
                        raise ContainerGone(str(exc)) from None
                try:
                    session.send(request)
                    received = session.read_until(marker.encode())
                    break
                except ContainerGone:
                    self._session = None
                    # A shell that died with an earlier life of its container ran nothing: try a fresh one once.
                    if attempt == 2:
                        raise
            else:  # pragma: no cover - the loop breaks or raises
                raise ContainerGone(f"no shell in {self._container}")
        output, _, tail = received.decode(errors="replace").partition(marker)
        return ExecResult(rc=int(tail.split()[0]), stdout=output, stderr="")

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _open(self) -> ExecSession:
        try:
            self._session = self._engine.open_exec(self._container, ["sh"])
        except ContainerGone as exc:
            raise NotReached(str(exc)) from None
        except EngineError:
            # A container on its way down may refuse an exec with another error than "not running".
            if not self._engine.is_running(self._container):
                raise NotReached(f"container {self._container} is not running") from None
            raise
        return self._session


class Shells:
    """The shells of one lab's hosts, one per container, kept in ``lab.stash`` and closed when the lab is dropped."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}

    def of(self, host: Host) -> Shell:
        """The shell of ``host`` (opened on first use, and again after its container restarted)."""
        with self._lock:
            found = self._shells.get(host.container)
            if found is None:
                found = self._shells[host.container] = Shell(self._engine, host.container)
            return found

    def close(self) -> None:
        with self._lock:
            shells, self._shells = list(self._shells.values()), {}
        for one in shells:
            one.close()


_SHELLS = StashKey[Shells]("chaos.net.shells")


def shells(lab: Lab) -> Shells:
    """The shells of ``lab``'s hosts."""

    def make() -> Shells:
        pool = Shells(lab.engine)
        weakref.finalize(lab, pool.close)  # the lab holds the pool, not the other way round
        return pool

    return lab.stash.setdefault(_SHELLS, make)


def shell(lab: Lab, host: Host) -> Shell:
    """The shell of ``host`` in ``lab`` (opened on first use).

    Example::

        shell(lab, lab.hosts["lb1"]).run("date +%s.%N").stdout
    """
    return shells(lab).of(host)
