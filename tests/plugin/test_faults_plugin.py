"""The `chaos` fixture, `--chaos-seed` and the fault timeline in reports, run inside pytest with pytester."""

from __future__ import annotations

import re

import pytest

# Imported here, before any inner run: pytester restores sys.modules after each in-process
# run, and a `chaos.faults` first imported inside one run would leave the `chaos` package
# pointing at a stale copy of it in the next (two different `Fault` classes).
import chaos.faults  # noqa: F401
from chaos import gc

pytestmark = pytest.mark.integration

TOPOLOGY = "networks: {n: {}}\nhosts: {a: {networks: [n]}, b: {networks: [n]}, c: {networks: [n]}}\n"

FAILING_TEST = """
import pytest
from chaos import faults

@pytest.mark.topology('three.yaml')
def test_fails_with_faults_in(lab, chaos):
    print('LAB', lab.name)
    chaos.inject(faults.pause('a'))
    chaos.inject(faults.isolate('b'))
    assert False, 'on purpose, with two faults in'
"""

SCHEDULE_TEST = """
import pytest
from chaos import faults

@pytest.mark.topology('three.yaml')
def test_prints_its_schedule(lab, chaos):
    schedule = faults.random_schedule([faults.pause, faults.isolate, faults.power_off], targets=['one', 'majority'], steps=8)
    run = chaos.bind(schedule)
    print('PLAN', ' '.join(f"{c.fault.name}({'+'.join(c.targets)})/{s.hold}" for s, c in zip(run.data.steps, run.data.children)))
"""


def test_help_lists_the_seed_option(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--chaos-seed=N*seed of random fault targets and schedules*"])


def test_the_ledger_heals_at_teardown_when_the_test_fails_and_the_report_shows_the_timeline(pytester, chaos_engine):
    pytester.path.joinpath("three.yaml").write_text(TOPOLOGY)
    pytester.makepyfile(FAILING_TEST)
    # Keep the failed lab, so we can look at it after the inner run's teardown.
    result = pytester.runpytest("--chaos-require-docker", "--chaos-keep=failed", "-s")
    name = re.search(r"LAB (\S+)", result.stdout.str()).group(1)  # type: ignore[union-attr]
    try:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                f"*chaos: fault timeline of lab {name}*",
                "*inject #0 pause(a) requested*",
                "*inject #0 pause(a) effective (+* ms)*",
                "*inject #1 isolate(b) effective (+* ms)*",
            ]
        )
        (kept,) = [lab for lab in gc.labs(chaos_engine) if lab.lab == name]
        containers = {obj.name.rsplit("-", 1)[1]: obj.name for obj in kept.objects if obj.kind == "container"}
        # Healed before the lab was kept: nothing paused, every link of b up again.
        assert not chaos_engine.state(containers["a"]).paused
        links = chaos_engine.exec(containers["b"], ["ip", "-o", "link", "show"]).stdout
        assert "state DOWN" not in links and "eth0" in links
    finally:
        for lab in gc.labs(chaos_engine):
            if lab.lab == name:
                gc.remove(chaos_engine, lab)


def test_the_seed_is_in_the_header_and_replays_the_same_schedule(pytester, chaos_engine):
    pytester.path.joinpath("three.yaml").write_text(TOPOLOGY)
    pytester.makepyfile(SCHEDULE_TEST)

    def run(*args: str) -> tuple[str, str]:
        result = pytester.runpytest("--chaos-require-docker", "-s", *args)
        result.assert_outcomes(passed=1)
        seed = re.search(r"chaos: seed (\d+) \(replay the same fault schedule with --chaos-seed=(\d+)\)", result.stdout.str())
        assert seed is not None and seed.group(1) == seed.group(2), result.stdout.str()
        plan = re.search(r"PLAN (.*)", result.stdout.str())
        assert plan is not None
        return seed.group(1), plan.group(1)

    seed, plan = run()
    assert run(f"--chaos-seed={seed}") == (seed, plan), "the header's seed replays the schedule"
    other_seed, other_plan = run(f"--chaos-seed={int(seed) + 1}")
    assert other_seed == str(int(seed) + 1) and other_plan != plan
    assert len(plan.split()) == 8
