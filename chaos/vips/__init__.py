"""Virtual IPs: the handle a test asks, and the providers that keep the address alive."""

from __future__ import annotations

from chaos.vips.handle import OwnerWatch, Vip
from chaos.vips.history import Handover, OwnerEvent, OwnerHistory, OwnerPeriod
from chaos.vips.owners import Owners

__all__ = ["Handover", "OwnerEvent", "OwnerHistory", "OwnerPeriod", "OwnerWatch", "Owners", "Vip"]
