"""Network faults: partitions (symmetric, one-way, partial, filtered by protocol and port), blackholes, and link degradation.

Every change is made inside the target hosts' own network namespaces (iptables, tc and the
userspace shaper, run by a shell each host gets through the Docker API) and carries the
fault's tag, so heal removes exactly what the fault added. See `chaos.net` for the parts.

Each fault is a frozen dataclass, checked when it is built: the filters every network fault
takes (``protocol``, ``port``, ``network``), the ``to`` of the degradations and the ``path``
of the shaping ones are keyword-only fields of their bases, written once here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, TypedDict, Unpack

from chaos._internal.durations import Duration, parse_duration
from chaos._internal.shares import Share
from chaos.errors import FaultError, HostCommandError
from chaos.faults import targets as _targets
from chaos.faults.base import SECONDS, SHARE, Claim, Fault, Injection, freeze, to_share
from chaos.faults.targets import Pick, Target
from chaos.net import apply as _apply
from chaos.net import grudges
from chaos.net.rules import Match, Rule, blackhole_rules, egress_rules, loss_action, partition_rules
from chaos.net.shaping import PATH_CHOICES, PathChoice, Shape, ShapingPath, choose_path, netem_leaf, packet_delay, parse_rate, tbf_leaf

if TYPE_CHECKING:
    from chaos._internal.hosts import HostRef
    from chaos.lab import Lab

Ports: TypeAlias = "int | Iterable[int] | None"
"""A port, a list of ports, or None (every port); kept as an int or a tuple."""

Strategy: TypeAlias = "str | Callable[[list[str]], Any]"
STRATEGIES = ("bisect", "split_one", "majority_minority", "bridge", "majorities_ring")


class Filters(TypedDict, total=False):
    """The keyword-only filters of every network fault."""

    protocol: str | int | None
    port: Ports
    network: str | None


@dataclass
class NetData:
    """What a network fault computed when bound and what its inject did (``run.data``)."""

    match: Match = field(default_factory=Match)
    grudge: grudges.Grudge = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    path: ShapingPath = "userspace"
    applied: _apply.Applied | None = None


# -- the common part: filters, addresses, inject and heal through chaos.net.apply -------------------


@dataclass(frozen=True, kw_only=True)
class _NetworkFault(Fault[NetData]):
    """A fault made of iptables rules (and maybe one degradation) on some hosts; subclasses say which.

    Args (every network fault, keyword-only):
        protocol: only this IP protocol (``"vrrp"``/``112``, ``"tcp"``, ``"udp"``, ``"icmp"``, a number 0..255).
        port: only these ports (source or destination; TCP and UDP when no protocol is given).
        network: only the addresses on this lab network.
    """

    protocol: str | int | None = None
    port: Ports = None
    network: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        protocol = self.protocol
        if isinstance(protocol, str):
            protocol = int(protocol) if protocol.strip().isdigit() else protocol.strip().lower()
        port = self.port if self.port is None or isinstance(self.port, int) else tuple(self.port)
        object.__setattr__(self, "protocol", protocol)
        object.__setattr__(self, "port", port)
        Match.of(protocol, port)  # an unknown protocol, a bad port, ports with icmp: refused now
        if self.network is not None and (not isinstance(self.network, str) or not self.network):
            raise FaultError(f"network={self.network!r} is not a network name")

    def new_data(self) -> NetData:
        return NetData()

    def resolve(self, run: Injection[NetData]) -> Sequence[str]:
        if self.network is not None and self.network not in run.lab.networks:
            raise FaultError(f"unknown network {self.network!r}; the lab's networks: {', '.join(run.lab.networks) or 'none'}")
        run.data.match = Match.of(self.protocol, self.port)
        hosts = self.plan(run)
        _sweep_once(run.lab)
        return hosts

    def plan(self, run: Injection[NetData]) -> Sequence[str]:
        """Compute what to change (into ``run.data``) and return the target hosts, in the lab's order."""
        raise NotImplementedError

    def changes(self, run: Injection[NetData]) -> dict[str, _apply.Change]:
        """``{host name: Change}`` for this injection (called by apply, after resolve)."""
        raise NotImplementedError

    def apply(self, run: Injection[NetData]) -> float | None:
        changes = self.changes(run)
        applied = _apply.prepare(run.lab, [run.host(h) for h in changes])
        run.data.applied = applied  # before anything runs: a heal after a half-done inject finds the tag
        return _apply.inject(applied, {run.host(h): c for h, c in changes.items()}, str(self))

    def revert(self, run: Injection[NetData]) -> float | None:
        applied = run.data.applied
        if applied is None:
            return None
        healed = _apply.heal(applied)
        run.data.applied = None
        return healed or None

    def _addresses(self, run: Injection[NetData], hosts: Iterable[str]) -> dict[str, list[str]]:
        """Each host's addresses, on ``self.network`` only when set (a host not on it has none there)."""
        found: dict[str, list[str]] = {}
        for host in hosts:
            addresses = run.host(host).addresses
            if self.network is not None:
                addresses = {self.network: addresses[self.network]} if self.network in addresses else {}
            found[host] = [a for a in addresses.values() if a]
        return found

    def _words(self, *first: str) -> str:
        """``name(first..., protocol=..., port=..., network=...)``: the label of a fault whose target is not a plain field."""
        words = [*first, *(f"{key}={value}" for key in ("protocol", "port", "network") if (value := getattr(self, key)) is not None)]
        return f"{self.name}({', '.join(words)})"


