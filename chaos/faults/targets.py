"""Fault targets: a host name, a list of names, or a pick (`one`, `minority`, `majority`, `all`), resolved by pure functions."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

from chaos._internal.hosts import host_name
from chaos.errors import FaultError, UsageError

if TYPE_CHECKING:
    from chaos._internal.hosts import HostRef

PickKind = Literal["one", "minority", "majority", "all"]
PICKS: tuple[PickKind, ...] = ("one", "minority", "majority", "all")


@dataclass(frozen=True)
class Pick:
    """A random pick of hosts, drawn with the run's seeded random generator.

    ``among`` limits the pick to some hosts, by name or handle (default: every host of the lab).

    Example:
        >>> Pick("one", among=("lb1", "lb2"))     # one of the two balancers, never the client
        Pick(kind='one', among=('lb1', 'lb2'))
        >>> str(Pick("majority"))                 # more than half of the lab's hosts
        'majority'
    """

    kind: PickKind
    among: Sequence[HostRef] | None = None

    def __post_init__(self) -> None:
        if self.kind not in PICKS:
            raise FaultError(f"unknown pick {self.kind!r}; picks: {', '.join(PICKS)}")
        if self.among is not None:
            object.__setattr__(self, "among", _names(self.among, "among"))

    @property
    def hosts(self) -> tuple[str, ...] | None:
        """The names the pick draws from (None: every host of the lab)."""
        return None if self.among is None else tuple(map(str, self.among))

    def __str__(self) -> str:
        return self.kind if self.hosts is None else f"{self.kind} of {'|'.join(self.hosts)}"


Target: TypeAlias = "HostRef | Sequence[HostRef] | Pick"
"""A host (name or handle); a list of hosts; a pick word (``"one"``, ``"minority"``, ``"majority"``, ``"all"``); or a `Pick`.

A pick word always picks: to name a host that is called ``all``, write ``["all"]``. A fault
keeps its targets frozen (`freeze`): names, tuples of names and picks, so it is hashable data.
"""


def freeze(target: object, what: str = "target") -> str | tuple[str, ...] | Pick:
    """``target`` as immutable data: a handle becomes its name, a list a tuple of names.

    Raises:
        FaultError: not a target, an empty list, or a list naming a host twice.

    Example:
        >>> freeze(["lb1", "lb2"]), freeze("one")
        (('lb1', 'lb2'), 'one')
    """
    if isinstance(target, Pick):
        return target
    if isinstance(target, Iterable) and not isinstance(target, str | bytes):
        return _names(target, what)
    try:
        return host_name(target, what)
    except UsageError:
        raise FaultError(f"{what}={target!r} is not a target; give a host (name or handle), a list of hosts or a pick ({', '.join(PICKS)})") from None


def _names(hosts: Iterable[object], what: str) -> tuple[str, ...]:
    try:
        names = tuple(host_name(h, what) for h in hosts)
    except UsageError as exc:
        raise FaultError(str(exc)) from None
    if not names:
        raise FaultError(f"{what}: an empty list of hosts targets nothing")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FaultError(f"{what}: {list(names)!r} names {', '.join(repeated)} more than once")
    return names


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
        ('a', 'b')
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
        among = tuple(hosts) if target.hosts is None else target.hosts
        _check_names(among, hosts, f"pick {target}")
        return pick(target.kind, among, rng)
    given = _named(target)
    if isinstance(given, str):
        if given in PICKS:
            return pick(given, hosts, rng)
        _check_names((given,), hosts, repr(given))
        return (given,)
    listed = [_named(h) for h in given] if isinstance(given, Sequence) else None
    if listed is None or not all(isinstance(name, str) for name in listed):
        raise FaultError(f"a target is a host name, a list of host names or a pick ({', '.join(PICKS)}); got {target!r}; hosts: {available}")
    names = tuple(cast(list[str], listed))
    if not names:
        raise FaultError(f"an empty list of hosts targets nothing; hosts: {available}")
    _check_names(names, hosts, repr(list(names)))
    return names


def _named(value: object) -> object:
    """A host handle's name; anything else as it is (for the checks that follow)."""
    from chaos.host import Host  # the handle's module imports the engine; names need none of it

    return value.name if isinstance(value, Host) else value


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
