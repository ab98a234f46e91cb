"""Fail CI when a JUnit report shows a skipped test, or when no integration test ran."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

MIN_INTEGRATION = 20


def main(paths: list[str]) -> int:
    ran = skipped = integration = 0
    for path in paths:
        for case in ET.parse(path).iter("testcase"):
            ran += 1
            name = f"{case.get('classname')}::{case.get('name')}"
            if case.find("skipped") is not None:
                skipped += 1
                print(f"skipped: {name}")
            elif (case.get("classname") or "").startswith(("tests.integration", "tests.plugin.test_lab_fixtures", "suites.")):
                integration += 1
    print(f"{ran} tests, {integration} on the real engine, {skipped} skipped")
    if skipped or integration < MIN_INTEGRATION:
        print(f"CI requires no skipped test and at least {MIN_INTEGRATION} engine tests", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
