"""Network faults: partitions (symmetric, one-way, partial, filtered by protocol and port), blackholes, and link degradation.

Every change is made inside the target hosts' own network namespaces (iptables, tc and the
userspace shaper, run by a shell each host gets through the Docker API) and carries the
fault's tag, so heal removes exactly what the fault added. See `chaos.net` for the parts.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from chaos.errors import FaultError, HostCommandError
from chaos.faults import targets as _targets
from chaos.faults.base import Claim, Fault, Injection
from chaos.faults.targets import Target
from chaos.net import apply as _apply
from chaos.net import grudges
from chaos.net.rules import Match, Rule, blackhole_rules, egress_rules, loss_action, partition_rules
from chaos.net.shaping import PathChoice, Shape, check_percent, choose_path, milliseconds, netem_leaf, parse_rate, tbf_leaf

if TYPE_CHECKING:
    from chaos.lab import Lab

Ports: TypeAlias = "int | tuple[int, ...] | None"
Strategy: TypeAlias = "str | Callable[[list[str]], Any]"
STRATEGIES = ("bisect", "split_one", "majority_minority", "bridge", "majorities_ring")


# -- the common part: filters, addresses, inject and heal through chaos.net.apply -------------------


class _NetworkFault(Fault):
    """A fault made of iptables rules (and maybe one degradation) on some hosts; subclasses say which."""

    protocol: str | int | None
    port: Ports
    network: str | None

    def changes(self, run: Injection) -> dict[str, _apply.Change]:
        """``{host name: Change}`` for this injection (called by apply, after resolve)."""
        raise NotImplementedError

    def apply(self, run: Injection) -> float | None:
        changes = self.changes(run)
        applied = _apply.prepare(run.lab.owner.session, run.lab.engine, [run.host(h) for h in changes])
        run.state["applied"] = applied  # before anything runs: a heal after a half-done inject finds the tag
        return _apply.inject(applied, {run.host(h): c for h, c in changes.items()}, str(self))

    def revert(self, run: Injection) -> float | None:
        applied = run.state.get("applied")
        if applied is None:
            return None
        healed = _apply.heal(applied)
        del run.state["applied"]
        return healed or None

    def _match(self, run: Injection) -> Match:
        match = Match.of(self.protocol, self.port)
        if self.network is not None and self.network not in run.lab.networks:
            raise FaultError(f"unknown network {self.network!r}; the lab's networks: {', '.join(run.lab.networks) or 'none'}")
        return match

    def _addresses(self, run: Injection, hosts: Iterable[str]) -> dict[str, list[str]]:
        """Each host's addresses, on ``self.network`` only when set (a host not on it has none there)."""
        found: dict[str, list[str]] = {}
        for host in hosts:
            addresses = run.host(host).addresses
            if self.network is not None:
                addresses = {self.network: addresses[self.network]} if self.network in addresses else {}
            found[host] = [a for a in addresses.values() if a]
        return found


_swept: weakref.WeakSet[Lab] = weakref.WeakSet()
_swept_lock = threading.Lock()


def _sweep_once(lab: Lab) -> None:
    """Before the first network fault on a lab, clear what earlier runs may have left (a kept lab, a killed run)."""
    with _swept_lock:
        if lab in _swept:
            return
        _swept.add(lab)
    with contextlib.suppress(HostCommandError):
        # Best effort: a host that cannot be reached now (paused) keeps what it has; a fault on it will say so.
        _apply.sweep(lab.engine, list(lab.hosts.values()), lab.owner.session)


# -- partitions -----------------------------------------------------------------------------------


class _Cut(_NetworkFault):
    """A partition: a grudge computed at bind time, applied as drop rules on both ends of every cut link."""

    def grudge(self, run: Injection) -> grudges.Grudge:
        raise NotImplementedError

    def resolve(self, run: Injection) -> Sequence[str]:
        match = self._match(run)
        grudge = self.grudge(run)
        if not grudge:
            raise FaultError("this partition cuts no link: every host can still reach every other")
        hosts = grudges.hosts_of(grudge)
        run.state["grudge"], run.state["match"] = grudge, match
        addresses = self._addresses(run, hosts)
        missing = [h for h, a in addresses.items() if not a]
        if missing:
            raise FaultError(f"host(s) {', '.join(missing)} have no address on network {self.network!r}; nothing to cut there")
        _sweep_once(run.lab)
        return [h for h in run.lab.hosts if h in hosts]

    def claims(self, run: Injection) -> Iterable[Claim]:
        # One claim per cut link (and filter): two partitions may overlap, the same cut twice may not.
        match = run.state["match"].describe()
        where = f" on {self.network}" if self.network else ""
        return [Claim("partition", f"{a}->{b}{' ' + match if match else ''}{where}") for a, b in grudges.cut_links(run.state["grudge"])]

    def changes(self, run: Injection) -> dict[str, _apply.Change]:
        grudge = run.state["grudge"]
        rules = partition_rules(grudge, self._addresses(run, grudges.hosts_of(grudge)), run.state["match"])
        return {host: _apply.Change(tuple(r)) for host, r in rules.items()}