def _sweep_once(lab: Lab) -> None:
    """Before the first network fault on a lab, clear what earlier runs may have left (a kept lab, a killed run)."""
    with contextlib.suppress(HostCommandError):
        # Best effort: a host that cannot be reached now (paused) keeps what it has; a fault on it will say so.
        _apply.sweep_once(lab)


def _lab_hosts(run: Injection[NetData]) -> list[str]:
    return list(run.lab.hosts)


def _peers(value: object, what: str) -> Any:
    return None if value is None else freeze(value, what)


# -- partitions -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Cut(_NetworkFault):
    """A partition: a grudge computed at bind time, applied as drop rules on both ends of every cut link."""

    def grudge(self, run: Injection[NetData]) -> grudges.Grudge:
        raise NotImplementedError

    def label(self) -> str:
        raise NotImplementedError

    def plan(self, run: Injection[NetData]) -> Sequence[str]:
        grudge = self.grudge(run)
        if not grudge:
            raise FaultError("this partition cuts no link: every host can still reach every other")
        hosts = grudges.hosts_of(grudge)
        run.data.grudge = grudge
        missing = [h for h, a in self._addresses(run, hosts).items() if not a]
        if missing:
            raise FaultError(f"host(s) {', '.join(missing)} have no address on network {self.network!r}; nothing to cut there")
        return [h for h in run.lab.hosts if h in hosts]

    def claims(self, run: Injection[NetData]) -> Iterable[Claim]:
        # One claim per cut link (and filter): two partitions may overlap, the same cut twice may not.
        match = run.data.match.describe()
        where = f" on {self.network}" if self.network else ""
        return [Claim("partition", f"{a}->{b}{' ' + match if match else ''}{where}") for a, b in grudges.cut_links(run.data.grudge)]

    def changes(self, run: Injection[NetData]) -> dict[str, _apply.Change]:
        grudge = run.data.grudge
        rules = partition_rules(grudge, self._addresses(run, grudges.hosts_of(grudge)), run.data.match)
        return {host: _apply.Change(tuple(r)) for host, r in rules.items()}

    def __str__(self) -> str:
        return self._words(self.label())


@dataclass(frozen=True)
class Partition(_Cut):
    """Hosts in different groups cannot reach each other (both ways); inside a group they can; healing joins them again.

    Build it with ``partition(*groups)``: each group is a host (name or handle), a list of
    hosts, or a pick such as ``"one"``; a single group is cut from every other host of the
    lab. A host in two groups hears both (an overlapping partition).
    ``partition([["a"], ["b", "c"]])`` works too. Takes the filters ``protocol=``, ``port=``, ``network=``.

    Example::

        chaos.inject(faults.partition("lb1"))                            # lb1 | everyone else
        chaos.inject(faults.partition(["lb1", "lb2"], "client"))
        chaos.inject(faults.partition("lb1", "lb2", protocol="vrrp"))    # adverts lost, HTTP flows: split brain
    """

    groups: Sequence[Target]
    name: ClassVar[str] = "partition"

    def __post_init__(self) -> None:
        super().__post_init__()
        groups: Any = self.groups
        if isinstance(groups, str | Pick) or not isinstance(groups, Iterable):
            groups = (groups,)  # one group given alone
        groups = tuple(groups)
        if len(groups) == 1 and _is_list_of_groups(groups[0]):
            groups = tuple(groups[0])  # a list of groups, spelled as one argument
        if not groups:
            raise FaultError("partition() needs at least one group of hosts")
        object.__setattr__(self, "groups", tuple(freeze(g, "group") for g in groups))

    def grudge(self, run: Injection[NetData]) -> grudges.Grudge:
        hosts = _lab_hosts(run)
        components = [list(_targets.resolve(group, hosts, run.rng)) for group in self.groups]
        if len(components) == 1:
            rest = [h for h in hosts if h not in components[0]]
            if not rest:
                raise FaultError(f"partition({_targets.describe(self.groups[0])}) leaves no other host to cut it from")
            components.append(rest)
        return grudges.complete(components)

    def label(self) -> str:
        return "|".join(_targets.describe(g) for g in self.groups)


