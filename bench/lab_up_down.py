"""Time a lab's up (until ready) and down with the library against an equivalent docker-compose project."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker
import yaml

from chaos import Engine, Topology, load_topology, open_lab
from chaos._internal import naming
from chaos.images import resolve_image
from chaos.lab import DEFAULT_READY_TIMEOUT, HOST_CAPABILITIES, READY_LINE
from chaos.vips import keepalived, placement

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOPOLOGY = REPO_ROOT / "suites" / "keepalived" / "pair.yaml"
COMPOSE = "docker-compose"
POLL_INTERVAL = 0.05  # the lab's own readiness poll interval
NO_MASQUERADE = {"com.docker.network.bridge.enable_ip_masquerade": "false"}
SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1"}


@dataclass
class Timings:
    """Seconds per run, for one way of bringing the topology up and down."""

    up: list[float] = field(default_factory=list)
    down: list[float] = field(default_factory=list)

    def add(self, up: float, down: float) -> None:
        self.up.append(up)
        self.down.append(down)

    def medians(self) -> tuple[float, float, float]:
        totals = [u + d for u, d in zip(self.up, self.down, strict=True)]
        return statistics.median(self.up), statistics.median(self.down), statistics.median(totals)


@dataclass(frozen=True)
class ComposePlan:
    """What every compose run shares: images, subnets and VIP addresses decided once."""

    topology: Topology
    images: dict[str, str]
    subnets: dict[str, str]
    vips: dict[str, str]
    workdir: Path


# -- the library ----------------------------------------------------------------------


def lab_cycle(topology: Topology, engine: Engine, owner: naming.Owner) -> tuple[float, float]:
    """Bring the lab up (ready) and down once; teardown runs whatever happens."""
    lab = open_lab(topology, engine, owner)
    try:
        start = time.perf_counter()
        lab.up()
        ready = time.perf_counter()
        lab.down()
        return ready - start, time.perf_counter() - ready
    finally:
        lab.down()  # idempotent: a no-op after a timed down


# -- docker-compose -------------------------------------------------------------------


def taken_subnets() -> list[ipaddress.IPv4Network]:
    """Subnets of every Docker network and every route of this machine."""
    nets: list[ipaddress.IPv4Network] = []
    client = docker.from_env()
    try:
        listed = client.api.networks()
    finally:
        client.close()
    for network in listed:
        for config in (network.get("IPAM") or {}).get("Config") or []:
            nets += _ipv4_networks([config.get("Subnet", "")])
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=False).stdout
    nets += _ipv4_networks(line.split()[0] for line in routes.splitlines() if line.split())
    return nets


def _ipv4_networks(texts: Iterable[str]) -> list[ipaddress.IPv4Network]:
    found = []
    for text in texts:
        try:
            found.append(ipaddress.IPv4Network(text, strict=False))
        except ValueError:
            continue  # "default", "broadcast", IPv6 and the like
    return found


def free_subnets(count: int, taken: list[ipaddress.IPv4Network]) -> list[str]:
    """``count`` free 10.x.y.0/24 subnets, from the top of 10/8, away from Docker's default pools."""
    found: list[str] = []
    for second in range(254, 0, -1):
        for third in range(0, 256, 17):
            candidate = ipaddress.IPv4Network(f"10.{second}.{third}.0/24")
            if len(found) < count and not any(candidate.overlaps(other) for other in taken):
                taken.append(candidate)
                found.append(str(candidate))
    if len(found) < count:
        raise SystemExit("no free 10.x.y.0/24 subnet for the compose networks")
    return found


def make_plan(topology: Topology, engine: Engine, workdir: Path) -> ComposePlan:
    """Resolve images, pick subnets and VIP addresses, and write each member's keepalived files."""
    images = {host.image: resolve_image(host.image, engine) for host in topology.hosts.values()}
    images |= {c.image: resolve_image(c.image, engine) for host in topology.hosts.values() for c in host.containers}
    automatic = [name for name, spec in topology.networks.items() if not spec.subnet]
    picked = dict(zip(automatic, free_subnets(len(automatic), taken_subnets()), strict=True))
    subnets = {name: spec.subnet or picked[name] for name, spec in topology.networks.items()}
    plan = ComposePlan(topology, images, subnets, placement.vip_addresses(topology, subnets), workdir)
    for host in topology.hosts:
        write_daemon_files(plan, host)
    return plan


