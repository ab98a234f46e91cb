"""What a packet capture says about a VRRP/CARP group: masters, split brain, gratuitous ARP, failover gaps.

Pure functions over packet lists (no Docker), so each is unit tested on synthetic captures.
Only a master sends adverts (RFC 5798 section 6.4.3), so "who advertises" is "who is master".
Each function takes the VIP it is about as a handle (``lab.vips["www"]``, which gives its
router id and address) or as a bare router id (``51``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeAlias

from chaos.errors import UsageError
from chaos.observe.packets import Advert, Arp, Packet
from chaos.spec.model import VipSpec

SILENCE_INTERVALS = 3.0
"""A router that sent no advert for this many of its advertised intervals has stopped being master.

Every backup's Master_Down_Interval is at least 3 intervals (3 x interval + skew), so a
longer silence is one the backups act on; a shorter one is jitter.
"""

DUPLICATE_WINDOW = 0.005
"""Two captures see the same packet within this many seconds (sender and receiver side); no protocol repeats that fast."""


class VipLike(Protocol):
    """What the analysis reads of a VIP handle (`chaos.vips.Vip` has it): its router id and its address."""

    @property
    def spec(self) -> VipSpec: ...
    @property
    def address(self) -> str: ...


VipRef: TypeAlias = "VipLike | int"
"""A VIP by handle (``lab.vips["www"]``) or by its VRRP router id / CARP vhid (``51``)."""


def router_id_of(vip: VipRef) -> int:
    """The router id of a VIP given by handle or by router id.

    Raises:
        UsageError: neither.

    Example:
        >>> router_id_of(51)
        51
    """
    if isinstance(vip, int) and not isinstance(vip, bool):
        return vip
    spec = getattr(vip, "spec", None)
    if isinstance(spec, VipSpec):
        return spec.virtual_router_id
    raise UsageError(f"vip={vip!r} is not a VIP; give its handle (lab.vips['www']) or its router id (51)")


def addresses_of(vip: VipRef) -> list[str] | None:
    """The VIP's address when given by handle (None for a bare router id: any address)."""
    if isinstance(vip, int):
        router_id_of(vip)  # refuses True and False
        return None
    router_id_of(vip)  # refuses what is not a VIP
    return [vip.address]


@dataclass(frozen=True)
class AdvertRun:
    """A stretch during which one router kept advertising for a router id, without a silence."""

    source: str
    first: float
    last: float
    count: int
    priority: int | None

    @property
    def duration(self) -> float:
        return self.last - self.first


@dataclass(frozen=True)
class Transition:
    """A router starting to advertise as master.

    Attributes:
        at: its first advert.
        master: who became master.
        previous: who was master before it (None for the first election seen).
        previous_last: the previous master's last advert before ``at``.
        gap: ``at - previous_last``: with the old master dead, the backup's Master_Down_Interval.
        is_overlapping: the previous master kept advertising after ``at`` (two masters: split brain).
    """

    at: float
    master: str
    previous: str | None = None
    previous_last: float | None = None
    gap: float | None = None
    is_overlapping: bool = False


@dataclass(frozen=True)
class SplitBrain:
    """An interval during which two or more routers advertised for the same router id."""

    start: float
    end: float
    sources: tuple[str, ...]

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Failover:
    """A change of master with the gratuitous ARP that told the network (None if none was seen)."""

    transition: Transition
    garp: Arp | None

    @property
    def garp_delay(self) -> float | None:
        """Seconds from the new master's first advert to its first gratuitous ARP."""
        return None if self.garp is None else self.garp.at - self.transition.at


def adverts_of(packets: Iterable[Packet], vip: VipRef | None = None) -> list[Advert]:
    """The adverts among ``packets`` (for one VIP, by handle or router id, when given), in time order."""
    router_id = None if vip is None else router_id_of(vip)
    found = [p for p in packets if isinstance(p, Advert) and (router_id is None or p.router_id == router_id)]
    return sorted(found, key=lambda a: a.at)


def arps_of(packets: Iterable[Packet], gratuitous: bool | None = None) -> list[Arp]:
    """The ARP packets among ``packets`` (only gratuitous ones, or only others, when asked), in time order."""
    found = [p for p in packets if isinstance(p, Arp) and (gratuitous is None or p.is_gratuitous == gratuitous)]
    return sorted(found, key=lambda a: a.at)


def runs(packets: Iterable[Packet], vip: VipRef, silence: float = SILENCE_INTERVALS) -> list[AdvertRun]:
    """Each router's stretches of advertising for ``vip``, ordered by their first advert.

    A stretch ends when the router is silent for more than ``silence`` advertised intervals.
    Adverts with priority 0 (a master resigning) do not count: they say "I am leaving".

    Example::

        [(r.source, r.first, r.last) for r in runs(capture.packets, lab.vips["www"])]
        # [('lb1', 3.41, 9.41), ('lb2', 13.02, 20.02)]
    """
    found: list[AdvertRun] = []
    open_runs: dict[str, AdvertRun] = {}
    last_interval: dict[str, float] = {}
    for advert in adverts_of(packets, router_id_of(vip)):
        if advert.priority == 0:
            continue
        current = open_runs.get(advert.source)
        if current is not None and advert.at - current.last > silence * last_interval[advert.source]:
            found.append(current)
            current = None
        if current is None:
            current = AdvertRun(advert.source, advert.at, advert.at, 0, advert.priority)
        open_runs[advert.source] = replace(current, last=advert.at, count=current.count + 1, priority=advert.priority)
        last_interval[advert.source] = advert.interval
    found.extend(open_runs.values())
    return sorted(found, key=lambda r: (r.first, r.source))