def partition(*groups: Target, **filters: Unpack[Filters]) -> Partition:
    """Cut the lab into groups that cannot reach each other: `Partition`, with the groups as arguments."""
    return Partition(groups, **filters)


@dataclass(frozen=True)
class PartitionBy(_Cut):
    """A partition drawn by a strategy, as Jepsen's nemesis does: the hosts are shuffled with the run's seed first.

    Args:
        strategy: ``"bisect"`` (two halves), ``"split_one"`` (one host alone), ``"majority_minority"``,
            ``"bridge"`` (two halves talking only through one host), ``"majorities_ring"`` (everyone
            sees a majority, no two the same), or a function of the host list returning groups or a grudge.
        among: only these hosts (default: all); the others are untouched.
        shuffle: shuffle the hosts with the run's random generator (``--chaos-seed``) first.

    Example::

        chaos.inject(faults.partition_by("majorities_ring"))
        chaos.inject(faults.partition_by("bridge", among=["n1", "n2", "n3", "n4", "n5"]))
    """

    strategy: Strategy
    among: Target | None = None
    shuffle: bool = True
    name: ClassVar[str] = "partition"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.strategy, str) and self.strategy not in STRATEGIES:
            raise FaultError(f"unknown partition strategy {self.strategy!r}; strategies: {', '.join(STRATEGIES)}, or a function of the host list")
        if not isinstance(self.strategy, str) and not callable(self.strategy):
            raise FaultError(f"strategy={self.strategy!r} is neither a strategy name ({', '.join(STRATEGIES)}) nor a function of the host list")
        object.__setattr__(self, "among", _peers(self.among, "among"))

    def grudge(self, run: Injection[NetData]) -> grudges.Grudge:
        hosts = list(_targets.resolve(self.among, _lab_hosts(run), run.rng)) if self.among is not None else _lab_hosts(run)
        if self.shuffle:
            run.rng.shuffle(hosts)
        strategy = getattr(grudges, self.strategy) if isinstance(self.strategy, str) else self.strategy
        result = strategy(hosts)
        if isinstance(result, Mapping):
            return {h: frozenset(s) for h, s in result.items() if s}
        return grudges.complete(result)

    def label(self) -> str:
        how = self.strategy if isinstance(self.strategy, str) else getattr(self.strategy, "__name__", "custom")
        return ", ".join([str(how), *([f"among={_targets.describe(self.among)}"] if self.among is not None else [])])


@dataclass(frozen=True)
class OneWay(_Cut):
    """A one-way partition: packets from ``sources`` to ``destinations`` are lost; the other way they arrive.

    Only packets in one direction are lost, so a request from a destination arrives and its
    answer does not: to the application both directions look broken, to the wire they do not.

    Example::

        chaos.inject(faults.one_way("lb1", "lb2", protocol="vrrp"))    # lb2 stops hearing lb1's adverts
    """

    sources: Target
    destinations: Target
    name: ClassVar[str] = "one_way"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sources", freeze(self.sources, "sources"))
        object.__setattr__(self, "destinations", freeze(self.destinations, "destinations"))

    def grudge(self, run: Injection[NetData]) -> grudges.Grudge:
        hosts = _lab_hosts(run)
        return grudges.one_way(_targets.resolve(self.sources, hosts, run.rng), _targets.resolve(self.destinations, hosts, run.rng))

    def label(self) -> str:
        return f"{_targets.describe(self.sources)}->{_targets.describe(self.destinations)}"


