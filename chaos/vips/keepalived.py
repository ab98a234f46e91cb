"""Render keepalived's configuration for one host from the VIPs it is a member of."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.errors import SpecError
from chaos.spec.model import VipSpec
from chaos_inlab.protocol import RUN_DIRECTORY

CONFIG_TEMPLATE_PATH = "/etc/chaos/keepalived.conf.in"
CONFIG_PATH = f"{RUN_DIRECTORY}/keepalived.conf"


@dataclass(frozen=True)
class PlacedVip:
    """A VIP with what the running lab decided: its address and its network's subnet."""

    spec: VipSpec
    address: str
    subnet: str


def render_config(host: str, vips: list[PlacedVip]) -> str:
    """keepalived.conf for ``host``: one vrrp_instance per VIP it is a member of.

    The interface is written as ``${iface:SUBNET}``; the host agent replaces it at each start
    with the interface that holds an address in that subnet, since Docker does not promise
    interface names.

    Raises:
        SpecError: ``host`` is a member of VIPs with different VRRP versions.

    Example::

        print(render_config("lb1", [PlacedVip(vip, "10.77.0.250", "10.77.0.0/24")]))
    """
    versions = {v.spec.vrrp_version for v in vips}
    if len(versions) > 1:
        # keepalived sets the VRRP version per process; mixed versions need two daemons.
        raise SpecError([f"host {host!r} is a member of VIPs with VRRP versions {sorted(versions)}; use one version per host"])
    lines = [
        "global_defs {",
        f"    router_id {host}",
        f"    vrrp_version {versions.pop() if versions else 2}",
        "    vrrp_garp_master_delay 1",
        "}",
    ]
    for placed in vips:
        vip = placed.spec
        prefix = placed.subnet.split("/")[1]
        iface = f"${{iface:{placed.subnet}}}"
        lines += [
            "",
            f"vrrp_instance {vip.name} {{",
            "    state BACKUP",  # every member starts as backup: priorities decide, as in the spec
            f"    interface {iface}",
            f"    virtual_router_id {vip.virtual_router_id}",
            f"    priority {vip.members[host]}",
            f"    advert_int {vip.advert_int:g}",
            *([] if vip.preempt else ["    nopreempt"]),
            "    virtual_ipaddress {",
            f"        {placed.address}/{prefix} dev {iface}",
            "    }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def daemon_entry() -> dict[str, object]:
    """How the host agent starts keepalived: in the foreground, logging to the container's log."""
    return {
        "name": "keepalived",
        "argv": [
            "keepalived",
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--vrrp",
            "--use-file",
            CONFIG_PATH,
            "--pid",
            f"{RUN_DIRECTORY}/keepalived.pid",
            "--vrrp_pid",
            f"{RUN_DIRECTORY}/keepalived-vrrp.pid",
        ],
        "templates": [[CONFIG_TEMPLATE_PATH, CONFIG_PATH]],
    }


def master_down_interval(priority: int, advert_int: float) -> float:
    """RFC 5798: 3 x Advertisement_Interval + Skew_Time, Skew_Time = (256 - priority) x interval / 256.

    `chaos.vips.Vip.master_down_interval` gives it for a member of a running VIP.

    Example:
        >>> master_down_interval(100, 1)
        3.609375
    """
    return 3 * advert_int + (256 - priority) * advert_int / 256


def takeover_window(priority: int, advert_int: float) -> tuple[float, float]:
    """When a backup of ``priority`` takes over after the master dies: (MDI - interval, MDI].

    The master's last advert left up to one interval before the fault, so the backup's
    timer had already run for up to one interval. `chaos.vips.Vip.takeover_window` gives it
    for a member of a running VIP.

    Example:
        >>> takeover_window(100, 1)
        (2.609375, 3.609375)
    """
    mdi = master_down_interval(priority, advert_int)
    return mdi - advert_int, mdi
