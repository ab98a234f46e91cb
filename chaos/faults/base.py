"""The fault protocol: a fault is data; bound to a lab it injects, heals and is recorded on the lab's timeline.

How to write a fault
--------------------
Subclass `Fault` as a frozen dataclass. Its fields are the data (what and where, with the
target first, named ``target`` when it is a `chaos.faults.targets.Target`) and nothing else:
a fault object is never changed, so one object can be bound to many labs. Give it a class
attribute ``name`` (``"power_off"``), then implement, each taking the bound `Injection` ``run``:

- ``resolve(run) -> Sequence[str]`` (optional): validate everything against ``run.lab``
  (hosts, networks, protocols, what the kernel can do) and return the target hosts. Raise
  `FaultError` naming what was asked and what exists. It runs when the fault is bound
  (``fault.on(lab)``), before anything is applied. Keep what you computed (a grudge, an
  interface name) in ``run.state``, a dict private to this injection. The default resolves
  ``self.target`` with ``run.rng`` (seeded by ``--chaos-seed``).
- ``claims(run) -> Iterable[Claim]`` (optional): what this fault holds while it is active.
  Two active faults never hold the same `Claim`: binding-time resolution plus these claims are
  how "the same fault twice on the same target" (and other clashes, such as pausing a host
  that is powered off) are refused with a message naming the active fault. The default is
  ``Claim(self.name, host)`` per target host; faults acting on one resource share a
  ``resource`` word (every container-state fault claims ``Claim("container", "lb1")``).
- ``apply(run) -> float | None``: inject. Return the epoch time (``time.time()`` clock, which
  the lab shares) at which the fault *took effect*, measured, not assumed: when the container
  was seen dead (its ``State.FinishedAt``), when the last rule was in place (``date +%s.%N``
  printed inside the namespace after the command). None means "when apply returned". Record
  in ``run.state`` each step as soon as it is done, so ``revert`` knows what to undo (``state``
  lives as long as the injection, which may be injected again after a heal: apply (re)sets
  the keys it uses).
- ``revert(run) -> float | None``: heal, and return the epoch time recovery took effect
  (None: when revert returned). It must be idempotent and safe after a partial apply: it
  is called when apply raised half-way, it may be called again after it failed, and the
  ledger calls it at teardown. So undo only what ``run.state`` says was done, treat
  "already gone" as success, and leave the baseline (addresses, routes; never the default
  route, the lab has none) as the lab made it.

For a one-shot change with nothing to heal (power_on, start, restart, resume, link_up),
subclass `Action` instead and implement ``apply`` only; an action that undoes a fault heals
the active injection holding that fault's claim (``run.heal_holders(claims)``), so the
timeline and the ledger agree.

Errors: raise `FaultError` for bad input (before anything is applied), and let
`HostCommandError`/`EngineError` say what failed while applying. `Injection.inject` heals
after a failed apply and re-raises; the record on the timeline shows the attempt.

Example:
    >>> @dataclass(frozen=True)
    ... class Freeze(Fault):
    ...     target: Target
    ...     name: ClassVar[str] = "freeze"
    ...     def apply(self, run):
    ...         for host in run.targets:
    ...             run.state.setdefault("paused", []).append(host)   # before the call: it may half-work
    ...             run.lab.engine.pause(run.host(host).container)
    ...         return None                                          # effective when pause returned
    ...     def revert(self, run):
    ...         for host in run.state.get("paused", []):
    ...             if run.lab.engine.state(run.host(host).container).paused:   # idempotent
    ...                 run.lab.engine.unpause(run.host(host).container)
    >>> with Freeze("lb1").on(lab):
    ...     ...
"""

from __future__ import annotations

import abc
import dataclasses
import random
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from chaos.errors import FaultError
from chaos.faults import targets as _targets
from chaos.timeline import FaultRecord

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.lab import Lab


@dataclass(frozen=True, order=True)
class Claim:
    """Something an active fault holds exclusively, e.g. ``Claim("container", "lb1")`` or ``Claim("link", "lb1:front")``."""

    resource: str
    key: str

    def __str__(self) -> str:
        return f"{self.resource} {self.key}"


