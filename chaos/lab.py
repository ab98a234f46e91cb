"""A topology brought up on a Docker engine, and torn down whatever happens."""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import tenacity

from chaos._internal import naming
from chaos._internal.durations import Duration, parse_duration
from chaos._internal.hosts import HostRef, host_name
from chaos._internal.parallel import parallel
from chaos._internal.stash import Stash
from chaos.engine import Engine
from chaos.errors import ChaosError, EngineError, ImageError, LabError
from chaos.host import Host
from chaos.images import resolve_image
from chaos.observe.capture import DEFAULT_FILTER, Capture
from chaos.spec import Topology, load_topology
from chaos.spec.model import HostSpec
from chaos.timeline import Timeline
from chaos.traffic import Traffic
from chaos.vips import Vip, placement
from chaos_inlab.protocol import COMMAND_ENV, HOST_ENV, READY_LINE

HOST_CAPABILITIES = ("NET_ADMIN", "NET_RAW", "NET_BROADCAST")
"""What a host container needs: routes and addresses, raw sockets (VRRP, capture), broadcast."""

DEFAULT_READY_TIMEOUT = 30.0
"""Seconds a host's agent has to say it is ready, at `Lab.up` and `Lab.start_host`."""
_lab_counter = itertools.count(1)


@dataclass(frozen=True)
class LabNetwork:
    """A running lab network."""

    name: str
    docker_name: str
    subnet: str