def _lab_hosts(run: Injection) -> list[str]:
    return list(run.lab.hosts)


@dataclass(frozen=True)
class Partition(_Cut):
    """Hosts in different groups cannot reach each other; inside a group they can. One group: it against the rest."""

    groups: tuple[Target, ...]
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "partition"

    def grudge(self, run: Injection) -> grudges.Grudge:
        hosts = _lab_hosts(run)
        components = [list(_targets.resolve(group, hosts, run.rng)) for group in self.groups]
        if len(components) == 1:
            rest = [h for h in hosts if h not in components[0]]
            if not rest:
                raise FaultError(f"partition({_targets.describe(self.groups[0])}) leaves no other host to cut it from")
            components.append(rest)
        return grudges.complete(components)

    def __str__(self) -> str:
        words = ["|".join(_targets.describe(g) for g in self.groups), *_filters(self)]
        return f"{self.name}({', '.join(words)})"


def partition(*groups: Target, protocol: str | int | None = None, port: Ports = None, network: str | None = None) -> Partition:
    """Cut the lab into groups that cannot reach each other (both ways); healing joins them again.

    Args:
        groups: two or more groups (a host, a list of hosts, or a pick such as ``"one"``); a
            single group is cut from every other host of the lab. A host in two groups hears
            both (an overlapping partition). ``partition([["a"], ["b", "c"]])`` works too.
        protocol: drop only this IP protocol (``"vrrp"``/``112``, ``"tcp"``, ``"udp"``, ``"icmp"``, a number).
        port: drop only these ports (source or destination; TCP and UDP when no protocol is given).
        network: cut only the addresses on this lab network.

    Example:
        >>> chaos.inject(faults.partition("lb1"))                            # lb1 | everyone else
        >>> chaos.inject(faults.partition(["lb1", "lb2"], "client"))
        >>> chaos.inject(faults.partition("lb1", "lb2", protocol="vrrp"))    # adverts lost, HTTP flows: split brain
    """
    if len(groups) == 1 and _is_list_of_groups(groups[0]):
        groups = tuple(groups[0])  # type: ignore[arg-type]  # a list of groups, spelled as one argument
    if not groups:
        raise FaultError("partition() needs at least one group of hosts")
    return Partition(tuple(_freeze(g) for g in groups), protocol, _ports(port), network)


@dataclass(frozen=True)
class PartitionBy(_Cut):
    """A partition computed by a Jepsen-style strategy over the lab's hosts (shuffled with the run's seed)."""

    strategy: Strategy
    among: tuple[str, ...] | None = None
    shuffle: bool = True
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "partition"

    def grudge(self, run: Injection) -> grudges.Grudge:
        hosts = list(_targets.resolve(list(self.among), _lab_hosts(run), run.rng)) if self.among else _lab_hosts(run)
        if self.shuffle:
            run.rng.shuffle(hosts)
        strategy = self.strategy
        if isinstance(strategy, str):
            if strategy not in STRATEGIES:
                raise FaultError(f"unknown partition strategy {strategy!r}; strategies: {', '.join(STRATEGIES)}, or a function of the host list")
            strategy = getattr(grudges, strategy)
        result = strategy(hosts)
        if isinstance(result, Mapping):
            return {h: frozenset(s) for h, s in result.items() if s}
        return grudges.complete(result)

    def __str__(self) -> str:
        how = self.strategy if isinstance(self.strategy, str) else getattr(self.strategy, "__name__", "custom")
        words = [str(how), *(["among=" + "|".join(self.among)] if self.among else []), *_filters(self)]
        return f"{self.name}({', '.join(words)})"


