"""What the lab's programs and the runner agree on: command names, ports, the ready marker, and every line format.

Both sides import this module: the programs inside a lab host (Debian's python3 in the
``chaos/host`` image) and the runner's readers (``chaos.lab``, ``chaos.traffic``,
``chaos.observe``, ``chaos.vips``, ``chaos.net``). Each format has one function that
writes a line and one that reads it back, so a format changes in one place. Standard
library only: the runner has neither fnfqueue nor, necessarily, scapy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# -- commands ----------------------------------------------------------------------------------

AGENT = "chaos-agent"
"""PID 1 of a lab host: cuts the default route, answers probes with the host's name, runs the daemons."""
FLOW = "chaos-flow"
"""The load generator: paced requests, one record line per completed request."""
SHAPER = "chaos-shaper"
"""The userspace NFQUEUE link shaper (delay, jitter, duplicate, corrupt, reorder)."""
CAPTURE = "chaos-capture"
"""VRRP/CARP adverts and ARP as JSON lines, and a pcap."""
ADDRWATCH = "chaos-addrwatch"
"""Netlink address notifications for one address, as lines."""
PROBE = "chaos-probe"
"""One request; prints the name of the host that answered."""
TOOL = "chaos-lab"
"""Small one-shot actions inside a host: ``chaos-lab links cut ...``, ``chaos-lab process kill ...``."""

COMMANDS: Mapping[str, str] = {
    AGENT: "chaos_inlab.agent",
    FLOW: "chaos_inlab.flow",
    SHAPER: "chaos_inlab.shaper",
    CAPTURE: "chaos_inlab.capture",
    ADDRWATCH: "chaos_inlab.addrwatch",
    PROBE: "chaos_inlab.probe",
    TOOL: "chaos_inlab.tool",
}
"""Each command in the image's /usr/local/bin and the module whose ``main()`` it runs.

A command is a file with a ``#!/usr/bin/python3`` line, not ``python3 -m``: its name is
then the process name (``ps -o comm``, ``pgrep -x``) and is in its ``/proc/PID/cmdline``,
which is how the runner finds and signals its own processes.
"""

# -- the agent ---------------------------------------------------------------------------------

HTTP_PORT = 80
TCP_PORT = 9000
UDP_PORT = 9000
DEFAULT_PORTS: Mapping[str, int] = {"http": HTTP_PORT, "tcp": TCP_PORT, "udp": UDP_PORT, "icmp": 0}
"""The ports every host's agent answers on with its name, by flow protocol (ICMP has none)."""
HOST_HEADER = "X-Chaos-Host"
"""The HTTP header that names the answering host (the body says it too)."""

HOST_ENV = "CHAOS_HOST"
"""The environment variable holding the lab host's name (else the agent uses the hostname)."""
COMMAND_ENV = "CHAOS_COMMAND"
"""The environment variable holding a JSON argv the agent starts after the daemons."""
DAEMONS_PATH = "/etc/chaos/daemons.json"
"""The daemons the agent starts, written by the lab before the container starts."""
RUN_DIRECTORY = "/run/chaos"
"""Rendered daemon configurations and pid files, emptied of stale pid files at every start."""

READY = "ready"
READY_LINE = f"]: {READY}"
"""What a host's log holds once its agent is ready: the tail of ``agent_line(host, READY)``."""


def agent_line(host: str, message: str) -> str:
    """A line of the agent's log.

    Example:
        >>> agent_line("lb1", READY)
        'chaos-agent[lb1]: ready'
    """
    return f"{AGENT}[{host}]: {message}"


def answer(host: str) -> bytes:
    """What the agent sends back on TCP and UDP (and as the HTTP body): the host's name and a newline."""
    return f"{host}\n".encode()


def name_in_answer(data: bytes) -> str:
    """The responder's name from a TCP or UDP answer: its first line, stripped ("" for none).

    Example:
        >>> name_in_answer(answer("lb2"))
        'lb2'
    """
    return data.decode(errors="replace").strip().split("\n", 1)[0].strip()


# -- chaos-flow --------------------------------------------------------------------------------