class Lab:
    """A running topology: networks, hosts and VIPs on one engine.

    Use it as a context manager (or call `up` and `down`); teardown runs on normal exit,
    on exception and on KeyboardInterrupt, and removes every object carrying this lab's label.

    Args:
        topology: what to bring up.
        engine: where.
        owner: the session and worker the lab's objects are labelled with (default: this process).
        ready_timeout: how long each host may take to become ready: seconds, or ``"30s"``, ``"2m"``.

    Raises:
        UsageError: ``ready_timeout`` is not a duration.

    Example::

        with Lab(load_topology("pair.yaml"), Engine.connect()) as lab:
            lab.vips["www"].wait_owner("lb1", within="10s")
    """

    def __init__(
        self, topology: Topology, engine: Engine, owner: naming.Owner | None = None, ready_timeout: Duration = DEFAULT_READY_TIMEOUT
    ) -> None:
        self.topology = topology
        self.engine = engine
        self.owner = owner or naming.Owner.current()
        worker = "" if self.owner.worker == "main" else f"-{self.owner.worker}"
        self.name = f"{topology.name}-{self.owner.session}{worker}-{next(_lab_counter)}"
        self.labels = self.owner.labels(self.name)
        self.ready_timeout = parse_duration(ready_timeout, "ready_timeout")
        self.networks: dict[str, LabNetwork] = {}
        self.hosts: dict[str, Host] = {}
        self.vips: dict[str, Vip] = {}
        self.started_at: float | None = None
        self.timeline = Timeline()
        self.is_kept = False
        self.traffic = Traffic(self)
        """Flows inside this lab: ``lab.traffic.http("client", lab.vips["www"])``."""
        self.captures: list[Capture] = []  # every capture made with `capture`, for the report's pcaps
        self.stash = Stash()
        """What other modules keep about this lab (fault claims, swept hosts, shells), under typed keys."""

    def __repr__(self) -> str:
        return f"<Lab {self.name} hosts={','.join(self.hosts) or '-'}>"

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.down()

    def docker_name(self, *parts: str) -> str:
        return naming.safe_name("-".join(("chaos", self.name, *parts)))

    # -- bring up ---------------------------------------------------------------------

    def up(self) -> Lab:
        """Create networks and containers in parallel and wait until every host is ready.

        Raises:
            ImageError: a host's image is missing (checked before anything is created).
            LabError: a host did not become ready; the error carries its logs. Everything
                created so far has been removed.
        """
        images = self._check_images()
        try:
            self._create_networks()
            subnets = {name: net.subnet for name, net in self.networks.items()}
            vip_addresses = placement.vip_addresses(self.topology, subnets)
            host_addresses = placement.host_addresses(self.topology, subnets, vip_addresses)
            parallel(lambda host: self._create_host(host, images, vip_addresses, host_addresses), self.topology.hosts.values())
            self.hosts = {name: self.hosts[name] for name in self.topology.hosts}  # spec order, not finishing order
            parallel(self._wait_ready, self.hosts.values())
            self.vips = {name: Vip(spec, vip_addresses[name], {m: self.hosts[m] for m in spec.members}) for name, spec in self.topology.vips.items()}
        except BaseException as exc:
            if isinstance(exc, ChaosError):
                self._attach_logs(exc)
            self.down()
            raise
        self.started_at = time.time()
        self.timeline = Timeline(origin=self.started_at)
        self._observe_vips()
        return self

    def _observe_vips(self) -> None:
        """Start every VIP's owner history, so reports and SLOs have it without the test asking.

        Cheap: one idle watcher per member, started in the background, so `up` does not wait
        for them (a fresh keepalived member takes three advert intervals to become master, and
        until every watcher reports, `Vip.wait_owner` polls). A watcher that cannot start does
        not fail the lab: the VIP's history says why.
        """
        for vip in self.vips.values():
            vip.start_observing(self.timeline.origin)

    def _check_images(self) -> dict[str, str]:
        images: dict[str, str] = {}
        missing: list[str] = []
        for host in self.topology.hosts.values():
            for where, image in [(f"hosts.{host.name}.image", host.image)] + [
                (f"hosts.{host.name}.containers.{c.name}.image", c.image) for c in host.containers
            ]:
                resolved = images.setdefault(image, resolve_image(image, self.engine))
                if not self.engine.has_image(resolved):
                    missing.append(f"{self.topology.source}: {where}: image {image!r} ({resolved}) is not on the engine")
        if missing:
            raise ImageError("\n".join(dict.fromkeys(missing)) + "\nHint: run `chaos images build` for chaos/* images; build or load the others.")
        return images

    def _create_networks(self) -> None:
        def create(spec_name: str) -> LabNetwork:
            spec = self.topology.networks[spec_name]
            docker_name = self.docker_name(spec_name)
            subnet = spec.subnet or self._claim_subnet(docker_name, spec.internal)
            if spec.subnet:
                self.engine.create_network(docker_name, self.labels, subnet, spec.internal)
            return LabNetwork(spec_name, docker_name, subnet)

        for network in parallel(create, self.topology.networks):
            self.networks[network.name] = network

    def _claim_subnet(self, docker_name: str, internal: bool, attempts: int = 5) -> str:
        """Let Docker pick a free subnet, then pin it, so every host can have a fixed address.

        Docker only takes static addresses on networks created with a subnet, and only a
        fixed address survives a restart (power_off, then power_on). Docker's choice avoids
        the Docker host's own routes; another lab may grab the same subnet between the two
        steps, hence the retries.
        """
        for _ in range(attempts):
            subnet = self.engine.create_network(docker_name, self.labels, None, internal)
            self.engine.remove_network(docker_name)
            try:
                self.engine.create_network(docker_name, self.labels, subnet, internal)
                return subnet
            except EngineError as exc:
                if "overlap" not in str(exc).lower():
                    raise
        raise LabError(f"could not claim a subnet for network {docker_name} in {attempts} attempts (other labs kept taking it)")

    def _create_host(self, spec: HostSpec, images: dict[str, str], vip_addresses: dict[str, str], host_addresses: dict[tuple[str, str], str]) -> None:
        container = self.docker_name(spec.name)
        first, *others = spec.networks
        labels = {**self.labels, naming.HOST: spec.name, naming.ROLE: "host"}
        environment = {**spec.environment, HOST_ENV: spec.name}
        if spec.command:
            environment[COMMAND_ENV] = json.dumps(list(spec.command))
        self.engine.create_container(
            container,
            images[spec.image],
            labels,
            hostname=spec.name,
            network=self.networks[first.network].docker_name,
            ipv4=host_addresses[spec.name, first.network],
            cap_add=(*HOST_CAPABILITIES, *spec.cap_add),
            environment=environment,
        )
        for attachment in others:
            self.engine.connect_network(self.networks[attachment.network].docker_name, container, host_addresses[spec.name, attachment.network])
        files = self._daemon_files(spec, vip_addresses)
        if files:
            self.engine.put_files(container, files)
        self.engine.start(container)
        workloads = {}
        for workload in spec.containers:
            name = self.docker_name(spec.name, workload.name)
            self.engine.create_container(
                name,
                images[workload.image],
                {**self.labels, naming.HOST: spec.name, naming.ROLE: "workload"},
                network_mode=f"container:{container}",
                cap_add=workload.cap_add,
                environment=workload.environment,
                command=workload.command,
            )
            self.engine.start(name)
            workloads[workload.name] = name
        network_names = {a.network: self.networks[a.network].docker_name for a in spec.networks}
        self.hosts[spec.name] = Host(spec, self.engine, container, workloads, network_names)

    def _daemon_files(self, spec: HostSpec, vip_addresses: dict[str, str]) -> dict[str, tuple[bytes, int]]:
        subnets = {name: net.subnet for name, net in self.networks.items()}
        files = placement.member_files(self.topology, spec.name, vip_addresses, subnets)
        # Scripts a daemon runs itself (ucarp's up/down scripts, without a shell) must be executable.
        return {path: (content, 0o755 if content.startswith(b"#!") else 0o644) for path, content in files.items()}

    def _wait_ready(self, host: Host) -> None:
        self._wait_agent_ready(host)
        for workload, container in host.workloads.items():
            if not self.engine.is_running(container):
                raise LabError(f"workload {host.name}/{workload} ({container}) exited at start:\n{_tail(self.engine.logs(container))}")
        host.refresh()

    def _wait_agent_ready(self, host: Host, since: float | None = None) -> float:
        """Wait until the host's agent prints "ready" (after ``since``, the engine's start time, when restarted); return when it did."""
        seen = [""]  # the log read last, for the error

        def ready_at() -> float | None:
            if since is None:
                seen[0] = self.engine.logs(host.container)
                at = time.time() if READY_LINE in seen[0] else None
            else:
                # The log of a restarted container still holds the "ready" of its earlier life.
                lines = self.engine.log_lines_since(host.container, since)
                seen[0] = "\n".join(text for _, text in lines)
                at = next((at for at, text in lines if READY_LINE in text), None)
            if at is None and not self.engine.is_running(host.container):
                raise LabError(f"host {host.name!r} ({host.container}) exited before it was ready:\n{_tail(seen[0])}")
            return at

        waiting = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.ready_timeout),
            wait=tenacity.wait_fixed(0.02 if since else 0.05),
            retry=tenacity.retry_if_result(lambda at: at is None),
            reraise=True,
        )
        try:
            ready = waiting(ready_at)
        except tenacity.RetryError:
            raise LabError(
                f"host {host.name!r} ({host.container}) was not ready within {self.ready_timeout:g}s "
                f"(waited for its agent to print 'ready'); its image must run chaos-agent (build FROM chaos/host).\n"
                f"{_tail(seen[0])}"
            ) from None
        assert ready is not None  # tenacity retried until it was not
        return ready

    def start_host(self, name: HostRef) -> float:
        """Bring a stopped or killed host back: its host container, then its workloads; wait until it is ready.

        The host keeps its addresses (every host has a fixed one) and its agent starts the
        host's daemons again. Workloads live in the host's network namespace, which is a new
        one after the host container restarts, so running workloads are restarted after it.
        On a host that runs, it only starts the workloads that do not.

        Returns:
            The epoch time the host was ready: its agent said so and every workload runs.

        Raises:
            LabError: the host did not become ready; the message carries its log.

        Args:
            name: the host, by name (``"lb1"``) or handle (``lab.hosts["lb1"]``).

        Example::

            lab.hosts["lb1"].kill()
            lab.start_host("lb1")
        """
        name = host_name(name, "name")
        if name not in self.hosts:
            raise LabError(f"cannot start host {name!r}: no such host in lab {self.name}; hosts: {', '.join(self.hosts) or 'none'}")
        host = self.hosts[name]
        restarted = not self.engine.is_running(host.container)
        ready_at = time.time()
        if restarted:
            self.engine.start(host.container)
            since = self.engine.state(host.container).started_at or time.time() - 1
            ready_at = self._wait_agent_ready(host, since)
        for workload, container in host.workloads.items():
            if restarted and self.engine.is_running(container):
                self.engine.stop(container, timeout=1)
            if not self.engine.is_running(container):
                self.engine.start(container)
                ready_at = max(ready_at, self.engine.state(container).started_at or time.time())
            if not self.engine.is_running(container):
                raise LabError(f"workload {name}/{workload} ({container}) exited at start:\n{_tail(self.engine.logs(container))}")
        host.refresh()
        return ready_at

    # -- tear down --------------------------------------------------------------------

    def down(self) -> None:
        """Remove every object labelled with this lab (containers first, then networks); safe to call twice."""
        self._stop_observers()
        objects = self.engine.find({naming.LAB: self.name})
        containers = [o for o in objects if o.kind == "container"]
        parallel(self.engine.remove, containers)
        for obj in objects:
            if obj.kind != "container":
                self.engine.remove(obj)
        self.hosts.clear()
        self.vips.clear()
        self.networks.clear()

    def keep(self) -> None:
        """Leave this lab running after the test; `chaos gc` spares it, `chaos down` removes it."""
        if not self.is_kept:
            self._stop_observers(kill_watchers=True)
            self.engine.create_volume(self.docker_name("kept"), {**self.labels, naming.KEEP: "1"})
            self.is_kept = True

    # -- observation ------------------------------------------------------------------

    def capture(self, on: HostRef, network: str | None = None, directory: str | Path | None = None, bpf_filter: str = DEFAULT_FILTER) -> Capture:
        """A packet capture (not yet started) in host ``on``'s namespace, on ``network`` (default: its first).

        Use it as a context manager. Sniffing happens inside the lab; on exit the pcap is copied
        to ``directory`` (default: a new temporary directory) for the report or Wireshark.
        A capture still running when the lab goes down is stopped first, so its pcap is kept.

        Args:
            on: the host, by name (``"client"``) or handle (``lab.hosts["client"]``).

        Raises:
            LabError: no such host, or the host is not on ``network``.

        Example::

            with lab.capture("client", directory=tmp_path) as capture:
                chaos.inject(faults.power_off("lb1"))
                www.wait_owner("lb2", within="10s")
            capture.failovers(www)[0].transition.gap     # 3.61
        """
        on = host_name(on, "on")
        if on not in self.hosts:
            raise LabError(f"cannot capture on {on!r}: no such host in lab {self.name}; hosts: {', '.join(self.hosts)}")
        host = self.hosts[on]
        network = network or host.spec.networks[0].network
        host.address(network)  # raises, naming the networks the host is on
        folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="chaos-capture-"))
        names = {address: name for name, h in self.hosts.items() for address in h.addresses.values() if address}
        capture = Capture(
            host,
            self.networks[network].subnet,
            folder / f"{self.name}-{on}-{len(self.captures) + 1}.pcap",
            self.timeline.origin,
            names,
            bpf_filter,
        )
        self.captures.append(capture)
        return capture

    def _stop_observers(self, kill_watchers: bool = False) -> None:
        """Stop VIP watchers and running captures (keeping their pcaps) before the containers go."""
        for capture in self.captures:
            if capture.is_running:
                with contextlib.suppress(ChaosError):
                    capture.stop()
        for vip in self.vips.values():
            vip.stop_observing(kill_watchers)

    # -- helpers ----------------------------------------------------------------------

    def logs(self, tail: int | str = 200) -> str:
        """The logs of every container of the lab, one section per container (a host whose logs cannot be read says why)."""
        sections = []
        for host in self.hosts.values():
            try:
                sections.append(host.logs(tail))
            except ChaosError as exc:
                sections.append(f"--- {host.name}: logs unavailable: {exc}")
        return "\n".join(sections)

    def _attach_logs(self, exc: BaseException) -> None:
        try:
            logs = self.logs(tail=40)
        except ChaosError:
            return
        if logs.strip():
            exc.add_note(f"lab {self.name} container logs (last 40 lines each):\n{logs}")


def open_lab(
    source: Topology | str | Path, engine: Engine, owner: naming.Owner | None = None, ready_timeout: Duration = DEFAULT_READY_TIMEOUT
) -> Lab:
    """A lab (not yet up) from a topology, or from a topology file's path; the arguments are `Lab`'s."""
    topology = source if isinstance(source, Topology) else load_topology(source)
    return Lab(topology, engine, owner, ready_timeout)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"
