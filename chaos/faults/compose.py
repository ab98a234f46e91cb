"""Composing faults: together, in sequence, and a random schedule drawn with a seed; a schedule may run in the background."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from chaos._internal.durations import Duration, parse_duration
from chaos._internal.parallel import parallel
from chaos.errors import FaultError, UsageError
from chaos.faults.base import SECONDS, Claim, Fault, Injection, check_free, to_seconds
from chaos.faults.targets import Target, freeze

FaultMaker: TypeAlias = Callable[[Target], Fault[Any]]
"""A fault factory that takes a target, e.g. ``faults.power_off`` or ``lambda t: faults.kill(t, "SIGTERM")``."""

Span: TypeAlias = "tuple[Duration, Duration] | Duration"
"""A duration, or ``(low, high)`` to draw one uniformly from."""


@dataclass(frozen=True)
class Step:
    """One step of a sequence or schedule: wait ``gap``, inject ``fault``, and heal it after ``hold`` (None: keep it); durations."""

    fault: Fault[Any]
    hold: Duration | None = field(default=None, metadata=SECONDS)
    gap: Duration = field(default=0.0, metadata=SECONDS)

    def __post_init__(self) -> None:
        if not isinstance(self.fault, Fault):
            raise FaultError(f"{self.fault!r} is not a fault")
        object.__setattr__(self, "hold", None if self.hold is None else to_seconds(self.hold, "hold"))
        object.__setattr__(self, "gap", to_seconds(self.gap, "gap"))

    def __str__(self) -> str:
        hold = "" if self.hold is None else f" for {self.hold:g}s"
        gap = f" after {self.gap:g}s" if self.gap else ""
        return f"{self.fault}{hold}{gap}"


@dataclass
class Parts:
    """What a composition knows (``run.data``): its parts bound to the lab, and the steps they run in."""

    children: list[Injection[Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


class _Composition(Fault[Parts]):
    """Parts bound as children of one injection: healed newest first; the composition itself claims nothing."""

    def new_data(self) -> Parts:
        return Parts()

    def claims(self, run: Injection[Parts]) -> Iterable[Claim]:
        return []  # each part claims its own when injected

    def revert(self, run: Injection[Parts]) -> float | None:
        _heal_all(run.data.children)
        return None


def _bind(run: Injection[Parts], parts: Sequence[Fault[Any]], stacked_ok: bool) -> list[str]:
    """Bind every part to the run's lab, refusing parts that stack on each other or on an active fault; the hosts touched."""
    children = [run.child(part) for part in parts]
    if not stacked_ok:
        holders: dict[Claim, Injection[Any]] = {}
        for child in children:
            for claim in child.claims:
                if claim in holders:
                    raise FaultError(
                        f"{holders[claim].fault} and {child.fault} both act on {claim}; a composition cannot stack a fault "
                        "on the same target twice (use sequence(..., hold=...) to heal each before the next)"
                    )
                holders[claim] = child
        check_free(run.lab, holders, str(run.fault))
    run.data.children = children
    return _hosts(children)


def _hosts(children: Iterable[Injection[Any]]) -> list[str]:
    return list(dict.fromkeys(host for child in children for host in child.targets))


def _epoch(run: Injection[Any], child: Injection[Any]) -> float:
    assert child.effective is not None
    return run.lab.timeline.origin + child.effective


def _heal_all(children: Iterable[Injection[Any]]) -> None:
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
class Together(_Composition):
    """Several faults injected at once (each in its own thread), healed newest first. ``a & b`` is ``together(a, b)``.

    Effective when the last part took effect. Two parts acting on one thing (the same
    fault on the same host, or pause and power_off of one host) are refused when bound.

    Example::

        chaos.inject(faults.together(faults.power_off("lb1"), faults.pause("lb2")))
    """

    parts: Sequence[Fault[Any]]
    name: ClassVar[str] = "together"

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", _flatten(self.parts, Together))

    def resolve(self, run: Injection[Parts]) -> Sequence[str]:
        return _bind(run, self.parts, stacked_ok=False)

    def apply(self, run: Injection[Parts]) -> float | None:
        children = run.data.children
        failed = [error for error in parallel(lambda child: child.inject(), children, return_exceptions=True) if isinstance(error, Exception)]
        if failed:
            raise failed[0]  # revert, called next, heals the parts that did go in
        return max(_epoch(run, child) for child in children)

    def detail(self) -> str:
        return " + ".join(str(part) for part in self.parts)

    def __str__(self) -> str:
        return f"together({', '.join(str(p) for p in self.parts)})"


