"""iptables rules for network faults, as `iptables-restore` input run inside each host's own namespace.

Every fault owns chains named ``CHAOS-<session>-<serial>-<hook>``, entered from the built-in
hook by one rule whose comment carries the same tag, so healing a fault removes exactly its
own rules and a sweep (``CHAOS-``) removes every fault's rules and nobody else's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaos.errors import FaultError

CHAIN_PREFIX = "CHAOS-"
"""Every chain a fault creates starts with this; a sweep removes them all."""

MAX_CHAIN = 28  # iptables' limit on a chain name's length

PROTOCOLS: dict[str, int] = {
    "icmp": 1,
    "igmp": 2,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "ospf": 89,
    "pim": 103,
    "vrrp": 112,
    "carp": 112,  # CARP borrowed VRRP's protocol number
    "sctp": 132,
    "udplite": 136,
}
"""Protocol names a filter accepts; any number 0..255 is accepted as well."""

PORT_PROTOCOLS = frozenset({6, 17, 132, 136})
"""Protocols whose packets carry ports (what iptables' multiport match understands)."""

HOOKS = {"filter": ("INPUT", "OUTPUT"), "mangle": ("POSTROUTING",)}
_SUFFIX = {"INPUT": "IN", "OUTPUT": "OUT", "POSTROUTING": "POST"}


@dataclass(frozen=True)
class Tag:
    """The name one fault's rules, queue and qdiscs carry: session id plus a serial number.

    Example:
        >>> tag = Tag("3f2a9c01", 7)
        >>> tag.chain("INPUT"), tag.prefix
        ('CHAOS-3f2a9c01-7-IN', 'CHAOS-3f2a9c01-7-')
    """

    session: str
    serial: int

    def __post_init__(self) -> None:
        # A session id from the environment may hold anything; a chain name may not.
        object.__setattr__(self, "session", re.sub(r"[^a-zA-Z0-9]", "", self.session)[:8] or "x")
        if len(self.chain("POSTROUTING")) > MAX_CHAIN:
            raise FaultError(f"fault serial {self.serial} makes chain names longer than iptables allows ({MAX_CHAIN})")

    @property
    def prefix(self) -> str:
        return f"{CHAIN_PREFIX}{self.session}-{self.serial}-"

    def chain(self, hook: str) -> str:
        return f"{self.prefix}{_SUFFIX[hook]}"


@dataclass(frozen=True)
class Match:
    """Which packets a fault affects: an IP protocol (number) and ports (source or destination).

    Example:
        >>> Match.of("vrrp")
        Match(protocol=112, ports=())
        >>> Match.of("tcp", 80).fragments()
        ['-p tcp -m multiport --ports 80']
    """

    protocol: int | None = None
    ports: tuple[int, ...] = ()

    @classmethod
    def of(cls, protocol: str | int | None = None, port: int | Iterable[int] | None = None) -> Match:
        """A filter from a protocol name or number and a port or ports.

        Ports without a protocol mean TCP and UDP.

        Raises:
            FaultError: an unknown protocol, a port out of range, or ports with a protocol that has none.
        """
        number = None if protocol is None else protocol_number(protocol)
        ports = () if port is None else ((port,) if isinstance(port, int | str) else tuple(port))
        for p in ports:
            if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
                raise FaultError(f"port {p!r} is not a port number (1..65535)")
        if len(ports) > 15:
            raise FaultError(f"at most 15 ports per filter (iptables multiport); got {len(ports)}")
        if ports and number is not None and number not in PORT_PROTOCOLS:
            raise FaultError(f"protocol {protocol!r} has no ports; ports go with: {', '.join(_names(PORT_PROTOCOLS))}")
        return cls(number, tuple(dict.fromkeys(ports)))

    def fragments(self) -> list[str]:
        """iptables match options; one per rule to write (ports without a protocol give two)."""
        if not self.ports:
            return [f"-p {_name(self.protocol)}"] if self.protocol is not None else [""]
        protocols = [self.protocol] if self.protocol is not None else [6, 17]
        ports = ",".join(map(str, self.ports))
        return [f"-p {_name(p)} -m multiport --ports {ports}" for p in protocols]

    def describe(self) -> str:
        """``vrrp``, ``tcp/80``, ``udp/53,5353``, ``tcp+udp/9000`` or ``""`` (everything)."""
        protocol = "tcp+udp" if self.protocol is None and self.ports else _label(self.protocol)
        ports = ",".join(map(str, self.ports))
        return f"{protocol}/{ports}" if ports else protocol


@dataclass(frozen=True)
class Rule:
    """One rule of a fault: the table, the built-in hook it hangs off, and the rule's options."""

    table: str
    hook: str
    body: str


def protocol_number(protocol: str | int) -> int:
    """An IP protocol number from a name (``vrrp``) or a number (``112``).

    Raises:
        FaultError: the name is unknown or the number out of range; the message lists the names.

    Example:
        >>> protocol_number("vrrp"), protocol_number(112), protocol_number("17")
        (112, 112, 17)
    """
    if isinstance(protocol, bool):
        raise FaultError(f"unknown protocol {protocol!r}; use a number 0..255 or one of: {', '.join(PROTOCOLS)}")
    if isinstance(protocol, int) or (isinstance(protocol, str) and protocol.isdigit()):
        number = int(protocol)
        if 0 <= number <= 255:
            return number
    elif isinstance(protocol, str) and protocol.lower() in PROTOCOLS:
        return PROTOCOLS[protocol.lower()]
    raise FaultError(f"unknown protocol {protocol!r}; use a number 0..255 or one of: {', '.join(PROTOCOLS)}")


def partition_rules(grudge: Mapping[str, Iterable[str]], addresses: Mapping[str, Sequence[str]], match: Match = Match()) -> dict[str, list[Rule]]:
    """Drop rules for a grudge, on both ends of every cut link.

    The receiver drops what comes from the sender's addresses (INPUT) and the sender drops
    what goes to the receiver's addresses (OUTPUT). Either alone would do for host
    addresses; together they also cut traffic to and from a VIP the other end holds.

    Args:
        grudge: ``{receiver: senders}`` (see `chaos.net.grudges`).
        addresses: every host's addresses that the cut applies to.
        match: only packets of this protocol and these ports.

    Example:
        >>> partition_rules({"b": {"a"}}, {"a": ["10.0.0.2"], "b": ["10.0.0.3"]})["b"]
        [Rule(table='filter', hook='INPUT', body='-s 10.0.0.2/32 -j DROP')]
    """
    rules: dict[str, list[Rule]] = {}
    for receiver, senders in grudge.items():
        for sender in sorted(senders):
            for fragment in match.fragments():
                for address in addresses.get(sender, ()):
                    rules.setdefault(receiver, []).append(Rule("filter", "INPUT", _join(f"-s {address}/32", fragment, "-j DROP")))
                for address in addresses.get(receiver, ()):
                    rules.setdefault(sender, []).append(Rule("filter", "OUTPUT", _join(f"-d {address}/32", fragment, "-j DROP")))
    return rules


def blackhole_rules(ports: Match, sources: Sequence[str] = (), destination: str = "") -> list[Rule]:
    """Drop what arrives for these ports (from ``sources`` only, to ``destination`` only, when given): connections hang, nothing answers.

    Example:
        >>> blackhole_rules(Match.of("tcp", 80))
        [Rule(table='filter', hook='INPUT', body='-p tcp -m multiport --dports 80 -j DROP')]
    """
    fragments = [f.replace("--ports", "--dports") for f in ports.fragments()]
    to = f"-d {destination}/32" if destination else ""
    return [Rule("filter", "INPUT", _join(f"-s {s}" if s else "", to, f, "-j DROP")) for s in (sources or [""]) for f in fragments]


def egress_rules(action: str, destinations: Sequence[str], match: Match = Match(), table: str = "filter", hook: str = "OUTPUT") -> list[Rule]:
    """Apply ``action`` to what leaves the host (never loopback), toward ``destinations`` (addresses or CIDRs) or everywhere.

    Example:
        >>> egress_rules(loss_action(0.3), ["10.0.0.3"])
        [Rule(table='filter', hook='OUTPUT', body='! -o lo -d 10.0.0.3 -m statistic --mode random --probability 0.30000000 -j DROP')]
    """
    return [
        Rule(table, hook, _join("! -o lo", f"-d {d}" if d else "", fragment, action))
        for d in (destinations or [""])
        for fragment in match.fragments()
    ]


def loss_action(share: float) -> str:
    """Drop a random ``share`` (a fraction, 0..1) of the packets (iptables ``statistic``, whose probability is that fraction)."""
    if not 0 <= share <= 1:
        raise FaultError(f"loss share {share!r} is not a fraction from 0 to 1")
    return f"-m statistic --mode random --probability {share:.8f} -j DROP"


def queue_action(queue: int, mark_bit: int) -> str:
    """Hand packets without ``mark_bit`` to the userspace shaper on NFQUEUE ``queue``.

    ``--queue-bypass`` lets packets through when no shaper listens, so a shaper that died
    degrades to no shaping rather than to a dead link.
    """
    return f"-m mark ! --mark {mark_bit:#x}/{mark_bit:#x} -j NFQUEUE --queue-num {queue} --queue-bypass"


def mark_action(value: int, mask: int) -> str:
    """Set the mark bits a tc ``fw`` filter sorts into a shaped class."""
    return f"-j MARK --set-xmark {value:#x}/{mask:#x}"


def restore_input(tag: Tag, rules: Sequence[Rule], label: str) -> dict[str, str]:
    """``{table: iptables-restore --noflush input}`` that creates the fault's chains and hooks them in first.

    The jump goes to the top of the built-in chain, so a fault wins over what is already there.

    Example:
        >>> print(restore_input(Tag("s", 1), [Rule("filter", "INPUT", "-s 10.0.0.2/32 -j DROP")], "partition")["filter"])
        *filter
        :CHAOS-s-1-IN - [0:0]
        -I INPUT 1 -m comment --comment "chaos-s-1 partition" -j CHAOS-s-1-IN
        -A CHAOS-s-1-IN -s 10.0.0.2/32 -j DROP
        COMMIT
    """
    comment = _comment(f"chaos-{tag.session}-{tag.serial} {label}")
    tables: dict[str, str] = {}
    for table, hooks in HOOKS.items():
        lines: list[str] = []
        for hook in hooks:
            bodies = [r.body for r in rules if r.table == table and r.hook == hook]
            if bodies:
                chain = tag.chain(hook)
                lines += [f":{chain} - [0:0]", f'-I {hook} 1 -m comment --comment "{comment}" -j {chain}']
                lines += [f"-A {chain} {body}" for body in bodies]
        if lines:
            tables[table] = "\n".join([f"*{table}", *lines, "COMMIT"])
    unknown = {(r.table, r.hook) for r in rules} - {(t, h) for t, hs in HOOKS.items() for h in hs}
    if unknown:
        raise FaultError(f"rules for hooks no fault uses: {sorted(unknown)}")
    return tables


def _comment(text: str) -> str:
    return re.sub(r'["\\\n]', "'", text)[:240]


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _name(number: int | None) -> str:
    # iptables writes tcp/udp/... by name; both spellings load the same match.
    names = {6: "tcp", 17: "udp", 132: "sctp", 136: "udplite"}
    return names.get(number, str(number)) if number is not None else ""


def _label(number: int | None) -> str:
    """A protocol's usual name (112 is ``vrrp``), else its number; "" for none."""
    if number is None:
        return ""
    return next((name for name, n in PROTOCOLS.items() if n == number), str(number))


def _names(numbers: Iterable[int]) -> list[str]:
    return sorted(_name(n) for n in numbers)
