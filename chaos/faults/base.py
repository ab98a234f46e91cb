"""The fault protocol: a fault is data; bound to a lab it injects, heals and is recorded on the lab's timeline.

How to write a fault
--------------------
Subclass `Fault` as a frozen dataclass. Its fields are the data (what and where, with the
target first, named ``target`` when it is a `chaos.faults.targets.Target`) and nothing else:
a fault object is never changed, so one object can be bound to many labs. Give it a class
attribute ``name`` (``"power_off"``). Check and normalise the fields in ``__post_init__``
(call ``super().__post_init__()``; set a field with ``object.__setattr__``): a fault is
valid from the moment it is built, and equal faults compare equal (`freeze` a target,
`to_seconds` a duration, `to_share` a fraction). Then implement, each taking the bound `Injection` ``run``:

- ``new_data() -> D`` (optional): a fresh record of what this fault computes and does, one per
  injection, as ``run.data`` (``D`` is the fault's type parameter: ``class Freeze(Fault[Frozen])``;
  a fault with nothing to remember is a ``Fault[None]``).
- ``resolve(run) -> Sequence[str]`` (optional): validate everything against ``run.lab``
  (hosts, networks, what the kernel can do) and return the target hosts. Raise `FaultError`
  naming what was asked and what exists. It runs when the fault is bound (``fault.on(lab)``),
  before anything is applied. Keep what you computed (a grudge, the containers) in
  ``run.data``. The default resolves ``self.target`` with ``run.rng`` (seeded by ``--chaos-seed``).
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
  in ``run.data`` each step as soon as it is done, so ``revert`` knows what to undo (the data
  lives as long as the injection, which may be injected again after a heal: apply resets
  what it records).
- ``revert(run) -> float | None``: heal, and return the epoch time recovery took effect
  (None: when revert returned). It must be idempotent and safe after a partial apply: it
  is called when apply raised half-way, it may be called again after it failed, and the
  ledger calls it at teardown. So undo only what ``run.data`` says was done, treat
  "already gone" as success, and leave the baseline (addresses, routes; never the default
  route, the lab has none) as the lab made it.

A fault that waits (a schedule's gaps and holds) waits with ``run.sleep(seconds)``, which
returns False at once when the injection is stopped (`Background.stop`), and stops early.

For a one-shot change with nothing to heal (power_on, start, restart, resume, link_up),
subclass `Action` instead and implement ``apply`` only; an action that undoes a fault heals
the active injection holding that fault's claim (``run.heal_holders(claims)``), so the
timeline and the ledger agree.

Errors: raise `FaultError` for bad input (when built, or when bound: before anything is
applied), and let `HostCommandError`/`EngineError` say what failed while applying.
`Injection.inject` heals after a failed apply and re-raises; the record on the timeline
shows the attempt.

Example::

    @dataclass
    class Frozen:
        paused: list[str] = field(default_factory=list)

    @dataclass(frozen=True)
    class Freeze(Fault[Frozen]):
        target: Target
        name: ClassVar[str] = "freeze"

        def __post_init__(self) -> None:
            object.__setattr__(self, "target", freeze(self.target))

        def new_data(self) -> Frozen:
            return Frozen()

        def apply(self, run: Injection[Frozen]) -> float | None:
            run.data.paused = []
            for host in run.targets:
                run.data.paused.append(host)                     # before the call: it may half-work
                run.lab.engine.pause(run.host(host).container)
            return None                                          # effective when pause returned

        def revert(self, run: Injection[Frozen]) -> float | None:
            for host in run.data.paused:
                if run.lab.engine.state(run.host(host).container).paused:   # idempotent
                    run.lab.engine.unpause(run.host(host).container)
            return None

    with Freeze(lab.hosts["lb1"]).on(lab):
        ...
"""

from __future__ import annotations

import abc
import dataclasses
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from chaos._internal.durations import Duration, parse_duration, parse_optional_duration
from chaos._internal.shares import Share, parse_share
from chaos._internal.stash import StashKey
from chaos.errors import FaultError, RecoveryTimeout, UsageError
from chaos.faults import targets as _targets
from chaos.timeline import FaultRecord

if TYPE_CHECKING:
    from chaos.host import Host
    from chaos.lab import Lab

D = TypeVar("D")


@dataclass(frozen=True, order=True)
class Claim:
    """Something an active fault holds exclusively, e.g. ``Claim("container", "lb1")`` or ``Claim("link", "lb1:front")``."""

    resource: str
    key: str

    def __str__(self) -> str:
        return f"{self.resource} {self.key}"


