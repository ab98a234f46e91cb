"""A traffic flow: paced requests from a lab host to a VIP or a host, every request recorded as it completes."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import shlex
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import chaos.traffic.figures as _figures
import chaos.traffic.verdicts as verdicts
from chaos._internal.durations import parse_duration
from chaos.engine import ContainerGone
from chaos.errors import ChaosError, LabError
from chaos.expect import eventually
from chaos.timeline import FaultRecord
from chaos.traffic.figures import FlowFigures, Outage, Recovery
from chaos.traffic.records import WIRE_OUTCOMES, Outcome, RequestLog, Requests

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.timeline import Timeline

PROTOCOLS = ("http", "tcp", "udp", "icmp")
DEFAULT_PORTS = {"http": 80, "tcp": 9000, "udp": 9000, "icmp": 0}
START_TIMEOUT = 10.0
"""Seconds `start` waits for chaos-flow to say it runs."""
STOP_GRACE = 5.0
"""Seconds `stop` waits, beyond the request timeout, for the last records."""


@dataclass(frozen=True)
class Target:
    """Where a flow sends: an address inside the lab, a label for people, and who may answer.

    ``expect`` lists the hosts whose answer counts as right (empty: anyone's); ``names``
    maps MAC addresses to host names, so an ICMP echo reply names the host that sent it.
    """

    address: str
    label: str
    port: int
    expect: tuple[str, ...] = ()
    names: tuple[tuple[str, str], ...] = ()


class Flow:
    """Requests at a fixed rate from a lab host, each recorded: send time, latency, outcome, responder.

    The requests are made inside the lab by ``chaos-flow`` on the client host; their records
    stream back while the flow runs and are kept in compact arrays (about 15 bytes a
    request). Build flows with ``lab.traffic`` and use them as context managers: the flow
    starts on enter and stops on exit (requests in flight finish or time out first).

    Times are seconds on the lab clock (``lab.timeline``), like the faults', so figures and
    faults line up.

    Example:
        >>> with lab.traffic.http("client", lab.vips["www"], rate=200) as flow:
        ...     chaos.inject(faults.power_off("lb1"))
        ...     flow.wait_recovered(within="10s")
        >>> flow.recovery_after(chaos.last).seconds
        3.53
        >>> flow.assert_max_outage("4.5s")
    """

    def __init__(self, client: Host, protocol: str, target: Target, rate: float, timeout: float, timeline: Timeline, name: str | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise LabError(f"unknown flow protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}")
        if not (math.isfinite(rate) and rate > 0):
            raise LabError(f"flow rate {rate!r} is not a positive number of requests per second")
        if not (math.isfinite(timeout) and timeout > 0):
            raise LabError(f"flow timeout {timeout!r} is not a positive number of seconds")
        self.client = client
        self.protocol = protocol
        self.target = target
        self.rate = float(rate)
        self.timeout = float(timeout)
        self.timeline = timeline
        self.name = name or f"{protocol} {client.name}->{target.label}"
        self.started_at: float | None = None
        """When the first request was due (lab clock); None until started."""
        self.stopped_at: float | None = None
        """When sending stopped (lab clock); None while running."""
        self.max_late: float | None = None
        """The worst lateness of a send against the schedule, in seconds (known after stop)."""
        self.error: BaseException | None = None
        """What ended the record stream early, if anything (e.g. the client host died)."""
        self.diagnostics: collections.deque[str] = collections.deque(maxlen=20)
        """The last lines chaos-flow wrote that are not records (its errors)."""
        self._log = RequestLog()
        self._pid: int | None = None
        self._origin = 0.0  # chaos-flow's start epoch, relative to which it writes send times
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop_requested = False

    def __repr__(self) -> str:
        state = "running" if self.is_running else ("stopped" if self.stopped_at is not None else "not started")
        return f"<Flow {self.name} {self.rate:g}/s {state} requests={len(self._log)}>"

    # -- life ---------------------------------------------------------------------------

    @property
    def argv(self) -> list[str]:
        """The chaos-flow command run on the client."""
        argv = ["chaos-flow", self.protocol, self.target.address, "--rate", f"{self.rate:g}", "--timeout", f"{self.timeout:g}"]
        if self.protocol != "icmp":
            argv += ["--port", str(self.target.port)]
        if self.target.expect:
            argv += ["--expect", ",".join(self.target.expect)]
        if self.target.names:
            argv += ["--names", ",".join(f"{mac}={name}" for mac, name in self.target.names)]
        return argv

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.stopped_at is None

    def start(self) -> Flow:
        """Start the requests on the client; return once the first request is due.

        Raises:
            LabError: the flow runs already, or chaos-flow did not start (the message says why).
        """
        if self._thread is not None:
            raise LabError(f"{self!r} was started already; build a new flow for a new run")
        self._thread = threading.Thread(target=self._read, name=f"flow-{self.name}", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT) or self._pid is None:
            self.stop()
            said = "\n".join(self.diagnostics) or (f"{type(self.error).__name__}: {self.error}" if self.error else "nothing")
            raise LabError(f"flow {self.name} did not start on {self.client!r} within {START_TIMEOUT:g} s: `{shlex.join(self.argv)}` said:\n{said}")
        self.timeline.note(f"flow {self.name} started ({self.rate:g}/s, timeout {self.timeout:g} s)", self._origin)
        return self

    def stop(self) -> Flow:
        """Stop sending, wait for the requests in flight (at most the request timeout), and return the flow; idempotent."""
        if self._thread is None or self._stop_requested:
            return self
        self._stop_requested = True
        if self._thread.is_alive() and self._pid is not None:
            # Only that process: the client may have restarted since, and the pid be someone else's.
            command = f"grep -q chaos-flow /proc/{self._pid}/cmdline 2>/dev/null && kill -TERM {self._pid}"
            with contextlib.suppress(ContainerGone):  # the client died: its stream ends by itself
                self.client.exec(command)
        self._thread.join(self.timeout + STOP_GRACE)
        if self.stopped_at is None:
            self.stopped_at = self.timeline.now()
        self.timeline.note(f"flow {self.name} stopped: {len(self._log)} requests, {_figures.lost(self.requests)} failed")
        return self

    def __enter__(self) -> Flow:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _read(self) -> None:
        try:
            for line in self.client.stream(self.argv):
                self._take(line)
        except BaseException as exc:  # kept for the figures' reader; the thread must not die loudly
            self.error = exc
        finally:
            if self.stopped_at is None and self._started.is_set() and self._pid is not None:
                self.stopped_at = self.timeline.now()  # the stream ended without an end line
            self._started.set()

    def _take(self, line: str) -> None:
        fields = line.split()
        if len(fields) == 5 and fields[0].isdigit():
            seq, sent_us, latency_us, outcome, responder = fields
            latency = math.nan if latency_us == "-1" else int(latency_us) / 1e6
            sent = self.timeline.at(self._origin + int(sent_us) / 1e6)
            self._log.record(int(seq), sent, latency, WIRE_OUTCOMES.get(outcome, Outcome.ERROR), "" if responder == "-" else responder)
        elif line.startswith("# chaos-flow "):
            values = dict(field.split("=", 1) for field in fields[3:] if "=" in field)
            self._origin = float(values["start"])
            self.started_at = self.timeline.at(self._origin)
            self._pid = int(values["pid"])
            self._started.set()
        elif line.startswith("# end "):
            values = dict(field.split("=", 1) for field in fields[2:] if "=" in field)
            self.stopped_at = self.timeline.at(self._origin + int(values["stopped_us"]) / 1e6)
            self.max_late = int(values["max_late_us"]) / 1e6
        elif line.strip() and not line.startswith("# alive"):
            self.diagnostics.append(line)

    # -- records and figures ------------------------------------------------------------

    @property
    def requests(self) -> Requests:
        """The completed requests so far, in send order (a snapshot; safe while the flow runs)."""
        return self._log.snapshot()

    @property
    def duration(self) -> float:
        """Seconds from the first request's due time to when sending stopped (or now, while running)."""
        if self.started_at is None:
            return 0.0
        end = self.stopped_at if self.stopped_at is not None else self.timeline.now()
        return end - self.started_at

    def _until(self) -> float:
        return self.stopped_at if self.stopped_at is not None else self.timeline.now()

    def figures(self, faults: Sequence[FaultRecord] | None = None) -> FlowFigures:
        """Every figure at once (``faults`` default: every fault on the lab's timeline).

        Example:
            >>> print(flow.figures().summary())
            http client->www: 400 requests, 57.25 % ok, longest outage 3.52 s, recovery #0 3.53 s, p99 1.2 ms
        """
        found = _figures.summarize(self.name, self.requests, self.timeline.faults if faults is None else faults, self._until())
        extra = {"protocol": self.protocol, "client": self.client.name, "target": self.target.label, "rate": self.rate}
        return dataclasses.replace(found, extra=extra)

    @property
    def availability(self) -> float | None:
        """The share of completed requests that succeeded (None before any completed)."""
        return _figures.availability(self.requests)

    @property
    def lost(self) -> int:
        """How many completed requests failed."""
        return _figures.lost(self.requests)

    def outages(self) -> list[Outage]:
        """Every run of failed requests; one still going on ends now (or when the flow stopped)."""
        return _figures.outages(self.requests, self._until())

    def latency(self, quantile: float = 0.5) -> float | None:
        """A latency quantile of the successful requests, in seconds (``flow.latency(0.99)``)."""
        return _figures.latency_quantile(self.requests, quantile)

    def served_by(self) -> list[tuple[str, float]]:
        """``[(host, since)]``: who answered, and from when."""
        return _figures.served_by(self.requests)

    def recovery_after(self, fault: FaultRecord | object) -> Recovery:
        """How the flow came back after ``fault`` (a timeline record, or an injection with a ``record``).

        Example:
            >>> recovery = flow.recovery_after(chaos.last)
            >>> recovery.seconds, recovery.outage.before, recovery.outage.after
            (3.53, 'lb1', 'lb2')

        Raises:
            ValueError: the flow sent nothing after the fault took effect.
        """
        record = _fault_record(fault)
        return _figures.recovery_after(self.requests, record, self.timeline.faults, self._until())

    def recoveries(self) -> list[Recovery]:
        """`recovery_after` for every fault on the timeline that took effect while the flow was sending."""
        return _figures.recoveries(self.requests, self.timeline.faults, self._until())

    # -- waiting and asserting -----------------------------------------------------------

    def wait_recovered(self, within: str | float = "10s", consecutive: int = 10) -> float:
        """Wait until the last ``consecutive`` completed requests all succeeded; return the seconds waited.

        Raises:
            RecoveryTimeout: not within ``within``; the error shows the last outcomes seen and how they changed.

        Example:
            >>> flow.wait_recovered(within="10s")
        """
        __tracebackhide__ = True

        def last() -> str:
            outcomes = self._log.tail(consecutive)
            if not self.is_running and self.stopped_at is not None:
                return f"flow stopped; last outcomes {_describe(outcomes)}"
            return _describe(outcomes)

        target = _describe([Outcome.OK] * consecutive)
        return eventually(
            last,
            until=lambda seen: seen == target,
            within=parse_duration(within),
            interval=0.05,
            what=f"{consecutive} successes in a row on flow {self.name}",
        )

    def assert_max_outage(self, limit: str | float) -> None:
        """Fail when an outage lasted longer than ``limit``: ``outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2``."""
        __tracebackhide__ = True
        self._assert(verdicts.max_outage(self.figures(), parse_duration(limit)))

    def assert_min_availability(self, share: float | str) -> None:
        """Fail when fewer than ``share`` (0.99, or "99 %") of the requests succeeded."""
        __tracebackhide__ = True
        self._assert(verdicts.min_availability(self.figures(), verdicts.parse_share(share)))

    def assert_max_lost(self, allowed: int | float | str) -> None:
        """Fail when more requests failed than ``allowed``: a count (an int) or a share (a float below 1, or "5 %")."""
        __tracebackhide__ = True
        self._assert(verdicts.max_lost(self.figures(), verdicts.parse_lost(allowed)))

    def assert_recovered(self, fault: FaultRecord | object, within: str | float) -> Recovery:
        """Fail unless the flow recovered from ``fault`` within ``within``; return the recovery."""
        __tracebackhide__ = True
        recovery = self.recovery_after(fault)
        self._assert(verdicts.recovered_within(self.name, recovery, parse_duration(within)))
        return recovery

    def _assert(self, breach: str | None) -> None:
        __tracebackhide__ = True
        if breach:
            raise AssertionError(breach)


def _describe(outcomes: Iterable[Outcome]) -> str:
    return " ".join(outcome.label.replace(" ", "-") for outcome in outcomes) or "no requests yet"


def _fault_record(fault: FaultRecord | object) -> FaultRecord:
    record = fault if isinstance(fault, FaultRecord) else getattr(fault, "record", None)
    if not isinstance(record, FaultRecord):
        raise ChaosError(f"{fault!r} is not a fault on the timeline: pass a chaos.timeline.FaultRecord or an injected fault (with a `record`)")
    return record
