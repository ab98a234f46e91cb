"""pytest glue for flows and SLOs: the `slo` marker, the per-test JSON report, JUnit properties and a summary line.

After the test body, every flow of the test's labs is stopped and its figures drawn; the
``@pytest.mark.slo(...)`` limits are judged against every flow and VIP, and a breach fails
the test with the figures. The figures also go to the JUnit XML (as properties), to the
terminal summary and, with ``--chaos-report-dir``, to one JSON file per test.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_chaos.plugin import engine_key, labs_key

if TYPE_CHECKING:
    from chaos.lab import Lab
    from chaos.report import LabFacts
    from chaos.slo import Slo, VipOwners


@dataclass
class TestFacts:
    """What the plugin gathered from one test's labs after the body, and how the test went."""

    labs: list[LabFacts]
    slo: Slo | None
    breaches: list[str]
    outcome: str = "passed"
    flow_lines: list[str] = field(default_factory=list)
    vip_lines: list[str] = field(default_factory=list)


facts_key = pytest.StashKey[TestFacts]()
summary_key = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos")
    group.addoption(
        "--chaos-report-dir",
        metavar="DIR",
        default=None,
        help="write one JSON report per test that used a lab (faults, flows, VIPs, SLO verdict) into DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slo(max_outage=None, min_availability=None, max_lost=None, max_owners=None): limits every traffic flow and VIP "
        "of the test must meet, checked after the body: max_outage a duration ('4.5s'), min_availability a share (0.99 or "
        "'99 %'), max_lost a count (an int: 20) or a share (0.05 or '5 %'), max_owners the members that may hold a VIP at once",
    )
    config.stash[summary_key] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    slo = _slo_of(item)
    try:
        result = yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        try:
            _gather(item, slo)  # figures for the report; the body's own failure is what the test reports
        except Exception as problem:  # never hide the body's failure behind ours
            exc.add_note(f"chaos: the figures of this test could not be gathered: {type(problem).__name__}: {problem}")
        raise
    breaches = _gather(item, slo)
    if breaches:
        __tracebackhide__ = True
        lines = "\n".join(f"  {breach}" for breach in breaches)
        facts = item.stash[facts_key]
        figures = "\n".join(f"  {line}" for line in facts.flow_lines + facts.vip_lines)
        pytest.fail(f"SLO breached: {slo.describe() if slo else ''}\n{lines}\nfigures:\n{figures}", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    facts = item.stash.get(facts_key, None)
    if facts is None:
        return report
    if report.failed:
        facts.outcome = "failed" if report.when == "call" else "error"
    elif report.skipped and facts.outcome == "passed":
        facts.outcome = "skipped"
    if report.when == "teardown":
        _finish(item, facts)
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(summary_key, [])
    if lines:
        terminalreporter.section("chaos: flows and SLOs")
        for line in lines:
            terminalreporter.write_line(line)


# -- helpers ----------------------------------------------------------------------------


def _slo_of(item: pytest.Item) -> Slo | None:
    marker = item.get_closest_marker("slo")
    if marker is None:
        return None
    from chaos.errors import UsageError
    from chaos.slo import Slo

    if marker.args:
        pytest.fail(f"{item.nodeid}: @pytest.mark.slo takes keyword limits only, e.g. slo(max_outage='4.5s', max_owners=1)", pytrace=False)
    try:
        return Slo.parse(**marker.kwargs)
    except UsageError as exc:
        problem = f"{item.nodeid}: @pytest.mark.slo: {exc}"
    pytest.fail(problem, pytrace=False)


def _gather(item: pytest.Item, slo: Slo | None) -> list[str]:
    """Stop the flows, draw the figures, judge the SLO; keep it all in the item's stash."""
    labs: list[Lab] = item.stash.get(labs_key, [])
    if not labs and slo is None:
        return []
    facts = [_lab_facts(lab) for lab in labs]
    flows = [flow for lab in facts for flow in lab.flows]
    vips = [_vip_owners(lab) for lab in labs]
    breaches = slo.breaches(flows, [vip for found in vips for vip in found]) if slo else []
    flow_lines = [flow.summary() for flow in flows]
    vip_lines = [f"VIP {vip.name}: owners {_owners(vip)}" for found in vips for vip in found]
    item.stash[facts_key] = TestFacts(facts, slo, breaches, flow_lines=flow_lines, vip_lines=vip_lines)
    for flow in flows:
        key = flow_key(flow.name)
        longest = flow.longest_outage
        item.user_properties += [
            (f"chaos.flow.{key}.requests", flow.requests),
            (f"chaos.flow.{key}.availability", "" if flow.availability is None else round(flow.availability, 4)),
            (f"chaos.flow.{key}.lost", flow.failed),
            (f"chaos.flow.{key}.max_outage_seconds", round(longest.duration, 3) if longest else 0.0),
        ]
        item.user_properties += [
            (f"chaos.flow.{key}.recovery_seconds.{r.fault}", round(r.seconds, 3) if r.is_recovered else "not recovered") for r in flow.recoveries
        ]
    for lab in facts:
        item.user_properties += [(f"chaos.vip.{vip['name']}.max_simultaneous_owners", vip.get("max_simultaneous_owners")) for vip in lab.vips]
    if slo is not None:
        item.user_properties.append(("chaos.slo", "fail" if breaches else "pass"))
    return breaches


def flow_key(name: str) -> str:
    """A flow's name as it appears in JUnit property names: ``http client->www`` -> ``http_client-www``.

    Example:
        >>> flow_key("http client->www")
        'http_client-www'
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.replace("->", "-"))


def _lab_facts(lab: Lab) -> LabFacts:
    from chaos.report import LabFacts

    lab.traffic.stop_all()  # the body is over: the figures cover the whole test
    flows = [flow.figures() for flow in lab.traffic.flows if flow.started_at is not None]
    vips = [vip.as_report() for vip in lab.vips.values()]
    captures = [str(capture.path) for capture in getattr(lab, "captures", []) if getattr(capture, "path", None)]
    return LabFacts(lab.topology.name, list(lab.timeline.faults), flows, vips, captures)


def _vip_owners(lab: Lab) -> list[VipOwners]:
    from chaos.slo import VipOwners

    found: list[VipOwners] = []
    for vip in lab.vips.values():
        periods = vip.history.periods
        found.append(VipOwners(vip.name, [(p.start, p.owners) for p in periods], lab.timeline.now(), "; ".join(vip.history.errors)))
    return found


def _owners(vip: VipOwners) -> str:
    return " → ".join(f"{'+'.join(owners) or 'none'} ({since:.2f} s)" for since, owners in vip.changes) or "unknown"


def _finish(item: pytest.Item, facts: TestFacts) -> None:
    """After teardown: the summary line and, with --chaos-report-dir, the JSON report."""
    from chaos.report import build_report, write_report
    from chaos.slo import verdict

    if facts.flow_lines or facts.slo is not None:
        judged = "" if facts.slo is None else f" | slo {'fail' if facts.breaches else 'pass'}"
        item.config.stash[summary_key].append(f"{item.nodeid}: {'; '.join(facts.flow_lines) or 'no flows'}{judged}")
    directory = item.config.getoption("chaos_report_dir")
    if directory:
        engine = item.config.stash.get(engine_key, None)
        version = getattr(engine, "version", None)
        report = build_report(item.nodeid, facts.outcome, facts.labs, version, verdict(facts.slo, facts.breaches))
        write_report(report, directory)
