"""Composing faults: together, in sequence, and a random schedule drawn with a seed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from chaos._internal.durations import parse_duration
from chaos.errors import FaultError
from chaos.faults import _containers
from chaos.faults.base import Claim, Fault, Injection, check_free
from chaos.faults.targets import Target

FaultMaker: TypeAlias = Callable[[Target], Fault]
"""A fault factory that takes a target, e.g. ``faults.power_off`` or ``lambda t: faults.kill(t, "SIGTERM")``."""

Span: TypeAlias = "tuple[float | str, float | str] | float | str"
"""A duration, or ``(low, high)`` to draw one uniformly from."""


def _children(run: Injection) -> list[Injection]:
    children: list[Injection] = run.state["children"]
    return children


def _bind(run: Injection, parts: Sequence[Fault], stacked_ok: bool) -> list[Injection]:
    """Bind every part to the run's lab; refuse parts that stack on each other or on an active fault."""
    children = [run.child(part) for part in parts]
    if not stacked_ok:
        holders: dict[Claim, Injection] = {}
        for child in children:
            for claim in child.claims:
                if claim in holders:
                    raise FaultError(
                        f"{holders[claim].fault} and {child.fault} both act on {claim}; a composition cannot stack a fault "
                        "on the same target twice (use sequence(..., hold=...) to heal each before the next)"
                    )
                holders[claim] = child
        check_free(run.lab, holders, str(run.fault))
    return children


def _epoch(run: Injection, child: Injection) -> float:
    assert child.effective is not None
    return run.lab.timeline.origin + child.effective


def _heal_all(children: Iterable[Injection]) -> None:
    """Heal every child, newest first, even when one fails; then raise the first failure."""
    errors: list[BaseException] = []
    for child in reversed(list(children)):
        try:
            child.heal()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@dataclass(frozen=True)
class Together(Fault):
    """Several faults injected at once (each in its own thread), healed newest first.

    Effective when the last part took effect. Two parts acting on one thing (the same
    fault on the same host, or pause and power_off of one host) are refused when bound.
    """

    parts: tuple[Fault, ...]
    name: ClassVar[str] = "together"

    def resolve(self, run: Injection) -> Sequence[str]:
        run.state["children"] = _bind(run, self.parts, stacked_ok=False)
        return list(dict.fromkeys(host for child in _children(run) for host in child.targets))

    def claims(self, run: Injection) -> Iterable[Claim]:
        return []  # each part claims its own when injected

    def apply(self, run: Injection) -> float | None:
        children = _children(run)
        outcomes = _containers.parallel(_try_inject, children)
        failed = [error for error in outcomes if error is not None]
        if failed:
            raise failed[0]  # revert, called next, heals the parts that did go in
        return max(_epoch(run, child) for child in children)

    def revert(self, run: Injection) -> float | None:
        _heal_all(_children(run))
        return None

    def detail(self) -> str:
        return " + ".join(str(part) for part in self.parts)

    def __str__(self) -> str:
        return f"together({', '.join(str(p) for p in self.parts)})"


def _try_inject(child: Injection) -> BaseException | None:
    try:
        child.inject()
    except Exception as exc:
        return exc
    return None


def together(*parts: Fault) -> Together:
    """Inject ``parts`` at once; heal them newest first. ``a & b`` is ``together(a, b)``.

    Raises:
        FaultError: no parts, a part that is not a fault, or (when bound) two parts on one target.

    Example:
        >>> chaos.inject(faults.together(faults.power_off("lb1"), faults.pause("lb2")))
    """
    return Together(_flatten(parts, Together))


@dataclass(frozen=True)
class Step:
    """One step of a sequence or schedule: wait ``gap`` seconds, inject ``fault``, and heal it after ``hold`` seconds (None: keep it)."""

    fault: Fault
    hold: float | None = None
    gap: float = 0.0

    def __str__(self) -> str:
        hold = "" if self.hold is None else f" for {self.hold:g}s"
        gap = f" after {self.gap:g}s" if self.gap else ""
        return f"{self.fault}{hold}{gap}"