@dataclass(frozen=True)
class CutLinks(_Cut):
    """Cut the given links only, both ways or one way (a partial partition: ``a`` and ``c`` may both still reach ``b``).

    Example::

        chaos.inject(faults.cut_links([("lb1", "lb2")]))                       # the balancers lose each other, the client sees both
        chaos.inject(faults.cut_links([("lb1", "client")], both_ways=False))   # lb1 -> client lost
    """

    links: Iterable[tuple[HostRef, HostRef]]
    both_ways: bool = True
    name: ClassVar[str] = "cut_links"

    def __post_init__(self) -> None:
        super().__post_init__()
        pairs = []
        for link in self.links if isinstance(self.links, Iterable) else [self.links]:
            if isinstance(link, str) or not isinstance(link, Iterable) or len(pair := tuple(link)) != 2:
                raise FaultError(f"cut_links(): {link!r} is not a (sender, receiver) pair of hosts")
            a, b = (freeze(end, "link") for end in pair)
            if a == b:
                raise FaultError(f"a link from {a} to itself cannot be cut")
            pairs.append((a, b))
        if not pairs:
            raise FaultError("cut_links() needs at least one (sender, receiver) pair")
        object.__setattr__(self, "links", tuple(pairs))

    def grudge(self, run: Injection[NetData]) -> grudges.Grudge:
        for pair in self.links:
            _targets.resolve(list(pair), _lab_hosts(run), run.rng)
        return grudges.links(self.links, self.both_ways)  # type: ignore[arg-type]  # names, once built

    def label(self) -> str:
        arrow = "<->" if self.both_ways else "->"
        return ", ".join(f"{a}{arrow}{b}" for a, b in self.links)


# -- blackhole ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blackhole(_NetworkFault):
    """What arrives for a port on the target hosts vanishes: no answer, no reset; connections hang until they time out.

    Build it with ``blackhole(target, port)``. ``protocol`` is ``"tcp"`` by default (``"udp"``,
    or None for both); ``sources=`` only packets from these hosts (default: from anywhere);
    ``network=`` only the port on the host's address on this network (and sources' addresses there).

    Example::

        chaos.inject(faults.blackhole("lb1", 80))     # health checks to lb1:80 hang
    """

    target: Target
    protocol: str | int | None = field(default="tcp", kw_only=True)
    sources: Target | None = field(default=None, kw_only=True)
    name: ClassVar[str] = "blackhole"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.port is None:
            raise FaultError("blackhole needs a port")
        object.__setattr__(self, "target", freeze(self.target))
        object.__setattr__(self, "sources", _peers(self.sources, "sources"))

    def plan(self, run: Injection[NetData]) -> Sequence[str]:
        senders = _targets.resolve(self.sources, _lab_hosts(run), run.rng) if self.sources is not None else ()
        run.data.sources = tuple(a for addresses in self._addresses(run, senders).values() for a in addresses)
        if senders and not run.data.sources:
            raise FaultError(f"the sources {', '.join(senders)} have no address on network {self.network!r}")
        hosts = Fault.resolve(self, run)
        off = [h for h, addresses in self._addresses(run, hosts).items() if not addresses]
        if self.network and off:
            raise FaultError(f"host(s) {', '.join(off)} have no address on network {self.network!r}")
        return hosts

    def claims(self, run: Injection[NetData]) -> Iterable[Claim]:
        return [Claim("blackhole", f"{host}:{run.data.match.describe()}") for host in run.targets]

    def changes(self, run: Injection[NetData]) -> dict[str, _apply.Change]:
        changes = {}
        for host in run.targets:
            destinations = self._addresses(run, [host])[host] if self.network else [""]
            rules = [r for d in destinations for r in blackhole_rules(run.data.match, run.data.sources, d)]
            changes[host] = _apply.Change(tuple(rules))
        return changes


def blackhole(target: Target, port: int | Iterable[int], **filters: Any) -> Blackhole:
    """Make a port of the target hosts a black hole: `Blackhole`, with the port as the second argument."""
    return Blackhole(target, port=port, **filters)


# -- degradation: loss, rate, delay, jitter, duplicate, corrupt, reorder ------------------------------


