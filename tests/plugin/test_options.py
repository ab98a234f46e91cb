"""The plugin's options, markers, header and behaviour without an engine (no Docker needed)."""

from __future__ import annotations

import subprocess
import sys

NO_ENGINE = "unix:///nonexistent/docker.sock"

LAB_TEST = """
import pytest

@pytest.mark.topology({"networks": {"n": {}}, "hosts": {"a": {"networks": ["n"]}}})
def test_needs_a_lab(lab):
    pass

def test_plain():
    pass
"""


def test_help_lists_the_chaos_options(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*pytest-chaos*",
            "*--chaos-keep={none,failed,all}*",
            "*--chaos-docker-host=URL*",
            "*--chaos-require-docker*",
        ]
    )


def test_topology_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.topology(path_or_spec)*"])


def test_bad_keep_value_is_a_usage_error(pytester):
    result = pytester.runpytest("--chaos-keep=sometimes")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--chaos-keep: invalid choice: 'sometimes'*"])


def test_without_an_engine_lab_tests_skip_and_others_run(pytester):
    pytester.makepyfile(LAB_TEST)
    result = pytester.runpytest("-rs", f"--chaos-docker-host={NO_ENGINE}")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*needs a Docker engine: no Docker engine answers at {NO_ENGINE}*"])


def test_require_docker_turns_the_skip_into_a_failure(pytester):
    pytester.makepyfile(LAB_TEST)
    result = pytester.runpytest(f"--chaos-docker-host={NO_ENGINE}", "--chaos-require-docker")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*--chaos-require-docker: no Docker engine answers*"])
    assert "Traceback" not in result.stdout.str()


def test_header_shows_session_and_engine(pytester):
    result = pytester.runpytest(f"--chaos-docker-host={NO_ENGINE}")
    result.stdout.fnmatch_lines([f"chaos: session *, keep=none, engine: no engine (no Docker engine answers at {NO_ENGINE}*"])


def test_importing_the_plugin_does_not_touch_docker():
    code = "import sys, pytest_chaos.plugin; print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('chaos')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_plugin_is_registered_by_entry_point(pytester):
    result = pytester.runpytest("--trace-config", f"--chaos-docker-host={NO_ENGINE}")
    result.stdout.fnmatch_lines(["*pytest_chaos.plugin*"])