def write_daemon_files(plan: ComposePlan, host: str) -> None:
    """The files the lab copies into a keepalived member, written for a read-only bind mount."""
    files = placement.member_files(plan.topology, host, plan.vips, plan.subnets)
    if files:
        (plan.workdir / host).mkdir()
    for path, content in files.items():
        (plan.workdir / host / Path(path).name).write_bytes(content)


def daemon_volumes(plan: ComposePlan, host: str) -> list[str]:
    folder = plan.workdir / host
    if not folder.is_dir():
        return []
    return [
        f"{folder / 'keepalived.conf.in'}:{keepalived.CONFIG_TEMPLATE_PATH}:ro",
        f"{folder / 'daemons.json'}:{placement.DAEMONS_PATH}:ro",
    ]


def host_service(plan: ComposePlan, host: str, project: str, labels: dict[str, str]) -> dict[str, object]:
    spec = plan.topology.hosts[host]
    environment = {**spec.environment, "CHAOS_HOST": host}
    if spec.command:
        environment["CHAOS_COMMAND"] = json.dumps(list(spec.command))
    networks = {a.network: ({"ipv4_address": a.address} if a.address else {}) for a in spec.networks}
    service: dict[str, object] = {
        "image": plan.images[spec.image],
        "container_name": f"{project}-{host}",
        "hostname": host,
        "cap_add": sorted({*HOST_CAPABILITIES, *spec.cap_add}),
        "environment": environment,
        "sysctls": dict(SYSCTLS),
        "labels": {**labels, naming.HOST: host, naming.ROLE: "host"},
        "networks": networks,
    }
    volumes = daemon_volumes(plan, host)
    if volumes:
        service["volumes"] = volumes
    return service


def workload_services(plan: ComposePlan, host: str, project: str, labels: dict[str, str]) -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = {}
    for workload in plan.topology.hosts[host].containers:
        service: dict[str, object] = {
            "image": plan.images[workload.image],
            "container_name": f"{project}-{host}-{workload.name}",
            "network_mode": f"service:{host}",
            "environment": dict(workload.environment),
            "labels": {**labels, naming.HOST: host, naming.ROLE: "workload"},
        }
        if workload.cap_add:
            service["cap_add"] = sorted(set(workload.cap_add))
        if workload.command:
            service["command"] = list(workload.command)
        services[f"{host}-{workload.name}"] = service
    return services


def compose_file(plan: ComposePlan, project: str, labels: dict[str, str]) -> dict[str, object]:
    """A compose file with the same image, hosts, capabilities, sysctls, networks and daemon files as the lab."""
    services: dict[str, object] = {}
    for host in plan.topology.hosts:
        services[host] = host_service(plan, host, project, labels)
        services |= workload_services(plan, host, project, labels)
    networks = {
        name: {
            "driver": "bridge",
            "driver_opts": dict(NO_MASQUERADE),
            "internal": spec.internal,
            "ipam": {"config": [{"subnet": plan.subnets[name]}]},
            "labels": dict(labels),
        }
        for name, spec in plan.topology.networks.items()
    }
    return {"version": "2.4", "services": services, "networks": networks}