@dataclass(frozen=True, kw_only=True)
class _Degrade(_NetworkFault):
    """Egress degradation on the target hosts, toward ``to`` (hosts), or a network, or everywhere but loopback.

    Args (every degradation, keyword-only, besides the filters):
        to: only packets towards these hosts (names, handles, a pick).
    """

    target: Target = field(kw_only=False)
    to: Target | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "target", freeze(self.target))
        object.__setattr__(self, "to", _peers(self.to, "to"))

    def plan(self, run: Injection[NetData]) -> Sequence[str]:
        hosts = Fault.resolve(self, run)
        if self.to is not None:
            peers = _targets.resolve(self.to, _lab_hosts(run), run.rng)
            destinations = [a for addresses in self._addresses(run, peers).values() for a in addresses]
            if not destinations:
                raise FaultError(f"{', '.join(peers)} have no address on network {self.network!r}")
        elif self.network is not None:
            destinations = [run.lab.networks[self.network].subnet]
        else:
            destinations = []
        run.data.destinations = tuple(destinations)
        self.validate(run, hosts)
        return hosts

    def validate(self, run: Injection[NetData], hosts: Sequence[str]) -> None:
        """Check what only the lab can tell (``hosts``: the resolved targets)."""

    def degrade(self, run: Injection[NetData]) -> _apply.Degrade | None:
        """The slot-holding part (tc leaf or shaper), or None for plain rules."""
        return None

    def rules(self, run: Injection[NetData]) -> tuple[Rule, ...]:
        return ()

    def changes(self, run: Injection[NetData]) -> dict[str, _apply.Change]:
        return {host: _apply.Change(self.rules(run), self.degrade(run)) for host in run.targets}


@dataclass(frozen=True)
class Loss(_Degrade):
    """A random share of the packets the target hosts send is dropped (iptables ``statistic``); ``to=`` only toward those hosts.

    ``share`` is a fraction (``0.3``) or a percentage string (``"30 %"``); ``30`` is refused
    as a slip. Each packet is dropped on its own with that probability, so over n packets
    the count lost is binomial: 1,000 pings at 0.3 lose 300 ± 14.5 (one standard deviation).

    Example::

        chaos.inject(faults.loss("lb1", 0.3))                         # 30 % of lb1's answers lost
        chaos.inject(faults.loss("client", "5 %", to="lb1", protocol="tcp", port=80))
    """

    share: Share = field(metadata=SHARE)
    name: ClassVar[str] = "loss"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "share", to_share(self.share, "loss"))

    def rules(self, run: Injection[NetData]) -> tuple[Rule, ...]:
        return tuple(egress_rules(loss_action(float(self.share)), run.data.destinations, run.data.match))


@dataclass(frozen=True)
class Rate(_Degrade):
    """Cap what the target hosts send at ``rate`` (``"1mbit"``, ``"512kbit"``, ``"10mbps"`` in bytes, or bits per second).

    tc tbf in an HTB class: packets beyond the rate queue up, then drop. ``burst`` is the
    bytes sent at full speed before the cap bites (default: 10 ms worth, at least two frames).

    Example::

        chaos.inject(faults.rate("lb1", "1mbit", to="client"))
    """

    rate: str | int
    burst: int | None = None
    name: ClassVar[str] = "rate"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.leaf()

    def leaf(self) -> str:
        return tbf_leaf(parse_rate(self.rate), self.burst)

    def degrade(self, run: Injection[NetData]) -> _apply.Degrade | None:
        return _apply.Degrade(run.data.destinations, run.data.match, leaf=self.leaf())


@dataclass(frozen=True, kw_only=True)
class _Shaped(_Degrade):
    """netem-like shaping: tc netem where the kernel has it, else the userspace shaper on NFQUEUE; the same either way.

    Args (keyword-only): path: ``"auto"`` (netem when the kernel has it), ``"netem"`` or ``"userspace"``.
    """

    path: PathChoice = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.path not in PATH_CHOICES:
            raise FaultError(f"unknown shaping path {self.path!r}; choose one of: {', '.join(PATH_CHOICES)}")
        self.shape()

    def shape(self) -> Shape:
        raise NotImplementedError

    def validate(self, run: Injection[NetData], hosts: Sequence[str]) -> None:
        # Every container runs on the engine's one kernel: probing one host answers for all.
        netem = self.path != "userspace" and _apply.netem_available(run.lab, run.host(hosts[0]))
        run.data.path = choose_path(self.path, netem)

    def degrade(self, run: Injection[NetData]) -> _apply.Degrade | None:
        shape = self.shape()
        if run.data.path == "netem":
            return _apply.Degrade(run.data.destinations, run.data.match, leaf=netem_leaf(shape))
        return _apply.Degrade(run.data.destinations, run.data.match, shape=shape, seed=run.rng.getrandbits(31))

    def _packet_delays(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, packet_delay(value, name))



