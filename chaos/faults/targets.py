"""Fault targets: a host name, a list of names, or a pick (`one`, `minority`, `majority`, `all`), resolved by pure functions."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from chaos.errors import FaultError

PickKind = Literal["one", "minority", "majority", "all"]
PICKS: tuple[PickKind, ...] = ("one", "minority", "majority", "all")


@dataclass(frozen=True)
class Pick:
    """A random pick of hosts, drawn with the run's seeded random generator.

    ``among`` limits the pick to some hosts (default: every host of the lab).

    Example:
        >>> Pick("one", among=("lb1", "lb2"))     # one of the two balancers, never the client
        >>> Pick("majority")                      # more than half of the lab's hosts
    """

    kind: PickKind
    among: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in PICKS:
            raise FaultError(f"unknown pick {self.kind!r}; picks: {', '.join(PICKS)}")
        if self.among is not None:
            object.__setattr__(self, "among", tuple(self.among))

    def __str__(self) -> str:
        return self.kind if self.among is None else f"{self.kind} of {'|'.join(self.among)}"


Target: TypeAlias = "str | Sequence[str] | Pick"
"""A host name; a list of host names; a pick word (``"one"``, ``"minority"``, ``"majority"``, ``"all"``); or a `Pick`.

A pick word always picks: to name a host that is called ``all``, write ``["all"]``.
"""


def size(kind: PickKind, count: int) -> int:
    """How many of ``count`` hosts a pick takes: one 1, minority ⌊(n-1)/2⌋, majority ⌊n/2⌋+1, all n.

    A minority is strictly fewer than half and a majority strictly more, as in a quorum:
    of 5 hosts a minority is 2 and a majority 3; of 2 hosts a minority is empty.

    Example:
        >>> size("minority", 5), size("majority", 5)
        (2, 3)
    """
    return {"one": min(1, count), "minority": max(0, (count - 1) // 2), "majority": count // 2 + 1 if count else 0, "all": count}[kind]


def pick(kind: PickKind, hosts: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """Draw ``kind`` of ``hosts`` with ``rng``; the result keeps the order of ``hosts``.

    Raises:
        FaultError: the pick is empty (no hosts, or a minority of fewer than 3).

    Example:
        >>> pick("majority", ["a", "b", "c"], random.Random(7))
        ('a', 'c')
    """
    hosts = list(hosts)
    k = size(kind, len(hosts))
    if k == 0:
        raise FaultError(f"a {kind} of {len(hosts)} host(s) ({', '.join(hosts) or 'none'}) is empty; a minority needs at least 3 hosts")
    chosen = set(rng.sample(hosts, k))
    return tuple(h for h in hosts if h in chosen)


def resolve(target: Target, hosts: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """The host names ``target`` stands for in a lab whose hosts are ``hosts`` (in spec order).

    Raises:
        FaultError: an unknown or repeated host, an empty list, or an empty pick; the message
            names what was asked and lists the hosts that exist.

    Example:
        >>> resolve("lb1", ["lb1", "lb2", "client"], random.Random(0))
        ('lb1',)
        >>> resolve("one", ["lb1", "lb2", "client"], random.Random(0))
        ('lb2',)
    """
    available = ", ".join(hosts) or "none"
    if isinstance(target, Pick):
        among = tuple(hosts) if target.among is None else target.among
        _check_names(among, hosts, f"pick {target}")
        return pick(target.kind, among, rng)
    if isinstance(target, str):
        if target in PICKS:
            return pick(target, hosts, rng)
        _check_names((target,), hosts, repr(target))
        return (target,)
    if not isinstance(target, Sequence) or not all(isinstance(name, str) for name in target):
        raise FaultError(f"a target is a host name, a list of host names or a pick ({', '.join(PICKS)}); got {target!r}; hosts: {available}")
    names = tuple(target)
    if not names:
        raise FaultError(f"an empty list of hosts targets nothing; hosts: {available}")
    _check_names(names, hosts, repr(list(names)))
    return names


def _check_names(names: Sequence[str], hosts: Sequence[str], asked: str) -> None:
    unknown = [n for n in names if n not in hosts]
    if unknown:
        which = "host" if len(unknown) == 1 else "hosts"
        raise FaultError(f"unknown {which} {', '.join(map(repr, unknown))} in {asked}; the lab's hosts: {', '.join(hosts) or 'none'}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FaultError(f"{asked} names {', '.join(repeated)} more than once")


def describe(target: object) -> str:
    """How a target reads in a fault's label: ``lb1``, ``lb1|lb2``, ``one``, ``one of lb1|lb2``."""
    if isinstance(target, str | Pick):
        return str(target)
    if isinstance(target, Sequence):
        return "|".join(map(str, target))
    return repr(target)
