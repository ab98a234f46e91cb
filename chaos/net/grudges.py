"""Jepsen-style grudges: who drops whose packets, computed from host names by plain functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

from chaos.errors import FaultError

Grudge: TypeAlias = dict[str, frozenset[str]]
"""``{host: hosts whose packets it drops}``; a packet from ``a`` to ``b`` is lost when ``a in grudge[b]``.

Hosts that drop nothing are left out, so ``{}`` is a healed network.
"""


def complete(components: Sequence[Iterable[str]]) -> Grudge:
    """Cut every link between components; inside a component everyone still talks.

    A host absent from every component is untouched. A host in two components (an
    overlapping partition) hears both; it drops only hosts it shares no component with.

    Example:
        >>> {host: sorted(dropped) for host, dropped in complete([["a", "b"], ["c"]]).items()}
        {'a': ['c'], 'b': ['c'], 'c': ['a', 'b']}
    """
    groups = [list(dict.fromkeys(c)) for c in components]
    if any(not g for g in groups):
        raise FaultError(f"a partition component is empty: {[list(g) for g in groups]}")
    hosts = list(dict.fromkeys(h for g in groups for h in g))
    grudge: Grudge = {}
    for host in hosts:
        friends = {h for g in groups if host in g for h in g}
        enemies = frozenset(h for h in hosts if h not in friends)
        if enemies:
            grudge[host] = enemies
    return grudge


def bisect(hosts: Sequence[str]) -> list[list[str]]:
    """Two halves; with an odd count the first is the smaller (Jepsen's ``bisect``).

    Example:
        >>> bisect(["a", "b", "c", "d", "e"])
        [['a', 'b'], ['c', 'd', 'e']]
    """
    _need(hosts, 2, "bisect")
    middle = len(hosts) // 2
    return [list(hosts[:middle]), list(hosts[middle:])]


def split_one(hosts: Sequence[str], loner: str | None = None) -> list[list[str]]:
    """One host (the first, or ``loner``) alone, everyone else together.

    Example:
        >>> split_one(["a", "b", "c"], "b")
        [['b'], ['a', 'c']]
    """
    _need(hosts, 2, "split_one")
    loner = hosts[0] if loner is None else loner
    _known([loner], hosts)
    return [[loner], [h for h in hosts if h != loner]]


def majority_minority(hosts: Sequence[str]) -> list[list[str]]:
    """The first ⌊n/2⌋+1 hosts (a majority) against the rest (a minority); shuffle first for a random split.

    Example:
        >>> majority_minority(["a", "b", "c", "d", "e"])
        [['a', 'b', 'c'], ['d', 'e']]
    """
    _need(hosts, 2, "majority_minority")
    majority = len(hosts) // 2 + 1
    return [list(hosts[:majority]), list(hosts[majority:])]


def bridge(hosts: Sequence[str]) -> Grudge:
    """Two halves that cannot talk, except through one bridge host that both sides hear (Jepsen's ``bridge``).

    The bridge is the first host of the second half of `bisect`.

    Example:
        >>> {host: sorted(dropped) for host, dropped in bridge(["a", "b", "c", "d", "e"]).items()}
        {'a': ['d', 'e'], 'b': ['d', 'e'], 'd': ['a', 'b'], 'e': ['a', 'b']}
    """
    _need(hosts, 3, "bridge")
    first, second = bisect(hosts)
    return complete([first + second[:1], second])


def majorities_ring(hosts: Sequence[str]) -> Grudge:
    """Every host hears a majority, and no two hosts hear the same majority (Jepsen's ``majorities-ring``).

    The hosts sit on a ring in the given order; each hears the ⌊n/2⌋+1 hosts of the window
    it is the middle of and drops the rest. With an even window a host hears one more on one
    side than the other, so some grudges are one-way, as in Jepsen. Shuffle first for a random ring.

    Example:
        >>> sorted(majorities_ring(["a", "b", "c", "d", "e"])["a"])
        ['c', 'd']
    """
    _need(hosts, 3, "majorities_ring")
    count = len(hosts)
    window = count // 2 + 1
    ring = list(hosts)
    grudge: Grudge = {}
    for start in range(count):
        heard = [ring[(start + i) % count] for i in range(window)]
        middle = heard[window // 2]
        dropped = frozenset(h for h in ring if h not in heard)
        if dropped:
            grudge[middle] = dropped
    return grudge


def one_way(sources: Iterable[str], destinations: Iterable[str]) -> Grudge:
    """Packets from ``sources`` to ``destinations`` are lost; the other way they arrive.

    Example:
        >>> one_way(["a"], ["b", "c"])
        {'b': frozenset({'a'}), 'c': frozenset({'a'})}
    """
    senders = frozenset(sources)
    receivers = list(dict.fromkeys(destinations))
    if not senders or not receivers:
        raise FaultError("a one-way partition needs at least one source and one destination host")
    overlap = senders.intersection(receivers)
    if overlap:
        raise FaultError(f"a one-way partition cannot cut a host off from itself: {', '.join(sorted(overlap))} on both sides")
    return {host: senders for host in receivers}


def links(pairs: Iterable[tuple[str, str]], both_ways: bool = True) -> Grudge:
    """Cut individual links (a partial partition): each ``(a, b)`` loses a→b, and b→a when ``both_ways``.

    Example:
        >>> links([("a", "b")], both_ways=False)
        {'b': frozenset({'a'})}
    """
    cut: dict[str, set[str]] = {}
    for a, b in pairs:
        if a == b:
            raise FaultError(f"a link from {a} to itself cannot be cut")
        cut.setdefault(b, set()).add(a)
        if both_ways:
            cut.setdefault(a, set()).add(b)
    return {host: frozenset(sources) for host, sources in cut.items()}


def union(*grudges: Mapping[str, Iterable[str]]) -> Grudge:
    """Every packet any of ``grudges`` drops (overlapping partitions).

    Example:
        >>> {host: sorted(dropped) for host, dropped in union({"a": {"b"}}, {"a": {"c"}, "c": {"a"}}).items()}
        {'a': ['b', 'c'], 'c': ['a']}
    """
    merged: dict[str, set[str]] = {}
    for grudge in grudges:
        for host, sources in grudge.items():
            merged.setdefault(host, set()).update(sources)
    return {host: frozenset(sources) for host, sources in merged.items() if sources}


def hosts_of(grudge: Mapping[str, Iterable[str]]) -> list[str]:
    """Every host a grudge touches, droppers and dropped, sorted."""
    return sorted(set(grudge).union(*(set(s) for s in grudge.values())))


def cut_links(grudge: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """The directed links ``(sender, receiver)`` a grudge cuts, sorted.

    Example:
        >>> cut_links({"b": {"a"}})
        [('a', 'b')]
    """
    return sorted((source, host) for host, sources in grudge.items() for source in sources)


def describe(grudge: Mapping[str, Iterable[str]]) -> str:
    """A short text for the timeline: ``a<->b, a->c`` (``a->c``: packets from a to c are lost).

    Example:
        >>> describe(complete([["a"], ["b"]]))
        'a<->b'
    """
    cut = set(cut_links(grudge))
    parts = []
    for sender, receiver in sorted(cut):
        if (receiver, sender) in cut:
            if sender < receiver:
                parts.append(f"{sender}<->{receiver}")
        else:
            parts.append(f"{sender}->{receiver}")
    return ", ".join(parts) or "nothing cut"


def _need(hosts: Sequence[str], count: int, what: str) -> None:
    if len(hosts) < count:
        raise FaultError(f"{what} needs at least {count} hosts; got {len(hosts)}: {', '.join(hosts) or 'none'}")
    repeated = sorted({h for h in hosts if list(hosts).count(h) > 1})
    if repeated:
        raise FaultError(f"{what}: host(s) listed more than once: {', '.join(repeated)}")


def _known(names: Iterable[str], hosts: Sequence[str]) -> None:
    unknown = [n for n in names if n not in hosts]
    if unknown:
        raise FaultError(f"unknown host(s) {', '.join(map(repr, unknown))}; hosts: {', '.join(hosts)}")
