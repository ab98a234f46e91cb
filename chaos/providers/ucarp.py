"""The ucarp provider (CARP): its spec fields, the launcher and up/down scripts per member, and ucarp's real takeover bound.

ucarp does not manage the address: it runs an up script when it becomes MASTER and a down
script when it becomes BACKUP (directly, without a shell, with the interface, the address
and ``--xparam`` as arguments). The scripts rendered here add and remove ``ADDRESS/PREFIX``
and print what they do, so ucarp's transitions show on the container's log next to ucarp's
own lines (it logs to stdout/stderr when it runs in the foreground).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from chaos._internal.durations import parse_duration
from chaos.errors import UsageError
from chaos.providers import Checker, MemberRule, PlacedVip, checked_id
from chaos.spec.kinds import kind_of as _kind
from chaos.spec.model import VipSpec
from chaos_inlab.protocol import RUN_DIRECTORY, agent_line

SCRIPT_DIRECTORY = "/etc/chaos"
PASSWORD_LIMIT = 19
"""ucarp keeps the password with its NUL in a 20-byte key (CARP_KEY_LEN) and refuses a longer one."""
DEAD_RATIO = 3
"""ucarp's ``--deadratio`` default: the adverts a backup misses before it calls the master dead."""
CAPTURE_DELAY = 1.0
"""Seconds an advert can wait before ucarp reads it: ucarp opens its capture with a 1000 ms timeout
(CAPTURE_TIMEOUT), and libpcap 1.10 on Linux (TPACKET_V3) wakes the reader only when a block is
full or that timeout ends, so each advert reaches ucarp up to 1 s after it arrived."""


def default_password(lab: str, vip: str) -> str:
    """The password a VIP gets when the spec gives none: the same on every member, different per lab and VIP.

    Example:
        >>> default_password("pair", "www")
        'chaos-3b672c9f99'
    """
    return "chaos-" + hashlib.sha256(f"{lab}/{vip}".encode()).hexdigest()[:10]


def script_paths(vip: str) -> tuple[str, str]:
    """``(up, down)``: where the scripts ucarp runs for ``vip`` live in a member's host container."""
    return f"{SCRIPT_DIRECTORY}/ucarp-{vip}-up", f"{SCRIPT_DIRECTORY}/ucarp-{vip}-down"


def render_script(vip: str, action: str) -> str:
    """The up (``add``) or down (``del``) script of ``vip``: ucarp runs it as ``SCRIPT IFACE ADDRESS PREFIX``.

    Example:
        >>> print(render_script("www", "add"), end="")
        #!/bin/sh
        # ucarp runs this itself for VIP www: $1 interface, $2 address, $3 prefix length (its --xparam).
        echo "ucarp www: ip addr add $2/$3 dev $1"
        exec ip addr add "$2/$3" dev "$1"
    """
    return (
        "#!/bin/sh\n"
        f"# ucarp runs this itself for VIP {vip}: $1 interface, $2 address, $3 prefix length (its --xparam).\n"
        f'echo "ucarp {vip}: ip addr {action} $2/$3 dev $1"\n'
        f'exec ip addr {action} "$2/$3" dev "$1"\n'
    )