class Fault(abc.ABC, Generic[D]):
    """What to break and where: data, plus the protocol `resolve`, `claims`, `apply`, `revert`.

    A fault does nothing until it is bound to a lab: ``fault.on(lab)`` returns an `Injection`
    (a context manager that injects on enter and heals on exit); the ``chaos`` fixture's
    ``chaos.inject(fault)`` binds, injects and heals at teardown.

    Example::

        from chaos import faults
        with faults.power_off("lb1").on(lab):
            lab.vips["www"].wait_owner("lb2", within="5s")
    """

    name: ClassVar[str]

    def __post_init__(self) -> None:
        """Check and normalise the fields (dataclass subclasses override it and call it)."""

    def new_data(self) -> D:
        """A fresh record of what one injection of this fault computes and does (``run.data``); None by default."""
        return cast(D, None)

    def on(self, lab: Lab, rng: random.Random | int | str | None = None) -> Injection[D]:
        """Bind this fault to ``lab``: resolve and validate its targets now, inject later.

        Args:
            lab: a lab that is up.
            rng: the random generator for picks (``one``, ``majority``...): a `random.Random`,
                or a seed; None draws an unseeded one.

        Raises:
            FaultError: an unknown host or network, or a target that cannot take this fault.
        """
        return Injection(self, lab, rng)

    def resolve(self, run: Injection[D]) -> Sequence[str]:
        """The hosts this fault acts on, validated against ``run.lab``; the default resolves ``self.target``."""
        target = getattr(self, "target", None)
        if target is None:
            raise NotImplementedError(f"{type(self).__name__} has no `target` field: implement resolve()")
        return _targets.resolve(target, list(run.lab.hosts), run.rng)

    def claims(self, run: Injection[D]) -> Iterable[Claim]:
        """What this fault holds while active; the default is one claim per target host under the fault's name."""
        return [Claim(self.name, host) for host in run.targets]

    @abc.abstractmethod
    def apply(self, run: Injection[D]) -> float | None:
        """Inject; return the epoch time the fault took effect (None: when apply returned)."""

    @abc.abstractmethod
    def revert(self, run: Injection[D]) -> float | None:
        """Heal, idempotently and safely after a partial apply; return the epoch time of recovery (None: on return)."""

    def detail(self) -> str:
        """The fault's arguments other than its target, as ``key=value`` words for the timeline."""
        return " ".join(f"{key}={shown}" for key, shown in _arguments(self) if key != "target")

    def __and__(self, other: Fault[Any]) -> Fault[Any]:
        """``a & b``: both at once (`chaos.faults.together`)."""
        from chaos.faults.compose import together

        return together(self, other)

    def __rshift__(self, other: Fault[Any]) -> Fault[Any]:
        """``a >> b``: one after the other (`chaos.faults.sequence`)."""
        from chaos.faults.compose import sequence

        return sequence(self, other)

    def __str__(self) -> str:
        words = [_targets.describe(getattr(self, key)) if key == "target" else f"{key}={shown}" for key, shown in _arguments(self)]
        return f"{self.name}({', '.join(words)})"


class Action(Fault[D]):
    """A one-shot change with nothing to heal (power_on, start, restart, resume, link_up).

    Its injection is never active: it takes effect and is done. Actions claim nothing by
    default; one that undoes a fault heals the injection holding that fault's claim.
    """

    def claims(self, run: Injection[D]) -> Iterable[Claim]:
        return []

    def revert(self, run: Injection[D]) -> float | None:
        return None


@dataclass(frozen=True)
class Targeted(Fault[D]):
    """A fault whose first field is its ``target``: a host (name or handle), a list of hosts, or a pick; frozen when built."""

    target: _targets.Target

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "target", freeze(self.target))


# -- building: the helpers every fault's __post_init__ uses ---------------------------------------


def freeze(target: object, what: str = "target") -> Any:
    """A target as immutable data (handles become names, lists tuples); `FaultError` when it is none."""
    return _targets.freeze(target, what)


def to_seconds(value: Duration, what: str) -> float:
    """A duration in seconds (``"500ms"``, ``2``); `FaultError` naming ``what`` when it is none."""
    try:
        return parse_duration(value, what)
    except UsageError as exc:
        raise FaultError(str(exc)) from None


def to_share(value: Share, what: str) -> float:
    """A share as a fraction (``0.3``, ``"30 %"``); `FaultError` naming ``what`` when it is none (``30`` is refused with a hint)."""
    try:
        return parse_share(value, what)
    except UsageError as exc:
        raise FaultError(str(exc)) from None


SECONDS = {"unit": "seconds"}
"""Field metadata: the field is a duration in seconds (labels show ``100ms``, ``2s``)."""

SHARE = {"unit": "share"}
"""Field metadata: the field is a fraction (labels show ``30%``)."""


