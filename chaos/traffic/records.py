"""Request records: the outcomes a flow can see, and a compact columnar store of every request."""

from __future__ import annotations

import enum
import math
import threading
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chaos_inlab import protocol


class Outcome(enum.IntEnum):
    """How one request ended."""

    OK = 0
    TIMEOUT = 1
    REFUSED = 2
    RESET = 3
    WRONG = 4  # an answer, but not a right one: an unexpected responder, an HTTP error status
    UNREACHABLE = 5
    ERROR = 6  # any other socket error

    @property
    def label(self) -> str:
        return "wrong answer" if self is Outcome.WRONG else self.name.lower()


# chaos-flow writes one letter per outcome (chaos_inlab.protocol.OUTCOMES).
WIRE_OUTCOMES = {
    protocol.OK: Outcome.OK,
    protocol.TIMEOUT: Outcome.TIMEOUT,
    protocol.REFUSED: Outcome.REFUSED,
    protocol.RESET: Outcome.RESET,
    protocol.WRONG: Outcome.WRONG,
    protocol.UNREACHABLE: Outcome.UNREACHABLE,
    protocol.ERROR: Outcome.ERROR,
}
_PENDING = 255  # a slot for a request sent but not yet reported (answers arrive out of send order)


@dataclass(frozen=True)
class Request:
    """One request, as a row: send time on the lab clock, outcome, responder (None: unnamed), latency (NaN without an answer)."""

    sent: float
    outcome: Outcome
    responder: str | None = None
    latency: float = math.nan

    @property
    def is_ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(frozen=True)
class Requests:
    """The completed requests of a flow, in send order, as columns (what the figures read).

    ``responder`` holds indexes into ``names``; index 0 is the empty name (nobody named).

    Example:
        >>> requests = Requests.from_rows([Request(0.0, Outcome.OK, "lb1", 0.001), Request(0.005, Outcome.TIMEOUT)])
        >>> len(requests), requests.row(1).outcome
        (2, <Outcome.TIMEOUT: 1>)
    """

    sent: array[float]
    latency: array[float]
    outcome: array[int]
    responder: array[int]
    names: tuple[str, ...] = ("",)

    def __len__(self) -> int:
        return len(self.sent)

    def row(self, i: int) -> Request:
        name = self.names[self.responder[i]]
        return Request(self.sent[i], Outcome(self.outcome[i]), name or None, self.latency[i])

    def __iter__(self) -> Iterator[Request]:
        return (self.row(i) for i in range(len(self)))

    def name(self, i: int) -> str | None:
        """The responder of request ``i`` (None: nobody named)."""
        return self.names[self.responder[i]] or None

    @classmethod
    def from_rows(cls, rows: Iterable[Request]) -> Requests:
        """Columns from rows (sorted by send time); for tests and for records read back from a report."""
        log = RequestLog()
        for seq, request in enumerate(sorted(rows, key=lambda r: r.sent)):
            log.record(seq, request.sent, request.latency, request.outcome, request.responder or "")
        return log.snapshot()


class RequestLog:
    """Every request of a running flow, kept in arrays indexed by sequence number: 15 bytes a request.

    The flow's reader thread calls `record` as lines arrive (in completion order); readers take
    a `snapshot`, which holds the completed requests in send order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent = array("d")
        self._latency = array("f")
        self._outcome = array("B")
        self._responder = array("H")
        self._names: list[str] = [""]
        self._index: dict[str, int] = {"": 0}
        self._pending = 0  # slots below len() still waiting for their record

    def record(self, seq: int, sent: float, latency: float, outcome: Outcome, responder: str) -> None:
        """Store request ``seq`` (send time on the lab clock, latency in seconds or NaN, outcome, responder or "")."""
        with self._lock:
            if seq >= len(self._sent):
                missing = seq + 1 - len(self._sent)
                self._sent.extend([math.nan] * missing)
                self._latency.extend([math.nan] * missing)
                self._outcome.extend([_PENDING] * missing)
                self._responder.extend([0] * missing)
                self._pending += missing
            if self._outcome[seq] == _PENDING:
                self._pending -= 1
            index = self._index.get(responder)
            if index is None:
                index = self._index[responder] = len(self._names)
                self._names.append(responder)
            self._sent[seq] = sent
            self._latency[seq] = latency
            self._outcome[seq] = int(outcome)
            self._responder[seq] = index

    def __len__(self) -> int:
        """The number of completed requests."""
        with self._lock:
            return len(self._sent) - self._pending

    def snapshot(self) -> Requests:
        """The completed requests so far, in send order (a copy: the flow may still be running)."""
        with self._lock:
            names = tuple(self._names)
            if not self._pending:
                return Requests(array("d", self._sent), array("f", self._latency), array("B", self._outcome), array("H", self._responder), names)
            keep = [i for i, outcome in enumerate(self._outcome) if outcome != _PENDING]
            return Requests(
                array("d", (self._sent[i] for i in keep)),
                array("f", (self._latency[i] for i in keep)),
                array("B", (self._outcome[i] for i in keep)),
                array("H", (self._responder[i] for i in keep)),
                names,
            )

    def tail(self, count: int) -> list[Outcome]:
        """The outcomes of the last ``count`` completed requests, oldest first (for waiting on a running flow)."""
        found: list[Outcome] = []
        with self._lock:
            for i in range(len(self._outcome) - 1, -1, -1):
                if self._outcome[i] != _PENDING:
                    found.append(Outcome(self._outcome[i]))
                    if len(found) == count:
                        break
        return found[::-1]
