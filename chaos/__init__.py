"""pytest-chaos: resilience tests for highly available container setups."""

from __future__ import annotations

from chaos.engine import Engine, ExecResult
from chaos.errors import ChaosError, EngineError, HostCommandError, ImageError, LabError, RecoveryTimeout, SpecError
from chaos.expect import eventually
from chaos.host import Host
from chaos.lab import Lab, open_lab
from chaos.spec import Topology, load_topology, topology_from_dict
from chaos.vips import Vip

__all__ = [
    "ChaosError",
    "Engine",
    "EngineError",
    "ExecResult",
    "Host",
    "HostCommandError",
    "ImageError",
    "Lab",
    "LabError",
    "RecoveryTimeout",
    "SpecError",
    "Topology",
    "Vip",
    "eventually",
    "load_topology",
    "open_lab",
    "topology_from_dict",
]