def _ms(value: Duration | None) -> float:
    """Milliseconds of a duration field (seconds once the fault is built)."""
    return 0.0 if value is None else (value if isinstance(value, float | int) else parse_duration(value)) * 1000.0


@dataclass(frozen=True)
class Delay(_Shaped):
    """Every packet the target hosts send leaves ``delay`` late (``"100ms"`` or seconds), ± ``jitter`` (uniform).

    A round trip through one delayed host grows by ``delay``. A bare number above 10 is
    refused as a slip (``delay("lb1", 100)``: write ``"100ms"``, or ``"100s"`` if you mean it).

    Example::

        chaos.inject(faults.delay("lb2", "100ms"))       # pings to lb2 take 100 ms longer
    """

    delay: Duration = field(metadata=SECONDS)
    jitter: Duration = field(default=0.0, metadata=SECONDS)
    name: ClassVar[str] = "delay"

    def __post_init__(self) -> None:
        self._packet_delays("delay", "jitter")
        super().__post_init__()

    def shape(self) -> Shape:
        return Shape(delay_ms=_ms(self.delay), jitter_ms=_ms(self.jitter))


@dataclass(frozen=True)
class Jitter(_Shaped):
    """Packets leave ``delay`` ± ``jitter`` late, uniformly spread (so they may overtake each other, as with netem).

    ``delay`` defaults to ``jitter``: departures spread over 0 .. 2 * jitter.

    Example::

        chaos.inject(faults.jitter("lb1", "20ms", delay="50ms"))     # 30..70 ms
    """

    jitter: Duration = field(metadata=SECONDS)
    delay: Duration | None = field(default=None, metadata=SECONDS)
    name: ClassVar[str] = "jitter"

    def __post_init__(self) -> None:
        self._packet_delays("jitter", "delay")
        super().__post_init__()

    def shape(self) -> Shape:
        spread = _ms(self.jitter)
        return Shape(delay_ms=_ms(self.delay) if self.delay is not None else spread, jitter_ms=spread)


@dataclass(frozen=True)
class _ShareShaped(_Shaped):
    """A shaping fault on a ``share`` of the packets: a fraction (``0.1``) or a percentage string (``"10 %"``)."""

    share: Share = field(metadata=SHARE)

    def __post_init__(self) -> None:
        object.__setattr__(self, "share", to_share(self.share, self.name))
        super().__post_init__()

    def shape(self) -> Shape:
        # duplicate, corrupt: the shape's share field of the same name (reorder, which also needs a delay, has its own shape).
        return Shape(**{self.name: float(self.share)})  # type: ignore[arg-type]  # a float field, named by the fault


@dataclass(frozen=True)
class Duplicate(_ShareShaped):
    """A share of the packets the target hosts send arrives twice (``0.5`` or ``"50 %"``).

    Example::

        chaos.inject(faults.duplicate("lb1", 0.5))      # ping reports DUP! for about half the answers
    """

    name: ClassVar[str] = "duplicate"


@dataclass(frozen=True)
class Corrupt(_ShareShaped):
    """A share of the packets the target hosts send has one bit flipped after the IP header; the receiver's checksum drops them.

    Example::

        chaos.inject(faults.corrupt("lb1", 0.1))
    """

    name: ClassVar[str] = "corrupt"


@dataclass(frozen=True)
class Reorder(_ShareShaped):
    """A ``share`` of the packets leaves at once, the rest ``delay`` late, so the prompt ones overtake the held ones (netem's reorder).

    Example::

        chaos.inject(faults.reorder("lb1", 0.25, delay="20ms"))
    """

    delay: Duration = field(default=0.01, metadata=SECONDS)
    name: ClassVar[str] = "reorder"

    def __post_init__(self) -> None:
        self._packet_delays("delay")
        super().__post_init__()

    def shape(self) -> Shape:
        return Shape(delay_ms=_ms(self.delay), reorder=float(self.share))


# -- the names tests use: the classes themselves, and two thin spellings above ----------------------

partition_by = PartitionBy
one_way = OneWay
cut_links = CutLinks
loss = Loss
rate = Rate
delay = Delay
jitter = Jitter
duplicate = Duplicate
corrupt = Corrupt
reorder = Reorder


def _is_list_of_groups(value: object) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(g, list | tuple) for g in value)


__all__ = [
    "Blackhole",
    "Corrupt",
    "CutLinks",
    "Delay",
    "Duplicate",
    "Filters",
    "Jitter",
    "Loss",
    "NetData",
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
