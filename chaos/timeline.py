"""One clock for everything in a lab: faults, flows and observations, in seconds from the lab's start.

Every container shares the Docker host's kernel clock, so an epoch time taken inside the lab
(a packet's capture time, a probe's send time) and one taken by the runner are comparable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field


@dataclass
class FaultRecord:
    """One fault's life on the timeline; times are seconds on the lab clock, None until they happen."""

    index: int
    name: str
    targets: tuple[str, ...]
    requested: float
    effective: float | None = None
    heal_requested: float | None = None
    healed: float | None = None
    detail: str = ""

    def as_report(self) -> dict[str, object]:
        """This fault's entry in the JSON report (README.md, "Reports"): name, targets, requested, effective, healed."""
        data = asdict(self)
        data["targets"] = list(self.targets)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in data.items()}


@dataclass
class Note:
    """Anything else worth a line on the timeline (a VIP changing hands, a flow starting)."""

    at: float
    text: str


@dataclass
class Timeline:
    """The lab clock and what happened on it.

    Example:
        >>> timeline = Timeline(origin=1000.0)
        >>> record = timeline.fault_requested("power_off", ["lb1"])
        >>> timeline.fault_effective(record, epoch=1002.5)
        >>> record.effective
        2.5
    """

    origin: float = field(default_factory=time.time)
    faults: list[FaultRecord] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> float:
        """Seconds since the lab's start."""
        return time.time() - self.origin

    def at(self, epoch: float) -> float:
        """An epoch time (from the runner or from inside the lab) on the lab clock."""
        return epoch - self.origin

    def fault_requested(self, name: str, targets: list[str] | tuple[str, ...], detail: str = "") -> FaultRecord:
        with self._lock:
            record = FaultRecord(len(self.faults), name, tuple(targets), self.now(), detail=detail)
            self.faults.append(record)
        return record

    def fault_effective(self, record: FaultRecord, epoch: float | None = None) -> None:
        record.effective = self.now() if epoch is None else self.at(epoch)

    def heal_requested(self, record: FaultRecord) -> None:
        record.heal_requested = self.now()

    def healed(self, record: FaultRecord, epoch: float | None = None) -> None:
        record.healed = self.now() if epoch is None else self.at(epoch)

    def note(self, text: str, epoch: float | None = None) -> Note:
        with self._lock:
            entry = Note(self.now() if epoch is None else self.at(epoch), text)
            self.notes.append(entry)
        return entry

    def render(self) -> str:
        """A human-readable timeline, one event per line in time order, for failure reports."""
        lines: list[tuple[float, str]] = []
        for f in self.faults:
            what = f"{f.name}({', '.join(f.targets)})" + (f" {f.detail}" if f.detail else "")
            lines.append((f.requested, f"inject #{f.index} {what} requested"))
            if f.effective is not None:
                lines.append((f.effective, f"inject #{f.index} {what} effective (+{(f.effective - f.requested) * 1000:.0f} ms)"))
            if f.heal_requested is not None:
                lines.append((f.heal_requested, f"heal   #{f.index} {what} requested"))
            if f.healed is not None:
                lines.append((f.healed, f"heal   #{f.index} {what} done"))
        lines += [(n.at, n.text) for n in self.notes]
        return "\n".join(f"{at:9.3f}s  {text}" for at, text in sorted(lines, key=lambda item: item[0]))