class Injection(Generic[D]):
    """A fault bound to a lab: inject, heal, and the record of both on the lab's timeline.

    Entering it injects (unless it is already active), leaving it heals. ``heal`` is
    idempotent. Injecting an active injection again is an error; after a heal it may be
    injected again (a new record on the timeline).

    Attributes:
        fault: the fault (data).
        lab: the lab it is bound to.
        targets: the hosts it acts on, resolved when bound.
        record: its latest `FaultRecord` on ``lab.timeline`` (None before the first inject).
        data: the fault's own record between resolve, apply and revert (``fault.new_data()``).

    Example::

        run = faults.pause("lb1").on(lab)
        with run:
            assert client.exec(["chaos-probe", "tcp", lb1_address]).rc == 1
        run.record.effective - run.record.requested    # seconds the pause took to bite
    """

    def __init__(self, fault: Fault[D], lab: Lab, rng: random.Random | int | str | None = None, parent: Injection[Any] | None = None) -> None:
        if not isinstance(fault, Fault):
            raise FaultError(f"{fault!r} is not a fault; build one with chaos.faults (power_off, kill, isolate, partition...)")
        self.fault = fault
        self.lab = lab
        self.rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        self.parent = parent
        self.data: D = fault.new_data()
        self.record: FaultRecord | None = None
        self.is_active = False
        # A composition's parts share its stop signal: stopping it stops what runs inside.
        self._stopping: threading.Event = parent._stopping if parent is not None else threading.Event()
        self._background: Background | None = None
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

    def inject(self) -> Injection[D]:
        """Apply the fault and record when it was requested and when it took effect.

        Raises:
            FaultError: this injection is active already, or another active fault holds one
                of its claims (the same fault on the same target, or a clashing one).
            ChaosError: applying failed; what was applied has been healed again.
        """
        __tracebackhide__ = True
        if self.parent is None and not (self._background is not None and self._background.is_running):
            self._stopping.clear()  # a stop asked of an earlier life does not stop this one
        return self._inject()

    def start(self) -> Background:
        """Inject in the background (a schedule running while the test asserts); return its handle.

        The handle waits for the injection to finish (`Background.wait`) or stops it
        (`Background.stop`: no further step, and what it holds is healed). Healing the
        injection stops it first, so a ledger's teardown always leaves the lab healed.

        Raises:
            FaultError: it is running or active already.
        """
        if self.is_active or (self._background is not None and self._background.is_running):
            raise FaultError(f"{self!s} is already active on lab {self.lab.name}; heal it before starting it again")
        self._stopping.clear()
        self._background = Background(self)
        self._background.begin()
        return self._background

    def heal(self) -> None:
        """Undo the fault and record when healing was requested and when it took effect; idempotent.

        A background injection is stopped first (no further step). When reverting fails the
        injection stays active, so a later heal (the ledger's, at teardown) tries again.
        """
        __tracebackhide__ = True
        background = self._background
        if background is not None and background.is_running and not background.is_current_thread:
            self._stopping.set()
            background.join()
        if not self.is_active or self.record is None:
            return
        self.lab.timeline.heal_requested(self.record)
        healed = self.fault.revert(self)
        self.lab.timeline.healed(self.record, healed)
        self.is_active = False
        _registry(self.lab).release(self)

    def __enter__(self) -> Injection[D]:
        if not self.is_active:
            self.inject()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.heal()

    # -- for fault implementations ------------------------------------------------------

    @property
    def claims(self) -> tuple[Claim, ...]:
        return self._claims

    @property
    def background(self) -> Background | None:
        """The handle of the latest `start`, None when it was injected in the foreground."""
        return self._background

    @property
    def is_stopping(self) -> bool:
        """Whether a stop was asked for (`Background.stop`, or a heal of a background injection)."""
        return self._stopping.is_set()

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less when the injection is stopped; True when the whole wait passed."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()

    def host(self, name: str) -> Host:
        """The lab's handle of host ``name``."""
        return self.lab.hosts[name]

    def child(self, fault: Fault[Any], rng: random.Random | None = None) -> Injection[Any]:
        """Bind ``fault`` to the same lab and random generator (or ``rng``), as part of this one (composition)."""
        return Injection(fault, self.lab, rng or self.rng, parent=self)

    def heal_holders(self, claims: Iterable[Claim]) -> list[Injection[Any]]:
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

    def _inject(self) -> Injection[D]:
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


