"""The fault catalogue: build a fault (data), bind it to a lab, inject and heal it.

Each fault is a frozen dataclass, checked when built; the lowercase names are the classes
themselves (``faults.loss is faults.Loss``, ``faults.random_schedule is faults.Schedule``), or a
one-line spelling with arguments (``partition(*groups)``, ``together(*parts)``, ``sequence(*parts)``,
``blackhole(target, port)``). Durations are seconds or strings (``"500ms"``), shares fractions or
strings (``0.3``, ``"30 %"``), hosts names or handles.

Example::

    from chaos import faults
    chaos.inject(faults.power_off("lb1"))          # in a test, with the `chaos` fixture
    with faults.isolate(lab.hosts["lb2"]).on(lab):  # anywhere, as a context manager
        ...
    schedule = chaos.start(faults.random_schedule([faults.pause], targets=["lb1", "lb2"]))   # in the background
"""

from __future__ import annotations

from chaos.faults._containers import EVERY_CONTAINER
from chaos.faults.base import Action, Background, Claim, Fault, Injection, Targeted, active
from chaos.faults.compose import InSequence, Parts, Schedule, Step, Together, draw, random_schedule, sequence, together
from chaos.faults.host import Isolate, LinkDown, LinkUp, PowerOff, PowerOn, isolate, link_down, link_up, power_off, power_on
from chaos.faults.ledger import Ledger
from chaos.faults.network import (
    Blackhole,
    Corrupt,
    CutLinks,
    Delay,
    Duplicate,
    Jitter,
    Loss,
    OneWay,
    Partition,
    PartitionBy,
    Rate,
    Reorder,
    blackhole,
    corrupt,
    cut_links,
    delay,
    duplicate,
    jitter,
    loss,
    one_way,
    partition,
    partition_by,
    rate,
    reorder,
)
from chaos.faults.process import (
    Kill,
    KillProcess,
    Pause,
    Restart,
    Resume,
    Start,
    Stop,
    kill,
    kill_process,
    pause,
    restart,
    resume,
    start,
    stop,
)
from chaos.faults.targets import Pick, Target

__all__ = [
    "EVERY_CONTAINER",
    "Action",
    "Background",
    "Blackhole",
    "Claim",
    "Corrupt",
    "CutLinks",
    "Delay",
    "Duplicate",
    "Fault",
    "InSequence",
    "Injection",
    "Isolate",
    "Jitter",
    "Kill",
    "KillProcess",
    "Ledger",
    "LinkDown",
    "LinkUp",
    "Loss",
    "OneWay",
    "Partition",
    "PartitionBy",
    "Parts",
    "Pause",
    "Pick",
    "PowerOff",
    "PowerOn",
    "Rate",
    "Reorder",
    "Restart",
    "Resume",
    "Schedule",
    "Start",
    "Step",
    "Stop",
    "Target",
    "Targeted",
    "Together",
    "active",
    "blackhole",
    "corrupt",
    "cut_links",
    "delay",
    "draw",
    "duplicate",
    "isolate",
    "jitter",
    "kill",
    "kill_process",
    "link_down",
    "link_up",
    "loss",
    "one_way",
    "partition",
    "partition_by",
    "pause",
    "power_off",
    "power_on",
    "random_schedule",
    "rate",
    "reorder",
    "restart",
    "resume",
    "sequence",
    "start",
    "stop",
    "together",
]
