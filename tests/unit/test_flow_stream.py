"""A flow's life without Docker: a fake client streams chaos-flow's lines; the flow parses, times and stops them."""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Iterator, Sequence

import pytest

from chaos.engine import ExecResult
from chaos.errors import ChaosError, LabError, RecoveryTimeout, UsageError
from chaos.host import PID_MARKER, PID_WRAPPER
from chaos.timeline import Timeline
from chaos.traffic import Flow, Outcome, Target
from chaos_inlab import protocol

ORIGIN = 1_700_000_000.0  # the lab's start (epoch)
FLOW_START = ORIGIN + 2.0  # chaos-flow's own start, two seconds later
HEADER = f"# chaos-flow 1 pid=42 start={FLOW_START!r} protocol=http target=10.0.0.250:80 rate=100 timeout=1"


class FakeClient:
    """Streams ``lines`` (after the pid line a remote process starts with); after them, waits for a signal, then streams ``tail``."""

    name = "client"

    def __init__(self, lines: Sequence[str], tail: Sequence[str] = ()) -> None:
        self.lines = list(lines)
        self.tail = list(tail)
        self.commands: list[list[str]] = []
        self.killed = threading.Event()

    def __repr__(self) -> str:
        return "<Host client fake>"

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        assert tuple(argv[: len(PID_WRAPPER)]) == PID_WRAPPER
        self.argv = list(argv[len(PID_WRAPPER) :])
        yield f"{PID_MARKER} 42"
        yield from self.lines
        if self.tail:
            self.killed.wait(5)
            yield from self.tail

    def exec(self, command: Sequence[str], container: str | None = None) -> ExecResult:
        self.commands.append(list(command))
        self.killed.set()
        return ExecResult(0, "", "")


def make_flow(client: FakeClient, timeout: float = 0.2) -> Flow:
    target = Target("10.0.0.250", "www", 80, ("lb1", "lb2"))
    return Flow(client, "http", target, rate=100, timeout=timeout, timeline=Timeline(origin=ORIGIN))  # type: ignore[arg-type]


def test_records_stream_in_and_land_on_the_lab_clock():
    client = FakeClient(
        [HEADER, "1 10000 -1 t -", "0 0 812 o lb1", "2 20000 950 o lb2", "chaos-flow: something odd"],
        ["# end sent=3 completed=3 stopped_us=25000 max_late_us=1200"],
    )
    with make_flow(client) as flow:
        assert flow.started_at == pytest.approx(2.0)
        assert flow.is_running
    requests = flow.requests
    assert [(round(r.sent, 6), r.outcome, r.responder) for r in requests] == [
        (2.0, Outcome.OK, "lb1"),
        (2.01, Outcome.TIMEOUT, None),
        (2.02, Outcome.OK, "lb2"),
    ]
    assert requests.row(0).latency == pytest.approx(0.000812)
    assert math.isnan(requests.row(1).latency)
    assert flow.stopped_at == pytest.approx(2.025, abs=1e-6) and flow.duration == pytest.approx(0.025, abs=1e-6)
    assert flow.max_late == pytest.approx(0.0012)
    assert list(flow.diagnostics) == ["chaos-flow: something odd"]
    [signal] = client.commands  # SIGTERM to pid 42 if it still is chaos-flow (tests/unit/test_remote_process.py runs that for real)
    assert signal == protocol.process_signal_argv(42, "TERM", protocol.FLOW)
    assert client.argv == ["chaos-flow", "http", "10.0.0.250", "--rate", "100", "--timeout", "0.2", "--port", "80", "--expect", "lb1,lb2"]
    assert not flow.is_running
    assert [note.text for note in flow.timeline.notes] == [
        "flow http client->www started (100/s, timeout 0.2 s)",
        "flow http client->www stopped: 3 requests, 1 failed",
    ]


def test_stop_is_idempotent_and_a_flow_runs_once():
    client = FakeClient([HEADER], ["# end sent=0 completed=0 stopped_us=0 max_late_us=0"])
    flow = make_flow(client).start()
    flow.stop()
    flow.stop()
    assert len(client.commands) == 1
    with pytest.raises(LabError, match="was started already"):
        flow.start()


def test_a_flow_that_does_not_start_says_what_chaos_flow_said():
    client = FakeClient(["chaos-flow: error: argument --rate: invalid float value: 'x'"])
    with pytest.raises(LabError) as info:
        make_flow(client).start()
    message = str(info.value)
    assert "flow http client->www did not start on <Host client fake>" in message
    assert "`chaos-flow http 10.0.0.250 --rate 100" in message
    assert "invalid float value" in message


def test_a_stream_that_ends_early_stops_the_flow_where_it_ended():
    client = FakeClient([HEADER, "0 0 500 o lb1"])  # the client died: no end line
    flow = make_flow(client)
    before = flow.timeline.now()
    flow.start()
    flow.stop()
    after = flow.timeline.now()
    # With no end line to tell the client's own stop time, the flow stops on the lab clock when the
    # stream ended: after the flow was started, not later than stop() returned, and after its last request.
    assert flow.stopped_at is not None and before <= flow.stopped_at <= after, (before, flow.stopped_at, after)
    assert flow.stopped_at >= flow.requests.row(0).sent and flow.duration == pytest.approx(flow.stopped_at - flow.started_at)
    assert len(flow.requests) == 1