def partition_by(
    strategy: Strategy,
    among: Sequence[str] | None = None,
    shuffle: bool = True,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
) -> PartitionBy:
    """A partition drawn by a strategy, as Jepsen's nemesis does: the hosts are shuffled with the run's seed first.

    Args:
        strategy: ``"bisect"`` (two halves), ``"split_one"`` (one host alone), ``"majority_minority"``,
            ``"bridge"`` (two halves talking only through one host), ``"majorities_ring"`` (everyone
            sees a majority, no two the same), or a function of the host list returning groups or a grudge.
        among: only these hosts (default: all); the others are untouched.
        shuffle: shuffle the hosts with the run's random generator (``--chaos-seed``) first.

    Example:
        >>> chaos.inject(faults.partition_by("majorities_ring"))
        >>> chaos.inject(faults.partition_by("bridge", among=["n1", "n2", "n3", "n4", "n5"]))
    """
    return PartitionBy(strategy, tuple(among) if among else None, shuffle, protocol, _ports(port), network)


@dataclass(frozen=True)
class OneWay(_Cut):
    """Packets from the sources to the destinations are lost; the other way they still arrive."""

    sources: Target
    destinations: Target
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "one_way"

    def grudge(self, run: Injection) -> grudges.Grudge:
        hosts = _lab_hosts(run)
        return grudges.one_way(_targets.resolve(self.sources, hosts, run.rng), _targets.resolve(self.destinations, hosts, run.rng))

    def __str__(self) -> str:
        words = [f"{_targets.describe(self.sources)}->{_targets.describe(self.destinations)}", *_filters(self)]
        return f"{self.name}({', '.join(words)})"


def one_way(sources: Target, destinations: Target, protocol: str | int | None = None, port: Ports = None, network: str | None = None) -> OneWay:
    """A one-way partition: ``sources`` cannot reach ``destinations``; ``destinations`` still reach ``sources``.

    Only packets in one direction are lost, so a request from a destination arrives and its
    answer does not: to the application both directions look broken, to the wire they do not.

    Example:
        >>> chaos.inject(faults.one_way("lb1", "lb2", protocol="vrrp"))    # lb2 stops hearing lb1's adverts
    """
    return OneWay(_freeze(sources), _freeze(destinations), protocol, _ports(port), network)


@dataclass(frozen=True)
class CutLinks(_Cut):
    """Individual links cut (a partial partition), both ways or one way."""

    links: tuple[tuple[str, str], ...]
    both_ways: bool = True
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "cut_links"

    def grudge(self, run: Injection) -> grudges.Grudge:
        for a, b in self.links:
            _targets.resolve([a, b] if a != b else [a], _lab_hosts(run), run.rng)
        return grudges.links(self.links, self.both_ways)

    def __str__(self) -> str:
        arrow = "<->" if self.both_ways else "->"
        words = [", ".join(f"{a}{arrow}{b}" for a, b in self.links), *_filters(self)]
        return f"{self.name}({', '.join(words)})"


def cut_links(
    links: Iterable[tuple[str, str]], both_ways: bool = True, protocol: str | int | None = None, port: Ports = None, network: str | None = None
) -> CutLinks:
    """Cut the given links only (a partial partition: ``a`` and ``c`` may both still reach ``b``).

    Example:
        >>> chaos.inject(faults.cut_links([("lb1", "lb2")]))                   # the balancers lose each other, the client sees both
        >>> chaos.inject(faults.cut_links([("lb1", "client")], both_ways=False))   # lb1 -> client lost
    """
    pairs = tuple((str(a), str(b)) for a, b in links)
    if not pairs:
        raise FaultError("cut_links() needs at least one (sender, receiver) pair")
    return CutLinks(pairs, both_ways, protocol, _ports(port), network)