def ucarp_argv(lab: str, host: str, placed: PlacedVip) -> list[str]:
    """ucarp's command line for ``host`` in ``placed``; the interface is ``${iface:SUBNET}``, which the agent fills in.

    Example:
        >>> vip = VipSpec("www", "front", {"lb1": 0, "lb2": 100}, "ucarp", virtual_router_id=1, password="s3cret")
        >>> for word in ucarp_argv("pair", "lb2", PlacedVip(vip, "10.77.0.250", "10.77.0.0/24", "10.77.0.3"))[1:10]:
        ...     print(word)
        --interface=${iface:10.77.0.0/24}
        --srcip=10.77.0.3
        --vhid=1
        --pass=s3cret
        --addr=10.77.0.250
        --advbase=1
        --advskew=100
        --upscript=/etc/chaos/ucarp-www-up
        --downscript=/etc/chaos/ucarp-www-down
    """
    vip = placed.spec
    if placed.host_address is None:
        raise ValueError(f"ucarp needs {host}'s own address on {vip.network} for --srcip")
    up, down = script_paths(vip.name)
    return [
        "ucarp",
        f"--interface=${{iface:{placed.subnet}}}",
        f"--srcip={placed.host_address}",
        f"--vhid={vip.virtual_router_id}",
        f"--pass={vip.password or default_password(lab, vip.name)}",
        f"--addr={placed.address}",
        f"--advbase={int(vip.advert_int)}",
        f"--advskew={vip.members[host]}",
        f"--upscript={up}",
        f"--downscript={down}",
        f"--xparam={placed.subnet.split('/')[1]}",
        "--neutral",  # a member that starts as BACKUP has no address to remove
        "--shutdown",  # SIGTERM runs the down script: an orderly stop lets the address go
        *(["--preempt"] if vip.preempt else []),
    ]


def render_launcher(lab: str, host: str, placed: PlacedVip) -> str:
    """The template the agent renders at each start (interface filled in) and runs with /bin/sh: ``exec ucarp ...``."""
    return f"# ucarp for VIP {placed.spec.name} on {host}\nexec {shlex.join(ucarp_argv(lab, host, placed))}\n"


def master_down_interval(advskew: int, advbase: float) -> float:
    """The longest a backup of ``advskew`` stays silent after the master's last advert was sent, as Debian's ucarp 1.5.2 does it.

    The CARP timer is ``DEAD_RATIO x advbase + advskew/256`` after the last advert ucarp read,
    but ucarp only looks at it when its poll() wakes up, and a backup polls for
    ``advbase + advskew/256`` at a time (woken early only by a CARP packet). With no adverts
    the timer is seen expired at the third wake-up: ``3 x (advbase + advskew/256)`` after the
    last advert was read. ucarp reads an advert up to `CAPTURE_DELAY` (1 s) after it arrived,
    so the bound from the advert's sending is ``3 x (advbase + advskew/256) + 1``. With
    advskew 0 the third wake-up and the timer coincide and ucarp may see it one wake-up
    later, so the bound adds one advbase.

    Measured here (suites/ucarp/pair.yaml, advbase 1, advskew 100, five labs): the gap on the
    wire from lb1's last advert to lb2's first was 4.23, 4.25, 5.11, 5.13 and 5.16 s: 4.17 s
    plus the reading delay, which stays nearly fixed within a lab (both 1 s clocks run in step).

    Example:
        >>> master_down_interval(100, 1)
        5.171875
    """
    period = advbase + advskew / 256
    return DEAD_RATIO * period + CAPTURE_DELAY + (advbase if advskew == 0 else 0.0)


def takeover_window(advskew: int, advbase: float, master_advskew: int = 0) -> tuple[float, float]:
    """``(earliest, latest]`` seconds after the master dies at which a backup of ``advskew`` holds the address.

    The latest is `master_down_interval`: the master's last advert left just before it died
    and reached ucarp a full `CAPTURE_DELAY` late. The earliest: that advert left one master
    interval (``advbase + master_advskew/256``) before the death and ucarp read it at once,
    ``3 x (advbase + advskew/256) - (advbase + master_advskew/256)``.

    Example:
        >>> takeover_window(100, 1)
        (3.171875, 5.171875)
    """
    earliest = DEAD_RATIO * (advbase + advskew / 256) - (advbase + master_advskew / 256)
    return earliest, master_down_interval(advskew, advbase)


