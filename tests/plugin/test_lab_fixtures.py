"""The `lab`, `lab_factory` fixtures and the keep policy, on the real engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from chaos import gc

pytestmark = pytest.mark.integration

TOPOLOGY = "networks: {n: {}}\nhosts: {a: {networks: [n]}, b: {networks: [n]}}\n"


def test_marker_path_is_relative_to_the_test_file(pytester):
    pytester.mkdir("scenario")
    pytester.path.joinpath("scenario", "two.yaml").write_text(TOPOLOGY)
    pytester.path.joinpath("scenario", "test_two.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.topology('two.yaml')\n"
        "def test_two_hosts(lab):\n"
        "    assert sorted(lab.hosts) == ['a', 'b']\n"
        "    assert lab.hosts['a'].check(['chaos-probe', 'tcp', lab.hosts['b'].address('n')]).stdout.strip() == 'b'\n"
    )
    result = pytester.runpytest("--chaos-require-docker", "scenario")
    result.assert_outcomes(passed=1)


def test_lab_without_marker_fails_with_a_clear_message(pytester):
    pytester.makepyfile("def test_x(lab):\n    pass\n")
    result = pytester.runpytest("--chaos-require-docker")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the `lab` fixture needs @pytest.mark.topology(path_or_spec)*"])


def test_a_bad_topology_is_one_message_naming_file_and_path(pytester):
    pytester.path.joinpath("bad.yaml").write_text("networks: {n: {}}\nhosts: {a: {networks: [m]}}\n")
    pytester.makepyfile("import pytest\n\n@pytest.mark.topology('bad.yaml')\ndef test_x(lab):\n    pass\n")
    result = pytester.runpytest("--chaos-require-docker")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SpecError: */bad.yaml: hosts.a.networks[[]0]: unknown network 'm'; defined networks: n"])
    assert "Traceback" not in result.stdout.str()


def test_failed_test_report_carries_the_container_logs(pytester):
    pytester.path.joinpath("two.yaml").write_text(TOPOLOGY)
    pytester.makepyfile("import pytest\n\n@pytest.mark.topology('two.yaml')\ndef test_fails(lab):\n    assert False, 'on purpose'\n")
    result = pytester.runpytest("--chaos-require-docker")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*chaos: container logs of lab two-*", "*chaos-agent[[]a]: ready*"])


def test_lab_factory_makes_several_labs_and_removes_them(pytester, chaos_engine):
    pytester.path.joinpath("two.yaml").write_text(TOPOLOGY)
    pytester.makepyfile(
        "def test_two_labs(lab_factory, request):\n"
        "    first = lab_factory('two.yaml')\n"
        "    second = lab_factory({'networks': {'x': {}}, 'hosts': {'c': {'networks': ['x']}}})\n"
        "    assert first.name != second.name\n"
        "    print('LABS', first.name, second.name)\n"
    )
    result = pytester.runpytest("--chaos-require-docker", "-s")
    result.assert_outcomes(passed=1)
    names = re.search(r"LABS (\S+) (\S+)", result.stdout.str()).groups()
    assert [lab for lab in gc.labs(chaos_engine) if lab.lab in names] == []


@pytest.mark.parametrize(("keep", "kept_outcomes"), [("none", set()), ("failed", {"fail"}), ("all", {"pass", "fail"})])
def test_keep_policy(pytester, chaos_engine, keep, kept_outcomes):
    pytester.path.joinpath("two.yaml").write_text(TOPOLOGY)
    pytester.makepyfile(
        "import pytest\n\n"
        "@pytest.mark.topology('two.yaml')\n"
        "def test_pass(lab):\n    print('LAB pass', lab.name)\n\n"
        "@pytest.mark.topology('two.yaml')\n"
        "def test_fail(lab):\n    print('LAB fail', lab.name)\n    assert False\n"
    )
    try:
        result = pytester.runpytest("--chaos-require-docker", f"--chaos-keep={keep}", "-s")
        result.assert_outcomes(passed=1, failed=1)
        names = dict(re.findall(r"LAB (pass|fail) (\S+)", result.stdout.str()))
        assert set(names) == {"pass", "fail"}
        present = {lab.lab for lab in gc.labs(chaos_engine)}
        assert {outcome for outcome, name in names.items() if name in present} == kept_outcomes
        for outcome in kept_outcomes:
            result.stdout.fnmatch_lines([f"*{names[outcome]} is still running; remove it with `chaos down {names[outcome]}`*"])
        # Kept labs survive gc (their owner is gone) until `chaos down` removes them.
        subprocess.run([sys.executable, "-m", "chaos.cli", "gc"], check=True, capture_output=True)
        assert {name for name in names.values() if name in {lab.lab for lab in gc.labs(chaos_engine)}} == {names[o] for o in kept_outcomes}
    finally:
        # Whatever failed above, remove every lab this inner run made (same session: pytester runs in-process).
        for lab in gc.labs(chaos_engine):
            if lab.lab.startswith(f"two-{os.environ['CHAOS_SESSION']}-"):
                gc.remove(chaos_engine, lab)
    assert not [lab.lab for lab in gc.labs(chaos_engine) if lab.lab.startswith(f"two-{os.environ['CHAOS_SESSION']}-")]
