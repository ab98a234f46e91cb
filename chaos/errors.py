"""The exceptions a user can catch: one root, each also the matching built-in."""

from __future__ import annotations


class ChaosError(Exception):
    """Root of every error pytest-chaos raises on purpose."""


class UsageError(ChaosError, ValueError):
    """An argument of the public API is not valid (a duration, a share, a host); nothing was done.

    The message names the parameter, the value given and what is allowed.
    """


class SpecError(ChaosError, ValueError):
    """A topology is invalid; nothing was created.

    Attributes:
        problems: one line per problem, each ``file: path: what is wrong; what is valid``.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class EngineError(ChaosError, RuntimeError):
    """The Docker engine is unreachable or refused an operation."""


class ContainerGone(EngineError):
    """The container is not running (killed, stopped or removed), so the call could not be done in it."""


class ImageError(ChaosError, RuntimeError):
    """An image is missing or could not be built."""


class LabError(ChaosError, RuntimeError):
    """A lab could not be brought up, or a handle was used wrongly."""


class HostCommandError(ChaosError, RuntimeError):
    """A command run inside a lab host failed (raised by ``Host.check``)."""


class RecoveryTimeout(ChaosError, AssertionError):
    """Something awaited did not happen in time.

    Attributes:
        what: what was awaited.
        last: the last value seen.
        history: ``(seconds since the wait began, value)`` for every change seen.
    """

    def __init__(self, what: str, within: float, last: object, history: list[tuple[float, object]]) -> None:
        self.what = what
        self.within = within
        self.last = last
        self.history = list(history)
        seen = ", ".join(f"{t:.2f}s: {v!r}" for t, v in self.history[-8:]) or "nothing"
        super().__init__(f"timed out after {within:g}s waiting for {what}; last seen {last!r}; history: {seen}")


class FaultError(UsageError):
    """A fault cannot be done as asked; raised before anything is applied.

    An unknown host or network, the same fault twice on one target, a conflicting fault, a
    composition that stacks a fault on itself. The message names what was asked and what exists.
    """


class HealError(ChaosError, RuntimeError):
    """Healing one or more faults failed; the lab may not be back at its baseline.

    Attributes:
        failures: ``(injection, error)`` for every heal that failed.
    """

    def __init__(self, failures: list[tuple[object, BaseException]]) -> None:
        self.failures = list(failures)
        lines = [f"{run}: {type(exc).__name__}: {exc}" for run, exc in self.failures]
        super().__init__(f"{len(lines)} fault(s) could not be healed:\n" + "\n".join(lines))
