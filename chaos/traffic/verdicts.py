"""Judging figures against limits: each check returns None, or a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos._internal.shares import Share, parse_share
from chaos.errors import UsageError
from chaos.traffic.figures import FlowFigures, Recovery, percent


@dataclass(frozen=True)
class LostLimit:
    """How many failed requests are allowed: a count, or a share of the requests."""

    count: int | None = None
    share: float | None = None

    def __str__(self) -> str:
        return str(self.count) if self.count is not None else percent(self.share)


def parse_lost(value: int | Share, what: str = "max_lost") -> LostLimit:
    """A lost-requests limit: an int is a count (``20``), a float a share (``0.05``), ``"5 %"`` a percentage.

    A float above 1 (``5.0``) is refused as a slip: it is neither a count (write ``5``) nor a share (write ``"5 %"`` or ``0.05``).

    Raises:
        UsageError: a negative count, a share above 1, or not a limit; the message says what to write.

    Example:
        >>> parse_lost(0.05), parse_lost(3)
        (LostLimit(count=None, share=0.05), LostLimit(count=3, share=None))
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise UsageError(f"{what}={value!r} is not a number of requests; use a count of 0 or more (an int: 20), or a share (0.05, '5 %')")
        return LostLimit(count=value)
    if isinstance(value, float) and value > 1 and value.is_integer():
        count, percentage = int(value), f"'{value:g} %' (or {value / 100:g})"
        raise UsageError(f"{what}={value!r} is neither a count nor a share: write {count} for a count of requests, or {percentage} for a share")
    try:
        return LostLimit(share=parse_share(value, what))
    except UsageError as exc:
        raise UsageError(f"{exc}; or a count of requests (an int: 20)") from None


def max_outage(flow: FlowFigures, limit: float) -> str | None:
    """``flow http client->www: outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2``, or None."""
    if not flow.requests:
        return _empty(flow)
    longer = [o for o in flow.outages if o.duration > limit]
    if not longer:
        return None
    worst = max(longer, key=lambda o: o.duration)
    message = f"flow {flow.name}: outage {worst.duration:.2f} s > {limit:g} s allowed, {worst.describe()}"
    if len(longer) > 1:
        message += f" ({len(longer) - 1} more outage{'s' if len(longer) > 2 else ''} over the limit)"
    return message


def min_availability(flow: FlowFigures, share: float) -> str | None:
    """``flow ...: availability 57.25 % < 99 % required: 171 of 400 requests failed (timeout 160, refused 11); outages: ...``, or None."""
    if flow.availability is None:
        return _empty(flow)
    if flow.availability >= share:
        return None
    failed = f"{flow.failed} of {flow.requests} requests failed ({flow.failures()})"
    return f"flow {flow.name}: availability {percent(flow.availability)} < {percent(share)} required: {failed}{_outages(flow)}"


def max_lost(flow: FlowFigures, limit: LostLimit) -> str | None:
    """``flow ...: 171 of 400 requests lost (42.75 %) > 5 % allowed (timeout 160, refused 11)``, or None."""
    if not flow.requests:
        return _empty(flow)
    if limit.count is not None:
        if flow.failed <= limit.count:
            return None
        return f"flow {flow.name}: {flow.failed} requests lost > {limit.count} allowed, of {flow.requests} ({flow.failures()}){_outages(flow)}"
    assert limit.share is not None
    if flow.failed <= limit.share * flow.requests:
        return None
    lost_share = flow.failed / flow.requests
    lost = f"{flow.failed} of {flow.requests} requests lost ({percent(lost_share)})"
    return f"flow {flow.name}: {lost} > {percent(limit.share)} allowed ({flow.failures()}){_outages(flow)}"


def recovered_within(flow: str, recovery: Recovery, within: float) -> str | None:
    """``flow ...: recovery 5.22 s > 4.5 s allowed after #0 power_off(lb1) (effective 2.08 s); outage from ... lb1 → lb2``, or None."""
    if recovery.is_recovered and recovery.seconds <= within:
        return None
    if not recovery.is_recovered:
        return f"flow {flow}: {recovery.describe()}"
    assert recovery.outage is not None
    head = f"after #{recovery.fault} {recovery.name} (effective {recovery.effective:.2f} s)"
    return f"flow {flow}: recovery {recovery.seconds:.2f} s > {within:g} s allowed {head}; outage {recovery.outage.describe()}"


def simultaneous_owners(owners: Sequence[tuple[float, Sequence[str]]]) -> list[tuple[float, float | None, tuple[str, ...]]]:
    """From an owner history ``[(since, [holders])]``, the spans with the most holders at once: ``[(start, end, holders)]``.

    The last span's end is None when it still lasted at the end of the history.

    Example:
        >>> simultaneous_owners([(0.0, ["lb1"]), (3.2, ["lb1", "lb2"]), (4.1, ["lb2"])])
        [(3.2, 4.1, ('lb1', 'lb2'))]
    """
    if not owners:
        return []
    most = max(len(holders) for _, holders in owners)
    return [span for span in _spans(owners) if len(span[2]) == most]


HANDOVER_GRACE = 0.05
"""Seconds two members may both hold a VIP during a handover without it counting as a split brain.

A preempting keepalived master adds the address about a millisecond before the old master,
on hearing its advert, removes it; the raw overlap stays in the history and the report.
"""


def max_owners(
    vip: str, owners: Sequence[tuple[float, Sequence[str]]], limit: int, until: float | None = None, grace: float = HANDOVER_GRACE
) -> str | None:
    """``VIP www was held by 2 members at once (lb1, lb2) from 3.20 s to 4.10 s; at most 1 allowed``, or None.

    ``until`` is when the history was read: a span still lasting then is told as ``from 3.20 s until the end (9.00 s)``.
    Spans over the limit that ended within ``grace`` seconds (handovers) are not breaches.
    """
    spans = [(start, end, holders) for start, end, holders in _spans(owners) if len(holders) > limit and (end is None or end - start >= grace)]
    if not spans:
        return None
    most = max(len(holders) for _, _, holders in spans)
    spans = [span for span in spans if len(span[2]) == most]
    start, end, holders = spans[0]
    still = f"until the end ({until:.2f} s)" if until is not None else "on"
    ending = f"to {end:.2f} s" if end is not None else still
    more = f" (and {len(spans) - 1} more time{'s' if len(spans) > 2 else ''})" if len(spans) > 1 else ""
    return f"VIP {vip} was held by {len(holders)} members at once ({', '.join(holders)}) from {start:.2f} s {ending}{more}; at most {limit} allowed"


def _spans(owners: Sequence[tuple[float, Sequence[str]]]) -> list[tuple[float, float | None, tuple[str, ...]]]:
    return [(since, owners[i + 1][0] if i + 1 < len(owners) else None, tuple(holders)) for i, (since, holders) in enumerate(owners)]


def _outages(flow: FlowFigures, shown: int = 3) -> str:
    if not flow.outages:
        return ""
    listed = ", ".join(f"{o.start:.2f} s to {o.end:.2f} s ({o.duration:.2f} s)" for o in flow.outages[:shown])
    more = f" and {len(flow.outages) - shown} more" if len(flow.outages) > shown else ""
    return f"; outages: {listed}{more}"


def _empty(flow: FlowFigures) -> str:
    return f"flow {flow.name} completed no requests, so there is nothing to judge; start it before the fault and keep its client host up"
