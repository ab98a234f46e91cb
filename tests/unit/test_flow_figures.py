"""Figures over synthetic request records: availability, outages, recovery per fault, lost requests, latency, responders."""

from __future__ import annotations

import json
import math

import pytest

from chaos.errors import UsageError
from chaos.timeline import FaultRecord
from chaos.traffic import figures
from chaos.traffic.records import Outcome, Request, RequestLog, Requests

CODES = {"o": Outcome.OK, "t": Outcome.TIMEOUT, "r": Outcome.REFUSED, "x": Outcome.RESET, "w": Outcome.WRONG}


def flow(pattern: str, interval: float = 0.1, start: float = 0.0, served: str = "", latency: float = 0.001) -> Requests:
    """Requests every ``interval`` s, one letter each (o ok, t timeout, r refused...); ``served`` names each ok one (1 = lb1, 2 = lb2)."""
    rows = []
    for i, code in enumerate(pattern):
        who = served[i] if i < len(served) else "1"
        ok = code == "o"
        rows.append(Request(start + i * interval, CODES[code], f"lb{who}" if ok and who != "-" else None, latency if ok else math.nan))
    return Requests.from_rows(rows)


def fault(index: int, effective: float, requested: float | None = None, name: str = "power_off", targets: tuple[str, ...] = ("lb1",)) -> FaultRecord:
    return FaultRecord(index, name, targets, effective if requested is None else requested, effective)


def spans(found: list[figures.Outage]) -> list[tuple[float, float, int, bool]]:
    return [(round(o.start, 3), round(o.end, 3), o.failed, o.recovered) for o in found]


# -- outages ------------------------------------------------------------------------------


def test_no_outage():
    requests = flow("oooooo")
    assert figures.outages(requests) == []
    assert figures.availability(requests) == 1.0
    assert figures.lost(requests) == 0


def test_outage_at_the_start_ends_at_the_first_success():
    requests = flow("tttooo", served="---222")
    [outage] = figures.outages(requests)
    assert spans([outage]) == [(0.0, 0.3, 3, True)]
    assert (outage.before, outage.after) == (None, "lb2")
    assert outage.duration == pytest.approx(0.3)


def test_outage_at_the_end_lasts_until_the_flow_stopped():
    requests = flow("oootttt")
    assert spans(figures.outages(requests)) == [(0.3, 0.6, 4, False)]  # default: the last request sent
    [outage] = figures.outages(requests, until=2.0)
    assert spans([outage]) == [(0.3, 2.0, 4, False)]
    assert outage.describe() == "from 0.30 s, not recovered when the flow stopped at 2.00 s, lb1 → -"


def test_several_outages_each_with_who_served_before_and_after():
    requests = flow("otoorrtoooxo", served="111111122222")
    assert spans(figures.outages(requests)) == [(0.1, 0.2, 1, True), (0.4, 0.7, 3, True), (1.0, 1.1, 1, True)]
    assert [(o.before, o.after) for o in figures.outages(requests)] == [("lb1", "lb1"), ("lb1", "lb2"), ("lb2", "lb2")]


def test_a_flow_that_never_succeeds_is_one_unrecovered_outage():
    requests = flow("tttt")
    assert spans(figures.outages(requests, until=0.5)) == [(0.0, 0.5, 4, False)]
    assert figures.availability(requests) == 0.0


def test_outage_describe_names_the_span_and_the_responders():
    [outage] = figures.outages(flow("oottoo", served="112222"))
    assert outage.describe() == "from 0.20 s to 0.40 s, lb1 → lb2"


# -- availability, lost, outcomes, latency, responders ------------------------------------


def test_availability_lost_and_outcomes():
    requests = flow("ootrrwoxoo")
    assert figures.availability(requests) == pytest.approx(0.5)
    assert figures.lost(requests) == 5
    assert figures.outcome_counts(requests) == {"ok": 5, "timeout": 1, "refused": 2, "reset": 1, "wrong answer": 1}


