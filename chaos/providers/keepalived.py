"""The keepalived provider (VRRP): its spec fields, keepalived.conf for one host, and RFC 5798's takeover bound."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from chaos._internal.durations import parse_duration
from chaos.errors import SpecError, UsageError
from chaos.providers import Checker, MemberRule, PlacedVip, checked_id
from chaos.spec.kinds import kind_of as _kind
from chaos.spec.model import VipSpec
from chaos_inlab.protocol import RUN_DIRECTORY, agent_line

CONFIG_TEMPLATE_PATH = "/etc/chaos/keepalived.conf.in"
CONFIG_PATH = f"{RUN_DIRECTORY}/keepalived.conf"


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


class Keepalived:
    """keepalived (VRRP): ``advert_int``, ``virtual_router_id``, ``vrrp_version``, ``preempt``; members' numbers are priorities."""

    name: str = "keepalived"
    fields: tuple[str, ...] = ("advert_int", "virtual_router_id", "vrrp_version", "preempt")
    id_field: str = "virtual_router_id"
    first_id: int = 51  # keepalived's habit
    member_rule: MemberRule = MemberRule("priority", 1, 254)

    def check(self, raw: Mapping[str, Any], path: str, checker: Checker) -> dict[str, Any] | None:
        ok = True
        version = raw.get("vrrp_version", 2)
        if version not in (2, 3) or isinstance(version, bool):
            checker.fail(f"{path}.vrrp_version", f"unknown VRRP version {version!r}; allowed: 2, 3")
            ok = False
        advert = _advert_int(raw.get("advert_int", 1), f"{path}.advert_int", version, checker)
        router_id = checked_id(raw, "virtual_router_id", path, checker)
        preempt = checker.typed(raw.get("preempt", True), f"{path}.preempt", bool, "true or false")
        if advert is None or router_id is None or preempt is None or not ok:
            return None
        return {"advert_int": advert, "virtual_router_id": router_id, "vrrp_version": version, "preempt": preempt}

    def member_files(self, lab: str, host: str, vips: Sequence[PlacedVip]) -> tuple[dict[str, bytes], list[dict[str, object]]]:
        if not vips:
            return {}, []
        return {CONFIG_TEMPLATE_PATH: render_config(host, list(vips)).encode()}, [daemon_entry()]

    def master_down_interval(self, vip: VipSpec, member: str) -> float:
        return master_down_interval(vip.members[member], vip.advert_int)

    def takeover_window(self, vip: VipSpec, member: str) -> tuple[float, float]:
        return takeover_window(vip.members[member], vip.advert_int)

    def state(self, vip: VipSpec, host: str, log: str) -> str | None:
        """MASTER, BACKUP or FAULT: keepalived's last ``(NAME) Entering ... STATE`` line since the agent last started it.

        Example:
            >>> spec = VipSpec("www", "front", {"lb1": 150})
            >>> log = "chaos-agent[lb1]: starting keepalived: keepalived\\n(www) Entering BACKUP STATE (init)\\n(www) Entering MASTER STATE\\n"
            >>> PROVIDER.state(spec, "lb1", log)
            'MASTER'
        """
        start = log.rfind(agent_line(host, "starting keepalived:"))
        if start < 0:
            return None
        states = re.findall(rf"\({re.escape(vip.name)}\) Entering (MASTER|BACKUP|FAULT) STATE", log[start:])
        return states[-1] if states else None


def _advert_int(value: object, path: str, version: object, checker: Checker) -> float | None:
    if isinstance(value, str):  # a duration with a unit, like every time in the API: "1s", "500ms"
        try:
            value = parse_duration(value, "advert_int")
        except UsageError as exc:
            checker.fail(path, str(exc))
            return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        checker.fail(path, f"expected a finite number of seconds, got {_kind(value)}")
        return None
    if version == 3:
        if not 0.01 <= value <= 40.95:
            checker.fail(path, f"{value!r} is out of range for VRRPv3; allowed: 0.01 to 40.95 seconds")
            return None
    elif value != int(value) or not 1 <= value <= 255:
        checker.fail(path, f"{value!r} is not allowed for VRRPv2; allowed: whole seconds 1 to 255 (fractions need vrrp_version: 3)")
        return None
    return float(value)


PROVIDER = Keepalived()
