"""Run network changes inside lab hosts: one ``sh -c`` per host, all hosts in parallel, all or nothing.

Works on `Host` handles through ``docker exec`` only (the Docker API), so it works against a
remote engine and every change dies with the host's network namespace.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chaos._internal.parallel import parallel
from chaos._internal.stash import StashKey
from chaos.engine import ContainerGone, Engine, ExecResult
from chaos.errors import FaultError, HostCommandError
from chaos.host import Host
from chaos.net import scripts
from chaos.net.rules import CHAIN_PREFIX, Match, Rule, Tag, egress_rules, mark_action, queue_action, restore_input
from chaos.net.shaping import CLASS_MASK, NETEM_PROBE, RATE_PROBE, SLOTS, Shape, Slot, root_handle, shaper_argv
from chaos.net.shell import NotReached, Shells, shells

if TYPE_CHECKING:
    from chaos.lab import Lab

_serials = itertools.count(1)

KERNEL_PROBES: dict[str, tuple[str, ...]] = {
    "iptables statistic": ("iptables -w -N CHAOS-probe", "iptables -w -A CHAOS-probe -m statistic --mode random --probability 0.5 -j RETURN"),
    "NFQUEUE": ("iptables -w -N CHAOS-probe", "iptables -w -A CHAOS-probe -j NFQUEUE --queue-num 9 --queue-bypass"),
    "tc htb+u32": RATE_PROBE[:2] + RATE_PROBE[3:4],
    "tc tbf": ("tc qdisc add dev lo root tbf rate 1mbit burst 32kbit latency 400ms",),
    "tc netem": NETEM_PROBE[:1],
}
"""What each kind of fault may need, probed inside a host when a fault fails (cleanup: `_PROBE_CLEANUP`)."""

_PROBE_CLEANUP = "iptables -w -F CHAOS-probe 2>/dev/null; iptables -w -X CHAOS-probe 2>/dev/null; tc qdisc del dev lo root 2>/dev/null; true"


@dataclass(frozen=True)
class Degrade:
    """Egress degradation on one host that needs a slot: a tc leaf (rate, netem) or the userspace shaper.

    Attributes:
        destinations: addresses or CIDRs the packets go to; empty: everywhere but loopback.
        match: protocol and ports.
        leaf: tc arguments of the leaf (``tbf ...`` or ``netem ...``), or None.
        shape: what the userspace shaper does, or None.
    """

    destinations: tuple[str, ...] = ()
    match: Match = field(default_factory=Match)
    leaf: str | None = None
    shape: Shape | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.leaf is None) == (self.shape is None):
            raise FaultError("a Degrade has either a tc leaf or a userspace shape")


@dataclass(frozen=True)
class Change:
    """What one fault does to one host: plain rules, and at most one degradation."""

    rules: tuple[Rule, ...] = ()
    degrade: Degrade | None = None


@dataclass
class Applied:
    """What an inject did, kept until its heal: the tag, and which slot it took on which container."""

    tag: Tag
    net: LabNet
    hosts: list[Host] = field(default_factory=list)
    slots: dict[str, Slot] = field(default_factory=dict)  # container -> slot
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)  # container -> iptables tables its rules went to
    reached: set[str] = field(default_factory=set)  # containers an inject script may have run in: heal visits only these


class _SlotTable:
    """Slots in use per host container of one lab, in this process (a sweep at lab start clears stale ones)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, set[int]] = {}

    def take(self, container: str, who: str) -> Slot:
        with self._lock:
            used = self._used.setdefault(container, set())
            free = next((i for i in range(SLOTS) if i not in used), None)
            if free is None:
                raise FaultError(f"{who}: the host already carries {SLOTS} degradations (rate, delay, ...); heal one first")
            used.add(free)
            return Slot(free)

    def give_back(self, container: str, slot: Slot) -> None:
        with self._lock:
            self._used.get(container, set()).discard(slot.index)

    def forget(self, container: str) -> None:
        with self._lock:
            self._used.pop(container, None)


class LabNet:
    """What the network layer keeps about one lab, in ``lab.stash``: its engine and session, shells, slots, the netem probe, the sweep."""

    def __init__(self, lab: Lab, pool: Shells) -> None:
        self.engine: Engine = lab.engine
        self.session: str = lab.owner.session
        self.shells = pool
        self.slots = _SlotTable()
        self._lock = threading.Lock()
        self.netem: bool | None = None  # sch_netem in the kernel, once probed
        self._swept = False

    def run(self, host: Host, script: str) -> ExecResult:
        return self.shells.of(host).run(script)

    def first_sweep(self) -> bool:
        """True the first time it is asked (the caller sweeps), False after."""
        with self._lock:
            first, self._swept = not self._swept, True
            return first


