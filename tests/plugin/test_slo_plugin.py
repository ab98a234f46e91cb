"""The `slo` marker, the JSON report, JUnit properties and the summary line, with pytester and real labs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from pytest_chaos.slo import flow_key

from chaos._internal.durations import parse_duration
from chaos.errors import UsageError

TWO_HOSTS = "networks: {n: {}}\nhosts: {a: {networks: [n]}, b: {networks: [n]}}\n"
PAIR = (
    "networks: {front: {}}\n"
    "hosts: {lb1: {networks: [front]}, lb2: {networks: [front]}, client: {networks: [front]}}\n"
    "vips: {www: {network: front, provider: keepalived, members: {lb1: 150, lb2: 100}, advert_int: 1}}\n"
)


def junit_properties(pytester: pytest.Pytester) -> dict[str, str | None]:
    """The properties of the JUnit XML the child run wrote (one test)."""
    return {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}


@pytest.mark.integration
def test_a_kept_slo_passes_and_reports_its_figures_of_a_fixture_made_flow(pytester):
    pytester.path.joinpath("two.yaml").write_text(TWO_HOSTS)
    pytester.makepyfile(
        "import time\n"
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def steady(lab):\n"
        "    with lab.traffic.http('a', 'b', rate=200) as flow:\n"
        "        yield flow\n\n"
        "@pytest.mark.topology('two.yaml')\n"
        "@pytest.mark.slo(max_outage='1s', min_availability=0.99, max_lost=0)\n"
        "def test_steady(lab, steady):\n"
        "    time.sleep(1)  # the flow still runs when the body ends: the SLO check stops it first\n"
    )
    result = pytester.runpytest("--chaos-require-docker", "--chaos-report-dir=reports", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*chaos: flows and SLOs*", "test_a_kept_slo_passes*::test_steady: http a->b: * requests, 100 % ok, no outage, p99 * | slo pass"]
    )
    [path] = pytester.path.joinpath("reports").glob("*.json")
    report = json.loads(path.read_text())
    assert (report["outcome"], report["lab"], report["faults"]) == ("passed", "two", [])
    [flow] = report["flows"]
    assert flow["name"] == "http a->b" and flow["requests"] >= 150 and flow["failed"] == 0 and flow["served_by"][0][0] == "b"
    assert report["slo"] == {"max_outage": 1.0, "min_availability": 0.99, "max_lost": 0, "verdict": "pass", "breaches": []}
    properties = junit_properties(pytester)
    key = f"chaos.flow.{flow_key('http a->b')}"
    assert properties["chaos.slo"] == "pass"
    assert properties[f"{key}.availability"] == "1.0"
    assert properties[f"{key}.lost"] == "0"
    assert int(properties[f"{key}.requests"]) == flow["requests"]
    assert properties[f"{key}.max_outage_seconds"] == "0.0"


@pytest.mark.integration
def test_a_breached_slo_fails_the_test_with_the_figures(pytester):
    pytester.path.joinpath("two.yaml").write_text(TWO_HOSTS)
    pytester.makepyfile(
        "import time\n"
        "import pytest\n"
        "from chaos import faults\n\n"
        "@pytest.mark.topology('two.yaml')\n"
        "@pytest.mark.slo(max_outage='0.5s', min_availability=0.9)\n"
        "def test_b_dies(lab, chaos):\n"
        "    with lab.traffic.tcp('a', 'b', rate=100):\n"
        "        time.sleep(0.5)\n"
        "        chaos.inject(faults.power_off('b'))\n"
        "        time.sleep(1)\n"
    )
    result = pytester.runpytest("--chaos-require-docker", "--chaos-report-dir=reports", "--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*SLO breached: slo(max_outage=0.5, min_availability=0.9)",
            "*flow tcp a->b: outage 1.* s > 0.5 s allowed, from * s, not recovered when the flow stopped at * s, b → -",
            "*flow tcp a->b: availability * < 90 % required: * of * requests failed (*)*",
            "*figures:",
            "*tcp a->b: * requests, * ok, longest outage 1.* s, #0 not recovered*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    [path] = pytester.path.joinpath("reports").glob("*.json")
    report = json.loads(path.read_text())
    assert report["outcome"] == "failed" and report["slo"]["verdict"] == "fail" and len(report["slo"]["breaches"]) == 2
    [fault] = report["faults"]
    assert fault["name"] == "power_off" and fault["targets"] == ["b"] and fault["healed"] is not None  # the ledger healed it
    assert report["flows"][0]["recovery"] == [{"fault": 0, "seconds": None, "disrupted": True}]
    properties = junit_properties(pytester)
    key = f"chaos.flow.{flow_key('tcp a->b')}"
    assert properties["chaos.slo"] == "fail"
    assert int(properties[f"{key}.requests"]) == report["flows"][0]["requests"] > 0
    assert int(properties[f"{key}.lost"]) == report["flows"][0]["failed"] > 0
    assert float(properties[f"{key}.max_outage_seconds"]) >= 1.0, "b was off from the inject to the end of the flow, about 1 s"
    assert properties[f"{key}.recovery_seconds.0"] == "not recovered"


@pytest.mark.integration
def test_max_owners_fails_when_two_members_hold_the_vip(pytester):
    pytester.path.joinpath("pair.yaml").write_text(PAIR)
    pytester.makepyfile(
        "import pytest\n"
        "from chaos import eventually\n\n"
        "@pytest.mark.topology('pair.yaml')\n"
        "@pytest.mark.slo(max_owners=1)\n"
        "def test_forced_split_brain(lab):\n"
        "    www = lab.vips['www']\n"
        "    www.wait_owner('lb1', within='15s')\n"
        "    lab.hosts['lb2'].check(['ip', 'addr', 'add', www.address + '/32', 'dev', 'eth0'])\n"
        "    eventually(lambda: www.history.max_simultaneous_owners, until=lambda n: n == 2, within=5)\n\n"
        "@pytest.mark.topology('pair.yaml')\n"
        "@pytest.mark.slo(max_owners=1)\n"
        "def test_one_owner(lab):\n"
        "    lab.vips['www'].wait_owner('lb1', within='15s')\n"
    )
    result = pytester.runpytest("--chaos-require-docker", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    cases = ET.parse(pytester.path / "junit.xml").iter("testcase")
    by_test = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    assert by_test["test_forced_split_brain"]["chaos.vip.www.max_simultaneous_owners"] == "2"
    assert by_test["test_forced_split_brain"]["chaos.slo"] == "fail"
    assert by_test["test_one_owner"]["chaos.vip.www.max_simultaneous_owners"] == "1"
    assert by_test["test_one_owner"]["chaos.slo"] == "pass"
    result.stdout.fnmatch_lines(
        [
            "*SLO breached: slo(max_owners=1)",
            "*VIP www was held by 2 members at once (lb1, lb2) from * s until the end (* s); at most 1 allowed",
            "*VIP www: owners none (*) → lb1 (*) → lb1+lb2 (*)",
        ]
    )


def test_a_bad_slo_marker_is_one_clear_message(pytester):
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.slo(max_outge='1s')\ndef test_typo():\n    pass\n\n@pytest.mark.slo(4.5)\ndef test_positional():\n    pass\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_typo: @pytest.mark.slo: unknown SLO limit max_outge; valid: max_outage, min_availability, max_lost, max_owners",
            "*test_positional: @pytest.mark.slo takes keyword limits only*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_share_slips_in_the_marker_are_refused_with_a_hint(pytester):
    """Shares are fractions: `min_availability=99` was "not a share", and `max_lost=5.0` did not say what to write."""
    pytester.makepyfile(
        "import pytest\n\n"
        "@pytest.mark.slo(min_availability=99)\ndef test_percent():\n    pass\n\n"
        "@pytest.mark.slo(max_lost=5.0)\ndef test_float_count():\n    pass\n\n"
        "@pytest.mark.slo(max_outage='4.5 sec')\ndef test_unit():\n    pass\n"
    )
    with pytest.raises(UsageError) as expected:
        parse_duration("4.5 sec", "max_outage")
    duration_error = str(expected.value)
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*test_percent: @pytest.mark.slo: min_availability=99 is not a share: *'99 %'*0.99*",
            "*test_float_count: @pytest.mark.slo: max_lost=5.0 is neither a count nor a share: write 5 for a count of requests, or '5 %'*",
            f"*test_unit: @pytest.mark.slo: {duration_error}",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_slo_with_nothing_to_judge_fails(pytester):
    pytester.makepyfile("import pytest\n\n@pytest.mark.slo(max_outage='1s', max_owners=1)\ndef test_no_lab():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*slo(max_outage=1, max_owners=1) judges traffic flows, but the test ran none (start one with lab.traffic)",
            "*slo(max_outage=1, max_owners=1) judges VIPs, but the test's labs have none",
        ]
    )


def test_the_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.slo(max_outage=None, min_availability=None, max_lost=None, max_owners=None): *"])
