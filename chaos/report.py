"""The per-test JSON report (its format: README.md, "Reports"): faults, flows, VIPs and the SLO verdict, on the lab clock."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.timeline import FaultRecord
from chaos.traffic.figures import FlowFigures


@dataclass(frozen=True)
class LabFacts:
    """What one lab contributes to a report, gathered before it goes down.

    Attributes:
        name: the topology's name (``pair``).
        faults: its timeline's fault records.
        flows: the figures of its flows.
        vips: each VIP's report entry (``Vip.as_report()``).
        captures: paths of its packet captures.
    """

    name: str
    faults: Sequence[FaultRecord] = ()
    flows: Sequence[FlowFigures] = ()
    vips: Sequence[Mapping[str, Any]] = ()
    captures: Sequence[str] = field(default_factory=tuple)


def build_report(
    test: str, outcome: str, labs: Sequence[LabFacts], engine_version: str | None = None, slo: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The report of one test as a JSON-ready dict.

    Times are seconds on each lab's clock (from the lab's start, just before the test body).
    With several labs, ``lab`` names them all, comma-separated, and the lists hold them all.

    Example::

        facts = LabFacts("pair", lab.timeline.faults, [flow.figures()], [vip.as_report() for vip in lab.vips.values()])
        build_report("test_pair.py::test_power_off", "passed", [facts])["flows"][0]["availability"]   # 0.5725
    """
    report: dict[str, Any] = {
        "test": test,
        "outcome": outcome,
        "lab": ",".join(lab.name for lab in labs) or None,
        "engine": {"version": engine_version},
        "faults": [fault.as_report() for lab in labs for fault in lab.faults],
        "flows": [flow.as_report() for lab in labs for flow in lab.flows],
        "vips": [dict(vip) for lab in labs for vip in lab.vips],
        "slo": dict(slo) if slo is not None else None,
    }
    captures = [path for lab in labs for path in lab.captures]
    if captures:
        report["captures"] = captures
    return report


def report_path(directory: str | Path, test: str) -> Path:
    """``DIRECTORY/<test id, made safe for a file name>-<short hash>.json`` (the hash keeps parametrized ids apart).

    Example:
        >>> report_path("reports", "suites/keepalived/test_pair.py::test_power_off[http]").name
        'suites_keepalived_test_pair.py__test_power_off_http-eed29309.json'
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.replace("::", "__")).strip("_")[-150:]
    digest = hashlib.sha256(test.encode()).hexdigest()[:8]
    return Path(directory) / f"{safe}-{digest}.json"


def write_report(report: Mapping[str, Any], directory: str | Path) -> Path:
    """Write ``report`` as indented JSON into ``directory`` (created if missing); return the file's path."""
    path = report_path(directory, str(report["test"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
