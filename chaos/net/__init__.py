"""The network layer of the fault catalogue: grudges (who drops whom), iptables rules, shaping, applied inside each host.

`chaos.faults.network` builds on it; use these directly to drive hosts without the fault protocol.

Example:
    >>> from chaos.net import grudges, sweep
    >>> grudges.describe(grudges.complete(grudges.bisect(["lb1", "lb2", "client"])))
    'client<->lb1, lb1<->lb2'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaos.net import grudges
from chaos.net.rules import Match, Rule, Tag, protocol_number
from chaos.net.shaping import Shape, choose_path, describe_path, parse_rate

if TYPE_CHECKING:
    from chaos.lab import Lab

__all__ = ["Match", "Rule", "Shape", "Tag", "choose_path", "describe_path", "grudges", "parse_rate", "protocol_number", "sweep"]


def sweep(lab: Lab) -> None:
    """Remove every network fault's rules and shapers, and this session's qdiscs, from every host of ``lab``.

    A known good state: network faults sweep a lab once before their first inject there.

    Example::

        sweep(lab)          # every fault's rules, shapers and qdiscs gone from every host
    """
    from chaos.net import apply

    apply.sweep(lab)
