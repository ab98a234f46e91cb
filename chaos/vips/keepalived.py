"""keepalived's rendering and VRRP formulas, kept at their old import path; they live in `chaos.providers.keepalived`."""

from __future__ import annotations

from chaos.providers import PlacedVip
from chaos.providers.keepalived import (
    CONFIG_PATH,
    CONFIG_TEMPLATE_PATH,
    daemon_entry,
    master_down_interval,
    render_config,
    takeover_window,
)

__all__ = ["CONFIG_PATH", "CONFIG_TEMPLATE_PATH", "PlacedVip", "daemon_entry", "master_down_interval", "render_config", "takeover_window"]
