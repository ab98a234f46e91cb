"""Labels and names of the Docker objects a lab creates, and who owns them."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass

LABEL_PREFIX = "org.pytest-chaos"
SESSION = f"{LABEL_PREFIX}.session"
LAB = f"{LABEL_PREFIX}.lab"
WORKER = f"{LABEL_PREFIX}.worker"
OWNER_PID = f"{LABEL_PREFIX}.pid"
OWNER_START = f"{LABEL_PREFIX}.pid-start"
OWNER_MACHINE = f"{LABEL_PREFIX}.machine"
ROLE = f"{LABEL_PREFIX}.role"
HOST = f"{LABEL_PREFIX}.host"
KEEP = f"{LABEL_PREFIX}.keep"

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def process_start_ticks(pid: int) -> str:
    """Return the kernel's start time of ``pid`` (so a reused pid is not mistaken for its owner)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name may hold spaces; fields after its closing parenthesis are fixed.
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Owner:
    """The process that owns a set of Docker objects: a pytest run, a worker, or `chaos up`."""

    session: str
    worker: str
    pid: int
    pid_start: str
    machine: str

    @classmethod
    def current(cls, session: str | None = None) -> Owner:
        """The owner for this process; xdist workers share the controller's session id."""
        pid = os.getpid()
        return cls(
            session=session or os.environ.get("CHAOS_SESSION") or secrets.token_hex(4),
            worker=os.environ.get("PYTEST_XDIST_WORKER", "main"),
            pid=pid,
            pid_start=process_start_ticks(pid),
            machine=socket.gethostname(),
        )

    def labels(self, lab: str) -> dict[str, str]:
        """The labels every object of lab ``lab`` carries."""
        return {
            SESSION: self.session,
            LAB: lab,
            WORKER: self.worker,
            OWNER_PID: str(self.pid),
            OWNER_START: self.pid_start,
            OWNER_MACHINE: self.machine,
        }

    def object_name(self, lab: str, *parts: str) -> str:
        """A Docker name unique per session, worker and lab: ``chaos-<session>-<worker>-<lab>-<part>``."""
        return "-".join(safe_name(p) for p in ("chaos", self.session, self.worker, lab, *parts))


def safe_name(text: str) -> str:
    """``text`` with every character Docker refuses in a name replaced by ``_``."""
    return _UNSAFE.sub("_", text) or "_"


def owner_is_alive(labels: dict[str, str]) -> bool:
    """Whether the process named by an object's owner labels still runs.

    An owner on another machine cannot be checked from here and counts as alive, so
    `chaos gc` never reclaims a lab another machine is using (``--all`` does).
    """
    machine = labels.get(OWNER_MACHINE)
    if machine is None:
        return False  # not made by a lab (we always write the owner), so nobody here owns it
    if machine != socket.gethostname():
        return True
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return False
    return process_start_ticks(pid) == labels.get(OWNER_START) != ""
