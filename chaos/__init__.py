"""pytest-chaos: resilience tests for highly available container setups."""

from __future__ import annotations

from chaos import faults
from chaos.engine import Engine, ExecResult
from chaos.errors import ChaosError, EngineError, FaultError, HealError, HostCommandError, ImageError, LabError, RecoveryTimeout, SpecError
from chaos.expect import eventually, recovers
from chaos.host import Host
from chaos.lab import Lab, open_lab
from chaos.observe import Capture
from chaos.slo import Slo
from chaos.spec import Topology, load_topology, topology_from_dict
from chaos.traffic import Flow
from chaos.vips import OwnerHistory, Vip

__all__ = [
    "Capture",
    "ChaosError",
    "Engine",
    "EngineError",
    "ExecResult",
    "FaultError",
    "Flow",
    "HealError",
    "Host",
    "HostCommandError",
    "ImageError",
    "Lab",
    "LabError",
    "OwnerHistory",
    "RecoveryTimeout",
    "Slo",
    "SpecError",
    "Topology",
    "Vip",
    "eventually",
    "faults",
    "load_topology",
    "open_lab",
    "recovers",
    "topology_from_dict",
]
