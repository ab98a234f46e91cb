"""Figures from request records: availability, outages, recovery after each fault, lost requests, latency, who served.

Pure functions over `Requests` (send order, lab clock). An *outage* is a maximal run of
failed requests: it starts at the send time of its first failure and ends at the send time of
the first success after it. The moment service really broke lies between the last success and
the first failure, so a figure is exact to one request interval (1 / rate).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chaos.errors import UsageError
from chaos.traffic.records import Outcome, Requests


class FaultLike(Protocol):
    """What the figures read of a fault: a `chaos.timeline.FaultRecord` has it."""

    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def targets(self) -> tuple[str, ...]: ...
    @property
    def requested(self) -> float: ...
    @property
    def effective(self) -> float | None: ...


@dataclass(frozen=True)
class Outage:
    """Consecutive failed requests.

    Attributes:
        start: send time of the first failed request (lab clock).
        end: send time of the first successful request after it; when the flow never
            recovered, the time the flow stopped.
        failed: how many requests failed in it.
        recovered: whether a success followed.
        before: who answered the last success before it (None: none, or unnamed).
        after: who answered the first success after it.
    """

    start: float
    end: float
    failed: int
    recovered: bool = True
    before: str | None = None
    after: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def describe(self) -> str:
        """``from 2.09 s to 7.30 s, lb1 → lb2`` (or ``... not recovered when the flow stopped at 9.00 s``)."""
        if not self.recovered:
            text = f"from {self.start:.2f} s, not recovered when the flow stopped at {self.end:.2f} s"
        else:
            text = f"from {self.start:.2f} s to {self.end:.2f} s"
        if self.before or self.after:
            text += f", {self.before or '?'} → {self.after or '-'}"
        return text

    def as_report(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "duration": round(self.duration, 3),
            "failed": self.failed,
            "recovered": self.recovered,
        }


@dataclass(frozen=True)
class Recovery:
    """How the flow came back after one fault.

    Attributes:
        fault: the fault's index on the timeline.
        name: the fault as ``power_off(lb1)``.
        effective: when the fault took effect (lab clock; its request time if it never did).
        seconds: from ``effective`` to the first success after the outage it caused; 0.0 when
            the flow saw no outage; ``math.inf`` when it never recovered.
        outage: the outage attributed to the fault (None: undisturbed).

    Example::

        recovery = flow.recovery_after(chaos.last)
        assert recovery.seconds < 4.5, recovery.describe()
    """

    fault: int
    name: str
    effective: float
    seconds: float
    outage: Outage | None = None

    @property
    def is_recovered(self) -> bool:
        return math.isfinite(self.seconds)

    @property
    def was_disrupted(self) -> bool:
        return self.outage is not None

    def describe(self) -> str:
        head = f"after #{self.fault} {self.name} (effective {self.effective:.2f} s)"
        if self.outage is None:
            return f"{head}: no outage"
        if not self.is_recovered:
            return f"{head}: did not recover; outage {self.outage.describe()}"
        return f"{head}: recovered in {self.seconds:.2f} s; outage {self.outage.duration:.2f} s {self.outage.describe()}"

    def as_report(self) -> dict[str, Any]:
        return {"fault": self.fault, "seconds": round(self.seconds, 3) if self.is_recovered else None, "disrupted": self.was_disrupted}


@dataclass(frozen=True)
class FlowFigures:
    """Everything the figures say about one flow (`summarize` builds it)."""

    name: str
    requests: int
    ok: int
    outcomes: dict[str, int]
    availability: float | None
    outages: list[Outage]
    recoveries: list[Recovery]
    p50: float | None
    p99: float | None
    served_by: list[tuple[str, float]]
    first_sent: float | None = None
    last_sent: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def longest_outage(self) -> Outage | None:
        return max(self.outages, key=lambda o: o.duration, default=None)

    def failures(self) -> str:
        """``timeout 160, refused 11`` (the failed requests by outcome, most first)."""
        return ", ".join(f"{label} {n}" for label, n in sorted(self.outcomes.items(), key=lambda item: -item[1]) if label != "ok") or "none"

    def summary(self) -> str:
        """One line: ``http client->www: 400 requests, 57.25 % ok, longest outage 3.52 s, p99 1.2 ms``."""
        if not self.requests:
            return f"{self.name}: no completed requests"
        longest = self.longest_outage
        parts = [f"{self.requests} requests", f"{percent(self.availability)} ok"]
        parts.append(f"longest outage {longest.duration:.2f} s" if longest else "no outage")
        parts += [
            f"recovery #{r.fault} {r.seconds:.2f} s" if r.is_recovered else f"#{r.fault} not recovered" for r in self.recoveries if r.was_disrupted
        ]
        if self.p99 is not None:
            parts.append(f"p99 {self.p99 * 1000:.1f} ms")
        return f"{self.name}: " + ", ".join(parts)

    def as_report(self) -> dict[str, Any]:
        """This flow's entry in the JSON report (format: README.md, "Reports")."""
        return {
            "name": self.name,
            "requests": self.requests,
            "failed": self.failed,
            "availability": None if self.availability is None else round(self.availability, 4),
            "outcomes": dict(self.outcomes),
            "outages": [o.as_report() for o in self.outages],
            "recovery": [r.as_report() for r in self.recoveries],
            "latency": {"p50": _ms(self.p50), "p99": _ms(self.p99), "unit": "ms"},
            "served_by": [[name, round(since, 3)] for name, since in self.served_by],
            **self.extra,
        }


def availability(requests: Requests) -> float | None:
    """The share of requests that succeeded; None for a flow with no completed request.

    Example::

        availability(requests)
        # 0.5725
    """
    if not len(requests):
        return None
    return requests.outcome.count(Outcome.OK) / len(requests)


