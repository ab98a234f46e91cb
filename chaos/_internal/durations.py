"""The one duration type: what users write ("4.5s", "500ms", 3) parsed into seconds."""

from __future__ import annotations

import math
import re
from typing import TypeAlias

from chaos.errors import UsageError

Duration: TypeAlias = "float | int | str"
"""A number of seconds, or a string with a unit: ``"500ms"``, ``"4.5s"``, ``"2m"``."""

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "": 1.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|)\s*$")
_ALLOWED = "use seconds (4.5) or a string like '4.5s', '500ms', '2m'"


def parse_duration(value: Duration, what: str = "duration") -> float:
    """Return ``value`` in seconds.

    Args:
        value: a number of seconds, or a string such as ``"4.5s"``, ``"500ms"``, ``"2m"``.
        what: the parameter's name, for the message (``"within"``, ``"timeout"``).

    Raises:
        UsageError: the value is negative or not a duration; the message shows what is allowed.

    Example:
        >>> parse_duration("500ms")
        0.5
        >>> parse_duration(3)
        3.0
    """
    if isinstance(value, bool):
        raise UsageError(f"{what}={value!r} is not a duration; {_ALLOWED}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{what}={value!r} is not a duration; a duration is a finite number of seconds, zero or more")
        return float(value)
    if not isinstance(value, str):
        raise UsageError(f"{what}={value!r} is not a duration; {_ALLOWED}")
    match = _DURATION.match(value)
    if not match:
        raise UsageError(f"{what}={value!r} is not a duration; {_ALLOWED}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_optional_duration(value: Duration | None, what: str = "duration") -> float | None:
    """`parse_duration`, letting None (no limit) through."""
    return None if value is None else parse_duration(value, what)