def test_latency_quantiles_are_nearest_rank_over_successes_only():
    rows = [Request(i * 0.01, Outcome.OK, "lb1", (i + 1) / 1000) for i in range(100)]
    rows.append(Request(5.0, Outcome.TIMEOUT))
    requests = Requests.from_rows(rows)
    assert figures.latency_quantile(requests, 0.5) == pytest.approx(0.050)
    assert figures.latency_quantile(requests, 0.99) == pytest.approx(0.099)
    assert figures.latency_quantile(requests, 1.0) == pytest.approx(0.100)
    with pytest.raises(UsageError, match="not between 0 and 1"):
        figures.latency_quantile(requests, 99)
    with pytest.raises(UsageError, match="not between 0 and 1"):
        figures.latency_quantile(requests, "p99")  # type: ignore[arg-type]  # was a raw TypeError


def test_served_by_lists_each_change_of_responder_with_its_time():
    requests = flow("ooottooooo", served="11122-2211")
    assert [(name, round(since, 3)) for name, since in figures.served_by(requests)] == [("lb1", 0.0), ("lb2", 0.6), ("lb1", 0.8)]


def test_unnamed_answers_do_not_count_as_a_change():
    requests = flow("oooo", served="1--1")
    assert figures.served_by(requests) == [("lb1", 0.0)]


# -- recovery after faults ----------------------------------------------------------------


def test_recovery_runs_from_the_fault_taking_effect_to_the_first_success_after_its_outage():
    requests = flow("oottttoo", served="11----22")
    recovery = figures.recovery_after(requests, fault(0, effective=0.25, requested=0.15))
    assert recovery.seconds == pytest.approx(0.35)  # 0.25 -> first success at 0.6
    assert recovery.is_recovered and recovery.was_disrupted
    assert recovery.outage is not None and (recovery.outage.before, recovery.outage.after) == ("lb1", "lb2")
    assert recovery.describe() == "after #0 power_off(lb1) (effective 0.25 s): recovered in 0.35 s; outage 0.40 s from 0.20 s to 0.60 s, lb1 → lb2"


def test_a_fault_with_no_recovery():
    requests = flow("oootttt")
    recovery = figures.recovery_after(requests, fault(0, effective=0.25), until=1.0)
    assert recovery.seconds == math.inf and not recovery.is_recovered
    assert recovery.describe() == (
        "after #0 power_off(lb1) (effective 0.25 s): did not recover; outage from 0.30 s, not recovered when the flow stopped at 1.00 s, lb1 → -"
    )
    assert recovery.as_report() == {"fault": 0, "seconds": None, "disrupted": True}


def test_a_fault_the_flow_did_not_notice_recovers_in_zero_seconds():
    recovery = figures.recovery_after(flow("oooooo"), fault(0, effective=0.2))
    assert (recovery.seconds, recovery.outage, recovery.was_disrupted) == (0.0, None, False)
    assert recovery.describe().endswith(": no outage")


def test_an_outage_that_ended_before_the_fault_is_not_its_outage():
    requests = flow("otooooottoo")
    recovery = figures.recovery_after(requests, fault(0, effective=0.55))
    assert recovery.seconds == pytest.approx(0.9 - 0.55)


def test_each_fault_gets_its_own_outage_up_to_the_next_fault():
    requests = flow("otto" + "oooo" + "ottto")  # outages at 0.1-0.3 and 0.9-1.2
    first, second = fault(0, effective=0.1, requested=0.05), fault(1, effective=0.85, requested=0.8)
    found = figures.recoveries(requests, [second, first])
    assert [(r.fault, round(r.seconds, 3)) for r in found] == [(0, 0.2), (1, 0.35)]
    # A fault with no outage of its own before the next fault was requested stays undisturbed.
    quiet = figures.recovery_after(requests, fault(2, effective=0.45), [second])
    assert quiet.seconds == 0.0 and quiet.outage is None


def test_a_fault_before_the_flow_started_counts_from_its_effect():
    requests = flow("ttoo", start=1.0)
    assert figures.recovery_after(requests, fault(0, effective=0.5)).seconds == pytest.approx(1.2 - 0.5)


