"""Verdicts and SLOs: each limit, the message a person acts on, and the report a test writes."""

from __future__ import annotations

import json
import re

import pytest

from chaos._internal.durations import parse_duration
from chaos._internal.shares import parse_share
from chaos.errors import ChaosError, UsageError
from chaos.report import LabFacts, build_report, report_path, write_report
from chaos.slo import Slo, VipOwners, verdict
from chaos.timeline import FaultRecord
from chaos.traffic import figures, verdicts
from chaos.traffic.records import Outcome, Request, Requests


def failover_flow(fail_from: float = 2.09, fail_to: float = 7.30, interval: float = 0.01, end: float = 9.0) -> figures.FlowFigures:
    """A flow served by lb1, failing from ``fail_from`` and served by lb2 from ``fail_to``."""
    rows = []
    for i in range(round(end / interval) + 1):
        sent = round(i * interval, 6)
        if sent < fail_from - 1e-9:
            rows.append(Request(sent, Outcome.OK, "lb1", 0.001))
        elif sent < fail_to - 1e-9:
            rows.append(Request(sent, Outcome.TIMEOUT if i % 10 else Outcome.REFUSED))
        else:
            rows.append(Request(sent, Outcome.OK, "lb2", 0.001))
    fault = FaultRecord(0, "power_off", ("lb1",), 2.01, 2.08)
    return figures.summarize("http client->www", Requests.from_rows(rows), [fault], until=end)


def test_max_outage_message_says_how_long_when_and_who():
    flow = failover_flow()
    assert verdicts.max_outage(flow, 4.5) == "flow http client->www: outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2"
    assert verdicts.max_outage(flow, 5.5) is None


def test_min_availability_message_counts_failures_by_kind_and_lists_outages():
    flow = failover_flow()
    message = verdicts.min_availability(flow, 0.99)
    assert message == (
        "flow http client->www: availability 42.18 % < 99 % required: 521 of 901 requests failed (timeout 469, refused 52); "
        "outages: 2.09 s to 7.30 s (5.21 s)"
    )
    assert verdicts.min_availability(flow, 0.4) is None


def test_max_lost_as_a_count_and_as_a_share():
    flow = failover_flow()
    assert verdicts.max_lost(flow, verdicts.parse_lost(20)) == (
        "flow http client->www: 521 requests lost > 20 allowed, of 901 (timeout 469, refused 52); outages: 2.09 s to 7.30 s (5.21 s)"
    )
    assert verdicts.max_lost(flow, verdicts.parse_lost(0.05)) == (
        "flow http client->www: 521 of 901 requests lost (57.82 %) > 5 % allowed (timeout 469, refused 52); outages: 2.09 s to 7.30 s (5.21 s)"
    )
    assert verdicts.max_lost(flow, verdicts.parse_lost(521)) is None
    assert verdicts.max_lost(flow, verdicts.parse_lost("60 %")) is None


def test_recovered_within():
    flow = failover_flow()
    [recovery] = flow.recoveries
    assert recovery.seconds == pytest.approx(5.22)
    assert verdicts.recovered_within(flow.name, recovery, 6) is None
    assert verdicts.recovered_within(flow.name, recovery, 4.5) == (
        "flow http client->www: recovery 5.22 s > 4.5 s allowed after #0 power_off(lb1) (effective 2.08 s); outage from 2.09 s to 7.30 s, lb1 → lb2"
    )
    stuck = failover_flow(fail_to=99)
    assert verdicts.recovered_within(stuck.name, stuck.recoveries[0], 4.5) == (
        "flow http client->www: after #0 power_off(lb1) (effective 2.08 s): did not recover; "
        "outage from 2.09 s, not recovered when the flow stopped at 9.00 s, lb1 → -"
    )


def test_every_check_on_an_empty_flow_says_there_is_nothing_to_judge():
    empty = figures.summarize("udp client->www", Requests.from_rows([]))
    for breach in (verdicts.max_outage(empty, 1), verdicts.min_availability(empty, 0.5), verdicts.max_lost(empty, verdicts.LostLimit(count=0))):
        assert breach is not None and breach.startswith("flow udp client->www completed no requests")


def test_parse_lost_tells_counts_from_shares():
    assert verdicts.parse_lost(3) == verdicts.LostLimit(count=3)
    assert verdicts.parse_lost(0.05) == verdicts.LostLimit(share=0.05)
    assert str(verdicts.parse_lost("5%")) == "5 %"
    with pytest.raises(UsageError, match="use a count of 0 or more"):
        verdicts.parse_lost(-1)


def duration_error(value: float | str, what: str) -> str:
    """The message the one duration parser gives for ``value``."""
    with pytest.raises(UsageError) as info:
        parse_duration(value, what)
    return str(info.value)


def share_error(value: float | str, what: str) -> str:
    """The message the one share parser gives for ``value``: what a share slip must say, built by the library."""
    with pytest.raises(UsageError) as info:
        parse_share(value, what)
    return str(info.value)