_NET = StashKey[LabNet]("chaos.net.apply")


def lab_net(lab: Lab) -> LabNet:
    """The network layer's state of ``lab``."""
    found = lab.stash.get(_NET)
    if found is None:
        pool = shells(lab)  # outside setdefault: the stash's lock is not reentrant
        found = lab.stash.setdefault(_NET, lambda: LabNet(lab, pool))
    return found


def prepare(lab: Lab, hosts: Sequence[Host]) -> Applied:
    """A record for one inject on ``hosts`` under a fresh tag; keep it before injecting, so a heal always knows the tag.

    Example::

        applied = prepare(lab, [lab.hosts["lb1"]])
    """
    net = lab_net(lab)
    return Applied(Tag(net.session, next(_serials)), net, list(hosts))


def inject(applied: Applied, changes: Mapping[Host, Change], what: str) -> float:
    """Apply ``changes`` on their hosts in parallel; return the epoch time it all took effect.

    Effective is the latest of the hosts' times, each taken inside the namespace right after
    its last rule went in. If any host fails, every host is healed again before the error.

    Raises:
        FaultError: the kernel cannot do it (the message says what it offers) or no slot is free.
        HostCommandError: a command failed for another reason.

    Example::

        rules = partition_rules({"lb2": {"lb1"}}, addresses)
        inject(applied, {lab.hosts[h]: Change(tuple(r)) for h, r in rules.items()}, "partition(lb1->lb2)")
    """
    root = root_handle(applied.tag.session)
    plans = {host: _plan(applied, host, change, root, what) for host, change in changes.items()}
    results = parallel(lambda host: _run(applied.net, host, plans[host], reached=applied.reached), list(plans), return_exceptions=True)
    failures = [(host, result) for host, result in zip(plans, results, strict=True) if isinstance(result, BaseException)]
    if failures:
        error = _explain(applied.net, what, failures, changes)
        try:
            heal(applied)
        except Exception as heal_error:
            error.add_note(f"healing after the failure also failed: {heal_error}")
        raise error
    return max(result for result in results if isinstance(result, float))


def heal(applied: Applied) -> float:
    """Remove everything ``applied`` put in place, on every host; return the epoch the last host was clean.

    Idempotent; a host whose container is gone counts as clean (its namespace went with it).

    Raises:
        HostCommandError: something of ours could not be removed (the next heal tries again).
    """
    root = root_handle(applied.tag.session)

    def clean(host: Host) -> float | None:
        slot = applied.slots.get(host.container)
        tables = applied.tables.get(host.container, scripts.TABLES)  # unknown (inject never planned it): look everywhere
        return _run(applied.net, host, scripts.heal_script(applied.tag.prefix, root, [slot] if slot else [], tables=tables), missing_ok=True)

    visited = [host for host in applied.hosts if host.container in applied.reached]
    results = parallel(clean, visited, return_exceptions=True)
    failures = [(host, r) for host, r in zip(visited, results, strict=True) if isinstance(r, BaseException)]
    if failures:
        raise failures[0][1]
    _give_back(applied)
    times = [r for r in results if isinstance(r, float)]
    return max(times) if times else 0.0


def sweep(lab: Lab, hosts: Sequence[Host] | None = None) -> None:
    """Remove every fault's rules and shapers, and this session's qdiscs, from ``hosts`` (default: every host of ``lab``).

    Example::

        sweep(lab)
    """
    net = lab_net(lab)
    hosts = list(lab.hosts.values()) if hosts is None else list(hosts)
    script = scripts.heal_script(CHAIN_PREFIX, root_handle(net.session), drop_root=True)
    results = parallel(lambda host: _run(net, host, script, missing_ok=True), hosts, return_exceptions=True)
    for host in hosts:
        net.slots.forget(host.container)
    for result in results:  # every host was tried; report the first that could not be swept
        if isinstance(result, BaseException):
            raise result


def sweep_once(lab: Lab) -> None:
    """`sweep` ``lab`` unless it was swept before (network faults do it before their first inject there)."""
    if lab_net(lab).first_sweep():
        sweep(lab)


def netem_available(lab: Lab, host: Host) -> bool:
    """Whether the kernel under ``host`` has sch_netem; probed once per lab (its containers share one kernel)."""
    net = lab_net(lab)
    if net.netem is None:
        probe = "; ".join(NETEM_PROBE[:1]) + " 2>/dev/null && { " + NETEM_PROBE[1] + "; echo yes; } || echo no"
        net.netem = net.run(host, probe).stdout.strip() == "yes"
    return net.netem


def kernel_features(lab: Lab, host: Host) -> dict[str, bool]:
    """Which of `KERNEL_PROBES` work in ``host``'s namespace (probed on loopback and a scratch chain, then removed)."""
    return _features(lab_net(lab), host)


