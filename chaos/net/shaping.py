"""Link degradation as arguments: rate via tc tbf, delay and friends via tc netem or the userspace NFQUEUE shaper.

Pure: it builds the words that `chaos.net.scripts` runs inside a host. Loss is not here but
in `chaos.net.rules` (an iptables ``statistic`` rule needs no qdisc).

Which packets a degradation applies to is decided by iptables in both paths, so both take
the same filters: the netem path marks the packets and a tc ``u32 match mark`` filter sorts
them into an HTB class whose leaf is netem (or tbf, for a rate); the userspace path queues
them to ``chaos-shaper`` on NFQUEUE.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Literal

from chaos._internal.durations import Duration, parse_duration
from chaos._internal.shares import parse_share
from chaos.errors import FaultError, UsageError
from chaos_inlab import protocol as inlab

ShapingPath = Literal["netem", "userspace"]
PathChoice = Literal["auto", "netem", "userspace"]
PATH_CHOICES: tuple[PathChoice, ...] = ("auto", "netem", "userspace")

NETEM_PROBE = ("tc qdisc add dev lo root netem delay 1ms", "tc qdisc del dev lo root")
"""Commands that succeed in a host's namespace when the kernel has sch_netem (the doctor runs them too)."""

RATE_PROBE = (
    "tc qdisc add dev lo root handle 7e57: htb default 0",
    "tc class add dev lo parent 7e57: classid 7e57:10 htb rate 10gbit quantum 60000",
    "tc qdisc add dev lo parent 7e57:10 tbf rate 1mbit burst 32kbit latency 400ms",
    "tc filter add dev lo parent 7e57: protocol ip prio 1 u32 match mark 0x1000000 0xf000000 flowid 7e57:10",
    "tc qdisc del dev lo root",
)
"""Commands that succeed when a rate fault can be built: an HTB root, a class with a tbf leaf, a u32 mark filter."""

SLOTS = 8
"""Degradations (rate or shaping) one host can carry at once; each takes a slot."""

CLASS_MASK = 0x0F000000
"""Mark bits that sort a packet into a slot's tc class (value: slot + 1)."""

QUEUE_BASE = 4200
"""NFQUEUE numbers are per network namespace; slot s uses QUEUE_BASE + s."""

MAX_RATE_BITS = 100_000_000_000
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?\s*$", re.IGNORECASE)
_RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}


