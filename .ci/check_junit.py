"""Fail CI unless every collected test ran and passed, but for the documented skips of this machine.

The lists of what should run come from ``pytest --collect-only -q`` (see .ci/run), so a test
that was deselected, filtered out, or vanished from the run fails CI as surely as one that
failed; so does a skip, unless its reason is one of `ALLOWED_SKIPS`. Usage::

    check_junit.py --collected tests.txt suites.txt --engine engine.txt suites.txt --junit test.xml suites.xml
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

ALLOWED_SKIPS: dict[str, str] = {
    "no sch_netem": (
        "the netem case of a shaping test, on a kernel without sch_netem (tests/integration/test_net_apply.py, "
        "test_net_degrade.py): its userspace case runs the same checks, forced, on every machine"
    ),
    "kernel has sch_netem": (
        "the mirror case: the tests of the message a kernel without sch_netem gives, on a kernel with it "
        "(the netem cases run there instead)"
    ),
}
"""Skip reasons CI accepts (a substring of the skip message), each with why it is only the machine's."""


def collected(paths: Iterable[str]) -> list[str]:
    """The node ids a ``pytest --collect-only -q`` output lists, in order."""
    ids: list[str] = []
    for path in paths:
        ids += [line.strip() for line in Path(path).read_text().splitlines() if "::" in line and not line.startswith(" ")]
    return ids


def junit_id(case: ET.Element) -> str:
    """The node id of a JUnit testcase (xunit1: ``classname`` is the dotted file path plus classes)."""
    classname, name = case.get("classname") or "", case.get("name") or ""
    parts = classname.split(".")
    # The file part is the longest prefix of the dotted name that is a file on disk (test classes follow it).
    for cut in range(len(parts), 0, -1):
        file = Path(*parts[:cut]).with_suffix(".py")
        if file.is_file():
            return "::".join([file.as_posix(), *parts[cut:], name])
    return "::".join([classname.replace(".", "/") + ".py", name])


def outcomes(paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{node id: (outcome, message)}`` of every testcase in the JUnit files; outcome passed, skipped or failed."""
    found: dict[str, tuple[str, str]] = {}
    for path in paths:
        for case in ET.parse(path).iter("testcase"):
            node = junit_id(case)
            outcome, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                child = case.find(tag)
                if child is not None:
                    outcome = "skipped" if tag == "skipped" else "failed"
                    message = child.get("message") or (child.text or "")
                    break
            # A test that errors in teardown after passing has two entries: the worst one counts.
            if found.get(node, ("passed", ""))[0] == "passed":
                found[node] = (outcome, message)
    return found


def allowed(message: str) -> str | None:
    return next((reason for reason in ALLOWED_SKIPS if reason in message), None)


def check(expected: list[str], engine: set[str], ran: dict[str, tuple[str, str]]) -> list[str]:
    """Every problem with the run, one line each; empty when CI may pass."""
    problems: list[str] = []
    if not expected:
        problems.append("pytest collected no test")
    if not engine:
        problems.append("pytest collected no test that needs the engine")
    for node in expected:
        outcome, message = ran.get(node, ("missing", ""))
        if outcome == "missing":
            problems.append(f"collected but not in the JUnit report (deselected, or the run stopped): {node}")
        elif outcome == "failed":
            problems.append(f"failed: {node}")
        elif outcome == "skipped" and allowed(message) is None:
            problems.append(f"skipped: {node}: {message}")
    problems += [f"ran but was not collected: {node}" for node in sorted(set(ran) - set(expected))]
    problems += [f"an engine test the full collection lacks: {node}" for node in sorted(engine - set(expected))]
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collected", nargs="+", required=True, help="pytest --collect-only -q outputs: every test that should run")
    parser.add_argument("--engine", nargs="+", required=True, help="the same for the tests that need the engine")
    parser.add_argument("--junit", nargs="+", required=True, help="the JUnit XML reports of the runs")
    args = parser.parse_args(argv)
    expected, engine, ran = collected(args.collected), set(collected(args.engine)), outcomes(args.junit)
    problems = check(expected, engine, ran)
    skips = [(node, message) for node, (outcome, message) in ran.items() if outcome == "skipped" and allowed(message)]
    for node, message in skips:
        print(f"allowed skip ({allowed(message)}): {node}")
    passed = sum(1 for node in expected if ran.get(node, ("",))[0] == "passed")
    on_engine = sum(1 for node in engine if ran.get(node, ("",))[0] == "passed")
    print(f"{len(expected)} tests collected, {passed} passed ({on_engine} of {len(engine)} engine tests), {len(skips)} allowed skips")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"CI requires every collected test to pass; skips allowed only for: {', '.join(ALLOWED_SKIPS)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