def compose(path: Path, project: str, *args: str, check: bool = True) -> None:
    result = subprocess.run([COMPOSE, "-f", str(path), "-p", project, *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{COMPOSE} {' '.join(args)} (project {project}) failed, rc={result.returncode}:\n{result.stderr.strip()}")


def wait_compose_ready(engine: Engine, hosts: list[str], workloads: list[str]) -> None:
    """Poll each host container's log until its agent says ready, as the lab does; workloads must run."""
    deadline = time.monotonic() + DEFAULT_READY_TIMEOUT
    waiting = list(hosts)
    while waiting:
        waiting = [c for c in waiting if READY_LINE not in engine.logs(c)]
        for container in waiting:
            if not engine.is_running(container):
                raise RuntimeError(f"{container} exited before it was ready:\n{engine.logs(container, tail=30)}")
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"not ready within {DEFAULT_READY_TIMEOUT:g}s: {', '.join(waiting)}")
        if waiting:
            time.sleep(POLL_INTERVAL)
    stopped = [c for c in workloads if not engine.is_running(c)]
    if stopped:
        raise RuntimeError(f"workload containers exited at start: {', '.join(stopped)}")


def compose_cycle(plan: ComposePlan, engine: Engine, owner: naming.Owner, run: int) -> tuple[float, float]:
    """`docker-compose up -d` until every host is ready, then `docker-compose down -v`; down runs whatever happens."""
    project = f"chaos-bench-{owner.session}-{run}"
    labels = owner.labels(f"compose-{plan.topology.name}-{owner.session}-{run}")
    document = compose_file(plan, project, labels)
    path = plan.workdir / f"docker-compose-{run}.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    services: dict[str, dict[str, object]] = document["services"]  # type: ignore[assignment]
    hosts = [str(s["container_name"]) for s in services.values() if "hostname" in s]
    workloads = [str(s["container_name"]) for s in services.values() if "hostname" not in s]
    downed = False
    try:
        start = time.perf_counter()
        compose(path, project, "up", "-d")
        wait_compose_ready(engine, hosts, workloads)
        ready = time.perf_counter()
        compose(path, project, "down", "-v")
        downed = True
        return ready - start, time.perf_counter() - ready
    finally:
        if not downed:
            compose(path, project, "down", "-v", check=False)  # must not hide the error; `swept` is the backstop


# -- the run --------------------------------------------------------------------------


@contextmanager
def swept(engine: Engine, owner: naming.Owner) -> Iterator[None]:
    """Remove whatever still carries this run's session label on the way out (Ctrl-C, errors)."""
    try:
        yield
    finally:
        objects = engine.find({naming.SESSION: owner.session})
        for obj in sorted(objects, key=lambda o: o.kind != "container"):
            engine.remove(obj)
        if objects:
            print(f"swept {len(objects)} leftover object(s) of session {owner.session}", file=sys.stderr)


def bench(topology: Topology, engine: Engine, runs: int) -> tuple[Timings, Timings]:
    owner = naming.Owner.current(session=f"bench{secrets.token_hex(3)}")
    lab, comp = Timings(), Timings()
    with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp, swept(engine, owner):
        plan = make_plan(topology, engine, Path(tmp))
        for run in range(1, runs + 1):
            lab.add(*lab_cycle(topology, engine, owner))
            comp.add(*compose_cycle(plan, engine, owner, run))
            print(
                f"run {run}/{runs}: lab {lab.up[-1]:.3f} + {lab.down[-1]:.3f} s, compose {comp.up[-1]:.3f} + {comp.down[-1]:.3f} s",
                flush=True,
            )
    return lab, comp


def compose_version() -> str:
    result = subprocess.run([COMPOSE, "version", "--short"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def report(topology: Path, runs: int, engine: Engine, lab: Timings, comp: Timings) -> str:
    lab_m, comp_m = lab.medians(), comp.medians()
    rows = [
        f"{'median (s)':<14}{'up':>9}{'down':>9}{'up+down':>9}",
        f"{'lab':<14}" + "".join(f"{v:>9.3f}" for v in lab_m),
        f"{'compose':<14}" + "".join(f"{v:>9.3f}" for v in comp_m),
        f"{'lab/compose':<14}" + "".join(f"{a / b:>9.2f}" for a, b in zip(lab_m, comp_m, strict=True)),
    ]
    header = [
        f"topology: {topology} ({runs} runs each, alternating lab/compose)",
        f"engine: Docker {engine.version}, docker-compose {compose_version()}, nproc {len(os.sched_getaffinity(0))}",
        "",
    ]
    return "\n".join(header + rows) + "\n(target: lab/compose below 1.00)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="up/down cycles for each of lab and compose (default 5)")
    parser.add_argument("--topology", type=Path, default=DEFAULT_TOPOLOGY, help="topology file (default suites/keepalived/pair.yaml)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    topology = load_topology(args.topology)
    engine = Engine.connect()
    try:
        lab, comp = bench(topology, engine, args.runs)
    except KeyboardInterrupt:
        print("interrupted; everything this run created has been removed", file=sys.stderr)
        return 130
    print(report(args.topology, args.runs, engine, lab, comp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