class Background:
    """An injection running in a thread, as Jepsen runs its nemesis: the test asserts while it goes on.

    Made by ``chaos.start(fault)`` (or ``fault.on(lab).start()``). A context manager: leaving
    the block stops it. Healing its injection (the ledger does at teardown, whatever
    happened, Ctrl-C included) stops it first.

    Example::

        schedule = chaos.start(faults.random_schedule([faults.pause], targets=["lb1", "lb2"], steps=4))
        while schedule.is_running:
            time.sleep(0.5)
            assert www.history.max_simultaneous_owners <= 1   # no split brain while faults come and go
        schedule.wait(timeout="30s")     # re-raises what went wrong in the background
    """

    def __init__(self, run: Injection[Any]) -> None:
        self.run = run
        self.error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._main, name=f"chaos {run.fault}", daemon=True)

    def __repr__(self) -> str:
        return f"<Background {self.run.fault} {'running' if self.is_running else 'done'}>"

    @property
    def is_running(self) -> bool:
        """Whether it is still injecting (a schedule still has steps to go)."""
        return self._thread.is_alive()

    @property
    def is_current_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def wait(self, timeout: Duration | None = None) -> Injection[Any]:
        """Wait until it has done everything it injects; return the injection.

        Args:
            timeout: how long to wait at most (a duration); None: as long as it takes.

        Raises:
            RecoveryTimeout: it still ran after ``timeout`` (it keeps running).
            ChaosError: what went wrong in the background (a step that could not be injected),
                re-raised here.
        """
        __tracebackhide__ = True
        limit = parse_optional_duration(timeout, "timeout")
        self._thread.join(limit)
        if self._thread.is_alive():
            assert limit is not None
            raise RecoveryTimeout(f"{self.run} to finish in the background", limit, "still running", [])
        self._raise()
        return self.run

    def stop(self) -> None:
        """Stop it: no further step starts, a wait in progress ends, and what it holds is healed.

        Raises:
            HealError: a heal failed (the ledger tries again at teardown).
            ChaosError: what went wrong in the background, if nobody was told yet.
        """
        __tracebackhide__ = True
        self.run.heal()
        self._raise()

    def join(self) -> None:
        self._thread.join()

    def begin(self) -> None:
        self._thread.start()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.stop()
        else:
            self.run.heal()  # the block's own error is the one to see

    def take_unreported(self) -> BaseException | None:
        """The background's error if no `wait` or `stop` raised it yet (the ledger raises it at teardown)."""
        if self.error is None or self._reported:
            return None
        self._reported = True
        return self.error

    def _main(self) -> None:
        try:
            self.run._inject()
        except BaseException as exc:
            self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            self._reported = True
            raise self.error


# -- who holds what, per lab ------------------------------------------------------------------


class _Registry:
    """The active injections of one lab and their claims."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[Claim, Injection[Any]] = {}

    def take(self, run: Injection[Any]) -> None:
        with self._lock:
            clashes = [(claim, self._holders[claim]) for claim in run.claims if claim in self._holders]
            if clashes:
                raise FaultError(_clash_message(run, clashes))
            for claim in run.claims:
                self._holders[claim] = run

    def release(self, run: Injection[Any]) -> None:
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

    def holders(self, claims: Iterable[Claim]) -> list[Injection[Any]]:
        with self._lock:
            found = [self._holders[claim] for claim in claims if claim in self._holders]
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda run: run.record.index if run.record else -1)

    def active(self) -> list[Injection[Any]]:
        with self._lock:
            unique = list(dict.fromkeys(self._holders.values()))
        return sorted(unique, key=lambda run: run.record.index if run.record else -1)


_CLAIMS = StashKey[_Registry]("chaos.faults.claims")


def _registry(lab: Lab) -> _Registry:
    return lab.stash.setdefault(_CLAIMS, _Registry)


def active(lab: Lab) -> list[Injection[Any]]:
    """The injections active on ``lab`` now (holding a claim), oldest first.

    Example::

        [str(run) for run in active(lab)]      # ['#0 power_off(lb1)']
    """
    return _registry(lab).active()


def check_free(lab: Lab, claims: Iterable[Claim], asking: str) -> None:
    """Raise `FaultError` if an active injection on ``lab`` holds one of ``claims`` (composition checks this up front)."""
    _registry(lab).check(claims, asking)


def _clash_message(run: Injection[Any], clashes: list[tuple[Claim, Injection[Any]]]) -> str:
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


def _arguments(fault: Fault[Any]) -> list[tuple[str, str]]:
    """The fault's dataclass fields that differ from their defaults, in declaration order, as label text."""
    if not dataclasses.is_dataclass(fault):
        return []
    shown: list[tuple[str, str]] = []
    # In the order __init__ takes them: positional fields first, then keyword-only ones.
    for spec in sorted(dataclasses.fields(fault), key=lambda spec: spec.kw_only is True):
        if not spec.init or spec.name.startswith("_"):
            continue
        value = getattr(fault, spec.name)
        if spec.default is not dataclasses.MISSING and value == spec.default:
            continue
        if spec.default_factory is not dataclasses.MISSING and value == spec.default_factory():
            continue
        shown.append((spec.name, _show(value, spec.metadata.get("unit"))))
    return shown


def _show(value: object, unit: str | None = None) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool) and unit == "seconds":
        return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"
    if isinstance(value, float | int) and not isinstance(value, bool) and unit == "share":
        return f"{value * 100:g}%"
    if isinstance(value, Fault):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
