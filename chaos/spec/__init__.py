"""Topology specs: frozen data, loaded from YAML or built from Python dicts, validated whole."""

from __future__ import annotations

from chaos.spec.load import load_topology, topology_from_dict
from chaos.spec.model import Attachment, ContainerSpec, HostSpec, NetworkSpec, Topology, VipSpec

__all__ = [
    "Attachment",
    "ContainerSpec",
    "HostSpec",
    "NetworkSpec",
    "Topology",
    "VipSpec",
    "load_topology",
    "topology_from_dict",
]