FLOW_PROTOCOLS = ("http", "tcp", "udp", "icmp")
FLOW_FORMAT = 1
"""The version written in a flow's start line."""

OK = "o"
TIMEOUT = "t"
REFUSED = "r"
RESET = "x"
WRONG = "w"
UNREACHABLE = "u"
ERROR = "e"
OUTCOMES = (OK, TIMEOUT, REFUSED, RESET, WRONG, UNREACHABLE, ERROR)
"""The one-letter outcomes of a flow record: ok, timeout, refused, reset, wrong answer, unreachable, other error."""

NOBODY = "-"
"""A record's responder when nobody answered (or nobody was named)."""

_FLOW_START = f"# {FLOW} "
_FLOW_END = "# end "
_FLOW_ALIVE = "# alive"


@dataclass(frozen=True)
class FlowStart:
    """A flow's first line: its pid, its start epoch (send times count from it), and what it sends."""

    pid: int
    start: float
    protocol: str
    target: str
    rate: float
    timeout: float


@dataclass(frozen=True)
class FlowRecord:
    """One completed request: sent ``sent_us`` after the start, latency (-1: no answer), outcome letter, responder ("" nobody)."""

    seq: int
    sent_us: int
    latency_us: int
    outcome: str
    responder: str

    @property
    def latency(self) -> float:
        """Seconds, NaN without an answer."""
        return math.nan if self.latency_us < 0 else self.latency_us / 1e6


@dataclass(frozen=True)
class FlowEnd:
    """A flow's last line: counts, when sending stopped (after the start), and the worst lateness of a send."""

    sent: int
    completed: int
    stopped_us: int
    max_late_us: int


@dataclass(frozen=True)
class FlowAlive:
    """A quiet flow's heartbeat."""


FlowLine = FlowStart | FlowRecord | FlowEnd | FlowAlive


def format_flow_start(pid: int, start: float, protocol: str, address: str, port: int, rate: float, timeout: float) -> str:
    """The start line (no newline).

    Example:
        >>> format_flow_start(42, 1700000000.5, "http", "10.0.0.9", 80, 200, 0.5)
        '# chaos-flow 1 pid=42 start=1700000000.5 protocol=http target=10.0.0.9:80 rate=200 timeout=0.5'
    """
    return f"{_FLOW_START}{FLOW_FORMAT} pid={pid} start={start!r} protocol={protocol} target={address}:{port} rate={rate:g} timeout={timeout:g}"


def format_flow_record(seq: int, sent_us: int, latency_us: int, outcome: str, responder: str) -> str:
    """A record line (no newline): ``SEQ SENT_US LATENCY_US OUTCOME RESPONDER``.

    Example:
        >>> format_flow_record(7, 35000, 812, OK, "lb1"), format_flow_record(8, 40000, -1, TIMEOUT, "")
        ('7 35000 812 o lb1', '8 40000 -1 t -')
    """
    return f"{seq} {sent_us} {latency_us} {outcome} {responder.replace(' ', '_') or NOBODY}"


def format_flow_end(sent: int, completed: int, stopped_us: int, max_late_us: int) -> str:
    """The end line (no newline)."""
    return f"{_FLOW_END}sent={sent} completed={completed} stopped_us={stopped_us} max_late_us={max_late_us}"


def format_flow_alive() -> str:
    return _FLOW_ALIVE


def parse_flow_line(line: str) -> FlowLine | None:
    """A line of chaos-flow's output, or None for anything else (its errors, which the runner keeps).

    Example:
        >>> parse_flow_line("8 40000 -1 t -")
        FlowRecord(seq=8, sent_us=40000, latency_us=-1, outcome='t', responder='')
    """
    fields = line.split()
    try:
        if len(fields) == 5 and fields[0].isdigit():
            seq, sent_us, latency_us, outcome, responder = fields
            return FlowRecord(int(seq), int(sent_us), int(latency_us), outcome, "" if responder == NOBODY else responder)
        if line.startswith(_FLOW_START):
            values = _key_values(fields[3:])
            return FlowStart(
                int(values["pid"]),
                float(values["start"]),
                values.get("protocol", ""),
                values.get("target", ""),
                float(values.get("rate", "nan")),
                float(values.get("timeout", "nan")),
            )
        if line.startswith(_FLOW_END):
            values = _key_values(fields[2:])
            return FlowEnd(int(values["sent"]), int(values["completed"]), int(values["stopped_us"]), int(values["max_late_us"]))
        if line.startswith(_FLOW_ALIVE):
            return FlowAlive()
    except (KeyError, ValueError):
        return None
    return None


