"""The one module that talks to the Docker SDK; everything else asks it.

It speaks in names, labels and plain results so that the rest of the library (and its unit
tests) never import ``docker``.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import re
import struct
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions

from chaos._internal.durations import Duration, parse_duration
from chaos.errors import ContainerGone as ContainerGone  # raised here; callers import it from either module
from chaos.errors import EngineError, ImageError

DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container returned."""

    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class ContainerState:
    """Whether a container runs, and when the engine last started and stopped it (epoch seconds)."""

    exists: bool
    running: bool
    paused: bool
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class Endpoint:
    """A container's place on one Docker network."""

    network: str  # the Docker network's name
    ipv4: str  # "" when the engine gave none (the container is stopped)
    mac: str


@dataclass(frozen=True)
class ContainerInfo:
    """What the engine knows of a container: its id, its state and where it is attached.

    Example::

        info = engine.container_info("chaos-pair-1-lb1")
        info.networks["chaos-pair-1-front"].ipv4   # '172.20.0.2'
    """

    id: str
    name: str
    state: ContainerState
    networks: Mapping[str, Endpoint]  # by Docker network name

    @property
    def addresses(self) -> dict[str, str]:
        """``{Docker network name: IPv4 address}``."""
        return {name: endpoint.ipv4 for name, endpoint in self.networks.items()}


@dataclass(frozen=True)
class LabelledObject:
    """A Docker object of ours, as `chaos gc` and teardown see it."""

    kind: str  # "container", "network" or "volume"
    id: str
    name: str
    labels: Mapping[str, str]


class ExecSession:
    """A process started in a container with its stdin open: send it bytes, read what it prints (stdout and stderr as they come).

    Made by `Engine.open_exec`. One request at a time; the caller serialises.
    """

    def __init__(self, response: Any, timeout: float) -> None:
        self._response = response
        # docker-py hands back a SocketIO over the hijacked connection; writes go to the socket beneath.
        self._socket = getattr(response, "_sock", response)
        self._socket.settimeout(timeout)
        self.is_open = True

    def send(self, data: bytes) -> None:
        """Write ``data`` to the process's stdin.

        Raises:
            ContainerGone: the process (or its container) is gone.
        """
        try:
            self._socket.sendall(data)
        except OSError as exc:
            self.close()
            raise ContainerGone(f"the exec session is closed: {exc}") from None

    def read_until(self, marker: bytes) -> bytes:
        """Read output (stdout and stderr interleaved as written) up to and including the line holding ``marker``.

        Raises:
            ContainerGone: the process ended first, or nothing came within the timeout.
        """
        received = b""
        try:
            while marker not in received or b"\n" not in received[received.index(marker) :]:
                # Docker multiplexes the streams: an 8-byte header (stream, 0, 0, 0, length) before each frame.
                _, length = struct.unpack(">BxxxL", self._read_exactly(8))
                received += self._read_exactly(length)
        except OSError as exc:
            self.close()
            raise ContainerGone(f"the exec session broke: {exc}") from None
        return received

    def _read_exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self._socket.recv(count - len(data))
            if not chunk:
                self.close()
                raise ContainerGone("the exec session ended (its process or container is gone)")
            data += chunk
        return data

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            with contextlib.suppress(OSError):
                self._socket.close()
            with contextlib.suppress(OSError):
                self._response.close()


