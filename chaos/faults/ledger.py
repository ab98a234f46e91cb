"""The ledger: every fault a test injected, healed newest first at the end whatever happened (like MonkeyPatch.undo)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chaos.errors import FaultError, HealError
from chaos.faults.base import Background, Fault, Injection

if TYPE_CHECKING:
    from chaos.lab import Lab


class Ledger:
    """Injects faults into a lab, remembers them, and heals what is still active on `undo`.

    The ``chaos`` pytest fixture is a ledger on the test's lab, seeded from ``--chaos-seed``
    and undone at teardown.

    Example::

        ledger = Ledger(lambda: [lab], random.Random(7))
        ledger.inject(faults.power_off("lb1"))
        ledger.undo()       # heals power_off(lb1); safe to call twice
    """

    def __init__(self, labs: Callable[[], Sequence[Lab]], rng: random.Random | None = None, seed: int | None = None) -> None:
        self._labs = labs
        self.seed = seed
        self.rng = rng or random.Random(seed)
        self.injections: list[Injection[Any]] = []

    def __repr__(self) -> str:
        active = sum(run.is_active for run in self.injections)
        return f"<Ledger {len(self.injections)} injected, {active} active, seed={self.seed}>"

    def bind(self, fault: Fault[Any], lab: Lab | None = None) -> Injection[Any]:
        """Bind ``fault`` to the lab (validated now, injected later) without injecting it; the ledger still heals it."""
        run = Injection(fault, self._lab(lab, fault), self.rng)
        self.injections.append(run)
        return run

    def inject(self, fault: Fault[Any], lab: Lab | None = None) -> Injection[Any]:
        """Bind ``fault`` to the test's lab, inject it, and return the injection (a context manager that heals on exit).

        Args:
            fault: what to break, e.g. ``faults.power_off("lb1")``.
            lab: which lab; needed only when the test made several.

        Raises:
            FaultError: no lab, several labs and no ``lab=``, bad targets, or a clash with an active fault.

        Example::

            run = chaos.inject(faults.isolate("lb1"))
            with chaos.inject(faults.pause("lb2")):      # healed at the end of the block
                ...
        """
        __tracebackhide__ = True
        run = self.bind(fault, lab)
        return run.inject()

    def start(self, fault: Fault[Any], lab: Lab | None = None) -> Background:
        """Bind ``fault`` (validated now) and inject it in the background; return the handle to wait on or stop.

        For schedules and sequences that should run while the test sends traffic and asserts,
        as Jepsen runs its nemesis. The ledger heals it at teardown whatever happens (a
        running schedule is stopped first: no further step), and raises there what went wrong
        in the background if no ``wait``/``stop`` did.

        Raises:
            FaultError: as `inject`, for what binding finds.

        Example::

            schedule = chaos.start(faults.sequence(faults.pause("lb1"), faults.pause("lb2"), hold="2s", gap="1s"))
            while schedule.is_running:
                assert www.owners() != Owners()          # someone always holds the VIP
            schedule.wait(timeout="30s")
        """
        __tracebackhide__ = True
        return self.bind(fault, lab).start()

    def heal(self, what: Injection[Any] | Fault[Any] | None = None) -> None:
        """Heal one injection, every active injection of an equal fault, or (no argument) everything active, newest first.

        Raises:
            FaultError: ``what`` was never injected through this ledger.
            HealError: a heal failed (the others were still tried).
        """
        __tracebackhide__ = True
        if what is None:
            self.undo()
            return
        if isinstance(what, Injection):
            chosen = [what] if what in self.injections else []
        else:
            chosen = [run for run in self.injections if run.fault == what and run.is_active]
        if not chosen:
            raise FaultError(f"{what} is not an active injection of this test; injected: {', '.join(map(str, self.injections)) or 'nothing'}")
        self._heal(chosen)

    def undo(self) -> None:
        """Heal every injection still active (stopping background ones first), newest first; safe to call twice.

        Raises:
            HealError: one or more heals failed; every other one was still tried.
            ChaosError: a background injection failed and nobody waited on it (raised after every heal).
        """
        self._heal(self.injections)
        for run in self.injections:
            error = run.background.take_unreported() if run.background is not None else None
            if error is not None:
                error.add_note(f"raised in the background by {run} and never waited on; the ledger healed everything")
                raise error

    @property
    def last(self) -> Injection[Any]:
        """The latest injection (what ``flow.recovery_after(chaos.last)`` measures from).

        Raises:
            FaultError: nothing was injected yet.
        """
        if not self.injections:
            raise FaultError("chaos.last: no fault has been injected in this test yet")
        return self.injections[-1]

    @property
    def active(self) -> list[Injection[Any]]:
        """The injections of this ledger that are active now, oldest first."""
        return [run for run in self.injections if run.is_active]

    def _heal(self, runs: Sequence[Injection[Any]]) -> None:
        failures: list[tuple[object, BaseException]] = []
        for run in reversed(list(runs)):
            try:
                run.heal()
            except Exception as exc:
                failures.append((run, exc))
        if failures:
            raise HealError(failures)

    def _lab(self, lab: Lab | None, fault: object) -> Lab:
        if lab is not None:
            return lab
        labs = list(self._labs())
        if len(labs) == 1:
            return labs[0]
        if not labs:
            raise FaultError(f"cannot inject {fault}: this test has no lab; request the `lab` fixture or make one with `lab_factory`")
        raise FaultError(f"cannot inject {fault}: this test has {len(labs)} labs ({', '.join(lab.name for lab in labs)}); say which with lab=...")