def _key_values(fields: Iterable[str]) -> dict[str, str]:
    return dict(field.split("=", 1) for field in fields if "=" in field)


def flow_argv(
    protocol: str,
    address: str,
    rate: float,
    timeout: float,
    port: int | None = None,
    expect: Sequence[str] = (),
    names: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """The chaos-flow command line (``names``: MAC address and host name pairs, for ICMP).

    Example:
        >>> flow_argv("tcp", "10.0.0.9", 100, 0.5, 9000, ["lb1", "lb2"])
        ['chaos-flow', 'tcp', '10.0.0.9', '--rate', '100', '--timeout', '0.5', '--port', '9000', '--expect', 'lb1,lb2']
    """
    argv = [FLOW, protocol, address, "--rate", f"{rate:g}", "--timeout", f"{timeout:g}"]
    if protocol != "icmp" and port is not None:
        argv += ["--port", str(port)]
    if expect:
        argv += ["--expect", ",".join(expect)]
    pairs = [f"{mac}={name}" for mac, name in names]
    if pairs:
        argv += ["--names", ",".join(pairs)]
    return argv


# -- chaos-addrwatch ---------------------------------------------------------------------------

WATCHING = "watching"
ADDED = "added"
DELETED = "deleted"
HELD = "held"
FREE = "free"
WATCH_WORDS = (WATCHING, ADDED, DELETED)
"""The first words of chaos-addrwatch's lines; any other line is an error it reports."""


@dataclass(frozen=True)
class WatchLine:
    """A line of chaos-addrwatch: at ``at`` (epoch) the address is held or not; ``pid`` is set on the first line.

    ``reason`` is ``held``/``free`` for the first line, else ``added``/``deleted``.
    """

    held: bool
    at: float
    reason: str
    pid: int | None = None

    @property
    def is_start(self) -> bool:
        """The line that says the watcher is subscribed (and its pid)."""
        return self.pid is not None


def format_watching(pid: int, at: float, held: bool) -> str:
    """The first line: ``watching PID TIME held|free``."""
    return f"{WATCHING} {pid} {at!r} {HELD if held else FREE}"


def format_change(added: bool, at: float) -> str:
    """A change: ``added TIME`` or ``deleted TIME``.

    Example:
        >>> parse_watch_line(format_change(True, 1700000001.25))
        WatchLine(held=True, at=1700000001.25, reason='added', pid=None)
    """
    return f"{ADDED if added else DELETED} {at!r}"


def parse_watch_line(line: str) -> WatchLine | None:
    """A line of chaos-addrwatch, or None for anything else."""
    fields = line.split()
    try:
        if fields[:1] == [WATCHING] and len(fields) == 4 and fields[3] in (HELD, FREE):
            return WatchLine(fields[3] == HELD, float(fields[2]), fields[3], int(fields[1]))
        if fields[:1] in ([ADDED], [DELETED]) and len(fields) == 2:
            return WatchLine(fields[0] == ADDED, float(fields[1]), fields[0])
    except ValueError:
        return None
    return None


def addrwatch_argv(address: str) -> list[str]:
    return [ADDRWATCH, address]


# -- chaos-capture -----------------------------------------------------------------------------

CAPTURE_FILTER = "arp or ip proto 112"
"""VRRP and CARP (IP protocol 112) and ARP: what failover analysis needs, and little else."""
STARTED = "started"
STOPPED = "stopped"
"""The ``event`` of chaos-capture's first line (with ``pid``, ``iface``, ``pcap``) and last (with ``packets``)."""


def format_capture_line(record: Mapping[str, Any]) -> str:
    """A JSON line (no newline): a packet (``kind`` vrrp, carp or arp, ``t``, ``mac``, ...) or an ``event``."""
    return json.dumps(record, separators=(",", ":"))


def parse_capture_line(line: str) -> dict[str, Any] | None:
    """The record of one chaos-capture line, or None for a line that is not a JSON object (a warning, an error)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def capture_argv(subnet: str, pcap: str, bpf_filter: str = CAPTURE_FILTER) -> list[str]:
    return [CAPTURE, "--subnet", subnet, "--pcap", pcap, "--filter", bpf_filter]


# -- chaos-shaper ------------------------------------------------------------------------------


def shaper_argv(
    queue: int,
    mark: int,
    pidfile: str,
    log: str,
    *,
    delay_ms: float = 0.0,
    jitter_ms: float = 0.0,
    duplicate: float = 0.0,
    corrupt: float = 0.0,
    reorder: float = 0.0,
    limit: int = 1000,
    seed: int | None = None,
) -> list[str]:
    """The command that starts chaos-shaper in the background on NFQUEUE ``queue``, setting ``mark`` on what it released.

    Example:
        >>> shaper_argv(4200, 0x10000, "/run/chaos/s.pid", "/run/chaos/s.log", delay_ms=100)[4:]
        ['--mark', '0x10000', '--delay', '100', '--limit', '1000', '--pidfile', '/run/chaos/s.pid', '--log', '/run/chaos/s.log']
    """
    argv = [SHAPER, "--daemon", "--queue", str(queue), "--mark", f"{mark:#x}"]
    for name, value in (("delay", delay_ms), ("jitter", jitter_ms), ("duplicate", duplicate), ("corrupt", corrupt), ("reorder", reorder)):
        if value:
            argv += [f"--{name}", f"{value:g}"]
    argv += ["--limit", str(limit), "--pidfile", pidfile, "--log", log]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


# -- chaos-lab: one-shot actions ---------------------------------------------------------------

ARGUMENT_SEPARATOR = "\x1f"
"""Between the arguments of a command line in ``chaos-lab process list`` output (text, one process a line)."""
SECTION = "@@"
"""The line between the sections of ``chaos-lab links`` output."""


def links_cut_argv(addresses: Iterable[str]) -> list[str]:
    """Cut the links holding ``addresses``; prints addresses, routes, interfaces and the time, in sections."""
    return [TOOL, "links", "cut", *addresses]


def links_mend_argv(routes: Iterable[str], ifaces: Iterable[str]) -> list[str]:
    """Bring ``ifaces`` up and put back ``routes``; prints the time, then addresses and routes, in sections."""
    return [TOOL, "links", "mend", "\n".join(routes), *ifaces]


def links_iface_argv(address: str) -> list[str]:
    """Print the interface holding ``address`` (nothing when none does)."""
    return [TOOL, "links", "iface", address]


def format_process_line(pid: int, ppid: int, cmdline: bytes) -> bytes:
    """A line of ``chaos-lab process list``: ``PID PPID ARGS``, ``cmdline`` as /proc has it (NUL after each argument) with \\x1f for NUL."""
    return f"{pid} {ppid} ".encode() + cmdline.replace(b"\0", ARGUMENT_SEPARATOR.encode())


def parse_process_line(line: str) -> tuple[str, str, list[str]]:
    """(pid, parent pid, argv) from a line of ``chaos-lab process list``; argv is empty for a process without a command line.

    Example:
        >>> parse_process_line(format_process_line(7, 1, b"keepalived\\0-n\\0").decode())
        ('7', '1', ['keepalived', '-n'])
    """
    pid, ppid, args = [*line.split(" ", 2), "", ""][:3]
    return pid, ppid, [a for a in args.split(ARGUMENT_SEPARATOR) if a]


def process_names_argv() -> list[str]:
    """List the name (comm) of every process, one a line, for messages that say what does run."""
    return [TOOL, "process", "names"]


def process_list_argv(name: str) -> list[str]:
    """List the processes named ``name``: ``PID PPID ARGS`` lines, the arguments joined by ``\\x1f``."""
    return [TOOL, "process", "list", name]


def process_kill_argv(signal: str, name: str, settle: float) -> list[str]:
    """Signal the processes named ``name``; wait ``settle`` seconds for them to go; print ``gone TIME`` or ``alive TIME``."""
    return [TOOL, "process", "kill", signal, name, f"{settle:g}"]


def process_start_argv(argv: Sequence[str]) -> list[str]:
    """Run ``argv`` with its output in the container's log (PID 1's stdout and stderr), as the agent's daemons."""
    return [TOOL, "process", "start", "--", *argv]


