"""Run the RFC 5798 measurement (tests/integration/test_measure_rfc.py) N times and print its figures as a table.

Each run is the integration test itself (a fresh keepalived pair, a flow, a capture, power_off
of the master), so the table shows exactly the figures the test asserted on. They reach this
script through the test's JUnit properties.

    python bench/rfc_measure.py --runs 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from chaos.vips.keepalived import master_down_interval, takeover_window

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST = REPO_ROOT / "tests" / "integration" / "test_measure_rfc.py"
PRIORITY, ADVERT_INT = 100, 1.0  # suites/keepalived/pair.yaml: the backup lb2

COLUMNS = [
    ("rfc_last_advert_before_fault", "last advert→fault"),
    ("rfc_fault_to_takeover_capture", "fault→takeover (capture)"),
    ("rfc_fault_to_recovery_flow", "fault→recovery (flow)"),
    ("rfc_handover_history", "lb1 gone→lb2 holds (history)"),
    ("rfc_gap_on_wire", "gap on the wire"),
    ("gap_minus_mdi", "gap - MDI"),
    ("rfc_garp_delay", "GARP after advert"),
]


def run_tests(runs: int, extra: list[str]) -> tuple[int, list[dict[str, str]]]:
    """Run the test ``runs`` times in one pytest session; return its exit code and each run's properties."""
    with tempfile.TemporaryDirectory(prefix="chaos-rfc-") as folder:
        junit = Path(folder) / "junit.xml"
        argv = [sys.executable, "-m", "pytest", str(TEST), "-q", "-p", "no:cacheprovider", "--chaos-require-docker", f"--junitxml={junit}", *extra]
        code = subprocess.call(argv, env={**os.environ, "CHAOS_RFC_RUNS": str(runs)}, cwd=folder)
        if not junit.exists():
            return code, []
        rows = []
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
            properties["outcome"] = "failed" if case.find("failure") is not None or case.find("error") is not None else "passed"
            rows.append(properties)
        return code, rows


def number(row: dict[str, str], key: str) -> float | None:
    try:
        return float(row[key])
    except (KeyError, ValueError):
        return None


def print_table(rows: list[dict[str, str]]) -> None:
    mdi = master_down_interval(PRIORITY, ADVERT_INT)
    earliest, latest = takeover_window(PRIORITY, ADVERT_INT)
    for row in rows:
        gap = number(row, "rfc_gap_on_wire")
        row["gap_minus_mdi"] = "" if gap is None else str(gap - mdi)
    print(f"\nRFC 5798, backup priority {PRIORITY}, advert_int {ADVERT_INT:g} s:")
    print(f"Master_Down_Interval {mdi:.4f} s, takeover window [{earliest:.4f}, {latest:.4f}] s")
    print("All figures in seconds; fault = power_off(lb1) effective (the engine's exit time).\n")
    widths = [max(len(title), 9) for _, title in COLUMNS]
    print(" run  " + "  ".join(title.rjust(w) for (_, title), w in zip(COLUMNS, widths, strict=True)) + "  outcome")
    for index, row in enumerate(rows, 1):
        cells = []
        for (key, _), width in zip(COLUMNS, widths, strict=True):
            value = number(row, key)
            cells.append(("-" if value is None else f"{value:+.4f}" if key == "gap_minus_mdi" else f"{value:.4f}").rjust(width))
        print(f"{index:4d}  " + "  ".join(cells) + f"  {row['outcome']}")
    for label, pick in (("min", min), ("median", statistics.median), ("max", max)):
        cells = []
        for (key, _), width in zip(COLUMNS, widths, strict=True):
            values = [v for v in (number(r, key) for r in rows) if v is not None]
            cells.append(("-" if not values else f"{pick(values):+.4f}" if key == "gap_minus_mdi" else f"{pick(values):.4f}").rjust(width))
        print(f"{label:>6}" + "  ".join(cells))
    inside = sum(
        1
        for r in rows
        if all(
            (v := number(r, key)) is not None and earliest <= v <= latest for key in ("rfc_fault_to_takeover_capture", "rfc_fault_to_recovery_flow")
        )
    )
    gaps = [abs(v - mdi) for v in (number(r, "rfc_gap_on_wire") for r in rows) if v is not None]
    largest = max(gaps, default=float("nan")) * 1000
    print(f"\n{inside}/{len(rows)} runs with takeover and recovery strictly inside the window; largest |gap - MDI| {largest:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="how many failovers to measure (default 10)")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (e.g. --chaos-docker-host=URL)")
    args = parser.parse_args()
    code, rows = run_tests(args.runs, args.pytest_args)
    if rows:
        print_table(rows)
    return code


if __name__ == "__main__":
    sys.exit(main())