def _run_steps(run: Injection, steps: Sequence[Step]) -> float:
    """Inject each step in turn; return when the first took effect (the composition's effect)."""
    children = _children(run)
    first: float | None = None
    for step, child in zip(steps, children, strict=True):
        if step.gap:
            time.sleep(step.gap)
        child.inject()
        first = _epoch(run, child) if first is None else first
        if step.hold is not None:
            time.sleep(step.hold)
            child.heal()
    return first if first is not None else time.time()


@dataclass(frozen=True)
class InSequence(Fault):
    """Faults injected one after another, ``gap`` seconds apart.

    Without ``hold`` every part stays until the sequence is healed (newest first), so parts
    may not act on the same target. With ``hold`` each part is healed ``hold`` seconds after
    it took effect, before the next one starts (a rolling fault). Injecting blocks until the
    last part is in (and, with ``hold``, healed again).
    """

    parts: tuple[Fault, ...]
    gap: float = 0.0
    hold: float | None = None
    name: ClassVar[str] = "sequence"

    def steps(self) -> list[Step]:
        return [Step(part, self.hold, self.gap if i else 0.0) for i, part in enumerate(self.parts)]

    def resolve(self, run: Injection) -> Sequence[str]:
        run.state["children"] = _bind(run, self.parts, stacked_ok=self.hold is not None)
        return list(dict.fromkeys(host for child in _children(run) for host in child.targets))

    def claims(self, run: Injection) -> Iterable[Claim]:
        return []

    def apply(self, run: Injection) -> float | None:
        return _run_steps(run, self.steps())

    def revert(self, run: Injection) -> float | None:
        _heal_all(_children(run))
        return None

    def detail(self) -> str:
        extra = [f"gap={self.gap:g}s"] if self.gap else []
        extra += [f"hold={self.hold:g}s"] if self.hold is not None else []
        return " ".join([" -> ".join(str(p) for p in self.parts), *extra])

    def __str__(self) -> str:
        return f"sequence({', '.join(str(p) for p in self.parts)})"


def sequence(*parts: Fault, gap: float | str = 0.0, hold: float | str | None = None) -> InSequence:
    """Inject ``parts`` one after another, ``gap`` apart; with ``hold``, heal each before the next. ``a >> b`` is ``sequence(a, b)``.

    Example:
        >>> chaos.inject(faults.sequence(faults.power_off("lb1"), faults.power_off("lb2"), gap="2s"))
        >>> chaos.inject(faults.sequence(faults.pause("lb1"), faults.pause("lb2"), hold="3s"))   # rolling
    """
    # (a >> b) >> c is one sequence of three; a nested sequence with its own gap or hold stays a unit.
    flat = [p.parts if isinstance(p, InSequence) and not p.gap and p.hold is None else (p,) for p in parts]
    return InSequence(_flatten([f for group in flat for f in group], None), parse_duration(gap), None if hold is None else parse_duration(hold))


@dataclass(frozen=True)
class Schedule(Fault):
    """A random schedule: ``steps`` faults drawn from ``choices`` and ``targets``, each held, then healed.

    Drawn when bound, with ``seed`` if given, else with the run's generator (which the
    ``chaos`` fixture seeds from ``--chaos-seed``), so the same seed replays the same schedule:
    the same faults, targets, holds and gaps. Steps do not overlap.
    """

    choices: tuple[Fault | FaultMaker, ...]
    targets: tuple[Target, ...]
    steps: int
    hold: tuple[float, float]
    gap: tuple[float, float]
    seed: int | str | None = None
    name: ClassVar[str] = "schedule"

    def resolve(self, run: Injection) -> Sequence[str]:
        rng = run.rng if self.seed is None else random.Random(self.seed)
        drawn = draw(self.choices, self.targets, self.steps, self.hold, self.gap, rng)
        run.state["steps"] = drawn
        # Picks ("one", "majority") resolve with the same generator, right after the draw.
        children = [Injection(step.fault, run.lab, rng, parent=run) for step in drawn]
        run.state["children"] = children
        return list(dict.fromkeys(host for child in children for host in child.targets))

    def claims(self, run: Injection) -> Iterable[Claim]:
        return []

    def apply(self, run: Injection) -> float | None:
        return _run_steps(run, run.state["steps"])

    def revert(self, run: Injection) -> float | None:
        _heal_all(_children(run))
        return None

    def detail(self) -> str:
        return f"{self.steps} steps" + (f" seed={self.seed}" if self.seed is not None else "")

    def __str__(self) -> str:
        return f"schedule({self.steps} steps)"


