"""Integration tests run against the real engine; every test here is marked `integration`."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos._internal import naming


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def leftovers(chaos_engine):
    """A function listing the Docker objects still labelled with a given lab or session."""

    def find(**labels: str) -> list[str]:
        keys = {"lab": naming.LAB, "session": naming.SESSION}
        return sorted(f"{o.kind} {o.name}" for o in chaos_engine.find({keys[k]: v for k, v in labels.items()}))

    return find