def together(*parts: Fault[Any]) -> Together:
    """Inject ``parts`` at once; heal them newest first: `Together`, with the parts as arguments."""
    return Together(parts)


def _run_steps(run: Injection[Parts]) -> float:
    """Inject each step in turn, until the last or a stop; return when the first took effect (the composition's effect)."""
    first: float | None = None
    for step, child in zip(run.data.steps, run.data.children, strict=True):
        if not run.sleep(float(step.gap)):
            break  # stopped: no further step
        child.inject()
        first = _epoch(run, child) if first is None else first
        if step.hold is not None:
            run.sleep(float(step.hold))  # a stop ends the hold early: heal now
            child.heal()
        if run.is_stopping:
            break
    return first if first is not None else time.time()


@dataclass(frozen=True)
class InSequence(_Composition):
    """Faults injected one after another, ``gap`` apart (a duration). ``a >> b`` is ``sequence(a, b)``.

    Without ``hold`` every part stays until the sequence is healed (newest first), so parts
    may not act on the same target. With ``hold`` each part is healed ``hold`` after it took
    effect, before the next one starts (a rolling fault). ``chaos.inject`` blocks until the
    last part is in (and, with ``hold``, healed again); ``chaos.start`` runs it in the
    background (see `chaos.faults.Background`).

    Example::

        chaos.inject(faults.sequence(faults.power_off("lb1"), faults.power_off("lb2"), gap="2s"))
        chaos.inject(faults.sequence(faults.pause("lb1"), faults.pause("lb2"), hold="3s"))   # rolling
    """

    parts: Sequence[Fault[Any]]
    gap: Duration = field(default=0.0, metadata=SECONDS)
    hold: Duration | None = field(default=None, metadata=SECONDS)
    name: ClassVar[str] = "sequence"

    def __post_init__(self) -> None:
        # (a >> b) >> c is one sequence of three; a nested sequence with its own gap or hold stays a unit.
        flat = [p.parts if isinstance(p, InSequence) and not p.gap and p.hold is None else (p,) for p in _flatten(self.parts, None)]
        object.__setattr__(self, "parts", tuple(f for group in flat for f in group))
        object.__setattr__(self, "gap", to_seconds(self.gap, "gap"))
        object.__setattr__(self, "hold", None if self.hold is None else to_seconds(self.hold, "hold"))

    def steps(self) -> list[Step]:
        return [Step(part, self.hold, self.gap if i else 0.0) for i, part in enumerate(self.parts)]

    def resolve(self, run: Injection[Parts]) -> Sequence[str]:
        run.data.steps = self.steps()
        return _bind(run, self.parts, stacked_ok=self.hold is not None)

    def apply(self, run: Injection[Parts]) -> float | None:
        return _run_steps(run)

    def detail(self) -> str:
        extra = [f"gap={self.gap:g}s"] if self.gap else []
        extra += [f"hold={self.hold:g}s"] if self.hold is not None else []
        return " ".join([" -> ".join(str(p) for p in self.parts), *extra])

    def __str__(self) -> str:
        return f"sequence({', '.join(str(p) for p in self.parts)})"


def sequence(*parts: Fault[Any], gap: Duration = 0.0, hold: Duration | None = None) -> InSequence:
    """Inject ``parts`` one after another, ``gap`` apart; with ``hold``, heal each before the next: `InSequence`, with the parts as arguments."""
    return InSequence(parts, gap, hold)


