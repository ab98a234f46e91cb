"""A lab's shape without Docker, for unit tests of the fault protocol and its composition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from chaos._internal.stash import Stash
from chaos.faults import Injection, Targeted
from chaos.host import Host
from chaos.spec.model import Attachment, HostSpec
from chaos.timeline import Timeline

JOURNAL: list[str] = []
"""What the paper faults of a test did, in order ("+a", "inject a", "heal a"...)."""


@pytest.fixture(autouse=True)
def clean_journal() -> None:
    """Import it into a test module (with `JOURNAL`) to start each test with an empty journal."""
    JOURNAL.clear()


@dataclass
class PaperLab:
    """A lab's shape without a Docker object behind it: hosts, networks, a timeline."""

    name: str = "paper"
    hosts: dict[str, Host] = field(default_factory=dict)
    networks: dict[str, object] = field(default_factory=lambda: {"front": object()})
    timeline: Timeline = field(default_factory=Timeline)
    stash: Stash = field(default_factory=Stash)

    def __hash__(self) -> int:
        return id(self)

    @classmethod
    def of(cls, *names: str) -> PaperLab:
        lab = cls()
        for name in names:
            spec = HostSpec(name, (Attachment("front"),))
            lab.hosts[name] = Host(spec, None, f"chaos-paper-{name}", {}, {"front": "paper-front"})  # type: ignore[arg-type]
        return lab


@dataclass(frozen=True)
class Note(Targeted[None]):
    """A paper fault: writes ``+host`` and ``-host`` in `JOURNAL` on inject and heal; breaks on inject when told to."""

    breaks: bool = False
    name: ClassVar[str] = "note"

    def apply(self, run: Injection[None]) -> float | None:
        if self.breaks:
            raise RuntimeError(f"{self} broke")
        JOURNAL.append(f"+{','.join(run.targets)}")
        return None

    def revert(self, run: Injection[None]) -> float | None:
        JOURNAL.append(f"-{','.join(run.targets)}")
        return None
