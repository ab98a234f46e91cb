"""pytest-chaos: resilience tests for highly available container setups.

The public API is what ``__all__`` lists; everything else (``chaos._internal``, names with a
leading underscore) may change. The conventions every entry point follows:

- a ``Duration`` is a number of seconds or a string with a unit (``"500ms"``, ``"10s"``, ``"2m"``);
- a ``Share`` is a fraction (``0.3``) or an explicit percentage (``"30 %"``);
- a ``HostRef`` is a host's name (``"lb1"``) or its handle (``lab.hosts["lb1"]``);
- a set of VIP owners is an ``Owners`` everywhere;
- everything a user can catch derives from ``ChaosError`` (bad arguments: ``UsageError``).

Example:
    >>> import chaos
    >>> chaos.Owners(["lb2", "lb1"]) == ["lb1", "lb2"]
    True
"""

from __future__ import annotations

from chaos import faults
from chaos._internal.durations import Duration
from chaos._internal.hosts import HostRef
from chaos._internal.shares import Share
from chaos.engine import ContainerInfo, ContainerState, Engine, ExecResult
from chaos.errors import (
    ChaosError,
    ContainerGone,
    EngineError,
    FaultError,
    HealError,
    HostCommandError,
    ImageError,
    LabError,
    RecoveryTimeout,
    SpecError,
    UsageError,
)
from chaos.expect import eventually, recovers
from chaos.host import Host
from chaos.lab import Lab, open_lab
from chaos.observe import Capture
from chaos.slo import Slo
from chaos.spec import Topology, load_topology, topology_from_dict
from chaos.traffic import Flow
from chaos.vips import OwnerHistory, Owners, Vip

__all__ = [
    "Capture",
    "ChaosError",
    "ContainerGone",
    "ContainerInfo",
    "ContainerState",
    "Duration",
    "Engine",
    "EngineError",
    "ExecResult",
    "FaultError",
    "Flow",
    "HealError",
    "Host",
    "HostCommandError",
    "HostRef",
    "ImageError",
    "Lab",
    "LabError",
    "OwnerHistory",
    "Owners",
    "RecoveryTimeout",
    "Share",
    "Slo",
    "SpecError",
    "Topology",
    "UsageError",
    "Vip",
    "eventually",
    "faults",
    "load_topology",
    "open_lab",
    "recovers",
    "topology_from_dict",
]