# -- blackhole ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blackhole(_NetworkFault):
    """What arrives for a port on the target hosts vanishes: no answer, no reset; connections hang until they time out."""

    target: Target
    port: Ports
    protocol: str | int | None = "tcp"
    sources: Target | None = None
    network: str | None = None
    name: ClassVar[str] = "blackhole"

    def resolve(self, run: Injection) -> Sequence[str]:
        if self.port is None:
            raise FaultError("blackhole needs a port")
        run.state["match"] = self._match(run)
        senders = _targets.resolve(self.sources, _lab_hosts(run), run.rng) if self.sources is not None else ()
        run.state["sources"] = [a for addresses in self._addresses(run, senders).values() for a in addresses]
        if senders and not run.state["sources"]:
            raise FaultError(f"the sources {', '.join(senders)} have no address on network {self.network!r}")
        hosts = super().resolve(run)
        off = [h for h, addresses in self._addresses(run, hosts).items() if not addresses]
        if self.network and off:
            raise FaultError(f"host(s) {', '.join(off)} have no address on network {self.network!r}")
        _sweep_once(run.lab)
        return hosts

    def claims(self, run: Injection) -> Iterable[Claim]:
        return [Claim("blackhole", f"{host}:{run.state['match'].describe()}") for host in run.targets]

    def changes(self, run: Injection) -> dict[str, _apply.Change]:
        changes = {}
        for host in run.targets:
            destinations = self._addresses(run, [host])[host] if self.network else [""]
            rules = [r for d in destinations for r in blackhole_rules(run.state["match"], run.state["sources"], d)]
            changes[host] = _apply.Change(tuple(rules))
        return changes


def blackhole(
    target: Target, port: int | Iterable[int], protocol: str | int | None = "tcp", sources: Target | None = None, network: str | None = None
) -> Blackhole:
    """Make a port of the target hosts a black hole: packets to it are dropped silently (no RST, no ICMP).

    Args:
        protocol: ``"tcp"`` (default), ``"udp"``, or None for both.
        sources: only packets from these hosts (default: from anywhere).
        network: only the port on the host's address on this network (and sources' addresses there).

    Example:
        >>> chaos.inject(faults.blackhole("lb1", 80))     # health checks to lb1:80 hang
    """
    return Blackhole(_freeze(target), _ports(port), protocol, None if sources is None else _freeze(sources), network)


# -- degradation: loss, rate, delay, jitter, duplicate, corrupt, reorder ------------------------------


class _Degrade(_NetworkFault):
    """Egress degradation on the target hosts, toward ``to`` (hosts), or a network, or everywhere but loopback."""

    target: Target
    to: Target | None

    def resolve(self, run: Injection) -> Sequence[str]:
        run.state["match"] = self._match(run)
        hosts = super().resolve(run)
        if self.to is not None:
            peers = _targets.resolve(self.to, _lab_hosts(run), run.rng)
            destinations = [a for addresses in self._addresses(run, peers).values() for a in addresses]
            if not destinations:
                raise FaultError(f"{', '.join(peers)} have no address on network {self.network!r}")
        elif self.network is not None:
            destinations = [run.lab.networks[self.network].subnet]
        else:
            destinations = []
        run.state["destinations"] = tuple(destinations)
        self.validate(run, hosts)
        _sweep_once(run.lab)
        return hosts

    def validate(self, run: Injection, hosts: Sequence[str]) -> None:
        """Check the fault's own arguments at bind time (``hosts``: the resolved targets)."""

    def degrade(self, run: Injection) -> _apply.Degrade | None:
        """The slot-holding part (tc leaf or shaper), or None for plain rules."""
        return None

    def rules(self, run: Injection) -> tuple[Rule, ...]:
        return ()

    def changes(self, run: Injection) -> dict[str, _apply.Change]:
        return {host: _apply.Change(self.rules(run), self.degrade(run)) for host in run.targets}

    def _seed(self, run: Injection) -> int:
        return run.rng.getrandbits(31)


@dataclass(frozen=True)
class Loss(_Degrade):
    """A random share of the packets leaving the target hosts is dropped (iptables ``statistic``)."""

    target: Target
    percent: float
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "loss"

    def validate(self, run: Injection, hosts: Sequence[str]) -> None:
        check_percent(self.percent, "loss")

    def rules(self, run: Injection) -> tuple[Rule, ...]:
        return tuple(egress_rules(loss_action(self.percent), run.state["destinations"], run.state["match"]))


def loss(
    target: Target, percent: float, to: Target | None = None, protocol: str | int | None = None, port: Ports = None, network: str | None = None
) -> Loss:
    """Drop ``percent`` of the packets the target hosts send (to ``to`` only, when given), at random.

    Each packet is dropped on its own with that probability, so over n packets the count lost
    is binomial: 1,000 pings at 30% lose 300 ± 14.5 (one standard deviation).

    Example:
        >>> chaos.inject(faults.loss("lb1", 30))                      # a third of lb1's answers lost
        >>> chaos.inject(faults.loss("client", 5, to="lb1", protocol="tcp", port=80))
    """
    check_percent(percent, "loss")
    return Loss(_freeze(target), float(percent), None if to is None else _freeze(to), protocol, _ports(port), network)