def test_recovery_after_takes_a_record_or_an_injection():
    lines = [HEADER] + [
        f"{i} {i * 10000} {-1 if 10 <= i < 20 else 500} {'t' if 10 <= i < 20 else 'o'} {'-' if 10 <= i < 20 else 'lb1'}" for i in range(30)
    ]
    flow = make_flow(FakeClient(lines, ["# end sent=30 completed=30 stopped_us=300000 max_late_us=0"]))
    with flow:
        pass
    record = flow.timeline.fault_requested("kill", ["lb1"])
    record.requested, record.effective = 2.095, 2.1

    class Injected:
        def __init__(self) -> None:
            self.record = record

    assert flow.recovery_after(record).seconds == pytest.approx(0.1)
    assert flow.recovery_after(Injected()).seconds == pytest.approx(0.1)
    assert [r.fault for r in flow.recoveries()] == [0]
    with pytest.raises(ChaosError, match="is not a fault on the timeline"):
        flow.recovery_after("power_off")
    with pytest.raises(AssertionError, match=r"flow http client->www: outage 0.10 s > 0.05 s allowed, from 2.10 s to 2.20 s, lb1 → lb1"):
        flow.assert_max_outage("50ms")
    flow.assert_max_outage("0.2s")
    flow.assert_min_availability("60 %")
    with pytest.raises(AssertionError, match=r"10 requests lost > 5 allowed"):
        flow.assert_max_lost(5)
    assert flow.assert_recovered(record, within="1s").seconds == pytest.approx(0.1)
    assert flow.figures().as_report()["rate"] == 100


def test_wait_recovered_times_out_with_the_outcomes_it_saw():
    client = FakeClient([HEADER, "0 0 -1 t -", "1 10000 -1 r -"], ["# end sent=2 completed=2 stopped_us=20000 max_late_us=0"])
    with make_flow(client) as flow, pytest.raises(RecoveryTimeout) as info:
        flow.wait_recovered(within=0.2, consecutive=2)
    assert "waiting for 2 successes in a row on flow http client->www" in str(info.value)
    assert info.value.last == "timeout refused"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate": 0}, "flow rate 0 is not a positive number"),
        ({"rate": "fast"}, "flow rate 'fast' is not a positive number"),
        ({"timeout": math.inf}, "timeout=inf is not a duration"),
        ({"timeout": "0s"}, "flow timeout 0.0 is not a positive duration"),
        ({"timeout": "soon"}, "timeout='soon' is not a duration"),
    ],
)
def test_bad_rates_and_timeouts_are_refused(options, message):
    arguments = {"rate": 100.0, "timeout": 1.0, **options}
    with pytest.raises(UsageError, match=message):
        Flow(FakeClient([]), "http", Target("10.0.0.1", "x", 80), timeline=Timeline(), **arguments)  # type: ignore[arg-type]


# -- chaos-flow's own pure helpers (the script runs inside the lab) -------------------------


@pytest.fixture(scope="module")
def chaos_flow():
    return importlib.import_module("chaos_inlab.flow")


def test_http_answers_are_named_by_header_or_body(chaos_flow):
    assert chaos_flow.parse_http(b"HTTP/1.0 200 OK\r\nX-Chaos-Host: lb2\r\n\r\nlb2\n") == ("o", "lb2")
    assert chaos_flow.parse_http(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nweb-a\n") == ("o", "web-a")
    assert chaos_flow.parse_http(b"HTTP/1.1 503 Service Unavailable\r\n\r\n") == ("w", "-")
    assert chaos_flow.parse_http(b"SSH-2.0-OpenSSH\r\n") == ("w", "-")


def test_icmp_checksum_matches_a_known_echo_request(chaos_flow):
    # An echo request, id 1, seq 1, no payload: checksum 0xf7fd.
    assert chaos_flow.icmp_checksum(bytes([8, 0, 0, 0, 0, 1, 0, 1])) == 0xF7FD


# -- lab.traffic's makers refuse what is not a flow option before touching the lab ----------------


def test_an_unknown_flow_option_is_a_usage_error_listing_the_options():
    from chaos.traffic import Traffic

    traffic = Traffic(None)  # type: ignore[arg-type]  # refused before the lab is asked anything
    with pytest.raises(UsageError, match=r"unknown flow option rat; the options are: port, rate, timeout, network, expect, name"):
        traffic.http("client", "lb1", rat=5)
    with pytest.raises(UsageError, match="unknown flow protocol 'sctp'"):
        traffic.flow("sctp", "client", "lb1")
    with pytest.raises(UsageError, match="port=70000 is not a port"):
        traffic.tcp("client", "lb1", port=70000)
