"""The shell scripts a network fault runs inside a host (one ``sh -c`` per host and step): inject, heal, sweep.

Pure text. Each script is all or nothing: inject runs its own heal before it exits non-zero,
and heal removes only what carries the fault's tag, whatever state it finds. Both print,
as their last line, the epoch time (``date +%s.%N``, the clock the lab shares) at which the
change took effect inside the namespace.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chaos.errors import FaultError
from chaos.net.rules import CHAIN_PREFIX
from chaos.net.shaping import CLASS_MASK, Slot

PID_DIR = "/run/chaos"
"""Where a host keeps its shapers' pidfiles and logs: ``/run/chaos/<chain prefix>shaper.pid``."""

TABLES = ("filter", "mangle")
"""The iptables tables faults use."""

CLASS_RATE = "10gbit"
"""The rate of a slot's HTB class: no limit of its own, its leaf (tbf or netem) does the shaping."""


@dataclass(frozen=True)
class TcSlot:
    """One degradation's place in the tc tree of every interface: an HTB class under our root, and its leaf."""

    root: str  # root qdisc handle (hex major), from the session
    slot: Slot
    leaf: str  # e.g. "tbf rate 1000000bit burst 3028 latency 100ms" or "netem ..."


def pidfile(prefix: str) -> str:
    """The pidfile of the shaper of the fault whose chains start with ``prefix``."""
    return f"{PID_DIR}/{prefix}shaper.pid"


def logfile(prefix: str) -> str:
    """The log of that shaper (its settings, and its counts when it stops); heal removes it with the pidfile."""
    return f"{PID_DIR}/{prefix}shaper.log"


def heal_function(prefix: str, root: str, slots: Sequence[Slot] = (), drop_root: bool = False, tables: Sequence[str] = TABLES) -> str:
    """A shell function ``chaos_heal`` that removes what carries ``prefix``; it sets ``chaos_healed`` to the epoch of the last removal.

    Args:
        prefix: chain prefix: one fault's (``CHAOS-<session>-<serial>-``) or every fault's (``CHAOS-``).
        root: the session's root qdisc handle.
        slots: the tc classes (and filters) to remove under that root.
        drop_root: remove the session's root qdisc whatever it still holds (the sweep).
        tables: the iptables tables to clean (a fault knows which it used).

    Example:
        >>> heal_function("CHAOS-s-1-", "25e8").splitlines()[0]
        'chaos_heal() {'
    """
    _check_prefix(prefix)
    tc_slots = "".join(
        f'    tc filter del dev "$dev" parent {root}: protocol ip prio {s.filter_prio} 2>/dev/null\n'
        f'    tc class del dev "$dev" classid {root}:{s.class_minor} 2>/dev/null\n'
        for s in slots
    )
    keep_root = "" if drop_root else '    [ -z "$(tc class show dev "$dev")" ] || continue\n'
    tc = (
        "  for dev in $(ls /sys/class/net); do\n"
        '    [ "$dev" = lo ] && continue\n'
        f'    case "$(tc qdisc show dev "$dev" root)" in "qdisc htb {root}: "*) ;; *) continue ;; esac\n'
        f"{tc_slots}{keep_root}"
        f'    tc qdisc del dev "$dev" root handle {root}: || chaos_rc=1\n'
        "  done\n"
    )
    return (
        "chaos_heal() {\n"
        "  chaos_rc=0\n"
        f"  for chaos_t in {' '.join(tables)}; do\n"
        '    chaos_s=$(iptables-save -t "$chaos_t" 2>&1) || { echo "iptables-save -t $chaos_t: $chaos_s" >&2; chaos_rc=1; continue; }\n'
        f"    chaos_d=$(printf '%s\\n' \"$chaos_s\" | grep -e '^-A [A-Z]* .*-j {prefix}' | sed 's/^-A /-D /')\n"
        f"    chaos_c=$(printf '%s\\n' \"$chaos_s\" | sed -n 's/^:\\({prefix}[A-Za-z0-9-]*\\) .*/\\1/p')\n"
        '    [ -n "$chaos_d$chaos_c" ] || continue\n'
        '    chaos_o=$({ echo "*$chaos_t"; [ -z "$chaos_d" ] || printf \'%s\\n\' "$chaos_d"; '
        'for chaos_x in $chaos_c; do echo "-F $chaos_x"; echo "-X $chaos_x"; done; echo COMMIT; } | iptables-restore --noflush 2>&1) '
        '|| { echo "iptables-restore -t $chaos_t: $chaos_o" >&2; chaos_rc=1; }\n'
        "  done\n"
        f"{tc if slots or drop_root else ''}"
        "  chaos_healed=$(date +%s.%N)\n"
        # The shaper goes last: it lets what it holds go, and nothing new reaches it any more.
        f"  for chaos_f in {PID_DIR}/{prefix}*.pid; do\n"
        '    [ -e "$chaos_f" ] || continue\n'
        '    chaos_p=$(cat "$chaos_f")\n'
        '    if grep -q chaos-shaper "/proc/$chaos_p/cmdline" 2>/dev/null; then\n'
        '      kill "$chaos_p"; chaos_n=0\n'
        '      while [ -d "/proc/$chaos_p" ] && [ $chaos_n -lt 300 ]; do sleep 0.01; chaos_n=$((chaos_n + 1)); done\n'
        "    fi\n"
        '    rm -f "$chaos_f" "${chaos_f%.pid}.log"\n'
        "  done\n"
        "  return $chaos_rc\n"
        "}\n"
    )