def test_a_share_slip_message_has_the_hint():
    """The premise of the tests below: the parser's own message names both ways to write it."""
    message = share_error(99, "min_availability")
    assert "'99 %'" in message and "0.99" in message


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        (5.0, "max_lost=5.0 is neither a count nor a share: write 5 for a count of requests, or '5 %' (or 0.05) for a share"),
        (2.5, share_error(2.5, "max_lost")),
        ("150 %", share_error("150 %", "max_lost")),
    ],
)
def test_parse_lost_refuses_slips_with_a_hint(given, hint):
    with pytest.raises(UsageError) as info:
        verdicts.parse_lost(given)
    assert str(info.value).startswith(hint)


# -- owners ---------------------------------------------------------------------------------


def test_simultaneous_owners_and_the_max_owners_message():
    changes = [(0.05, ()), (3.41, ("lb1",)), (5.0, ("lb1", "lb2")), (5.8, ("lb2",)), (7.0, ("lb1", "lb2"))]
    assert verdicts.simultaneous_owners(changes) == [(5.0, 5.8, ("lb1", "lb2")), (7.0, None, ("lb1", "lb2"))]
    assert verdicts.max_owners("www", changes, 1, until=9.0) == (
        "VIP www was held by 2 members at once (lb1, lb2) from 5.00 s to 5.80 s (and 1 more time); at most 1 allowed"
    )
    assert verdicts.max_owners("www", changes, 2) is None
    assert (
        verdicts.max_owners("www", changes[:3], 1, until=9.0)
        == "VIP www was held by 2 members at once (lb1, lb2) from 5.00 s until the end (9.00 s); at most 1 allowed"
    )
    assert verdicts.max_owners("www", [(0.0, ("lb1",)), (3.5, ("lb2",))], 1) is None


# -- the SLO --------------------------------------------------------------------------------


def test_slo_parses_what_users_write():
    slo = Slo.parse(max_outage="4.5s", min_availability="99 %", max_lost=0.05, max_owners=1)
    assert (slo.max_outage, slo.min_availability, slo.max_lost, slo.max_owners) == (4.5, 0.99, verdicts.LostLimit(share=0.05), 1)
    assert slo.describe() == "slo(max_outage=4.5, min_availability=0.99, max_lost=5 %, max_owners=1)"
    assert slo.as_report() == {"max_outage": 4.5, "min_availability": 0.99, "max_lost": 0.05, "max_owners": 1}


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_outag": 3}, "unknown SLO limit max_outag; valid: max_outage, min_availability, max_lost, max_owners"),
        ({}, "an SLO needs at least one limit"),
        ({"max_outage": "soon"}, duration_error("soon", "max_outage")),
        ({"max_outage": -1}, duration_error(-1, "max_outage")),
        ({"min_availability": "ninety"}, share_error("ninety", "min_availability")),
        ({"min_availability": True}, share_error(True, "min_availability")),
        ({"min_availability": -0.1}, share_error(-0.1, "min_availability")),
        ({"max_lost": [3]}, share_error([3], "max_lost")),
        ({"max_owners": 0}, "max_owners=0: use a whole number of members, 1 or more"),
        ({"max_owners": 1.0}, "max_owners=1.0: use a whole number of members"),
    ],
)
def test_slo_refuses_bad_limits_with_what_is_valid(limits, message):
    with pytest.raises(UsageError) as info:
        Slo.parse(**limits)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("limits", "hint"),
    [
        ({"min_availability": 99}, share_error(99, "min_availability")),
        ({"min_availability": 99.5}, share_error(99.5, "min_availability")),
        ({"max_lost": 5.0}, "max_lost=5.0 is neither a count nor a share: write 5 for a count of requests, or '5 %' (or 0.05) for a share"),
    ],
)
def test_slo_refuses_share_slips_with_a_hint(limits, hint):
    """A percentage written as a bare number is a slip, not 99 times everything; the old parser said only "not a share"."""
    with pytest.raises(UsageError) as info:
        Slo.parse(**limits)
    assert str(info.value) == hint


@pytest.mark.parametrize(
    "limits",
    [{"max_outag": 1}, {}, {"max_outage": "soon"}, {"min_availability": 99}, {"max_lost": 5.0}, {"max_owners": "one"}],
)
def test_slo_errors_are_chaos_errors_not_plain_value_errors(limits):
    with pytest.raises(ChaosError):
        Slo.parse(**limits)


def test_slo_takes_every_form_of_a_share_and_a_duration():
    assert Slo.parse(max_outage="500ms").max_outage == 0.5
    assert Slo.parse(max_outage=2).max_outage == 2.0
    assert Slo.parse(min_availability="99.5 %").min_availability == pytest.approx(0.995)
    assert Slo.parse(max_lost="5 %").max_lost == verdicts.LostLimit(share=0.05)
    assert Slo.parse(max_lost=5).max_lost == verdicts.LostLimit(count=5)