@dataclass(frozen=True)
class Rate(_Degrade):
    """The target hosts send at most ``rate`` (tc tbf in an HTB class; packets beyond queue up, then drop)."""

    target: Target
    rate: str | int
    burst: int | None = None
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    name: ClassVar[str] = "rate"

    def validate(self, run: Injection, hosts: Sequence[str]) -> None:
        tbf_leaf(parse_rate(self.rate), self.burst)

    def degrade(self, run: Injection) -> _apply.Degrade | None:
        return _apply.Degrade(run.state["destinations"], run.state["match"], leaf=tbf_leaf(parse_rate(self.rate), self.burst))


def rate(
    target: Target,
    rate: str | int,
    burst: int | None = None,
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
) -> Rate:
    """Cap what the target hosts send at ``rate`` (``"1mbit"``, ``"512kbit"``, ``"10mbps"`` in bytes, or bits per second).

    Args:
        burst: bytes sent at full speed before the cap bites (default: 10 ms worth, at least two frames).

    Example:
        >>> chaos.inject(faults.rate("lb1", "1mbit", to="client"))
    """
    parse_rate(rate)
    return Rate(_freeze(target), rate, burst, None if to is None else _freeze(to), protocol, _ports(port), network)


class _Shaped(_Degrade):
    """netem-like shaping: tc netem where the kernel has it, else the userspace shaper on NFQUEUE; the same either way."""

    path: PathChoice

    def shape(self) -> Shape:
        raise NotImplementedError

    def validate(self, run: Injection, hosts: Sequence[str]) -> None:
        self.shape()
        # Every container runs on the engine's one kernel: probing one host answers for all.
        netem = self.path != "userspace" and _apply.netem_available(run.lab.engine, run.host(hosts[0]))
        run.state["path"] = choose_path(self.path, netem)

    def degrade(self, run: Injection) -> _apply.Degrade | None:
        shape = self.shape()
        if run.state["path"] == "netem":
            return _apply.Degrade(run.state["destinations"], run.state["match"], leaf=netem_leaf(shape))
        return _apply.Degrade(run.state["destinations"], run.state["match"], shape=shape, seed=self._seed(run))


@dataclass(frozen=True)
class Delay(_Shaped):
    """Every packet the target hosts send leaves ``delay`` late (± ``jitter``, uniform)."""

    target: Target
    delay: str | float
    jitter: str | float = 0.0
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    path: PathChoice = "auto"
    name: ClassVar[str] = "delay"

    def shape(self) -> Shape:
        return Shape(delay_ms=milliseconds(self.delay, "delay"), jitter_ms=milliseconds(self.jitter, "jitter"))


def delay(
    target: Target,
    delay: str | float,
    jitter: str | float = 0.0,
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
    path: PathChoice = "auto",
) -> Delay:
    """Hold every packet the target hosts send for ``delay`` (``"100ms"`` or seconds), plus or minus ``jitter``.

    A round trip through one delayed host grows by ``delay``. ``path`` picks tc netem or the
    userspace shaper (``"auto"``: netem when the kernel has it); both behave the same.

    Example:
        >>> chaos.inject(faults.delay("lb2", "100ms"))       # pings to lb2 take 100 ms longer
    """
    fault = Delay(_freeze(target), delay, jitter, None if to is None else _freeze(to), protocol, _ports(port), network, path)
    fault.shape()
    return fault


@dataclass(frozen=True)
class Jitter(_Shaped):
    """Packets leave ``delay`` ± ``jitter`` late, uniformly spread (so they may overtake each other, as with netem)."""

    target: Target
    jitter: str | float
    delay: str | float | None = None
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    path: PathChoice = "auto"
    name: ClassVar[str] = "jitter"

    def shape(self) -> Shape:
        spread = milliseconds(self.jitter, "jitter")
        base = milliseconds(self.delay, "delay") if self.delay is not None else spread
        return Shape(delay_ms=base, jitter_ms=spread)


def jitter(
    target: Target,
    jitter: str | float,
    delay: str | float | None = None,
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
    path: PathChoice = "auto",
) -> Jitter:
    """Spread the departure of the target hosts' packets over ``delay`` ± ``jitter`` (``delay`` defaults to ``jitter``: 0 .. 2 * jitter).

    Example:
        >>> chaos.inject(faults.jitter("lb1", "20ms", delay="50ms"))     # 30..70 ms
    """
    fault = Jitter(_freeze(target), jitter, delay, None if to is None else _freeze(to), protocol, _ports(port), network, path)
    fault.shape()
    return fault