def lost(requests: Requests) -> int:
    """How many requests failed (any outcome but ok)."""
    return len(requests) - requests.outcome.count(Outcome.OK)


def outcome_counts(requests: Requests) -> dict[str, int]:
    """``{"ok": 229, "timeout": 160, "refused": 11}``: requests by outcome, in `Outcome` order."""
    counts = Counter(requests.outcome)
    return {Outcome(code).label: counts[code] for code in sorted(counts)}


def outages(requests: Requests, until: float | None = None) -> list[Outage]:
    """Every run of failed requests, in time order.

    Args:
        requests: the flow's requests.
        until: when the flow stopped (lab clock): the end of an outage still going on then.
            Default: the last request's send time.

    Example::

        [(o.start, o.end) for o in outages(requests)]
        # [(2.09, 5.61)]
    """
    found: list[Outage] = []
    start: float | None = None
    failed = 0
    before: str | None = None
    for i in range(len(requests)):
        if requests.outcome[i] == Outcome.OK:
            if start is not None:
                found.append(Outage(start, requests.sent[i], failed, True, before, requests.name(i)))
                start = None
            before = requests.name(i)
        else:
            if start is None:
                start, failed = requests.sent[i], 0
            failed += 1
    if start is not None:
        last = requests.sent[len(requests) - 1]
        found.append(Outage(start, max(last, until if until is not None else last), failed, False, before, None))
    return found


def recovery_after(requests: Requests, fault: FaultLike, later_faults: Sequence[FaultLike] = (), until: float | None = None) -> Recovery:
    """How the flow came back after ``fault``: from its taking effect to the first success after the outage it caused.

    The outage attributed to the fault is the first one still going on when it took effect
    or starting after it, and before the next fault was requested (``later_faults``; that
    one's outage is its own). None such: the flow was undisturbed (0 s). An outage that
    never ended: not recovered (``math.inf``).

    Raises:
        UsageError: the flow sent nothing at or after the fault took effect, so it cannot tell.

    Example::

        recovery_after(requests, timeline.faults[0], timeline.faults[1:]).seconds
        # 3.53
    """
    effective = fault.effective if fault.effective is not None else fault.requested
    label = f"{fault.name}({', '.join(fault.targets)})"
    if not len(requests) or requests.sent[len(requests) - 1] < effective:
        raise UsageError(
            f"the flow sent no request after #{fault.index} {label} took effect at {effective:.2f} s; "
            "start the flow before the fault and stop it after"
        )
    horizon = min((f.requested for f in later_faults if f.requested >= fault.requested and f is not fault), default=math.inf)
    for outage in outages(requests, until):
        if outage.start >= horizon:
            break
        if outage.recovered and outage.end <= effective:
            continue
        seconds = outage.end - effective if outage.recovered else math.inf
        return Recovery(fault.index, label, effective, max(0.0, seconds), outage)
    return Recovery(fault.index, label, effective, 0.0, None)


def recoveries(requests: Requests, faults: Sequence[FaultLike], until: float | None = None) -> list[Recovery]:
    """`recovery_after` for every fault that took effect while the flow was sending."""
    if not len(requests):
        return []
    last = requests.sent[len(requests) - 1]
    ordered = sorted(faults, key=lambda f: f.requested)
    return [
        recovery_after(requests, fault, ordered[i + 1 :], until)
        for i, fault in enumerate(ordered)
        if (fault.effective if fault.effective is not None else fault.requested) <= last
    ]


def latency_quantile(requests: Requests, q: float) -> float | None:
    """The ``q`` quantile (0..1, nearest rank) of the successful requests' latency in seconds; None without any.

    Example::

        latency_quantile(requests, 0.99)
        # 0.0012
    """
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
        raise UsageError(f"quantile {q!r} is not between 0 and 1; write 0.99 for the 99th percentile")
    values = sorted(requests.latency[i] for i in range(len(requests)) if requests.outcome[i] == Outcome.OK)
    if not values:
        return None
    return float(values[max(0, math.ceil(q * len(values)) - 1)])


def served_by(requests: Requests) -> list[tuple[str, float]]:
    """Who answered, as ``[(host, since)]``: a new entry each time the responder of successful requests changes.

    Example::

        served_by(requests)
        # [('lb1', 0.0), ('lb2', 5.61)]
    """
    changes: list[tuple[str, float]] = []
    for i in range(len(requests)):
        name = requests.name(i)
        if requests.outcome[i] == Outcome.OK and name and (not changes or changes[-1][0] != name):
            changes.append((name, requests.sent[i]))
    return changes


def summarize(name: str, requests: Requests, faults: Sequence[FaultLike] = (), until: float | None = None) -> FlowFigures:
    """Every figure of one flow at once.

    Example::

        summarize("http client->www", requests, lab.timeline.faults).summary()
        # 'http client->www: 400 requests, 57.25 % ok, longest outage 3.52 s, recovery #0 3.53 s, p99 1.2 ms'
    """
    count = len(requests)
    return FlowFigures(
        name=name,
        requests=count,
        ok=count - lost(requests),
        outcomes=outcome_counts(requests),
        availability=availability(requests),
        outages=outages(requests, until),
        recoveries=recoveries(requests, faults, until),
        p50=latency_quantile(requests, 0.5),
        p99=latency_quantile(requests, 0.99),
        served_by=served_by(requests),
        first_sent=requests.sent[0] if count else None,
        last_sent=requests.sent[count - 1] if count else None,
    )


def percent(share: float | None) -> str:
    """``57.25 %`` (two decimals, trailing zeros kept short: ``100 %``)."""
    if share is None:
        return "n/a"
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + " %"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
