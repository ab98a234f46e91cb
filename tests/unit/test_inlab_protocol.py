"""Each line format of chaos_inlab.protocol reads back what it writes, and each program accepts the command lines the runner writes."""

from __future__ import annotations

import math

import pytest

from chaos.net.shaping import Shape, Slot, shaper_argv
from chaos_inlab import protocol, shaper


def test_flow_lines_read_back() -> None:
    start = protocol.format_flow_start(4242, 1_700_000_000.123456, "udp", "10.0.0.9", 9000, 250, 0.25)
    assert protocol.parse_flow_line(start) == protocol.FlowStart(4242, 1_700_000_000.123456, "udp", "10.0.0.9:9000", 250.0, 0.25)
    record = protocol.parse_flow_line(protocol.format_flow_record(12, 48_000, 731, protocol.OK, "web 1"))
    assert record == protocol.FlowRecord(12, 48_000, 731, protocol.OK, "web_1")  # a name is one field
    assert isinstance(record, protocol.FlowRecord) and record.latency == pytest.approx(0.000731)
    lost = protocol.parse_flow_line(protocol.format_flow_record(13, 52_000, -1, protocol.TIMEOUT, ""))
    assert isinstance(lost, protocol.FlowRecord) and lost.responder == "" and math.isnan(lost.latency)
    assert protocol.parse_flow_line(protocol.format_flow_end(14, 13, 60_000, 1_200)) == protocol.FlowEnd(14, 13, 60_000, 1_200)
    assert protocol.parse_flow_line(protocol.format_flow_alive()) == protocol.FlowAlive()
    for other in ("", "chaos-flow: error: argument --rate", "# chaos-flow 1 start=x", "# end sent=1", "1 2 3 4", "1 2 x o lb1"):
        assert protocol.parse_flow_line(other) is None, other


def test_watch_lines_read_back() -> None:
    assert protocol.parse_watch_line(protocol.format_watching(7, 1_700_000_000.5, False)) == protocol.WatchLine(False, 1_700_000_000.5, "free", 7)
    assert protocol.parse_watch_line(protocol.format_change(False, 1_700_000_001.0)) == protocol.WatchLine(False, 1_700_000_001.0, "deleted")
    for other in ("", "watching 7 soon held", "watching 7 1.0 maybe", "added", "Traceback (most recent call last):"):
        assert protocol.parse_watch_line(other) is None, other


def test_capture_lines_read_back() -> None:
    record = {"kind": "arp", "t": 1.5, "op": 2, "psrc": "10.0.0.9", "hwsrc": "02:42:0a:00:00:09", "pdst": "10.0.0.3", "hwdst": "02:42:0a:00:00:03"}
    line = protocol.format_capture_line(record)
    assert "\n" not in line and protocol.parse_capture_line(line) == record
    assert protocol.parse_capture_line("WARNING: No route found") is None
    assert protocol.parse_capture_line("[1, 2]") is None


def test_the_shaper_accepts_exactly_what_the_runner_writes() -> None:
    shape = Shape(delay_ms=100, jitter_ms=20, duplicate=0.01, corrupt=0.005, reorder=0.25)
    argv = shaper_argv(shape, Slot(3), "/run/chaos/x.pid", "/run/chaos/x.log", seed=7)
    assert argv[0] == protocol.SHAPER
    args = shaper.parse_args(argv[1:])
    assert (args.queue, args.mark, args.delay, args.jitter) == (Slot(3).queue, Slot(3).done_bit, 100, 20)
    assert (args.duplicate, args.corrupt, args.reorder, args.seed, args.daemon) == (1, 0.5, 25, 7, True)
    assert (args.pidfile, args.log, args.limit) == ("/run/chaos/x.pid", "/run/chaos/x.log", 1000)


def test_a_ready_line_is_an_agent_line() -> None:
    assert protocol.READY_LINE in protocol.agent_line("lb1", protocol.READY)
    assert protocol.READY_LINE not in protocol.agent_line("lb1", "starting keepalived: keepalived -n")