class Fault(abc.ABC):
    """What to break and where: data, plus the protocol `resolve`, `claims`, `apply`, `revert`.

    A fault does nothing until it is bound to a lab: ``fault.on(lab)`` returns an `Injection`
    (a context manager that injects on enter and heals on exit); the ``chaos`` fixture's
    ``chaos.inject(fault)`` binds, injects and heals at teardown.

    Example:
        >>> from chaos import faults
        >>> with faults.power_off("lb1").on(lab):
        ...     lab.vips["www"].wait_owner("lb2", within="5s")
    """

    name: ClassVar[str]

    def on(self, lab: Lab, rng: random.Random | int | str | None = None) -> Injection:
        """Bind this fault to ``lab``: resolve and validate its targets now, inject later.

        Args:
            lab: a lab that is up.
            rng: the random generator for picks (``one``, ``majority``...): a `random.Random`,
                or a seed; None draws an unseeded one.

        Raises:
            FaultError: an unknown host or network, or a target that cannot take this fault.
        """
        return Injection(self, lab, rng)

    def resolve(self, run: Injection) -> Sequence[str]:
        """The hosts this fault acts on, validated against ``run.lab``; the default resolves ``self.target``."""
        target = getattr(self, "target", None)
        if target is None:
            raise NotImplementedError(f"{type(self).__name__} has no `target` field: implement resolve()")
        return _targets.resolve(target, list(run.lab.hosts), run.rng)

    def claims(self, run: Injection) -> Iterable[Claim]:
        """What this fault holds while active; the default is one claim per target host under the fault's name."""
        return [Claim(self.name, host) for host in run.targets]

    @abc.abstractmethod
    def apply(self, run: Injection) -> float | None:
        """Inject; return the epoch time the fault took effect (None: when apply returned)."""

    @abc.abstractmethod
    def revert(self, run: Injection) -> float | None:
        """Heal, idempotently and safely after a partial apply; return the epoch time of recovery (None: on return)."""

    def detail(self) -> str:
        """The fault's arguments other than its target, as ``key=value`` words for the timeline."""
        return " ".join(f"{key}={_show(value)}" for key, value in _arguments(self) if key != "target")

    def __and__(self, other: Fault) -> Fault:
        """``a & b``: both at once (`chaos.faults.together`)."""
        from chaos.faults.compose import together

        return together(self, other)

    def __rshift__(self, other: Fault) -> Fault:
        """``a >> b``: one after the other (`chaos.faults.sequence`)."""
        from chaos.faults.compose import sequence

        return sequence(self, other)

    def __str__(self) -> str:
        words = [_targets.describe(value) if key == "target" else f"{key}={_show(value)}" for key, value in _arguments(self)]
        return f"{self.name}({', '.join(words)})"


class Action(Fault):
    """A one-shot change with nothing to heal (power_on, start, restart, resume, link_up).

    Its injection is never active: it takes effect and is done. Actions claim nothing by
    default; one that undoes a fault heals the injection holding that fault's claim.
    """

    def claims(self, run: Injection) -> Iterable[Claim]:
        return []

    def revert(self, run: Injection) -> float | None:
        return None