def random_schedule(
    choices: Sequence[Fault | FaultMaker],
    targets: Sequence[Target] = ("one",),
    steps: int = 5,
    hold: Span = ("1s", "3s"),
    gap: Span = ("0s", "1s"),
    seed: int | str | None = None,
) -> Schedule:
    """A schedule of ``steps`` faults drawn at random: which fault, on which target, held how long, after what gap.

    Args:
        choices: fault makers taking a target (``faults.power_off``) or ready faults (kept as they are).
        targets: what a maker is given: host names, lists, picks (``"one"``, ``"minority"``...).
        steps: how many faults, one after another, each healed before the next.
        hold: how long each fault lasts, a duration or ``(low, high)``.
        gap: the pause before each fault, a duration or ``(low, high)``.
        seed: fixes the draw; by default the ``chaos`` fixture's ``--chaos-seed`` does.

    Raises:
        FaultError: no choices or targets, fewer than one step, or a bad duration.

    Example:
        >>> chaos.inject(faults.random_schedule([faults.power_off, faults.pause, faults.isolate],
        ...                                     targets=[faults.Pick("one", among=("lb1", "lb2"))], steps=4))
    """
    if not choices or not targets:
        raise FaultError("a random schedule needs at least one fault maker in `choices` and one target in `targets`")
    if steps < 1:
        raise FaultError(f"a random schedule needs steps >= 1; got {steps}")
    for choice in choices:
        if not isinstance(choice, Fault) and not callable(choice):
            raise FaultError(f"{choice!r} is neither a fault nor a fault maker (e.g. faults.power_off)")
    return Schedule(tuple(choices), tuple(targets), steps, _span(hold, "hold"), _span(gap, "gap"), seed)


def draw(
    choices: Sequence[Fault | FaultMaker],
    targets_: Sequence[Target],
    steps: int,
    hold: tuple[float, float],
    gap: tuple[float, float],
    rng: random.Random,
) -> list[Step]:
    """Draw a schedule's steps with ``rng``: pure, so the same seed gives the same steps.

    Example:
        >>> draw([faults.power_off, faults.pause], ["lb1", "lb2"], 2, (1.0, 3.0), (0.0, 1.0), random.Random(42))
        [Step(fault=PowerOff(target='lb1'), hold=1.05, gap=0.025), Step(fault=Pause(target='lb2', ...), ...)]
    """
    drawn: list[Step] = []
    for _ in range(steps):
        choice = choices[rng.randrange(len(choices))]
        target = targets_[rng.randrange(len(targets_))]
        fault = choice if isinstance(choice, Fault) else choice(target)
        if not isinstance(fault, Fault):
            raise FaultError(f"the fault maker {choice!r} returned {fault!r}, not a fault")
        drawn.append(Step(fault, round(rng.uniform(*hold), 3), round(rng.uniform(*gap), 3)))
    return drawn


def _span(value: Span, what: str) -> tuple[float, float]:
    try:
        if isinstance(value, tuple):
            low, high = (parse_duration(v) for v in value)
        else:
            low = high = parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise FaultError(f"random_schedule {what}: {exc}") from None
    if low > high:
        raise FaultError(f"random_schedule {what}: ({low:g}, {high:g}) runs backwards; give (low, high)")
    return low, high


def _flatten(parts: Iterable[object], kind: type[Fault] | None) -> tuple[Fault, ...]:
    flat: list[Fault] = []
    for part in parts:
        if not isinstance(part, Fault):
            raise FaultError(f"{part!r} is not a fault; compose faults made by chaos.faults (power_off, pause, partition...)")
        if kind is not None and isinstance(part, kind):
            flat.extend(part.parts)  # type: ignore[attr-defined]
        else:
            flat.append(part)
    if not flat:
        raise FaultError("a composition needs at least one fault")
    return tuple(flat)
