"""keepalived's rendering and VRRP formulas, kept at their old import path; they live in `chaos.vips.providers.keepalived`."""

from __future__ import annotations

from chaos.vips.providers import PlacedVip
from chaos.vips.providers.keepalived import (
    CONFIG_PATH,
    CONFIG_TEMPLATE_PATH,
    daemon_entry,
    master_down_interval,
    render_config,
    takeover_window,
)

__all__ = ["CONFIG_PATH", "CONFIG_TEMPLATE_PATH", "PlacedVip", "daemon_entry", "master_down_interval", "render_config", "takeover_window"]
