"""`chaos doctor`: is this machine ready, and which paths will the faults take?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from chaos._internal import naming
from chaos.engine import ContainerGone, Engine
from chaos.errors import ChaosError
from chaos.images import IMAGES, resolve_image
from chaos.images.base import present_base
from chaos.net import shaping


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer."""

    status: str  # "ok", "warn" or "FAIL"
    topic: str
    detail: str


# (feature, commands that succeed when the kernel has it, what it is for, what happens without it)
KERNEL_FEATURES = (
    (
        "netem",
        list(shaping.NETEM_PROBE),
        "delay, jitter, duplicate, corrupt and reorder use tc netem",
        "no sch_netem in this kernel: delay, jitter, duplicate, corrupt and reorder will use the userspace NFQUEUE shaper",
    ),
    (
        "iptables statistic",
        ["iptables -w -A OUTPUT -o lo -m statistic --mode random --probability 0.5 -j ACCEPT", "iptables -w -F OUTPUT"],
        "loss uses iptables statistic",
        "loss faults cannot be injected; load the xt_statistic module on the Docker host",
    ),
    (
        "NFQUEUE",
        ["iptables -w -A OUTPUT -o lo -p udp --dport 9 -j NFQUEUE --queue-num 7 --queue-bypass", "iptables -w -F OUTPUT"],
        "the userspace shaper can hold packets",
        "the userspace shaper is unavailable; load nfnetlink_queue and xt_NFQUEUE on the Docker host",
    ),
    (
        "tbf",
        list(shaping.RATE_PROBE),
        "rate limits use tc tbf in an HTB class, chosen by a u32 mark filter",
        "rate limits cannot be injected; load sch_htb, sch_tbf and cls_u32 on the Docker host",
    ),
)


def run_checks(docker_host: str | None = None) -> Iterator[Check]:
    """Yield the doctor's checks in order; stops early when no engine answers."""
    try:
        engine = Engine.connect(docker_host)
    except ChaosError as exc:
        yield Check("FAIL", "engine", str(exc))
        return
    yield Check("ok", "engine", f"Docker {engine.version} at {engine.url}")
    base = present_base(engine)
    yield Check("ok" if base else "warn", "base image", base or "none yet; `chaos images build` will pull or bootstrap one")
    host_image = None
    for name in IMAGES:
        reference = resolve_image(f"chaos/{name}", engine)
        present = engine.has_image(reference)
        host_image = reference if name == "host" and present else host_image
        yield Check("ok" if present else "FAIL", "image", f"{reference} " + ("present" if present else "missing: run `chaos images build`"))
    if host_image is None:
        yield Check("warn", "kernel", "not checked: the kernel is probed from a host container; build the images first")
        return
    yield from _kernel_checks(engine, host_image)


def _kernel_checks(engine: Engine, image: str) -> Iterator[Check]:
    """Probe kernel features inside a throwaway container with no network (loopback only)."""
    owner = naming.Owner.current()
    lab = f"doctor-{owner.session}"
    name = owner.object_name(lab, "probe")
    engine.create_container(name, image, owner.labels(lab), cap_add=("NET_ADMIN", "NET_RAW"))
    try:
        engine.start(name)
        available: dict[str, bool] = {}
        for feature, commands, works, missing in KERNEL_FEATURES:
            failure = _first_failure(engine, name, commands)
            available[feature] = not failure
            if failure:
                yield Check("warn", f"kernel {feature}", f"not available ({failure}): {missing}")
            else:
                yield Check("ok", f"kernel {feature}", f"available: {works}")
        can_shape = available["netem"] or available["NFQUEUE"]
        yield Check("ok" if can_shape else "warn", "shaping path", shaping.describe_path(available["netem"], available["NFQUEUE"]))
    finally:
        engine.remove_container(name)


def _first_failure(engine: Engine, container: str, commands: list[str]) -> str:
    """The last line of the first command that fails, or "" when all succeed."""
    for command in commands:
        try:
            result = engine.exec(container, ["/bin/sh", "-c", command])
        except ContainerGone:
            return "the probe container stopped"
        if not result.ok:
            lines = (result.stderr or result.stdout).strip().splitlines()
            return lines[-1] if lines else f"exit {result.rc}"
    return ""