def heal_script(prefix: str, root: str, slots: Sequence[Slot] = (), drop_root: bool = False, tables: Sequence[str] = TABLES) -> str:
    """Heal (see `heal_function`) and print the epoch time the last rule or class was gone; exit 1 if something could not be removed.

    Example:
        >>> heal_script("CHAOS-", "25e8", drop_root=True).splitlines()[-1]
        'chaos_heal; chaos_rc=$?; echo "$chaos_healed"; exit $chaos_rc'
    """
    return heal_function(prefix, root, slots, drop_root, tables) + 'chaos_heal; chaos_rc=$?; echo "$chaos_healed"; exit $chaos_rc'


def inject_script(
    prefix: str,
    root: str,
    restore: Mapping[str, str],
    shaper: Sequence[str] | None = None,
    tc: TcSlot | None = None,
) -> str:
    """Apply one fault on one host: start its shaper, build its tc class, load its rules; print when all were in.

    The order makes the last step the one that bites: the shaper listens and the class exists
    before the rule that feeds them. Any failure heals what was done and exits 1 with the reason.

    Args:
        prefix: the fault's chain prefix (its tag).
        root: the session's root qdisc handle.
        restore: ``{table: iptables-restore input}`` from `chaos.net.rules.restore_input`.
        shaper: the ``chaos-shaper`` command, for the userspace path.
        tc: the HTB class and leaf, for a rate or the netem path.

    Example:
        >>> inject_script("CHAOS-s-1-", "25e8", {"filter": "*filter\\nCOMMIT"}).splitlines()[-1]
        'date +%s.%N'
    """
    lines = [
        heal_function(prefix, root, [tc.slot] if tc else [], tables=tuple(restore) or TABLES),
        'chaos_fail() { echo "$*" >&2; chaos_heal >/dev/null 2>&1; exit 1; }',
        f"mkdir -p {PID_DIR}",
    ]
    if shaper:
        lines.append(f'chaos_o=$({shlex.join(shaper)} 2>&1) || chaos_fail "starting chaos-shaper: $chaos_o"')
    if tc:
        lines.append(_tc_setup(tc))
    for table, text in restore.items():
        restore_cmd = f"printf '%s\\n' {shlex.quote(text)} | iptables-restore --noflush"
        lines.append(f'chaos_o=$({restore_cmd} 2>&1) || chaos_fail "iptables-restore ({table}): $chaos_o"')
    lines.append("date +%s.%N")
    return "\n".join(lines)


def _tc_setup(tc: TcSlot) -> str:
    root, slot = tc.root, tc.slot
    cls = f"{root}:{slot.class_minor}"
    return (
        "for dev in $(ls /sys/class/net); do\n"
        '  [ "$dev" = lo ] && continue\n'
        '  chaos_r=$(tc qdisc show dev "$dev" root)\n'
        '  case "$chaos_r" in\n'
        f'    "qdisc htb {root}: "*) ;;\n'
        # Handle 0: is the kernel's default root (noqueue on a veth); anything else belongs to someone.
        f'    "qdisc "*" 0: "*|"") chaos_o=$(tc qdisc add dev "$dev" root handle {root}: htb default 0 2>&1) '
        '|| chaos_fail "tc root on $dev: $chaos_o" ;;\n'
        '    *) chaos_fail "$dev already has a root qdisc that is not ours: $chaos_r" ;;\n'
        "  esac\n"
        f'  chaos_o=$(tc class add dev "$dev" parent {root}: classid {cls} htb rate {CLASS_RATE} quantum 60000 2>&1) '
        '|| chaos_fail "tc class on $dev: $chaos_o"\n'
        f'  chaos_o=$(tc qdisc add dev "$dev" parent {cls} {tc.leaf} 2>&1) || chaos_fail "tc qdisc {tc.leaf.split()[0]} on $dev: $chaos_o"\n'
        f'  chaos_o=$(tc filter add dev "$dev" parent {root}: protocol ip prio {slot.filter_prio} '
        f"u32 match mark {slot.class_mark:#x} {CLASS_MASK:#x} flowid {cls} 2>&1) "
        '|| chaos_fail "tc filter on $dev: $chaos_o"\n'
        "done"
    )


def _check_prefix(prefix: str) -> None:
    # The prefix lands unquoted in grep and sed patterns and in a glob: letters, digits and dashes only.
    if not prefix.startswith(CHAIN_PREFIX) or not all(c.isalnum() or c == "-" for c in prefix):
        raise FaultError(f"not a chain prefix: {prefix!r}")