class Engine:
    """A connection to one Docker engine.

    Every method raises `EngineError` (or a subclass: `ContainerGone`, `ImageError`) for what
    the engine refused or when it does not answer; no Docker SDK or HTTP error escapes.

    Example::

        engine = Engine.connect()          # DOCKER_HOST or the local socket
        engine.version                     # '20.10.24+dfsg1'
    """

    def __init__(self, client: docker.DockerClient, url: str) -> None:
        self._client = client
        self._api = client.api
        self.url = url
        self.version: str = client.version().get("Version", "unknown")

    @classmethod
    def connect(cls, base_url: str | None = None, timeout: Duration = DEFAULT_TIMEOUT) -> Engine:
        """Connect to ``base_url`` (else ``DOCKER_HOST``, else the local socket) and check it answers.

        Args:
            base_url: ``unix:///var/run/docker.sock``, ``tcp://host:2375``...
            timeout: how long one API call may take (seconds, or ``"60s"``).

        Raises:
            EngineError: no engine answers there; the message says where it looked and what to do.
            UsageError: ``timeout`` is not a duration.
        """
        where = base_url or "DOCKER_HOST or unix:///var/run/docker.sock"
        timeout = parse_duration(timeout, "timeout")
        try:
            if base_url:
                client = docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
            else:
                client = docker.from_env(version="auto", timeout=timeout)
            client.ping()
            return cls(client, base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise EngineError(
                f"no Docker engine answers at {where}: {_short(exc)}. "
                "Hint: `make setup` installs and starts one on Debian (see README.md), "
                "or point --chaos-docker-host / DOCKER_HOST at a running engine."
            ) from None

    def close(self) -> None:
        with _engine_errors("closing the engine connection"):
            self._client.close()

    # -- networks ---------------------------------------------------------------------

    def create_network(self, name: str, labels: Mapping[str, str], subnet: str | None, internal: bool) -> str:
        """Create a bridge network and return its subnet (Docker picks one when ``subnet`` is None)."""
        ipam = None
        if subnet:
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        # No masquerading: a lab has no route out, and this says so on the Docker host too.
        options = {"com.docker.network.bridge.enable_ip_masquerade": "false"}
        with _engine_errors(f"creating network {name}"):
            created = self._api.create_network(
                name, driver="bridge", options=options, ipam=ipam, internal=internal, labels=dict(labels), check_duplicate=True
            )
            info = self._api.inspect_network(created["Id"])
        configs = (info.get("IPAM") or {}).get("Config") or [{}]
        return str(configs[0].get("Subnet", subnet or ""))

    def remove_network(self, name_or_id: str) -> None:
        with _engine_errors(f"removing network {name_or_id}", missing_ok=True):
            self._api.remove_network(name_or_id)

    # -- containers -------------------------------------------------------------------

    def create_container(
        self,
        name: str,
        image: str,
        labels: Mapping[str, str],
        *,
        hostname: str | None = None,
        network: str | None = None,
        ipv4: str | None = None,
        network_mode: str | None = None,
        cap_add: Iterable[str] = (),
        environment: Mapping[str, str] | None = None,
        command: Iterable[str] | None = None,
    ) -> str:
        """Create (not start) a container and return its id."""
        with _engine_errors(f"creating container {name} from image {image}"):
            host_config = self._api.create_host_config(
                cap_add=sorted(set(cap_add)) or None,
                network_mode=network_mode or network or "none",
                # IPv6 off: the lab's "no route out" guarantee is written for IPv4.
                sysctls=None if network_mode else {"net.ipv6.conf.all.disable_ipv6": "1"},
            )
            networking = None
            if network and not network_mode:
                endpoint = self._api.create_endpoint_config(ipv4_address=ipv4) if ipv4 else self._api.create_endpoint_config()
                networking = self._api.create_networking_config({network: endpoint})
            created = self._api.create_container(
                image,
                command=list(command) if command else None,
                name=name,
                hostname=None if network_mode else hostname,
                labels=dict(labels),
                environment=dict(environment or {}),
                host_config=host_config,
                networking_config=networking,
                detach=True,
            )
        return str(created["Id"])

    def connect_network(self, network: str, container: str, ipv4: str | None = None) -> None:
        with _engine_errors(f"connecting {container} to network {network}"):
            self._api.connect_container_to_network(container, network, ipv4_address=ipv4)

    def put_files(self, container: str, files: Mapping[str, tuple[bytes, int]]) -> None:
        """Copy ``{absolute path: (content, mode)}`` into a container, created or running."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, (content, mode) in files.items():
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mode, info.mtime = len(content), mode, int(time.time())
                tar.addfile(info, io.BytesIO(content))
        with _engine_errors(f"copying files into {container}"):
            self._api.put_archive(container, "/", buffer.getvalue())

    def read_file(self, container: str, path: str) -> bytes:
        """The content of the file at ``path`` in a container, running or stopped (docker cp out).

        Raises:
            EngineError: no such container or file; the message names both.

        Example::

            engine.read_file("chaos-pair-1-client", "/tmp/chaos-capture/1.pcap")[:4]   # b'\\xd4\\xc3\\xb2\\xa1'
        """
        doing = f"copying {path} out of {container}"
        with _engine_errors(doing):
            chunks, _stat = self._api.get_archive(container, path)
            archive = b"".join(chunks)
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                extracted = tar.extractfile(member) if member is not None else None
                if extracted is None:
                    raise EngineError(f"{doing} failed: not a regular file")
                return extracted.read()
        except tarfile.TarError as exc:
            raise EngineError(f"{doing} failed: the engine sent no readable archive ({exc})") from None

    def start(self, container: str) -> None:
        with _engine_errors(f"starting container {container}"):
            self._api.start(container)

    def container_info(self, container: str) -> ContainerInfo:
        """A container's id, state and network endpoints.

        Raises:
            ContainerGone: no such container.
        """
        with _engine_errors(f"inspecting container {container}", container=container):
            info = self._api.inspect_container(container)
        settings = (info.get("NetworkSettings") or {}).get("Networks") or {}
        return ContainerInfo(
            id=str(info.get("Id", "")),
            name=str(info.get("Name", container)).lstrip("/"),
            state=_state(info.get("State") or {}),
            networks={name: Endpoint(name, str(e.get("IPAddress") or ""), str(e.get("MacAddress") or "")) for name, e in settings.items()},
        )

    def is_running(self, container: str) -> bool:
        """Whether the container runs (False when it does not exist)."""
        return self.state(container).running

    def exec(self, container: str, argv: list[str], *, user: str = "", environment: Mapping[str, str] | None = None) -> ExecResult:
        """Run ``argv`` in a running container; never raises for a non-zero exit.

        Raises:
            ContainerGone: the container is not running.
        """
        with _engine_errors(f"exec {argv!r} in {container}", container=container):
            exec_id = self._api.exec_create(container, argv, user=user, environment=dict(environment or {}))["Id"]
            out, err = self._api.exec_start(exec_id, demux=True)
            rc = self._api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(
            rc=int(rc if rc is not None else -1), stdout=(out or b"").decode(errors="replace"), stderr=(err or b"").decode(errors="replace")
        )

    def exec_lines(self, container: str, argv: list[str]) -> Iterator[str]:
        """Run ``argv`` in a running container and yield its output lines as they come.

        Raises:
            ContainerGone: the container is not running.
        """
        pending = b""
        with _engine_errors(f"exec {argv!r} in {container}", container=container):
            exec_id = self._api.exec_create(container, argv)["Id"]
            for chunk in self._api.exec_start(exec_id, stream=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")

    def open_exec(self, container: str, argv: list[str], timeout: Duration = 30.0) -> ExecSession:
        """Start ``argv`` in a running container with stdin attached and keep talking to it (a persistent shell).

        A request then costs a write and a read on an open socket instead of an exec's three API calls.

        Raises:
            ContainerGone: the container is not running.

        Example::

            session = engine.open_exec("chaos-pair-1-lb1", ["sh"])
            session.send(b"echo hi; echo @@done\\n")
            session.read_until(b"@@done")    # b'hi\\n@@done\\n'
        """
        with _engine_errors(f"exec {argv!r} in {container}", container=container):
            exec_id = self._api.exec_create(container, argv, stdin=True, stdout=True, stderr=True, tty=False)["Id"]
            response = self._api.exec_start(exec_id, socket=True)
        return ExecSession(response, parse_duration(timeout, "timeout"))

    def logs(self, container: str, tail: int | str = "all") -> str:
        """What a container wrote to stdout and stderr (the last ``tail`` lines, or ``"all"``).

        Raises:
            ContainerGone: no such container (or it is being removed).
        """
        with _engine_errors(f"reading the logs of {container}", container=container):
            raw = self._api.logs(container, stdout=True, stderr=True, tail=tail)
        return bytes(raw).decode(errors="replace")

    def kill(self, container: str, signal: str = "SIGKILL") -> None:
        with _engine_errors(f"killing container {container}"):
            self._api.kill(container, signal=signal)

    def stop(self, container: str, timeout: Duration = 10) -> None:
        """Stop a container: SIGTERM, then SIGKILL after ``timeout`` (docker stop; whole seconds, rounded up).

        Raises:
            UsageError: ``timeout`` is not a duration.
        """
        seconds = math.ceil(parse_duration(timeout, "timeout"))
        with _engine_errors(f"stopping container {container}"):
            self._api.stop(container, timeout=seconds)

    def pause(self, container: str) -> None:
        """Freeze every process of a container (cgroup freezer); its network namespace stays."""
        with _engine_errors(f"pausing container {container}"):
            self._api.pause(container)

    def unpause(self, container: str) -> None:
        with _engine_errors(f"unpausing container {container}"):
            self._api.unpause(container)

    def state(self, container: str) -> ContainerState:
        """A container's state, with the engine's own start and exit times (a missing container: not running).

        Example::

            engine.state("chaos-pair-1-lb1").finished_at    # epoch seconds of the last exit
        """
        try:
            return self.container_info(container).state
        except ContainerGone:
            return ContainerState(exists=False, running=False, paused=False, started_at=None, finished_at=None)

    def log_lines_since(self, container: str, since: float) -> list[tuple[float, str]]:
        """``(epoch time, line)`` for every log line a container wrote at or after ``since`` (e.g. its last start).

        The times are the engine's, so "ready" after a restart is told from the "ready" before it.

        Raises:
            ContainerGone: no such container.
        """
        with _engine_errors(f"reading the logs of {container}", container=container):
            raw = self._api.logs(container, stdout=True, stderr=True, since=since, timestamps=True)
        lines: list[tuple[float, str]] = []
        for line in bytes(raw).decode(errors="replace").splitlines():
            stamp, _, text = line.partition(" ")
            at = _epoch(stamp)
            if at is not None and at >= since:
                lines.append((at, text))
        return lines

    def exec_detached(self, container: str, argv: list[str]) -> None:
        """Start ``argv`` in a running container and return at once (a daemon restarted by a heal).

        Raises:
            ContainerGone: the container is not running.
        """
        with _engine_errors(f"exec {argv!r} in {container}", container=container):
            exec_id = self._api.exec_create(container, argv, stdin=False, stdout=False, stderr=False)["Id"]
            self._api.exec_start(exec_id, detach=True)

    def remove_container(self, name_or_id: str) -> None:
        with _engine_errors(f"removing container {name_or_id}", missing_ok=True):
            # A paused (frozen) container cannot die on a cgroup v1 host: `rm -f` would wait
            # for it, holding the container's lock, until someone thaws it. Thaw it first.
            with contextlib.suppress(EngineError, docker.errors.APIError):
                if self.state(name_or_id).paused:
                    self._api.unpause(name_or_id)
            self._api.remove_container(name_or_id, force=True, v=True)

    # -- volumes (markers for kept labs) ----------------------------------------------

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        with _engine_errors(f"creating volume {name}"):
            self._api.create_volume(name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        with _engine_errors(f"removing volume {name}", missing_ok=True):
            self._api.remove_volume(name, force=True)

    # -- finding our objects ----------------------------------------------------------

    def find(self, labels: Mapping[str, str | None]) -> list[LabelledObject]:
        """Every container, network and volume carrying ``labels`` (a None value matches any value)."""
        filters = {"label": [k if v is None else f"{k}={v}" for k, v in labels.items()]}
        found: list[LabelledObject] = []
        with _engine_errors("listing lab objects"):
            for c in self._api.containers(all=True, filters=filters):
                found.append(LabelledObject("container", c["Id"], c["Names"][0].lstrip("/"), c.get("Labels") or {}))
            for n in self._api.networks(filters=filters):
                found.append(LabelledObject("network", n["Id"], n["Name"], n.get("Labels") or {}))
            for v in self._api.volumes(filters=filters).get("Volumes") or []:
                found.append(LabelledObject("volume", v["Name"], v["Name"], v.get("Labels") or {}))
        return found

    def remove(self, obj: LabelledObject) -> None:
        """Remove one object found by `find`."""
        {"container": self.remove_container, "network": self.remove_network, "volume": self.remove_volume}[obj.kind](obj.id)

    # -- images -----------------------------------------------------------------------

    def has_image(self, reference: str) -> bool:
        """Whether the engine has the image ``reference``."""
        with _engine_errors(f"looking for image {reference}"):
            try:
                self._api.inspect_image(reference)
            except docker.errors.NotFound:
                return False
        return True

    def try_pull(self, reference: str) -> bool:
        """Pull ``reference``; False (not an error) when no registry can give it.

        Raises:
            EngineError: the engine itself does not answer.
        """
        repository, _, tag = reference.partition(":")
        with _engine_errors(f"pulling {reference}"):
            try:
                self._api.pull(repository, tag=tag or "latest")
            except docker.errors.APIError:
                return False
        return True

    def import_image(self, tar_stream: IO[bytes], reference: str) -> None:
        repository, _, tag = reference.partition(":")
        try:
            result = self._api.import_image_from_data(tar_stream.read(), repository=repository, tag=tag or "latest")
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ImageError(f"docker import of {reference} failed: {_short(exc)}") from None
        if "error" in str(result).lower():
            raise ImageError(f"docker import of {reference} failed: {result}")

    def build_image(self, context: str, reference: str, labels: Mapping[str, str], buildargs: Mapping[str, str]) -> Iterator[str]:
        """Build ``context`` as ``reference``, yielding the build's output lines.

        Raises:
            ImageError: the build failed; the message holds the failing step's output.
        """
        tail: list[str] = []
        try:
            stream = self._api.build(path=context, tag=reference, labels=dict(labels), buildargs=dict(buildargs), rm=True, forcerm=True, decode=True)
            for chunk in stream:
                if "error" in chunk:
                    detail = "".join(tail[-15:])
                    raise ImageError(f"building {reference} failed: {chunk['error'].strip()}\n{detail}")
                text = chunk.get("stream", "")
                if text:
                    tail.append(text)
                    yield text.rstrip("\n")
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ImageError(f"building {reference} failed: {_short(exc)}") from None


class _engine_errors:
    """Turn SDK and HTTP errors into `EngineError` that say what was being done.

    ``missing_ok``: a missing object is no error (removal). ``container``: the object is
    that container, and its absence (404) or not running (409) is `ContainerGone`.
    """

    def __init__(self, doing: str, missing_ok: bool = False, container: str | None = None) -> None:
        self.doing = doing
        self.missing_ok = missing_ok
        self.container = container

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        if isinstance(exc, docker.errors.NotFound) and self.missing_ok:
            return True
        if isinstance(exc, docker.errors.ImageNotFound | docker.errors.NotFound) and "image" in self.doing:
            raise ImageError(f"{self.doing}: image not found ({_short(exc)}). Hint: run `chaos images build`.") from None
        if self.container is not None and isinstance(exc, docker.errors.APIError):
            if isinstance(exc, docker.errors.NotFound):
                raise ContainerGone(f"{self.doing} failed: container {self.container} does not exist ({_short(exc)})") from None
            if exc.status_code == 409:
                raise ContainerGone(f"{self.doing} failed: container {self.container} is not running ({_short(exc)})") from None
        if isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException):
            raise EngineError(f"{self.doing} failed: {_short(exc)}") from None
        return False


def _state(state: Mapping[str, Any]) -> ContainerState:
    """A ``State`` section of a container's inspect answer, typed."""
    return ContainerState(
        exists=True,
        running=bool(state.get("Running")),
        paused=bool(state.get("Paused")),
        started_at=_epoch(state.get("StartedAt", "")),
        finished_at=_epoch(state.get("FinishedAt", "")),
    )


def _epoch(stamp: str) -> float | None:
    """Docker's RFC 3339 time with nanoseconds (``2024-05-01T10:11:12.123456789Z``) as epoch seconds; None for its zero time."""
    match = _RFC3339.match(stamp or "")
    if not match or match["date"].startswith("0001-"):
        return None
    zone = match["zone"].replace("Z", "+00:00") or "+00:00"
    seconds = datetime.datetime.fromisoformat(match["date"] + zone).timestamp()
    return seconds + (float(f"0.{match['fraction']}") if match["fraction"] else 0.0)


_RFC3339 = re.compile(r"^(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)?$")


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = explanation if isinstance(explanation, str) and explanation else str(exc)
    if isinstance(explanation, bytes):
        text = explanation.decode(errors="replace")
    with contextlib.suppress(ValueError, AttributeError):
        text = json.loads(text).get("message", text)
    return " ".join(text.split())[:400]