def _features(net: LabNet, host: Host) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for feature, commands in KERNEL_PROBES.items():
        script = " && ".join(commands) + " >/dev/null 2>&1; chaos_rc=$?; " + _PROBE_CLEANUP + "; exit $chaos_rc"
        found[feature] = net.run(host, script).ok
    return found


# -- internals --------------------------------------------------------------------------------


def _plan(applied: Applied, host: Host, change: Change, root: str, what: str) -> str:
    tag = applied.tag
    rules = list(change.rules)
    shaper = None
    tc = None
    degrade = change.degrade
    if degrade is not None:
        slot = applied.net.slots.take(host.container, f"{what} on {host.name}")
        applied.slots[host.container] = slot
        if degrade.shape is not None:
            action = queue_action(slot.queue, slot.done_bit)
            shaper = shaper_argv(degrade.shape, slot, scripts.pidfile(tag.prefix), scripts.logfile(tag.prefix), degrade.seed)
        else:
            assert degrade.leaf is not None
            action = mark_action(slot.class_mark, CLASS_MASK)
            tc = scripts.TcSlot(root, slot, degrade.leaf)
        rules += egress_rules(action, degrade.destinations, degrade.match, table="mangle", hook="POSTROUTING")
    restore = restore_input(tag, rules, what)
    applied.tables[host.container] = tuple(restore)
    return scripts.inject_script(tag.prefix, root, restore, shaper=shaper, tc=tc)


def _run(net: LabNet, host: Host, script: str, missing_ok: bool = False, reached: set[str] | None = None) -> float | None:
    """Run ``script`` in ``host``'s shell; the epoch it printed last. None when the host is gone and ``missing_ok``.

    ``reached`` collects the containers the script may have run in (a heal must visit them).
    """
    if reached is not None:
        reached.add(host.container)  # before the run: an interrupt half-way must still be healed
    engine = net.engine
    try:
        result = net.run(host, script)
    except NotReached:
        if reached is not None:
            reached.discard(host.container)
        if not engine.is_running(host.container):
            if missing_ok:
                return None
            raise
        raise HostCommandError(f"cannot reach {host!r} to change its network; is it paused?") from None
    except ContainerGone as exc:
        if not engine.is_running(host.container):
            if missing_ok:
                return None  # its namespace, and everything in it, went with the container
            raise
        # Running but unreachable (paused, say): whatever is in its namespace is still there.
        raise HostCommandError(f"cannot reach {host!r} to change its network ({exc}); is it paused?") from None
    lines = result.stdout.strip().splitlines()
    if not result.ok or not lines:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise HostCommandError(f"network change on {host!r} exited {result.rc}: {tail or '(no output)'}")
    try:
        return float(lines[-1])
    except ValueError:
        raise HostCommandError(f"network change on {host!r} printed no time: {result.stdout.strip()[-300:]!r}") from None


def _explain(net: LabNet, what: str, failures: Sequence[tuple[Host, BaseException]], changes: Mapping[Host, Change]) -> BaseException:
    """The error to raise for a failed inject: the kernel's lack of a feature the fault needs, else what the host said."""
    host, error = failures[0]
    if not isinstance(error, HostCommandError):
        return error
    needed = needs(changes[host])
    try:
        features = _features(net, host) if needed else {}
    except ContainerGone:
        return error
    missing = [name for name in needed if not features.get(name, True)]
    if missing:
        offered = ", ".join(name for name, ok in features.items() if ok) or "none of them"
        return FaultError(
            f"{what} needs {', '.join(missing)}, which this kernel lacks (probed in {host.name}); it offers: {offered}. Nothing was left applied."
        )
    return HostCommandError(f"{what} failed on {host.name}; what it had done was undone on every host: {error}")


def needs(change: Change) -> list[str]:
    """The kernel features (keys of `KERNEL_PROBES`) a change relies on.

    Example:
        >>> needs(Change(degrade=Degrade(leaf="tbf rate 1000000bit burst 3028 latency 100ms")))
        ['tc htb+u32', 'tc tbf']
    """
    found = ["iptables statistic"] if any("-m statistic" in rule.body for rule in change.rules) else []
    degrade = change.degrade
    if degrade is not None and degrade.shape is not None:
        found.append("NFQUEUE")
    elif degrade is not None and degrade.leaf is not None:
        found += ["tc htb+u32", "tc netem" if degrade.leaf.startswith("netem") else "tc tbf"]
    return found


def _give_back(applied: Applied) -> None:
    for container, slot in applied.slots.items():
        applied.net.slots.give_back(container, slot)
    applied.slots.clear()