def process_signal_argv(pid: int, signal: str, if_command: str | None = None) -> list[str]:
    """Signal ``pid``; with ``if_command``, only while that word is in its command line (a restarted host reuses pids).

    Example:
        >>> process_signal_argv(42, "TERM", FLOW)
        ['chaos-lab', 'process', 'signal', '42', 'TERM', '--if-command', 'chaos-flow']
    """
    return [TOOL, "process", "signal", str(pid), signal, *(["--if-command", if_command] if if_command else [])]


def serve_argv(name: str, *, http: int | None = None, tcp: int | None = None, udp: int | None = None) -> list[str]:
    """A workload that answers on the given ports with ``name``, as the agent does on its own (a service to break).

    Example:
        >>> serve_argv("web", tcp=8080)
        ['chaos-lab', 'serve', 'web', '--tcp', '8080']
    """
    ports = [(flag, port) for flag, port in (("--http", http), ("--tcp", tcp), ("--udp", udp)) if port is not None]
    if not ports:
        raise ValueError("serve_argv needs at least one port (http=, tcp= or udp=)")
    return [TOOL, "serve", name, *(word for flag, port in ports for word in (flag, str(port)))]


def clock_argv() -> list[str]:
    """Print the resolution of ``time.time()`` in the host, in seconds (one number on one line).

    Example:
        >>> clock_argv()
        ['chaos-lab', 'clock']
    """
    return [TOOL, "clock"]


