"""The public API has one shape: durations everywhere a time is meant, one error root, one namespace.

These tests read the code (signatures, class trees, ``__all__``), so a new entry point that
breaks a convention fails here before a user finds it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

import chaos
from chaos import errors
from chaos.errors import ChaosError

TIME_PARAMETERS = {"within", "timeout", "hold", "gap", "interval", "delay", "jitter"}
"""Parameter names that mean a time: each takes a `Duration` (seconds, or "500ms", "10s", "2m")."""

NOT_ENTRY_POINTS = {
    "chaos.engine:ExecSession.__init__": "made by Engine.open_exec, which parses the user's timeout",
    "chaos.errors:RecoveryTimeout.__init__": "raised by the library with the limit it parsed",
    "chaos.observe.analysis:Transition.__init__": "a measured result: gap is what the capture saw",
    "chaos.observe.packets:Advert.__init__": "a decoded packet: interval is the advert's field",
    "chaos.traffic.verdicts:recovered_within": "judges a limit already parsed by Flow.assert_recovered",
    "chaos.vips.handle:OwnerWatch.__init__": "made by Vip.watch_owner, which parses within",
}
"""Parameters named like a time that are not where a user passes one: results and internal constructors."""

KNOWN_ENTRY_POINTS = [
    "chaos.engine:Engine.connect(timeout)",
    "chaos.engine:Engine.stop(timeout)",
    "chaos.engine:Engine.open_exec(timeout)",
    "chaos.expect:eventually(within)",
    "chaos.expect:eventually(interval)",
    "chaos.expect:recovers(within)",
    "chaos.expect:recovers(interval)",
    "chaos.lab:Lab.__init__(ready_timeout)",
    "chaos.lab:open_lab(ready_timeout)",
    "chaos.vips.handle:Vip.wait_owner(within)",
    "chaos.vips.history:OwnerHistory.wait_until(within)",
    "chaos.traffic.flow:Flow.wait_recovered(within)",
    "chaos.faults.network:Delay.__init__(delay)",
    "chaos.faults.network:Delay.__init__(jitter)",
]
"""Entry points the issue and the README name: each must exist and take a `Duration`."""


def public_modules() -> Iterator[ModuleType]:
    """Every module of chaos/ and of the pytest plugin, except private ones (``_internal``, ``_name``)."""
    import pytest_chaos

    for package in (chaos, pytest_chaos):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                yield importlib.import_module(info.name)


def public_callables() -> Iterator[tuple[str, Callable[..., object]]]:
    """``("module:qualname", function)`` for every public function, method and constructor defined in a public module."""
    seen: set[int] = set()
    for module in public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__ or id(obj) in seen:
                continue
            seen.add(id(obj))  # an alias (``delay = Delay``) is the same entry point
            if inspect.isfunction(obj):
                yield f"{module.__name__}:{obj.__qualname__}", obj
            elif inspect.isclass(obj):
                for member_name, member in vars(obj).items():
                    if member_name.startswith("_") and member_name != "__init__":
                        continue
                    function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
                    if inspect.isfunction(function):
                        yield f"{module.__name__}:{obj.__qualname__}.{member_name}", function


def annotation_text(function: Callable[..., object], parameter: inspect.Parameter) -> str:
    """The parameter's annotation as written, with a module-level alias (``Span = "Duration | ..."``) expanded once."""
    text = parameter.annotation if isinstance(parameter.annotation, str) else getattr(parameter.annotation, "__name__", str(parameter.annotation))
    module = inspect.getmodule(function)
    for word in text.replace("|", " ").replace("[", " ").replace("]", " ").replace(",", " ").split():
        alias = getattr(module, word, None)
        if isinstance(alias, str):
            text += f" = {alias}"
    return text


def time_parameters() -> list[tuple[str, str, str]]:
    """``(where, parameter, annotation)`` for every public parameter named like a time."""
    found = []
    for where, function in public_callables():
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in TIME_PARAMETERS or parameter.name.endswith("_timeout"):
                found.append((where, parameter.name, annotation_text(function, parameter)))
    return found


def test_every_public_time_parameter_takes_a_duration():
    """`eventually(within="5s")` and `stop(timeout="5s")` failed: their parameters were plain floats."""
    wrong = [
        f"{where}({name}: {annotation})"
        for where, name, annotation in time_parameters()
        if where not in NOT_ENTRY_POINTS and "Duration" not in annotation and "Span" not in annotation
    ]
    assert wrong == [], "annotate these with chaos._internal.durations.Duration and parse at the entry point"


def test_the_known_entry_points_exist_and_take_a_duration():
    seen = {f"{where}({name})": annotation for where, name, annotation in time_parameters()}
    missing = [entry for entry in KNOWN_ENTRY_POINTS if entry not in seen]
    assert missing == [], "an entry point named in the docs is gone or renamed; update this list and the README"
    assert all("Duration" in seen[entry] for entry in KNOWN_ENTRY_POINTS)


def test_the_exclusions_still_exist():
    """An exclusion for something renamed away would hide a new entry point of the same name."""
    where_found = {where for where, _, _ in time_parameters()}
    assert set(NOT_ENTRY_POINTS) <= where_found


@pytest.mark.parametrize(
    "call",
    [
        lambda: chaos.eventually(lambda: 1, until=lambda v: True, within="5s", interval="100ms"),
        lambda: chaos.recovers(lambda: 1, within="5s", interval="100ms"),
        lambda: chaos.Slo.parse(max_outage="4.5s"),
        lambda: chaos.faults.delay("lb1", "100ms"),
    ],
    ids=["eventually", "recovers", "slo", "delay"],
)
def test_string_durations_work_at_the_entry_points_that_need_no_lab(call):
    call()


@pytest.mark.parametrize("name", chaos.__all__)
def test_everything_in_all_is_importable(name):
    module = importlib.import_module("chaos")
    assert getattr(module, name) is not None
    namespace: dict[str, object] = {}
    exec("from chaos import *", namespace)
    assert name in namespace


def test_the_conventions_and_owners_are_in_the_public_namespace():
    assert {"Duration", "Share", "HostRef", "Owners", "UsageError", "ChaosError", "eventually", "recovers"} <= set(chaos.__all__)
    assert chaos.Owners(["lb2", "lb1"]) == ["lb1", "lb2"]


def test_every_exception_in_chaos_errors_derives_from_chaos_error():
    classes = [obj for obj in vars(errors).values() if inspect.isclass(obj) and issubclass(obj, BaseException)]
    assert len(classes) >= 10
    assert [c.__name__ for c in classes if not issubclass(c, ChaosError)] == []


def test_every_public_exception_anywhere_derives_from_chaos_error():
    """What a user can catch has one root, wherever it is defined (engine, faults, vips...)."""
    strays = [
        f"{module.__name__}.{name}"
        for module in public_modules()
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__ and not name.startswith("_")
        if not issubclass(obj, ChaosError)
    ]
    assert strays == []


def test_usage_errors_are_also_value_errors():
    """So `except ValueError` written before the API had its own errors still catches a bad argument."""
    assert issubclass(chaos.UsageError, ValueError) and issubclass(chaos.FaultError, chaos.UsageError)
