"""Reclaim lab objects whose owner is gone: what a killed run left behind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from chaos._internal import naming
from chaos.engine import Engine, LabelledObject

_REMOVAL_ORDER = {"container": 0, "network": 1, "volume": 2}


@dataclass(frozen=True)
class LabObjects:
    """Every object of one lab, and whether its owner still runs or kept it on purpose."""

    lab: str
    objects: tuple[LabelledObject, ...]
    is_owner_alive: bool
    is_kept: bool


def labs(engine: Engine) -> list[LabObjects]:
    """Every lab on the engine that carries our labels, grouped by lab."""
    grouped: dict[str, list[LabelledObject]] = defaultdict(list)
    for obj in engine.find({naming.SESSION: None}):
        grouped[obj.labels.get(naming.LAB, "?")].append(obj)
    return [
        LabObjects(
            lab=lab,
            objects=tuple(sorted(objects, key=lambda o: _REMOVAL_ORDER[o.kind])),
            is_owner_alive=any(naming.owner_is_alive(dict(o.labels)) for o in objects),
            is_kept=any(o.labels.get(naming.KEEP) == "1" for o in objects),
        )
        for lab, objects in sorted(grouped.items())
    ]


def reclaimable(engine: Engine, everything: bool = False) -> list[LabObjects]:
    """Labs to remove: those whose owner is gone and that nobody kept (all of ours with ``everything``)."""
    return [lab for lab in labs(engine) if everything or not (lab.is_owner_alive or lab.is_kept)]


def remove(engine: Engine, lab: LabObjects) -> None:
    """Remove a lab's objects: containers before the networks they sit on."""
    for obj in lab.objects:
        engine.remove(obj)
