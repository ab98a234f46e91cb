"""Parse the durations users write ("4.5s", "500ms", 3) into seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "": 1.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|)\s*$")


def parse_duration(value: str | float | int) -> float:
    """Return ``value`` in seconds.

    Args:
        value: a number of seconds, or a string such as ``"4.5s"``, ``"500ms"``, ``"2m"``.

    Raises:
        ValueError: the value is negative or not a duration; the message shows what is allowed.

    Example:
        >>> parse_duration("500ms")
        0.5
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use seconds (4.5) or a string like '4.5s', '500ms', '2m'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration; a duration is a finite number of seconds, zero or more")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; use seconds (4.5) or a string like '4.5s', '500ms', '2m'")
    return float(match.group(1)) * _UNITS[match.group(2)]
