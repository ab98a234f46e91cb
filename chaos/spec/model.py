"""The topology model: plain frozen dataclasses, no Docker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

HOST_IMAGE = "chaos/host"
"""The framework's host image; resolves to the tag `chaos images build` made."""


@dataclass(frozen=True)
class NetworkSpec:
    """A lab network: an ordinary bridge whose hosts have no route out."""

    name: str
    subnet: str | None = None
    internal: bool = False


@dataclass(frozen=True)
class Attachment:
    """A host's place on a network, with a static address or ``None`` for automatic."""

    network: str
    address: str | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """A workload container that joins its host's network namespace."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    cap_add: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostSpec:
    """A machine of the topology: one host container plus its workloads."""

    name: str
    networks: tuple[Attachment, ...]
    image: str = HOST_IMAGE
    containers: tuple[ContainerSpec, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    cap_add: tuple[str, ...] = ()
    role: str | None = None

    def attachment(self, network: str) -> Attachment | None:
        """This host's attachment to ``network``, if it has one."""
        return next((a for a in self.networks if a.network == network), None)


@dataclass(frozen=True)
class VipSpec:
    """A virtual IP held by one member at a time and managed by a provider.

    The fields are the providers' common shape: ``advert_int`` is keepalived's advert_int or
    ucarp's advbase, ``virtual_router_id`` VRRP's router id or CARP's vhid, and each member's
    number its keepalived priority (higher wins) or its ucarp advskew (lower wins).
    ``password`` is ucarp's (None: one derived from the lab's and the VIP's names).
    """

    name: str
    network: str
    members: Mapping[str, int]
    provider: str = "keepalived"
    address: str | None = None
    advert_int: float = 1.0
    virtual_router_id: int = 0
    vrrp_version: int = 2
    preempt: bool = True
    password: str | None = None


@dataclass(frozen=True)
class Topology:
    """A whole validated topology; ``source`` is the file it came from, for messages."""

    name: str
    networks: Mapping[str, NetworkSpec]
    hosts: Mapping[str, HostSpec]
    vips: Mapping[str, VipSpec] = field(default_factory=dict)
    source: str = "<python>"