class Injection:
    """A fault bound to a lab: inject, heal, and the record of both on the lab's timeline.

    Entering it injects (unless it is already active), leaving it heals. ``heal`` is
    idempotent. Injecting an active injection again is an error; after a heal it may be
    injected again (a new record on the timeline).

    Attributes:
        fault: the fault (data).
        lab: the lab it is bound to.
        targets: the hosts it acts on, resolved when bound.
        record: its latest `FaultRecord` on ``lab.timeline`` (None before the first inject).
        state: the fault's own notes between apply and revert.

    Example:
        >>> run = faults.pause("lb1").on(lab)
        >>> with run:
        ...     assert client.exec(["chaos-probe", "tcp", lb1_address]).rc == 1
        >>> run.record.effective - run.record.requested    # seconds the pause took to bite
    """

    def __init__(self, fault: Fault, lab: Lab, rng: random.Random | int | str | None = None, parent: Injection | None = None) -> None:
        if not isinstance(fault, Fault):
            raise FaultError(f"{fault!r} is not a fault; build one with chaos.faults (power_off, kill, isolate, partition...)")
        self.fault = fault
        self.lab = lab
        self.rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        self.parent = parent
        self.state: dict[str, Any] = {}
        self.record: FaultRecord | None = None
        self.is_active = False
        try:
            self.targets: tuple[str, ...] = tuple(fault.resolve(self))
        except FaultError as exc:
            raise FaultError(f"{fault}: {exc}") from None
        self._claims = tuple(dict.fromkeys(fault.claims(self)))

    def __repr__(self) -> str:
        status = "active" if self.is_active else "inactive"
        index = f" #{self.record.index}" if self.record else ""
        return f"<Injection{index} {self.fault} on {self.lab.name} {status}>"

    def __str__(self) -> str:
        index = f"#{self.record.index} " if self.record else ""
        return f"{index}{self.fault.name}({', '.join(self.targets)})"

    # -- the protocol -------------------------------------------------------------------

    def inject(self) -> Injection:
        """Apply the fault and record when it was requested and when it took effect.

        Raises:
            FaultError: this injection is active already, or another active fault holds one
                of its claims (the same fault on the same target, or a clashing one).
            ChaosError: applying failed; what was applied has been healed again.
        """
        __tracebackhide__ = True
        if self.is_active:
            raise FaultError(f"{self!s} is already active on lab {self.lab.name}; heal it before injecting it again")
        _registry(self.lab).take(self)
        self.record = self.lab.timeline.fault_requested(self.fault.name, self.targets, self._detail())
        self.is_active = True
        try:
            effective = self.fault.apply(self)
        except BaseException as exc:
            self._heal_after_failed_inject(exc)
            raise
        self.lab.timeline.fault_effective(self.record, effective)
        if isinstance(self.fault, Action):
            self.is_active = False
            _registry(self.lab).release(self)
        return self

    def heal(self) -> None:
        """Undo the fault and record when healing was requested and when it took effect; idempotent.

        When reverting fails the injection stays active, so a later heal (the ledger's, at
        teardown) tries again.
        """
        __tracebackhide__ = True
        if not self.is_active or self.record is None:
            return
        self.lab.timeline.heal_requested(self.record)
        healed = self.fault.revert(self)
        self.lab.timeline.healed(self.record, healed)
        self.is_active = False
        _registry(self.lab).release(self)

    def __enter__(self) -> Injection:
        if not self.is_active:
            self.inject()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.heal()

    # -- for fault implementations ------------------------------------------------------

    @property
    def claims(self) -> tuple[Claim, ...]:
        return self._claims

    def host(self, name: str) -> Host:
        """The lab's handle of host ``name``."""
        return self.lab.hosts[name]

    def child(self, fault: Fault) -> Injection:
        """Bind ``fault`` to the same lab and random generator, as part of this one (composition)."""
        return Injection(fault, self.lab, self.rng, parent=self)

    def heal_holders(self, claims: Iterable[Claim]) -> list[Injection]:
        """Heal every active injection holding one of ``claims``, newest first; return them (for actions that undo faults)."""
        holders = _registry(self.lab).holders(claims)
        for holder in reversed(holders):
            holder.heal()
        return holders

    # -- on the lab clock ---------------------------------------------------------------

    @property
    def requested(self) -> float | None:
        """Seconds on the lab clock when the latest inject was requested."""
        return self.record.requested if self.record else None

    @property
    def effective(self) -> float | None:
        """Seconds on the lab clock when the latest inject took effect."""
        return self.record.effective if self.record else None

    @property
    def healed(self) -> float | None:
        """Seconds on the lab clock when the latest heal took effect."""
        return self.record.healed if self.record else None

    def _detail(self) -> str:
        detail = self.fault.detail()
        if self.parent is not None and self.parent.record is not None:
            detail = f"{detail} (in #{self.parent.record.index})".strip()
        return detail

    def _heal_after_failed_inject(self, exc: BaseException) -> None:
        assert self.record is not None
        self.record.detail = f"{self.record.detail} [inject failed: {type(exc).__name__}]".strip()
        try:
            self.lab.timeline.heal_requested(self.record)
            healed = self.fault.revert(self)
            self.lab.timeline.healed(self.record, healed)
        except BaseException as heal_exc:
            # Still active: the ledger tries again at teardown.
            exc.add_note(f"healing {self} after the failed inject also failed: {type(heal_exc).__name__}: {heal_exc}")
            return
        self.is_active = False
        _registry(self.lab).release(self)