# -- chaos-lab measure: traffic that measures a link ----------------------------------------------

LISTENING = "listening"
"""What a measuring sink prints once its socket is bound (the runner's ready test)."""


def format_transfer(total: int, seconds: float) -> str:
    return f"{total} {seconds:.6f}"


def parse_transfer(line: str) -> tuple[int, float]:
    """(bytes, seconds) of one transfer as ``chaos-lab measure tcp-sink`` prints it.

    Example:
        >>> parse_transfer(format_transfer(1000, 0.5))
        (1000, 0.5)
    """
    total, seconds = line.split()
    return int(total), float(seconds)


def format_order(order: Sequence[int]) -> str:
    return " ".join(map(str, order))


def parse_order(line: str) -> list[int]:
    """The datagram numbers in arrival order, as ``chaos-lab measure udp-sink`` prints them.

    Example:
        >>> parse_order(format_order([0, 2, 1]))
        [0, 2, 1]
    """
    return [int(word) for word in line.split()]


def tcp_sink_argv(port: int) -> list[str]:
    return [TOOL, "measure", "tcp-sink", str(port)]


def tcp_send_argv(address: str, port: int, size: int) -> list[str]:
    return [TOOL, "measure", "tcp-send", address, str(port), str(size)]


def udp_sink_argv(port: int, quiet: float) -> list[str]:
    return [TOOL, "measure", "udp-sink", str(port), f"{quiet:g}"]


def udp_send_argv(address: str, port: int, count: int, gap: float) -> list[str]:
    """Datagrams 0..count-1 to ``address:port``, ``gap`` seconds apart.

    Example:
        >>> udp_send_argv("10.0.0.2", 9200, 3, 0.002)
        ['chaos-lab', 'measure', 'udp-send', '10.0.0.2', '9200', '3', '0.002']
    """
    return [TOOL, "measure", "udp-send", address, str(port), str(count), f"{gap:g}"]
