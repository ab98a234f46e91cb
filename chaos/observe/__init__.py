"""Observers inside the lab: packet capture (VRRP/CARP adverts, ARP) and what it says about failovers."""

from __future__ import annotations

from chaos.observe import analysis
from chaos.observe.analysis import AdvertRun, Failover, SplitBrain, Transition
from chaos.observe.capture import DEFAULT_FILTER, Capture
from chaos.observe.packets import Advert, Arp, Packet

__all__ = [
    "DEFAULT_FILTER",
    "Advert",
    "AdvertRun",
    "Arp",
    "Capture",
    "Failover",
    "Packet",
    "SplitBrain",
    "Transition",
    "analysis",
]