def test_a_fault_after_the_flow_stopped_cannot_be_judged():
    with pytest.raises(UsageError, match=r"the flow sent no request after #0 power_off\(lb1\) took effect at 9.00 s"):
        figures.recovery_after(flow("oooo"), fault(0, effective=9.0))
    assert figures.recoveries(flow("oooo"), [fault(0, effective=9.0)]) == []


def test_a_fault_that_never_took_effect_counts_from_its_request():
    record = FaultRecord(0, "kill", ("lb1",), requested=0.15)
    assert figures.recovery_after(flow("oottoo"), record).seconds == pytest.approx(0.4 - 0.15)


# -- the empty flow and the summary --------------------------------------------------------


def test_an_empty_flow_has_no_figures_rather_than_perfect_ones():
    empty = Requests.from_rows([])
    assert figures.availability(empty) is None
    assert (figures.outages(empty), figures.lost(empty), figures.served_by(empty)) == ([], 0, [])
    assert figures.latency_quantile(empty, 0.99) is None
    summary = figures.summarize("http client->www", empty, [fault(0, effective=1.0)])
    assert summary.summary() == "http client->www: no completed requests"
    assert summary.recoveries == []
    with pytest.raises(UsageError, match="start the flow before the fault"):
        figures.recovery_after(empty, fault(0, effective=1.0))


def test_summarize_and_the_report_shape():
    requests = flow("oottttoo", served="11----22")
    summary = figures.summarize("http client->www", requests, [fault(0, effective=0.25)], until=0.8)
    assert (summary.requests, summary.ok, summary.failed) == (8, 4, 4)
    assert summary.summary() == "http client->www: 8 requests, 50 % ok, longest outage 0.40 s, recovery #0 0.35 s, p99 1.0 ms"
    report = summary.as_report()
    json.dumps(report, allow_nan=False)  # no NaN or infinity reaches the JSON
    assert report["outages"] == [{"start": 0.2, "end": 0.6, "duration": 0.4, "failed": 4, "recovered": True}]
    assert report["recovery"] == [{"fault": 0, "seconds": 0.35, "disrupted": True}]
    assert report["served_by"] == [["lb1", 0.0], ["lb2", 0.6]]
    assert report["availability"] == 0.5
    assert report["latency"] == {"p50": 1.0, "p99": 1.0, "unit": "ms"}


def test_percent_is_short_and_exact():
    assert [figures.percent(v) for v in (1.0, 0.5725, 0.99, 0.0, None)] == ["100 %", "57.25 %", "99 %", "0 %", "n/a"]


# -- the request log --------------------------------------------------------------------


def test_the_log_orders_by_sequence_and_hides_requests_still_in_flight():
    log = RequestLog()
    log.record(2, 0.2, 0.001, Outcome.OK, "lb2")
    log.record(0, 0.0, math.nan, Outcome.TIMEOUT, "")
    assert len(log) == 2  # request 1 is still in flight
    snapshot = log.snapshot()
    assert [(r.sent, r.outcome, r.responder) for r in snapshot] == [(0.0, Outcome.TIMEOUT, None), (0.2, Outcome.OK, "lb2")]
    log.record(1, 0.1, 0.002, Outcome.OK, "lb1")
    assert [r.responder for r in log.snapshot()] == [None, "lb1", "lb2"]
    assert log.tail(2) == [Outcome.OK, Outcome.OK]
    assert log.tail(10) == [Outcome.TIMEOUT, Outcome.OK, Outcome.OK]


def test_the_log_keeps_each_responder_name_once():
    log = RequestLog()
    for seq in range(1000):
        log.record(seq, seq / 100, 0.001, Outcome.OK, "lb1" if seq < 500 else "lb2")
    snapshot = log.snapshot()
    assert snapshot.names == ("", "lb1", "lb2")
    assert snapshot.responder.itemsize == 2 and snapshot.outcome.itemsize == 1  # compact columns
