"""The one share type: a fraction from 0 to 1, or an explicit percentage ("30 %"), for faults and SLOs alike."""

from __future__ import annotations

import math
import re
from typing import TypeAlias

from chaos.errors import UsageError

Share: TypeAlias = "float | int | str"
"""A fraction ``0.3``, or a percentage string ``"30 %"`` / ``"30%"``; ``1`` is everything, ``0`` nothing."""

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_share(value: Share, what: str = "share") -> float:
    """Return ``value`` as a fraction between 0 and 1.

    A number above 1 is refused rather than read as a percentage: ``loss("lb1", 30)`` is
    almost surely meant as 30 %, and the message says to write ``"30 %"`` (or ``0.3``).

    Args:
        value: a fraction (``0.3``) or a percentage string (``"30 %"``).
        what: the parameter's name, for the message (``"loss"``, ``"min_availability"``).

    Raises:
        UsageError: not a share; the message says what is allowed.

    Example:
        >>> parse_share("30 %"), parse_share(0.3), parse_share("99.5%")
        (0.3, 0.3, 0.995)
    """
    allowed = "a share is a fraction from 0 to 1 (0.3) or a percentage string ('30 %')"
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            raise UsageError(f"{what}={value!r} is not a share; {allowed}")
        percent = float(match.group(1))
        if percent > 100:
            raise UsageError(f"{what}={value!r} is more than everything; {allowed}")
        return percent / 100
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{what}={value!r} is not a share; {allowed}")
    if 1 < value <= 100:
        hint = f"write '{value:g} %' or {value / 100:g}"
        raise UsageError(f"{what}={value!r} is not a share: shares are fractions, so this is almost surely meant as {value:g} % ({hint})")
    if not 0 <= value <= 1:
        raise UsageError(f"{what}={value!r} is not a share; {allowed}")
    return float(value)