def transitions(packets: Iterable[Packet], vip: VipRef, silence: float = SILENCE_INTERVALS) -> list[Transition]:
    """Each time a router started advertising as master for ``vip``, with the gap since the previous master's last advert.

    The first one (the election) has no previous master. A router that comes back after a
    silence with nobody else in between is a transition from itself.

    Example::

        t = transitions(capture.packets, lab.vips["www"])[-1]
        (t.previous, t.master, round(t.gap, 3))
        # ('lb1', 'lb2', 3.61)
    """
    packets = list(packets)
    adverts = [a for a in adverts_of(packets, router_id_of(vip)) if a.priority != 0]
    found: list[Transition] = []
    master: AdvertRun | None = None
    for run in runs(packets, vip, silence):
        if master is None:
            found.append(Transition(run.first, run.source))
        else:
            previous_last = max(a.at for a in adverts if a.source == master.source and a.at < run.first) if master.first < run.first else None
            if previous_last is None:  # both started at the same instant: count it as a split brain, not a change
                continue
            found.append(Transition(run.first, run.source, master.source, previous_last, run.first - previous_last, master.last > run.first))
        # In a split brain the router advertising longer stays "the" master; a one-advert blip does not take over.
        master = run if master is None or run.last >= master.last else master
    return found


def split_brains(packets: Iterable[Packet], vip: VipRef, silence: float = SILENCE_INTERVALS) -> list[SplitBrain]:
    """The intervals during which two or more routers advertised for ``vip`` (each counted from its first to its last advert of a stretch).

    A single advert inside another router's stretch counts too, as an interval of zero length:
    for that moment two routers claimed to be master.

    Example::

        split_brains(capture.packets, 51)
        # [SplitBrain(start=3.2, end=12.2, sources=('lb1', 'lb2'))]
    """
    edges: list[tuple[float, int, str]] = []
    for run in runs(packets, vip, silence):
        edges += [(run.first, 0, run.source), (run.last, 1, run.source)]  # at one instant, starts before ends
    found: list[SplitBrain] = []
    active: list[str] = []
    start: float | None = None
    involved: set[str] = set()
    for at, kind, source in sorted(edges):
        if kind == 0:
            active.append(source)
            if len(active) >= 2:
                if start is None:
                    start, involved = at, set()
                involved.update(active)
        else:
            active.remove(source)
            if len(active) < 2 and start is not None:
                found.append(SplitBrain(start, at, tuple(sorted(involved))))
                start = None
    return found


def first_gratuitous_arp(
    packets: Iterable[Packet],
    after: float,
    addresses: Iterable[str] | None = None,
    before: float | None = None,
    macs: Iterable[str] | None = None,
) -> Arp | None:
    """The first gratuitous ARP after ``after`` (and before ``before``), for one of ``addresses`` and from one of ``macs`` when given.

    Example::

        first_gratuitous_arp(capture.packets, after=9.41, addresses=["172.18.255.254"]).source
        # 'lb2'
    """
    wanted = set(addresses) if addresses is not None else None
    senders = set(macs) if macs is not None else None
    for arp in arps_of(packets, gratuitous=True):
        if arp.at <= after or (wanted is not None and arp.sender_ip not in wanted) or (senders is not None and arp.sender_mac not in senders):
            continue
        if before is not None and arp.at >= before:
            return None
        return arp
    return None


def failovers(packets: Iterable[Packet], vip: VipRef, addresses: Iterable[str] | None = None, silence: float = SILENCE_INTERVALS) -> list[Failover]:
    """Each change of master (not the first election) with the first gratuitous ARP that followed it.

    The ARP is looked for from the new master (by the MAC of its adverts), after the old
    master's last advert (the new master may announce itself a moment before its first
    advert leaves) and before the next change, for ``addresses`` (default: the VIP's address
    when ``vip`` is a handle; any address for a bare router id).

    Example::

        f = failovers(capture.packets, lab.vips["www"])[0]
        (f.transition.master, round(f.transition.gap, 3), f.garp.source)
        # ('lb2', 3.61, 'lb2')
    """
    packets = list(packets)
    wanted = list(addresses) if addresses is not None else addresses_of(vip)
    changes = transitions(packets, vip, silence)
    found: list[Failover] = []
    for index, change in enumerate(changes):
        if change.previous is None or change.previous_last is None:
            continue
        later = changes[index + 1].at if index + 1 < len(changes) else None
        macs = {a.mac for a in adverts_of(packets, vip) if a.source == change.master and a.mac}
        found.append(Failover(change, first_gratuitous_arp(packets, change.previous_last, wanted, later, macs or None)))
    return found


def merge(*captures: Sequence[Packet]) -> list[Packet]:
    """Packets of several captures in time order, each packet once (two hosts see the same advert).

    Example::

        both = merge(capture_on_lb1.packets, capture_on_lb2.packets)
    """
    merged: list[Packet] = []
    recent: list[Packet] = []
    for packet in sorted((p for c in captures for p in c), key=lambda p: p.at):
        recent = [p for p in recent if packet.at - p.at <= DUPLICATE_WINDOW]
        if any(replace(p, at=0.0) == replace(packet, at=0.0) for p in recent):
            continue
        recent.append(packet)
        merged.append(packet)
    return merged
