"""Traffic flows on the real engine: outages against an outside truth, request counts, every protocol through a VIP."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos import Lab, faults, load_topology
from chaos.errors import LabError, UsageError
from chaos.traffic import Outcome

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
SLACK = 0.15
"""Seconds around the RFC 5798 window, as in test_measure_rfc.py: keepalived's timer scheduling (tens of ms
on a busy machine), one request interval at 200/s (5 ms), and the first round trip to the new master,
whose gratuitous ARP reaches the client a few ms after it takes the address."""

CLIENT_SERVER = {"networks": {"n": {}}, "hosts": {"client": {"networks": ["n"]}, "server": {"networks": ["n"]}}}


@pytest.fixture(scope="module")
def pair(chaos_engine) -> Iterator[Lab]:
    """A keepalived pair for the tests that only read (no faults): one lab for all of them."""
    with Lab(load_topology(PAIR), chaos_engine) as lab:
        lab.vips["www"].wait_owner("lb1", within="15s")
        yield lab


@pytest.mark.topology(CLIENT_SERVER)
def test_a_stopped_and_started_host_shows_one_outage_of_the_time_it_was_down(lab, record_property):
    rate = 50.0  # one request every 20 ms: the outage is exact to one interval either side
    interval = 1 / rate
    with lab.traffic.tcp("client", "server", rate=rate, timeout=1) as flow:
        time.sleep(1)
        with faults.power_off("server").on(lab) as run:
            time.sleep(2)
        flow.wait_recovered(within="10s")
        time.sleep(0.5)
    record = run.record
    assert record is not None and record.effective is not None and record.healed is not None
    # The truth, from the engine: the server died between the kill request and its container's
    # exit time (effective), and answered again when its agent said "ready" after the start (healed).
    down = record.healed - record.effective
    [outage] = flow.outages()
    record_property("outage_seconds", round(outage.duration, 4))
    record_property("down_seconds", round(down, 4))
    assert record.requested - interval <= outage.start <= record.effective + 2 * interval
    assert outage.end == pytest.approx(record.healed, abs=2 * interval)
    assert outage.duration == pytest.approx(down, abs=2 * interval)
    assert (outage.before, outage.after) == ("server", "server")
    recovery = flow.recovery_after(run)
    assert recovery.outage == outage and recovery.seconds == pytest.approx(down, abs=2 * interval)


@pytest.mark.topology(CLIENT_SERVER)
def test_request_count_matches_rate_times_duration(lab):
    rate = 200.0
    started = time.monotonic()
    with lab.traffic.udp("client", "server", rate=rate, timeout=0.5) as flow:
        time.sleep(4)
    elapsed = time.monotonic() - started
    requests = flow.requests
    assert 0 < flow.duration <= elapsed
    assert len(requests) == pytest.approx(rate * flow.duration, rel=0.05)
    assert {r.outcome for r in requests} == {Outcome.OK}
    gaps = [b - a for a, b in itertools.pairwise(requests.sent)]
    assert statistics.median(gaps) == pytest.approx(1 / rate, rel=0.1)  # paced, not bursty


def test_every_protocol_names_the_vip_holder(pair):
    www = pair.vips["www"]
    flows = [pair.traffic.flow(protocol, "client", www, rate=200, timeout=0.5) for protocol in ("http", "tcp", "udp", "icmp")]
    for flow in flows:
        flow.start()
    time.sleep(1.5)
    for flow in flows:
        flow.stop()
    for flow in flows:
        figures = flow.figures()
        assert figures.requests >= 250, flow.figures().summary()
        assert figures.availability == 1.0, figures.summary()
        assert [name for name, _ in figures.served_by] == ["lb1"], figures.summary()
        # Any answer beats the 0.5 s timeout; a round trip over one idle bridge takes about a millisecond,
        # so a median of a tenth of the timeout already means something is wrong (and the check can fail).
        assert figures.p50 is not None and 0 < figures.p50 < 0.05, figures.summary()


def test_wrong_answers_and_refusals_are_told_apart(pair):
    www = pair.vips["www"]
    with pair.traffic.tcp("client", www, rate=100, timeout=0.5, expect=["lb2"]) as wrong:
        time.sleep(0.5)
    with pair.traffic.tcp("client", www, port=9999, rate=100, timeout=0.5) as refused:
        time.sleep(0.5)
    assert set(wrong.figures().outcomes) == {"wrong answer"}
    assert wrong.requests.row(0).responder == "lb1"
    assert set(refused.figures().outcomes) == {"refused"}


def test_flows_only_go_to_the_lab(pair):
    with pytest.raises(LabError, match=r"refusing to send a flow to 192.0.2.1: it is not the address of a host or VIP of lab"):
        pair.traffic.http("client", "192.0.2.1")
    with pytest.raises(UsageError, match="unknown flow protocol 'sctp'; use one of: http, tcp, udp, icmp"):
        pair.traffic.flow("sctp", "client", pair.vips["www"])
    with pytest.raises(LabError, match="client 'nobody' is not a host of lab"):
        pair.traffic.http("nobody", pair.vips["www"])
    # An address of the lab is resolved to what it belongs to.
    assert pair.traffic.http("client", pair.vips["www"].address).target.label == "www"


@pytest.mark.topology(PAIR)
def test_every_protocol_follows_the_vip_through_a_failover(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="15s")
    flows = [lab.traffic.flow(protocol, "client", www, rate=200, timeout=0.5) for protocol in ("http", "tcp", "udp", "icmp")]
    for flow in flows:
        flow.start()
    time.sleep(1)
    power_off = chaos.inject(faults.power_off("lb1"))
    www.wait_owner("lb2", within="10s")
    for flow in flows:
        flow.wait_recovered(within="10s")
    time.sleep(0.5)
    for flow in flows:
        flow.stop()
    earliest, latest = www.takeover_window("lb2")
    for flow in flows:
        # Counted from the engine's exit time of lb1 (the record's effective time), as in test_measure_rfc.py.
        recovery = flow.recovery_after(power_off)
        assert recovery.is_recovered and recovery.was_disrupted, recovery.describe()
        assert earliest - SLACK <= recovery.seconds <= latest + SLACK, (
            f"{recovery.describe()}: outside the RFC 5798 window [{earliest:.3f}, {latest:.3f}] s (slack {SLACK} s)"
        )
        assert [name for name, _ in flow.served_by()] == ["lb1", "lb2"], flow.figures().summary()
        assert len(flow.outages()) == 1, flow.figures().summary()
