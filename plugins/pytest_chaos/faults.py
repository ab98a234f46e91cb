"""pytest glue for faults: the `chaos` ledger fixture, `--chaos-seed`, and the fault timeline of a failed test."""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_chaos.plugin import labs_key

if TYPE_CHECKING:
    from chaos.faults import Ledger
    from chaos.lab import Lab

SEED_ENV = "CHAOS_SEED"
seed_key = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos")
    group.addoption(
        "--chaos-seed",
        type=int,
        metavar="N",
        default=None,
        help="seed of random fault targets and schedules (default: a new one, shown in the header); the same seed replays the same schedule",
    )


def pytest_configure(config: pytest.Config) -> None:
    seed = config.getoption("chaos_seed")
    if seed is None:
        # xdist workers inherit the controller's environment, so every worker draws from one seed.
        seed = int(os.environ.setdefault(SEED_ENV, str(secrets.randbelow(2**31))))
    config.stash[seed_key] = seed


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = config.stash[seed_key]
    return [f"chaos: seed {seed} (replay the same fault schedule with --chaos-seed={seed})"]


def rng_for(config: pytest.Config, nodeid: str) -> random.Random:
    """The random generator of one test: the session seed and the test's id, so a test replays alone or in a crowd."""
    return random.Random(f"{config.stash[seed_key]}:{nodeid}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        for lab in item.stash.get(labs_key, []):
            if lab.timeline.faults or lab.timeline.notes:
                try:
                    report.sections.append((f"chaos: fault timeline of lab {lab.name}", lab.timeline.render()))
                except Exception as exc:  # a courtesy; never hide the real failure
                    report.sections.append((f"chaos: fault timeline of lab {lab.name}", f"unavailable: {exc}"))
    return report


@pytest.fixture
def chaos(request: pytest.FixtureRequest, lab_factory: Callable[..., Lab]) -> Iterator[Ledger]:
    """The test's fault ledger: ``chaos.inject(fault)`` on the test's lab; everything still active is healed at teardown.

    Healing runs newest first whatever the test's outcome, before the lab goes down; a
    schedule started in the background (``chaos.start(fault)``) is stopped first. Picks
    (``one``, ``majority``) and random schedules draw from ``--chaos-seed``.

    Example::

        def test_failover(lab, chaos):
            chaos.inject(faults.power_off(lab.hosts["lb1"]))
            lab.vips["www"].wait_owner("lb2", within="5s")
    """
    from chaos.faults import Ledger

    # Depending on lab_factory makes this teardown run before the labs go down.
    labs: list[Lab] = request.node.stash.get(labs_key, [])
    ledger = Ledger(lambda: labs, rng_for(request.config, request.node.nodeid), seed=request.config.stash[seed_key])
    yield ledger
    ledger.undo()