def test_slo_breaches_cover_every_flow_and_vip():
    slo = Slo.parse(max_outage="4.5s", max_lost=0.5, max_owners=1)
    split = VipOwners("www", [(0.0, ("lb1",)), (3.0, ("lb1", "lb2")), (3.5, ("lb2",))], until=9.0)
    healthy = failover_flow(fail_from=2.0, fail_to=2.5)
    breaches = slo.breaches([failover_flow(), healthy], [split])
    assert breaches == [
        "flow http client->www: outage 5.21 s > 4.5 s allowed, from 2.09 s to 7.30 s, lb1 → lb2",
        "flow http client->www: 521 of 901 requests lost (57.82 %) > 50 % allowed (timeout 469, refused 52); outages: 2.09 s to 7.30 s (5.21 s)",
        "VIP www was held by 2 members at once (lb1, lb2) from 3.00 s to 3.50 s; at most 1 allowed",
    ]
    assert slo.breaches([healthy], [VipOwners("www", [(0.0, ("lb1",))])]) == []


def test_an_slo_with_nothing_to_judge_is_breached():
    assert Slo.parse(max_outage=1).breaches([], []) == ["slo(max_outage=1) judges traffic flows, but the test ran none (start one with lab.traffic)"]
    assert Slo.parse(max_owners=1).breaches([], []) == ["slo(max_owners=1) judges VIPs, but the test's labs have none"]
    unknown = VipOwners("www", [], problem="watcher on lb1 did not start")
    assert Slo.parse(max_owners=1).breaches([], [unknown]) == [
        "VIP www: no owner history was recorded, so max_owners cannot be judged: watcher on lb1 did not start"
    ]


def test_empty_flow_breaches_once_not_once_per_limit():
    empty = figures.summarize("udp client->www", Requests.from_rows([]))
    assert len(Slo.parse(max_outage=1, min_availability=0.5, max_lost=0).breaches([empty], [])) == 1


# -- the report -----------------------------------------------------------------------------


def test_report_has_the_design_shape(tmp_path):
    flow = failover_flow()
    fault = FaultRecord(0, "power_off", ("lb1",), 2.01, 2.08)
    vip = {"name": "www", "owners": [[0.0, ["lb1"]], [5.58, ["lb2"]]], "max_simultaneous_owners": 1}
    slo = Slo.parse(max_outage="4.5s")
    report = build_report(
        "suites/keepalived/test_pair.py::test_power_off",
        "failed",
        [LabFacts("pair", [fault], [flow], [vip])],
        "20.10.24",
        verdict(slo, slo.breaches([flow], [])),
    )
    assert list(report) == ["test", "outcome", "lab", "engine", "faults", "flows", "vips", "slo"]
    assert report["faults"] == [
        {
            "index": 0,
            "name": "power_off",
            "targets": ["lb1"],
            "requested": 2.01,
            "effective": 2.08,
            "heal_requested": None,
            "healed": None,
            "detail": "",
        }
    ]
    assert report["flows"][0]["outages"] == [{"start": 2.09, "end": 7.3, "duration": 5.21, "failed": 521, "recovered": True}]
    assert report["flows"][0]["recovery"] == [{"fault": 0, "seconds": 5.22, "disrupted": True}]
    assert report["vips"] == [vip]
    assert report["slo"]["verdict"] == "fail" and report["slo"]["max_outage"] == 4.5
    path = write_report(report, tmp_path / "reports")
    assert json.loads(path.read_text()) == report
    assert path.parent == tmp_path / "reports"


def test_report_paths_are_safe_and_distinct_for_parametrized_tests():
    first = report_path("r", "suites/k/test_pair.py::test_x[http-1]")
    second = report_path("r", "suites/k/test_pair.py::test_x[http/1]")
    assert first != second
    assert first.name.startswith("suites_k_test_pair.py__test_x_http-1-") and first.suffix == ".json"


def test_a_handover_overlap_shorter_than_the_grace_is_not_a_split_brain():
    handover = [(0.0, ("lb2",)), (3.000, ("lb1", "lb2")), (3.001, ("lb1",))]
    assert verdicts.max_owners("www", handover, 1) is None
    lasting = [(0.0, ("lb2",)), (3.0, ("lb1", "lb2")), (3.2, ("lb1",))]
    assert verdicts.max_owners("www", lasting, 1) == "VIP www was held by 2 members at once (lb1, lb2) from 3.00 s to 3.20 s; at most 1 allowed"
    assert verdicts.max_owners("www", handover, 1, grace=0) is not None


def test_building_an_slo_directly_validates_like_parse():
    """One construction path: `Slo(...)` used to keep "4.5s" as a string and fail later inside a verdict."""
    assert Slo(max_outage="4.5s", min_availability="99 %", max_lost=0.05) == Slo.parse(max_outage=4.5, min_availability=0.99, max_lost=0.05)
    with pytest.raises(UsageError, match=re.escape(share_error(99, "min_availability"))):
        Slo(min_availability=99)
    with pytest.raises(UsageError, match="an SLO needs at least one limit"):
        Slo()
