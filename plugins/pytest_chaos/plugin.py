"""pytest glue for pytest-chaos: options, markers, fixtures, report header and failure logs.

Glue only: the work happens in the `chaos` package, imported inside hooks and fixtures so
that loading this plugin never touches Docker.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaos.engine import Engine
    from chaos.lab import Lab
    from chaos.spec import Topology

# Glue for the other parts lives beside this module, one module per concern, loaded with it.
pytest_plugins: list[str] = ["pytest_chaos.faults", "pytest_chaos.slo"]

KEEP_CHOICES = ("none", "failed", "all")
SESSION_ENV = "CHAOS_SESSION"

session_key = pytest.StashKey[str]()
engine_key = pytest.StashKey["Engine | Exception"]()
kept_key = pytest.StashKey[list[str]]()
labs_key = pytest.StashKey[list["Lab"]]()
call_failed_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "pytest-chaos (container labs for resilience tests)")
    group.addoption(
        "--chaos-keep",
        choices=KEEP_CHOICES,
        default="none",
        help="leave labs running after a test: none (default), failed, or all; remove them later with `chaos down`",
    )
    group.addoption(
        "--chaos-docker-host",
        metavar="URL",
        default=None,
        help="Docker engine for the labs, e.g. unix:///var/run/docker.sock or tcp://host:2375 (default: DOCKER_HOST, else the local socket)",
    )
    group.addoption(
        "--chaos-require-docker",
        action="store_true",
        default=False,
        help="fail tests that need a lab when no Docker engine answers, instead of skipping them (use it in CI)",
    )
    group.addoption(
        "--chaos-no-build",
        action="store_true",
        default=False,
        help="do not build missing framework images at session start; a lab with a missing image fails",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "topology(path_or_spec): the topology the `lab` fixture brings up: a YAML path relative to the test file, "
        "a dict in the YAML shape, or a chaos.Topology",
    )
    # xdist workers inherit the controller's environment, so they share its session id.
    config.stash[session_key] = os.environ.setdefault(SESSION_ENV, secrets.token_hex(4))
    config.stash[kept_key] = []
    _install_sigterm_handler()


def _install_sigterm_handler() -> None:
    """Make SIGTERM (a cancelled CI job) unwind like Ctrl-C, so fixtures tear labs down."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # Not the main thread (pytest embedded elsewhere): leave the signal alone.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, interrupt)


def _engine(config: pytest.Config) -> Engine | Exception:
    """Connect once per session; remember the failure too, so every test reports the same reason."""
    if engine_key not in config.stash:
        from chaos.engine import Engine
        from chaos.errors import ChaosError

        try:
            config.stash[engine_key] = Engine.connect(config.getoption("chaos_docker_host"), timeout=30)
        except ChaosError as exc:
            config.stash[engine_key] = exc
    return config.stash[engine_key]


def pytest_report_header(config: pytest.Config) -> list[str]:
    engine = _engine(config)
    where = f"Docker {engine.version} at {engine.url}" if not isinstance(engine, Exception) else f"no engine ({engine})"
    return [f"chaos: session {config.stash[session_key]}, keep={config.getoption('chaos_keep')}, engine: {where}"]


def pytest_unconfigure(config: pytest.Config) -> None:
    engine = config.stash.get(engine_key, None)
    if engine is not None and not isinstance(engine, Exception):
        engine.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed and report.when in ("setup", "call"):
        item.stash[call_failed_key] = True
        labs = item.stash.get(labs_key, [])
        for lab in labs:
            try:
                report.sections.append((f"chaos: container logs of lab {lab.name}", lab.logs(tail=200)))
            except Exception as exc:  # the logs are a courtesy; never hide the real failure
                report.sections.append((f"chaos: container logs of lab {lab.name}", f"unavailable: {exc}"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    kept = config.stash.get(kept_key, [])
    if kept:
        terminalreporter.section("chaos: kept labs")
        for name in kept:
            terminalreporter.write_line(f"{name} is still running; remove it with `chaos down {name}`")


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chaos_engine(pytestconfig: pytest.Config) -> Engine:
    """The Docker engine for this session; skips (or fails with --chaos-require-docker) when none answers.

    At first use it reclaims what killed runs left behind and builds missing framework images.
    """
    engine = _engine(pytestconfig)
    if isinstance(engine, Exception):
        if pytestconfig.getoption("chaos_require_docker"):
            pytest.fail(f"--chaos-require-docker: {engine}", pytrace=False)
        pytest.skip(f"needs a Docker engine: {engine}")
    from chaos import gc
    from chaos.errors import ChaosError
    from chaos.images import ensure_images

    for lab in gc.reclaimable(engine):
        gc.remove(engine, lab)
    if not pytestconfig.getoption("chaos_no_build"):
        try:
            ensure_images(engine, log=lambda line: print(f"chaos images: {line}"))
        except ChaosError as exc:
            pytest.fail(f"building the framework's images failed: {exc}", pytrace=False)
    return engine


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest, chaos_engine: Engine) -> Iterator[Callable[..., Lab]]:
    """A maker of labs: ``lab_factory("pair.yaml")`` brings one up; every lab made is torn down after the test.

    Paths are relative to the test file; a dict in the YAML shape or a ``chaos.Topology`` also works.
    """
    from chaos._internal.naming import Owner
    from chaos.errors import ChaosError
    from chaos.lab import Lab

    owner = Owner.current(request.config.stash[session_key])
    made: list[Lab] = []
    request.node.stash[labs_key] = made

    def make(source: str | Path | dict[str, Any] | Topology) -> Lab:
        __tracebackhide__ = True
        try:
            lab = Lab(_topology(source, request), chaos_engine, owner)
            made.append(lab)
            return lab.up()
        except ChaosError as exc:
            notes = "\n".join(getattr(exc, "__notes__", []))
            problem = f"{type(exc).__name__}: {exc}" + (f"\n{notes}" if notes else "")
        # Outside the except block, so the report shows the message alone, not a chain of tracebacks.
        pytest.fail(problem, pytrace=False)

    yield make
    keep = request.config.getoption("chaos_keep")
    is_failed = request.node.stash.get(call_failed_key, False)
    for lab in reversed(made):
        if lab.started_at is not None and (keep == "all" or (keep == "failed" and is_failed)):
            lab.keep()
            request.config.stash[kept_key].append(lab.name)
        else:
            lab.down()


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_factory: Callable[..., Lab]) -> Lab:
    """The lab of the test's ``@pytest.mark.topology(...)``, up and ready; torn down after the test."""
    marker = request.node.get_closest_marker("topology")
    if marker is None or len(marker.args) != 1:
        pytest.fail(
            f"{request.node.nodeid}: the `lab` fixture needs @pytest.mark.topology(path_or_spec) "
            "with one argument: a YAML path relative to the test file, a dict, or a chaos.Topology",
            pytrace=False,
        )
    return lab_factory(marker.args[0])


def _topology(source: str | Path | dict[str, Any] | Topology, request: pytest.FixtureRequest) -> Topology:
    from chaos.spec import Topology, load_topology, topology_from_dict

    if isinstance(source, Topology):
        return source
    if isinstance(source, dict):
        return topology_from_dict(source, source=f"{request.node.nodeid} topology")
    path = Path(source)
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    return load_topology(path)
