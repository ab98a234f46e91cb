"""A traffic flow: paced requests from a lab host to a VIP or a host, every request recorded as it completes."""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import chaos.traffic.figures as _figures
import chaos.traffic.verdicts as verdicts
from chaos._internal.durations import Duration, parse_duration
from chaos._internal.shares import Share, parse_share
from chaos.errors import LabError, UsageError
from chaos.expect import eventually
from chaos.host import RemoteProcess
from chaos.timeline import FaultRecord
from chaos.traffic.figures import FlowFigures, Outage, Recovery
from chaos.traffic.records import WIRE_OUTCOMES, Outcome, RequestLog, Requests
from chaos_inlab import protocol as inlab

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.timeline import Timeline

PROTOCOLS = inlab.FLOW_PROTOCOLS
DEFAULT_PORTS = inlab.DEFAULT_PORTS
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

    Example::

        with lab.traffic.http("client", lab.vips["www"], rate=200) as flow:
            chaos.inject(faults.power_off("lb1"))
            flow.wait_recovered(within="10s")
        flow.recovery_after(chaos.last).seconds
        # 3.53
        flow.assert_max_outage("4.5s")
    """

    def __init__(
        self, client: Host, protocol: str, target: Target, rate: float, timeout: Duration, timeline: Timeline, name: str | None = None
    ) -> None:
        if protocol not in PROTOCOLS:
            raise UsageError(f"unknown flow protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (math.isfinite(rate) and rate > 0):
            raise UsageError(f"flow rate {rate!r} is not a positive number of requests per second")
        timeout = parse_duration(timeout, "timeout")
        if timeout <= 0:
            raise UsageError(f"flow timeout {timeout!r} is not a positive duration; give one such as 0.5 or '500ms'")
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
        self.diagnostics: collections.deque[str] = collections.deque(maxlen=20)
        """The last lines chaos-flow wrote that are not records (its errors)."""
        self._log = RequestLog()
        self._origin = 0.0  # chaos-flow's start epoch, relative to which it writes send times
        self._process: RemoteProcess | None = None
        self._stop_requested = False

    def __repr__(self) -> str:
        state = "running" if self.is_running else ("stopped" if self.stopped_at is not None else "not started")
        return f"<Flow {self.name} {self.rate:g}/s {state} requests={len(self._log)}>"

    # -- life ---------------------------------------------------------------------------

    @property
    def argv(self) -> list[str]:
        """The chaos-flow command run on the client."""
        target = self.target
        return inlab.flow_argv(self.protocol, target.address, self.rate, self.timeout, target.port, target.expect, target.names)

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.is_running and self.stopped_at is None

    @property
    def error(self) -> BaseException | None:
        """What ended the record stream early, if anything (e.g. the client host died)."""
        return None if self._process is None else self._process.error

    def start(self) -> Flow:
        """Start the requests on the client; return once the first request is due.

        Raises:
            LabError: the flow runs already, or chaos-flow did not start (the message says why).
        """
        if self._process is not None:
            raise LabError(f"{self!r} was started already; build a new flow for a new run")
        self._process = RemoteProcess(self.client, self.argv, self._take, ready=_is_start, on_end=self._ended, name=f"flow {self.name}")
        self._process.start().wait_ready(START_TIMEOUT)
        self.timeline.note(f"flow {self.name} started ({self.rate:g}/s, timeout {self.timeout:g} s)", self._origin)
        return self

    def stop(self) -> Flow:
        """Stop sending, wait for the requests in flight (at most the request timeout), and return the flow; idempotent."""
        if self._process is None or self._stop_requested:
            return self
        self._stop_requested = True
        self._process.stop("TERM", self.timeout + STOP_GRACE)  # in-flight requests finish or time out first
        if self.stopped_at is None:
            self.stopped_at = self.timeline.now()
        self.timeline.note(f"flow {self.name} stopped: {len(self._log)} requests, {_figures.lost(self.requests)} failed")
        return self

    def __enter__(self) -> Flow:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _ended(self, process: RemoteProcess) -> None:
        if self.stopped_at is None and process.is_ready:
            self.stopped_at = self.timeline.now()  # the stream ended without an end line

    def _take(self, line: str) -> None:
        parsed = inlab.parse_flow_line(line)
        if isinstance(parsed, inlab.FlowRecord):
            sent = self.timeline.at(self._origin + parsed.sent_us / 1e6)
            self._log.record(parsed.seq, sent, parsed.latency, WIRE_OUTCOMES.get(parsed.outcome, Outcome.ERROR), parsed.responder)
        elif isinstance(parsed, inlab.FlowStart):
            self._origin = parsed.start
            self.started_at = self.timeline.at(self._origin)
        elif isinstance(parsed, inlab.FlowEnd):
            self.stopped_at = self.timeline.at(self._origin + parsed.stopped_us / 1e6)
            self.max_late = parsed.max_late_us / 1e6
        elif parsed is None and line.strip():
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

        Example::

            print(flow.figures().summary())
            # http client->www: 400 requests, 57.25 % ok, longest outage 3.52 s, recovery #0 3.53 s, p99 1.2 ms
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

        Example::

            recovery = flow.recovery_after(chaos.last)
            recovery.seconds, recovery.outage.before, recovery.outage.after
            # (3.53, 'lb1', 'lb2')

        Raises:
            UsageError: ``fault`` is not a fault on the timeline, or the flow sent nothing after it took effect.
        """
        record = _fault_record(fault)
        return _figures.recovery_after(self.requests, record, self.timeline.faults, self._until())

    def recoveries(self) -> list[Recovery]:
        """`recovery_after` for every fault on the timeline that took effect while the flow was sending."""
        return _figures.recoveries(self.requests, self.timeline.faults, self._until())

    # -- waiting and asserting -----------------------------------------------------------

    def wait_recovered(self, within: Duration = "10s", consecutive: int = 10) -> float:
        """Wait until the last ``consecutive`` completed requests all succeeded; return the seconds waited.

        Raises:
            RecoveryTimeout: not within ``within``; the error shows the last outcomes seen and how they changed.

        Example::

            flow.wait_recovered(within="10s")
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
            within=parse_duration(within, "within"),
            interval=0.05,
            what=f"{consecutive} successes in a row on flow {self.name}",
        )

    def assert_max_outage(self, limit: Duration) -> None:
        """Fail when an outage lasted longer than ``limit``: ``outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2``."""
        __tracebackhide__ = True
        self._assert(verdicts.max_outage(self.figures(), parse_duration(limit, "limit")))

    def assert_min_availability(self, share: Share) -> None:
        """Fail when fewer than ``share`` (0.99, or "99 %") of the requests succeeded."""
        __tracebackhide__ = True
        self._assert(verdicts.min_availability(self.figures(), parse_share(share, "share")))

    def assert_max_lost(self, allowed: int | Share) -> None:
        """Fail when more requests failed than ``allowed``: a count (an int) or a share (a float up to 1, or "5 %")."""
        __tracebackhide__ = True
        self._assert(verdicts.max_lost(self.figures(), verdicts.parse_lost(allowed, "allowed")))

    def assert_recovered(self, fault: FaultRecord | object, within: Duration) -> Recovery:
        """Fail unless the flow recovered from ``fault`` within ``within``; return the recovery."""
        __tracebackhide__ = True
        recovery = self.recovery_after(fault)
        self._assert(verdicts.recovered_within(self.name, recovery, parse_duration(within, "within")))
        return recovery

    def _assert(self, breach: str | None) -> None:
        __tracebackhide__ = True
        if breach:
            raise AssertionError(breach)


def _is_start(line: str) -> bool:
    """Whether ``line`` is chaos-flow's first line (it runs, and says its start epoch)."""
    return isinstance(inlab.parse_flow_line(line), inlab.FlowStart)


def _describe(outcomes: Iterable[Outcome]) -> str:
    return " ".join(outcome.label.replace(" ", "-") for outcome in outcomes) or "no requests yet"


def _fault_record(fault: FaultRecord | object) -> FaultRecord:
    record = fault if isinstance(fault, FaultRecord) else getattr(fault, "record", None)
    if not isinstance(record, FaultRecord):
        raise UsageError(f"{fault!r} is not a fault on the timeline: pass a chaos.timeline.FaultRecord or an injected fault (with a `record`)")
    return record
