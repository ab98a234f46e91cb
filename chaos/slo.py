"""Service level objectives for a test: limits on its flows and VIPs, and the breaches of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos._internal.durations import parse_optional_duration
from chaos._internal.shares import parse_share
from chaos.errors import UsageError
from chaos.traffic import verdicts
from chaos.traffic.figures import FlowFigures

OwnerChanges = Sequence[tuple[float, Sequence[str]]]
"""A VIP's owners over time: ``[(since, [holders])]`` on the lab clock."""


@dataclass(frozen=True)
class VipOwners:
    """What the SLO reads of a VIP: its name, its owner changes, and when they were last known (lab clock)."""

    name: str
    changes: OwnerChanges
    until: float | None = None
    problem: str = ""  # why the history may be incomplete (a watcher that did not start)


@dataclass(frozen=True)
class Slo:
    """Limits every flow and VIP of a test must meet (None: not judged).

    Attributes:
        max_outage: seconds the longest outage of any flow may last.
        min_availability: the share of requests of each flow that must succeed.
        max_lost: failed requests allowed per flow, as a count or a share.
        max_owners: members that may hold a VIP at the same time (1: no split brain).

    Example::

        slo = Slo.parse(max_outage="4.5s", max_lost=0.05, max_owners=1)
        slo.breaches(flows=[flow.figures()], vips=[])
        # ['flow http client->www: outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2']
    """

    max_outage: float | None = None
    min_availability: float | None = None
    max_lost: verdicts.LostLimit | None = None
    max_owners: int | None = None

    def __post_init__(self) -> None:
        # One construction path: `Slo(max_outage="4.5s")` is validated and normalised like `Slo.parse`.
        if all(value is None for value in (self.max_outage, self.min_availability, self.max_lost, self.max_owners)):
            raise UsageError("an SLO needs at least one limit: max_outage, min_availability, max_lost or max_owners")
        owners = self.max_owners
        if owners is not None and (isinstance(owners, bool) or not isinstance(owners, int) or owners < 1):
            raise UsageError(f"max_owners={owners!r}: use a whole number of members, 1 or more (1 means no split brain)")
        lost = self.max_lost
        if lost is not None and not isinstance(lost, verdicts.LostLimit):
            lost = verdicts.parse_lost(lost, "max_lost")
        object.__setattr__(self, "max_outage", parse_optional_duration(self.max_outage, "max_outage"))
        if self.min_availability is not None:
            object.__setattr__(self, "min_availability", parse_share(self.min_availability, "min_availability"))
        object.__setattr__(self, "max_lost", lost)

    @classmethod
    def parse(cls, **limits: Any) -> Slo:
        """Limits as users write them: ``max_outage="4.5s"``, ``min_availability=0.99`` or ``"99 %"``, ``max_lost=20`` or ``0.05``, ``max_owners=1``.

        Shares are fractions (``0.99``) or explicit percentages (``"99 %"``); a number above 1
        where a share is meant (``min_availability=99``) is refused with a hint, and so is a
        ``max_lost`` float above 1 (``5.0``: write ``5`` requests or ``"5 %"``). ``Slo(...)``
        takes the same values; ``parse`` also names an unknown limit.

        Raises:
            UsageError: an unknown limit or a bad value; the message lists what is valid.

        Example:
            >>> Slo.parse(max_outage="4.5s", min_availability="99 %", max_lost=20).describe()
            'slo(max_outage=4.5, min_availability=0.99, max_lost=20)'
        """
        unknown = sorted(set(limits) - {"max_outage", "min_availability", "max_lost", "max_owners"})
        if unknown:
            raise UsageError(
                f"unknown SLO limit{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; valid: max_outage, min_availability, max_lost, max_owners"
            )
        return cls(**limits)

    @property
    def judges_flows(self) -> bool:
        return self.max_outage is not None or self.min_availability is not None or self.max_lost is not None

    @property
    def judges_vips(self) -> bool:
        return self.max_owners is not None

    def breaches(self, flows: Sequence[FlowFigures], vips: Sequence[VipOwners]) -> list[str]:
        """Every limit a flow or VIP broke, one message each (empty: the SLO holds).

        A limit with nothing to judge (flow limits but no flow, ``max_owners`` but no VIP) is a
        breach too: an SLO that cannot fail would pass a broken test.
        """
        found: list[str] = []
        if self.judges_flows and not flows:
            found.append(f"{self.describe()} judges traffic flows, but the test ran none (start one with lab.traffic)")
        for flow in flows:
            checks = [
                verdicts.max_outage(flow, self.max_outage) if self.max_outage is not None else None,
                verdicts.min_availability(flow, self.min_availability) if self.min_availability is not None else None,
                verdicts.max_lost(flow, self.max_lost) if self.max_lost is not None else None,
            ]
            found += list(dict.fromkeys(c for c in checks if c))  # an empty flow says so once
        if self.max_owners is not None:
            if not vips:
                found.append(f"{self.describe()} judges VIPs, but the test's labs have none")
            for vip in vips:
                if not vip.changes:
                    found.append(
                        f"VIP {vip.name}: no owner history was recorded, so max_owners cannot be judged{': ' + vip.problem if vip.problem else ''}"
                    )
                    continue
                breach = verdicts.max_owners(vip.name, vip.changes, self.max_owners, vip.until)
                if breach:
                    found.append(breach)
        return found

    def describe(self) -> str:
        """``slo(max_outage=4.5, max_lost=5 %)``: the limits as given."""
        shown = {key: f"{value:g}" if isinstance(value, float) else str(value) for key, value in self._limits().items()}
        return f"slo({', '.join(f'{key}={value}' for key, value in shown.items())})"

    def as_report(self) -> dict[str, Any]:
        """The limits, for the report's ``slo`` entry (a lost share as a number below 1, a count as an int)."""
        limits: dict[str, Any] = {}
        for key, value in self._limits().items():
            if isinstance(value, verdicts.LostLimit):
                limits[key] = value.count if value.count is not None else value.share
            else:
                limits[key] = value
        return limits

    def _limits(self) -> dict[str, Any]:
        values = {"max_outage": self.max_outage, "min_availability": self.min_availability, "max_lost": self.max_lost, "max_owners": self.max_owners}
        return {key: value for key, value in values.items() if value is not None}


def verdict(slo: Slo | None, breaches: Sequence[str]) -> Mapping[str, Any] | None:
    """The report's ``slo`` entry: the limits, ``verdict`` pass or fail, and the breaches (None without an SLO)."""
    if slo is None:
        return None
    return {**slo.as_report(), "verdict": "fail" if breaches else "pass", "breaches": list(breaches)}