# -- who holds what, per lab ------------------------------------------------------------------


class _Registry:
    """The active injections of one lab and their claims."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[Claim, Injection] = {}

    def take(self, run: Injection) -> None:
        with self._lock:
            clashes = [(claim, self._holders[claim]) for claim in run.claims if claim in self._holders]
            if clashes:
                raise FaultError(_clash_message(run, clashes))
            for claim in run.claims:
                self._holders[claim] = run

    def release(self, run: Injection) -> None:
        with self._lock:
            for claim in run.claims:
                if self._holders.get(claim) is run:
                    del self._holders[claim]

    def check(self, claims: Iterable[Claim], asking: str) -> None:
        with self._lock:
            clashes = [(claim, self._holders[claim]) for claim in claims if claim in self._holders]
        if clashes:
            holder = clashes[0][1]
            raise FaultError(f"{asking} clashes with active {holder} on {', '.join(str(c) for c, _ in clashes)}; heal it first")

    def holders(self, claims: Iterable[Claim]) -> list[Injection]:
        with self._lock:
            found = [self._holders[claim] for claim in claims if claim in self._holders]
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda run: run.record.index if run.record else -1)

    def active(self) -> list[Injection]:
        with self._lock:
            unique = list(dict.fromkeys(self._holders.values()))
        return sorted(unique, key=lambda run: run.record.index if run.record else -1)


_registries: weakref.WeakKeyDictionary[Lab, _Registry] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def _registry(lab: Lab) -> _Registry:
    with _registries_lock:
        registry = _registries.get(lab)
        if registry is None:
            registry = _registries[lab] = _Registry()
        return registry


def active(lab: Lab) -> list[Injection]:
    """The injections active on ``lab`` now (holding a claim), oldest first.

    Example:
        >>> [str(run) for run in active(lab)]
        ['#0 power_off(lb1)']
    """
    return _registry(lab).active()


def check_free(lab: Lab, claims: Iterable[Claim], asking: str) -> None:
    """Raise `FaultError` if an active injection on ``lab`` holds one of ``claims`` (composition checks this up front)."""
    _registry(lab).check(claims, asking)


def _clash_message(run: Injection, clashes: list[tuple[Claim, Injection]]) -> str:
    holder = clashes[0][1]
    since = f" since {holder.record.requested:.3f}s" if holder.record else ""
    what = ", ".join(str(claim) for claim, _ in clashes)
    if type(holder.fault) is type(run.fault):
        return (
            f"{run.fault} is already injected on {what} (active {holder}{since}); "
            "the same fault cannot be injected twice on the same target: heal it first or pick another target"
        )
    return f"{run.fault} clashes with active {holder}{since}: both act on {what}; heal {holder} first"


# -- labels -----------------------------------------------------------------------------------


def _arguments(fault: Fault) -> list[tuple[str, object]]:
    """The fault's dataclass fields that differ from their defaults, in declaration order."""
    if not dataclasses.is_dataclass(fault):
        return []
    shown: list[tuple[str, object]] = []
    for spec in dataclasses.fields(fault):
        if not spec.init or spec.name.startswith("_"):
            continue
        value = getattr(fault, spec.name)
        if spec.default is not dataclasses.MISSING and value == spec.default:
            continue
        if spec.default_factory is not dataclasses.MISSING and value == spec.default_factory():
            continue
        shown.append((spec.name, value))
    return shown


def _show(value: object) -> str:
    if isinstance(value, Fault):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