@dataclass(frozen=True)
class Duplicate(_Shaped):
    """A share of the packets the target hosts send arrives twice."""

    target: Target
    percent: float
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    path: PathChoice = "auto"
    name: ClassVar[str] = "duplicate"

    def shape(self) -> Shape:
        return Shape(duplicate=check_percent(self.percent, "duplicate"))


def duplicate(
    target: Target,
    percent: float,
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
    path: PathChoice = "auto",
) -> Duplicate:
    """Send ``percent`` of the target hosts' packets twice.

    Example:
        >>> chaos.inject(faults.duplicate("lb1", 50))      # ping reports DUP! for about half the answers
    """
    fault = Duplicate(_freeze(target), float(percent), None if to is None else _freeze(to), protocol, _ports(port), network, path)
    fault.shape()
    return fault


@dataclass(frozen=True)
class Corrupt(_Shaped):
    """A share of the packets the target hosts send has one bit flipped after the IP header; the receiver's checksum drops them."""

    target: Target
    percent: float
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    path: PathChoice = "auto"
    name: ClassVar[str] = "corrupt"

    def shape(self) -> Shape:
        return Shape(corrupt=check_percent(self.percent, "corrupt"))


def corrupt(
    target: Target,
    percent: float,
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
    path: PathChoice = "auto",
) -> Corrupt:
    """Flip one random bit in ``percent`` of the target hosts' packets (TCP, UDP and ICMP checksums catch it: those packets are lost).

    Example:
        >>> chaos.inject(faults.corrupt("lb1", 10))
    """
    fault = Corrupt(_freeze(target), float(percent), None if to is None else _freeze(to), protocol, _ports(port), network, path)
    fault.shape()
    return fault


@dataclass(frozen=True)
class Reorder(_Shaped):
    """``percent`` of the packets leave at once, the rest ``delay`` late, so the prompt ones overtake the held ones (netem's reorder)."""

    target: Target
    percent: float
    delay: str | float = "10ms"
    to: Target | None = None
    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None
    path: PathChoice = "auto"
    name: ClassVar[str] = "reorder"

    def shape(self) -> Shape:
        return Shape(delay_ms=milliseconds(self.delay, "delay"), reorder=check_percent(self.percent, "reorder"))


def reorder(
    target: Target,
    percent: float,
    delay: str | float = "10ms",
    to: Target | None = None,
    protocol: str | int | None = None,
    port: Ports = None,
    network: str | None = None,
    path: PathChoice = "auto",
) -> Reorder:
    """Reorder the target hosts' packets: ``percent`` go at once, the others ``delay`` late.

    Example:
        >>> chaos.inject(faults.reorder("lb1", 25, delay="20ms"))
    """
    fault = Reorder(_freeze(target), float(percent), delay, None if to is None else _freeze(to), protocol, _ports(port), network, path)
    fault.shape()
    return fault


# -- helpers ----------------------------------------------------------------------------------------


def _filters(fault: _NetworkFault) -> list[str]:
    words = []
    if fault.protocol is not None:
        words.append(f"protocol={fault.protocol}")
    if fault.port is not None:
        words.append(f"port={fault.port}")
    if fault.network is not None:
        words.append(f"network={fault.network}")
    return words


def _freeze(target: Any) -> Any:
    """A target as an immutable value (lists become tuples), so a fault stays hashable data."""
    if isinstance(target, str) or not isinstance(target, Iterable):
        return target
    return tuple(target)


def _is_list_of_groups(value: object) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(g, list | tuple) for g in value)


def _ports(port: int | Iterable[int] | None) -> Ports:
    if port is None or isinstance(port, int):
        return port
    return tuple(port)


__all__ = [
    "Blackhole",
    "Corrupt",
    "CutLinks",
    "Delay",
    "Duplicate",
    "Jitter",
    "Loss",
    "OneWay",
    "Partition",
    "PartitionBy",
    "Rate",
    "Reorder",
    "blackhole",
    "corrupt",
    "cut_links",
    "delay",
    "duplicate",
    "jitter",
    "loss",
    "one_way",
    "partition",
    "partition_by",
    "rate",
    "reorder",
]