class Ucarp:
    """ucarp (CARP): ``vhid``, ``advbase``, ``password``, ``preempt``; members' numbers are advskews (lower wins)."""

    name: str = "ucarp"
    fields: tuple[str, ...] = ("vhid", "advbase", "password", "preempt")
    id_field: str = "vhid"
    first_id: int = 1
    member_rule: MemberRule = MemberRule("advskew", 0, 254)

    def check(self, raw: Mapping[str, Any], path: str, checker: Checker) -> dict[str, Any] | None:
        ok = True
        vhid = checked_id(raw, "vhid", path, checker)
        advbase = _advbase(raw.get("advbase", 1), f"{path}.advbase", checker)
        password = raw.get("password")
        if password is not None:
            if not isinstance(password, str) or not password:
                checker.fail(f"{path}.password", f"expected a non-empty string, got {_kind(password)}")
                ok = False
            elif len(password.encode()) > PASSWORD_LIMIT:
                checker.fail(f"{path}.password", f"is {len(password.encode())} bytes long; ucarp allows at most {PASSWORD_LIMIT}")
                ok = False
        preempt = checker.typed(raw.get("preempt", True), f"{path}.preempt", bool, "true or false")
        if advbase is None or vhid is None or preempt is None or not ok:
            return None
        return {"advert_int": advbase, "virtual_router_id": vhid, "preempt": preempt, "password": password}

    def member_files(self, lab: str, host: str, vips: Sequence[PlacedVip]) -> tuple[dict[str, bytes], list[dict[str, object]]]:
        files: dict[str, bytes] = {}
        daemons: list[dict[str, object]] = []
        for placed in vips:
            name = placed.spec.name
            up, down = script_paths(name)
            template, launcher = f"{SCRIPT_DIRECTORY}/ucarp-{name}.sh.in", f"{RUN_DIRECTORY}/ucarp-{name}.sh"
            files[template] = render_launcher(lab, host, placed).encode()
            files[up] = render_script(name, "add").encode()
            files[down] = render_script(name, "del").encode()
            daemons.append({"name": f"ucarp {name}", "argv": ["/bin/sh", launcher], "templates": [[template, launcher]]})
        return files, daemons

    def master_down_interval(self, vip: VipSpec, member: str) -> float:
        return master_down_interval(vip.members[member], vip.advert_int)

    def takeover_window(self, vip: VipSpec, member: str) -> tuple[float, float]:
        others = [skew for host, skew in vip.members.items() if host != member]
        return takeover_window(vip.members[member], vip.advert_int, min(others, default=0))

    def state(self, vip: VipSpec, host: str, log: str) -> str | None:
        """MASTER or BACKUP, from the up/down scripts' lines since the agent last started ucarp for ``vip`` (None: not started).

        ucarp starts as BACKUP and, with --neutral, runs no script until it changes state. A
        ucarp killed with SIGKILL keeps its last state here, as its address stays too.

        Example:
            >>> spec = VipSpec("www", "front", {"lb1": 0}, "ucarp")
            >>> log = "chaos-agent[lb1]: starting ucarp www: /bin/sh x\\nucarp www: ip addr add 10.0.0.9/24 dev eth0\\n"
            >>> PROVIDER.state(spec, "lb1", log)
            'MASTER'
        """
        start = log.rfind(agent_line(host, f"starting ucarp {vip.name}:"))
        if start < 0:
            return None
        added, removed = (log.rfind(f"ucarp {vip.name}: ip addr {action} ", start) for action in ("add", "del"))
        return "MASTER" if added > removed else "BACKUP"


def _advbase(value: object, path: str, checker: Checker) -> float | None:
    if isinstance(value, str):
        try:
            value = parse_duration(value, "advbase")
        except UsageError as exc:
            checker.fail(path, str(exc))
            return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value != int(value) or not 1 <= value <= 255:
        got = f"{value!r}" if isinstance(value, int | float) and not isinstance(value, bool) else _kind(value)
        checker.fail(path, f"expected whole seconds from 1 to 255 (ucarp has no fractions), got {got}")
        return None
    return float(value)


PROVIDER = Ucarp()
