"""`chaos validate` and the help texts, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"


def test_validate_accepts_the_bundled_suite(capsys):
    assert main(["validate", str(REPO / "suites/keepalived/pair.yaml")]) == 0
    assert "valid (1 networks, 3 hosts, 1 VIPs)" in capsys.readouterr().out


def test_validate_reports_every_bad_file_and_exits_1(capsys):
    bad = [CORPUS / "11-host-unknown-network.yaml", CORPUS / "25-vip-priority-out-of-range.yaml"]
    assert main(["validate", *map(str, bad), str(REPO / "suites/keepalived/pair.yaml")]) == 1
    captured = capsys.readouterr()
    assert "unknown network 'back'; defined networks: front" in captured.err
    assert "priority 300 is out of range; allowed: 1 to 254" in captured.err
    assert "pair.yaml: valid" in captured.out


def test_validate_of_a_missing_file_names_it(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert f"{tmp_path / 'nope.yaml'}: cannot read the topology file: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["images"], ["images", "build"], ["up"], ["down"], ["gc"], ["doctor"], ["validate"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: chaos" in capsys.readouterr().out


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["explode"])
    assert info.value.code == 2
    assert "invalid choice: 'explode'" in capsys.readouterr().err
