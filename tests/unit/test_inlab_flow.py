"""chaos-flow's real output read by the runner's flow, without Docker: the in-lab flow sends to the agent's responders on localhost."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator, Sequence

import pytest

from chaos.engine import ExecResult
from chaos.host import PID_MARKER, PID_WRAPPER
from chaos.timeline import Timeline
from chaos.traffic import Flow, Outcome, Target
from chaos.traffic.records import WIRE_OUTCOMES
from chaos_inlab import agent, protocol
from chaos_inlab import flow as inlab_flow

NAME = "lb1"
LOCALHOST = "127.0.0.1"


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """The agent's HTTP, TCP and UDP responders for host ``lb1``, on free localhost ports."""
    servers = agent.serve(NAME, 0, 0, 0, bind=LOCALHOST)
    yield {protocol_name: server.server_address[1] for protocol_name, server in zip(("http", "tcp", "udp"), servers, strict=True)}
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A localhost TCP port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def run_flow(argv: Sequence[str]) -> list[str]:
    """Run the in-lab flow in this process; its output lines."""
    out = io.StringIO()
    inlab_flow.Flow(inlab_flow.parse_args(argv[1:]), out).run()
    return out.getvalue().splitlines()


class Replay:
    """A client host whose stream is a recorded chaos-flow output (behind the pid line every remote process starts with)."""

    name = "client"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self.argv: list[str] = []

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        self.argv = list(argv[len(PID_WRAPPER) :])
        yield f"{PID_MARKER} 4242"
        yield from self.lines

    def exec(self, command: Sequence[str], container: str | None = None) -> ExecResult:
        return ExecResult(0, "", "")


def read_back(lines: Sequence[str], runner_flow: Flow) -> Flow:
    """Feed ``lines`` to a runner-side flow through its whole life (start, records, stop)."""
    replay = runner_flow.client
    assert isinstance(replay, Replay)
    replay.lines = list(lines)
    with runner_flow:
        pass
    assert replay.argv == runner_flow.argv
    return runner_flow


def runner_flow(kind: str, port: int, expect: tuple[str, ...] = (NAME,), rate: float = 200, timeout: float = 0.5) -> Flow:
    return Flow(Replay([]), kind, Target(LOCALHOST, "lb1", port, expect), rate=rate, timeout=timeout, timeline=Timeline())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["http", "tcp", "udp"])
def test_every_answer_of_the_agent_reaches_the_runner_as_ok_from_the_host(kind: str, ports: dict[str, int]) -> None:
    made = runner_flow(kind, ports[kind])
    lines = run_flow([*made.argv, "--count", "20"])
    flow = read_back(lines, made)
    requests = list(flow.requests)
    assert len(requests) == 20
    assert {(r.outcome, r.responder) for r in requests} == {(Outcome.OK, NAME)}
    assert all(0 < r.latency < 0.5 for r in requests)
    assert flow.started_at is not None and flow.stopped_at is not None and flow.stopped_at > flow.started_at
    assert flow.max_late is not None and flow.max_late < 0.5
    assert not flow.diagnostics and flow.error is None
    # The send times keep the schedule: 20 requests at 200/s span about 95 ms.
    assert 0.09 <= requests[-1].sent - requests[0].sent < 0.5


def test_an_answer_from_a_host_not_expected_is_a_wrong_answer(ports: dict[str, int]) -> None:
    made = runner_flow("tcp", ports["tcp"], expect=("lb2",))
    flow = read_back(run_flow([*made.argv, "--count", "5"]), made)
    assert {(r.outcome, r.responder) for r in flow.requests} == {(Outcome.WRONG, NAME)}


def test_a_closed_port_is_refused() -> None:
    made = runner_flow("tcp", closed_port())
    flow = read_back(run_flow([*made.argv, "--count", "3"]), made)
    assert [r.outcome for r in flow.requests] == [Outcome.REFUSED] * 3
    assert all(r.responder is None for r in flow.requests)


def test_a_silent_udp_peer_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOCALHOST, 0))  # receives, never answers
        made = runner_flow("udp", silent.getsockname()[1], timeout=0.05)
        flow = read_back(run_flow([*made.argv, "--count", "3"]), made)
    assert [r.outcome for r in flow.requests] == [Outcome.TIMEOUT] * 3


def test_the_flow_stops_on_request_and_says_when(ports: dict[str, int]) -> None:
    made = runner_flow("udp", ports["udp"], rate=100)
    program = inlab_flow.Flow(inlab_flow.parse_args(made.argv[1:]), io.StringIO())
    stopper = threading.Timer(0.2, program.stop)  # what its SIGTERM handler does
    stopper.start()
    program.run()
    output = program.output
    assert isinstance(output, io.StringIO)
    flow = read_back(output.getvalue().splitlines(), made)
    assert flow.stopped_at is not None and flow.started_at is not None
    assert 0.15 < flow.stopped_at - flow.started_at < 1.0
    assert len(flow.requests) >= 10 and flow.availability == 1.0


def test_every_outcome_letter_has_its_own_outcome() -> None:
    assert set(WIRE_OUTCOMES) == set(protocol.OUTCOMES)
    assert len(set(WIRE_OUTCOMES.values())) == len(protocol.OUTCOMES) == len(Outcome)
    assert set(inlab_flow.ERRNO_OUTCOME.values()) <= set(protocol.OUTCOMES)


def test_the_program_accepts_every_command_line_the_runner_writes() -> None:
    target = Target("10.0.0.250", "www", 8080, ("lb1", "lb2"), (("02:42:0a:00:00:03", "lb1"),))
    for kind in ("http", "tcp", "udp", "icmp"):
        made = Flow(Replay([]), kind, target, rate=250, timeout=0.25, timeline=Timeline())  # type: ignore[arg-type]
        assert made.argv[0] == protocol.FLOW
        args = inlab_flow.parse_args(made.argv[1:])
        assert (args.protocol, args.address, args.rate, args.timeout) == (kind, "10.0.0.250", 250, 0.25)
        assert args.expect == "lb1,lb2"
        assert args.port == (None if kind == "icmp" else 8080)
        assert args.names == "02:42:0a:00:00:03=lb1"


def test_lines_that_are_not_records_are_kept_as_diagnostics() -> None:
    made = runner_flow("tcp", 9000)
    start = protocol.format_flow_start(7, 1_700_000_000.0, "tcp", LOCALHOST, 9000, 200, 0.5)
    record = protocol.format_flow_record(0, 10, 500, protocol.OK, NAME)
    end = protocol.format_flow_end(1, 1, 20, 0)
    flow = read_back([start, record, protocol.format_flow_alive(), "1 2 3 4 5 6", "1 x 3 o lb1", "Traceback (most recent call last):", end], made)
    assert len(flow.requests) == 1
    assert list(flow.diagnostics) == ["1 2 3 4 5 6", "1 x 3 o lb1", "Traceback (most recent call last):"]