@dataclass(frozen=True)
class Schedule(_Composition):
    """A random schedule: ``steps`` faults drawn from ``choices`` and ``targets``, each held, then healed.

    Drawn when bound, with ``seed`` if given, else with the run's generator (which the
    ``chaos`` fixture seeds from ``--chaos-seed``), so the same seed replays the same schedule:
    the same faults, targets, holds and gaps. Steps do not overlap. ``chaos.inject`` blocks
    until the last step is healed; ``chaos.start`` runs it in the background, as Jepsen runs
    its nemesis, while the test sends traffic and asserts.

    Args:
        choices: fault makers taking a target (``faults.power_off``) or ready faults (kept as they are).
        targets: what a maker is given: hosts (names or handles), lists, picks (``"one"``, ``"minority"``...).
        steps: how many faults, one after another, each healed before the next.
        hold: how long each fault lasts, a duration or ``(low, high)``.
        gap: the pause before each fault, a duration or ``(low, high)``.
        seed: fixes the draw; by default the ``chaos`` fixture's ``--chaos-seed`` does.

    Raises:
        FaultError: no choices or targets, fewer than one step, or a bad duration.

    Example::

        schedule = chaos.start(faults.random_schedule([faults.power_off, faults.pause, faults.isolate],
                                                      targets=[faults.Pick("one", among=("lb1", "lb2"))], steps=4))
        ...                                   # traffic and assertions while it runs
        schedule.wait(timeout="60s")
    """

    choices: Sequence[Fault[Any] | FaultMaker]
    targets: Sequence[Target] = ("one",)
    steps: int = 5
    hold: Span = ("1s", "3s")
    gap: Span = ("0s", "1s")
    seed: int | str | None = None
    name: ClassVar[str] = "schedule"

    def __post_init__(self) -> None:
        if not self.choices or not self.targets:
            raise FaultError("a random schedule needs at least one fault maker in `choices` and one target in `targets`")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise FaultError(f"a random schedule needs steps >= 1; got {self.steps}")
        for choice in self.choices:
            if not isinstance(choice, Fault) and not callable(choice):
                raise FaultError(f"{choice!r} is neither a fault nor a fault maker (e.g. faults.power_off)")
        object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "targets", tuple(freeze(t) for t in self.targets))
        object.__setattr__(self, "hold", _span(self.hold, "hold"))
        object.__setattr__(self, "gap", _span(self.gap, "gap"))

    def resolve(self, run: Injection[Parts]) -> Sequence[str]:
        rng = run.rng if self.seed is None else random.Random(self.seed)
        run.data.steps = draw(self.choices, self.targets, self.steps, self.hold, self.gap, rng)
        # Picks ("one", "majority") resolve with the same generator, right after the draw.
        run.data.children = [run.child(step.fault, rng) for step in run.data.steps]
        return _hosts(run.data.children)

    def apply(self, run: Injection[Parts]) -> float | None:
        return _run_steps(run)

    def detail(self) -> str:
        return f"{self.steps} steps" + (f" seed={self.seed}" if self.seed is not None else "")

    def __str__(self) -> str:
        return f"schedule({self.steps} steps)"


random_schedule = Schedule


def draw(
    choices: Sequence[Fault[Any] | FaultMaker],
    targets_: Sequence[Target],
    steps: int,
    hold: Span,
    gap: Span,
    rng: random.Random,
) -> list[Step]:
    """Draw a schedule's steps with ``rng``: pure, so the same seed gives the same steps.

    Example::

        draw([faults.power_off, faults.pause], ["lb1", "lb2"], 2, (1.0, 3.0), (0.0, 1.0), random.Random(42))
        # [Step(fault=PowerOff(target='lb1'), hold=1.05, gap=0.025), Step(fault=Pause(target='lb2', ...), ...)]
    """
    holds, gaps = _span(hold, "hold"), _span(gap, "gap")
    drawn: list[Step] = []
    for _ in range(steps):
        choice = choices[rng.randrange(len(choices))]
        target = targets_[rng.randrange(len(targets_))]
        fault = choice if isinstance(choice, Fault) else choice(target)
        if not isinstance(fault, Fault):
            raise FaultError(f"the fault maker {choice!r} returned {fault!r}, not a fault")
        drawn.append(Step(fault, round(rng.uniform(*holds), 3), round(rng.uniform(*gaps), 3)))
    return drawn


def _span(value: Span, what: str) -> tuple[float, float]:
    try:
        if isinstance(value, tuple):
            low, high = (parse_duration(v, what) for v in value)
        else:
            low = high = parse_duration(value, what)
    except (UsageError, ValueError) as exc:
        raise FaultError(f"random_schedule {what}: {exc}") from None
    if low > high:
        raise FaultError(f"random_schedule {what}: ({low:g}, {high:g}) runs backwards; give (low, high)")
    return low, high


def _flatten(parts: Iterable[object], kind: type[Fault[Any]] | None) -> tuple[Fault[Any], ...]:
    flat: list[Fault[Any]] = []
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