@dataclass(frozen=True)
class Shape:
    """netem-style shaping: delay with jitter, and the shares (fractions) duplicated, corrupted and reordered.

    tc netem and the shaper take percentages: `netem_leaf` and `shaper_argv` convert.

    Example:
        >>> Shape(delay_ms=100, jitter_ms=20).describe()
        'delay 100ms ±20ms'
    """

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    reorder: float = 0.0
    limit: int = 1000

    def __post_init__(self) -> None:
        for name in ("delay_ms", "jitter_ms"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise FaultError(f"{name.removesuffix('_ms')} must be a duration of zero or more; got {value!r} ms")
        for name in ("duplicate", "corrupt", "reorder"):
            object.__setattr__(self, name, _share(getattr(self, name), name))
        if self.reorder and not self.delay_ms:
            raise FaultError("reorder needs a delay: reordered packets overtake delayed ones (as with netem)")
        if self.jitter_ms and not self.delay_ms:
            raise FaultError("jitter needs a delay to vary around (as with netem)")
        if self.limit < 1:
            raise FaultError(f"limit must be at least 1 packet; got {self.limit}")
        if not (self.delay_ms or self.duplicate or self.corrupt):
            raise FaultError("a shaping fault needs a delay, or a duplicate or corrupt share above zero")

    def describe(self) -> str:
        """``delay 100ms ±20ms duplicate 1% corrupt 1% reorder 25%``, leaving out what is zero."""
        words = []
        if self.delay_ms:
            words.append(f"delay {_g(self.delay_ms)}ms" + (f" ±{_g(self.jitter_ms)}ms" if self.jitter_ms else ""))
        words += [f"{name} {_g(percent)}%" for name, percent in self.percents()]
        return " ".join(words)

    def percents(self) -> list[tuple[str, float]]:
        """``[(name, percent)]`` of the shares above zero, in the order tc and the shaper take them."""
        return [(name, round(getattr(self, name) * 100, 6)) for name in ("duplicate", "corrupt", "reorder") if getattr(self, name)]


@dataclass(frozen=True)
class Slot:
    """Where one degradation lives on a host: its NFQUEUE, its mark bits and its tc class.

    Example:
        >>> slot = Slot(0)
        >>> slot.queue, hex(slot.done_bit), hex(slot.class_mark), slot.class_minor
        (4200, '0x10000', '0x1000000', '10')
    """

    index: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < SLOTS:
            raise FaultError(f"slot {self.index} outside 0..{SLOTS - 1}")

    @property
    def queue(self) -> int:
        return QUEUE_BASE + self.index

    @property
    def done_bit(self) -> int:
        """The mark bit the userspace shaper sets on packets it has shaped, so they skip its rule."""
        return 1 << (16 + self.index)

    @property
    def class_mark(self) -> int:
        return (self.index + 1) << 24

    @property
    def class_minor(self) -> str:
        """The tc class minor number (hex, as tc reads it)."""
        return f"{0x10 + self.index:x}"

    @property
    def filter_prio(self) -> int:
        return 10 + self.index


PACKET_DELAY_SLIP = 10.0
"""A bare number of seconds above this, given as a packet's delay, is refused as a slip (``100`` meant ``"100ms"``)."""


def packet_delay(value: Duration, what: str) -> float:
    """A packet's delay in seconds: ``"100ms"``, ``0.1``; a bare number above 10 is refused as a slip.

    Explicit units are honoured (``"100s"`` is 100 seconds, if that is what is meant).

    Raises:
        FaultError: not a duration, or a bare number of seconds no packet delay means.

    Example:
        >>> packet_delay("100ms", "delay"), packet_delay(0.25, "jitter")
        (0.1, 0.25)
    """
    try:
        parsed = parse_duration(value, what)
    except UsageError as exc:
        raise FaultError(str(exc)) from None
    bare = not isinstance(value, str) or not value.strip()[-1:].isalpha()
    if bare and parsed > PACKET_DELAY_SLIP:
        raise FaultError(
            f"{what}={value!r} is {parsed:g} seconds per packet, almost surely a slip: did you mean '{value}ms'? write '{value}s' if you mean it"
        )
    return parsed


def _share(value: float, what: str) -> float:
    try:
        return parse_share(value, what)
    except UsageError as exc:
        raise FaultError(str(exc)) from None


def parse_rate(rate: str | int | float) -> int:
    """A rate in bits per second from ``"1mbit"``, ``"512kbit"``, ``"10mbps"`` (bytes) or a number of bits per second.

    Units are tc's: ``bit kbit mbit gbit`` in bits, ``bps kbps mbps gbps`` in bytes, powers of 1000.

    Raises:
        FaultError: not a rate, or outside 8 bit/s .. 100 gbit/s.

    Example:
        >>> parse_rate("1mbit"), parse_rate("1mbps"), parse_rate(64000)
        (1000000, 8000000, 64000)
    """
    if isinstance(rate, bool):
        bits = None
    elif isinstance(rate, int | float):
        bits = float(rate)
    else:
        match = _RATE.match(str(rate))
        bits = float(match.group(1)) * _RATE_UNITS[(match.group(2) or "bit").lower()] if match else None
    if bits is None or not math.isfinite(bits) or not 8 <= bits <= MAX_RATE_BITS:
        raise FaultError(f"{rate!r} is not a rate; use e.g. '1mbit', '512kbit', '10mbps' (bytes) or bits per second, 8 bit/s .. 100gbit")
    return round(bits)


def tbf_leaf(rate_bits: int, burst_bytes: int | None = None, latency_ms: float = 100.0) -> str:
    """tc arguments of a token bucket leaf: ``tbf rate R burst B latency L``.

    The default burst is 10 ms worth of traffic, never less than two full-size frames, so
    a low rate is smooth and a high rate is reachable with the kernel's timer.

    Example:
        >>> tbf_leaf(1_000_000)
        'tbf rate 1000000bit burst 3028 latency 100ms'
    """
    burst = burst_bytes if burst_bytes is not None else max(2 * 1514, rate_bits // 8 // 100)
    if burst < 1514:
        raise FaultError(f"burst must hold at least one full frame (1514 bytes); got {burst}")
    return f"tbf rate {rate_bits}bit burst {burst} latency {_g(latency_ms)}ms"


def netem_leaf(shape: Shape) -> str:
    """tc arguments of a netem leaf for ``shape``.

    Example:
        >>> netem_leaf(Shape(delay_ms=100, jitter_ms=20, duplicate=0.01))
        'netem limit 1000 delay 100ms 20ms duplicate 1%'
    """
    words = ["netem", "limit", str(shape.limit)]
    if shape.delay_ms:
        words += ["delay", f"{_g(shape.delay_ms)}ms"] + ([f"{_g(shape.jitter_ms)}ms"] if shape.jitter_ms else [])
    for name, percent in shape.percents():
        words += [name, f"{_g(percent)}%"]
    return " ".join(words)


def shaper_argv(shape: Shape, slot: Slot, pidfile: str, log: str, seed: int | None = None) -> list[str]:
    """The command that starts ``chaos-shaper`` in the background for ``shape`` on ``slot``'s queue.

    Example:
        >>> shaper_argv(Shape(delay_ms=100), Slot(0), "/run/chaos/x.pid", "/run/chaos/x.log")[:6]
        ['chaos-shaper', '--daemon', '--queue', '4200', '--mark', '0x10000']
    """
    percents = dict(shape.percents())  # the shaper reads milliseconds and percentages
    return inlab.shaper_argv(
        slot.queue,
        slot.done_bit,
        pidfile,
        log,
        delay_ms=shape.delay_ms,
        jitter_ms=shape.jitter_ms,
        duplicate=percents.get("duplicate", 0.0),
        corrupt=percents.get("corrupt", 0.0),
        reorder=percents.get("reorder", 0.0),
        limit=shape.limit,
        seed=seed,
    )


def choose_path(requested: PathChoice, netem_available: bool) -> ShapingPath:
    """The path a shaping fault takes: netem when asked or available, else the userspace shaper.

    Raises:
        FaultError: netem was asked for and the kernel has none, or ``requested`` is not a choice.

    Example:
        >>> choose_path("auto", netem_available=False)
        'userspace'
    """
    if requested not in PATH_CHOICES:
        raise FaultError(f"unknown shaping path {requested!r}; choose one of: {', '.join(PATH_CHOICES)}")
    if requested == "netem" and not netem_available:
        raise FaultError("path='netem' was asked for, but this kernel has no sch_netem; available: path='userspace' (the NFQUEUE shaper) or 'auto'")
    if requested == "userspace":
        return "userspace"
    return "netem" if netem_available else "userspace"


def describe_path(netem_available: bool, nfqueue_available: bool = True) -> str:
    """One line on how delay, jitter, duplicate, corrupt and reorder will be applied (for `chaos doctor`).

    Example:
        >>> describe_path(False)
        'delay, jitter, duplicate, corrupt and reorder take the userspace path: chaos-shaper on NFQUEUE (no sch_netem)'
    """
    shaped = "delay, jitter, duplicate, corrupt and reorder"
    if netem_available:
        return f"{shaped} take the netem path: tc netem in an HTB class (path='userspace' picks chaos-shaper instead)"
    if nfqueue_available:
        return f"{shaped} take the userspace path: chaos-shaper on NFQUEUE (no sch_netem)"
    return f"{shaped} cannot be injected: no sch_netem and no NFQUEUE; load sch_netem or nfnetlink_queue on the Docker host"


def root_handle(session: str) -> str:
    """The tc handle (major, hex) of the root qdisc a session's faults put on an interface.

    A qdisc has no room for a comment; a handle derived from the session id is how heal
    and the sweep recognise ours.

    Example:
        >>> root_handle("3f2a9c01")
        '25e8'
    """
    return f"{0x100 + zlib.crc32(session.encode()) % 0xFE00:x}"


def _g(value: float) -> str:
    return f"{value:g}"
