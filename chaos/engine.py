"""The one module that talks to the Docker SDK; everything else asks it.

It speaks in names, labels and plain results so that the rest of the library (and its unit
tests) never import ``docker``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions

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
class LabelledObject:
    """A Docker object of ours, as `chaos gc` and teardown see it."""

    kind: str  # "container", "network" or "volume"
    id: str
    name: str
    labels: Mapping[str, str]


class ContainerGone(EngineError):
    """The container is not running (killed, stopped or removed)."""


class Engine:
    """A connection to one Docker engine.

    Example:
        >>> engine = Engine.connect()          # DOCKER_HOST or the local socket
        >>> engine.version
        '20.10.24+dfsg1'
    """

    def __init__(self, client: docker.DockerClient, url: str) -> None:
        self._client = client
        self._api = client.api
        self.url = url
        self.version: str = client.version().get("Version", "unknown")

    @classmethod
    def connect(cls, base_url: str | None = None, timeout: int = DEFAULT_TIMEOUT) -> Engine:
        """Connect to ``base_url`` (else ``DOCKER_HOST``, else the local socket) and check it answers.

        Raises:
            EngineError: no engine answers there; the message says where it looked and what to do.
        """
        where = base_url or "DOCKER_HOST or unix:///var/run/docker.sock"
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
        with _engine_errors(f"creating container {name} from image {image}"):
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

    def start(self, container: str) -> None:
        with _engine_errors(f"starting container {container}"):
            self._api.start(container)

    def inspect(self, container: str) -> dict[str, Any]:
        with _engine_errors(f"inspecting container {container}"):
            info = dict(self._api.inspect_container(container))
        return info

    def is_running(self, container: str) -> bool:
        try:
            return bool(self._api.inspect_container(container)["State"]["Running"])
        except docker.errors.NotFound:
            return False

    def exec(self, container: str, argv: list[str], *, user: str = "", environment: Mapping[str, str] | None = None) -> ExecResult:
        """Run ``argv`` in a running container; never raises for a non-zero exit.

        Raises:
            ContainerGone: the container is not running.
        """
        try:
            exec_id = self._api.exec_create(container, argv, user=user, environment=dict(environment or {}))["Id"]
            out, err = self._api.exec_start(exec_id, demux=True)
            rc = self._api.exec_inspect(exec_id)["ExitCode"]
        except docker.errors.NotFound as exc:
            raise ContainerGone(f"container {container} does not exist: {_short(exc)}") from None
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise ContainerGone(f"container {container} is not running") from None
            raise EngineError(f"exec {argv!r} in {container} failed: {_short(exc)}") from None
        return ExecResult(
            rc=int(rc if rc is not None else -1), stdout=(out or b"").decode(errors="replace"), stderr=(err or b"").decode(errors="replace")
        )

    def exec_lines(self, container: str, argv: list[str]) -> Iterator[str]:
        """Run ``argv`` in a running container and yield its output lines as they come.

        Raises:
            ContainerGone: the container is not running.
        """
        try:
            exec_id = self._api.exec_create(container, argv)["Id"]
            chunks = self._api.exec_start(exec_id, stream=True)
        except docker.errors.NotFound as exc:
            raise ContainerGone(f"container {container} does not exist: {_short(exc)}") from None
        except docker.errors.APIError as exc:
            raise ContainerGone(f"container {container} is not running: {_short(exc)}") from None
        pending = b""
        for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")

    def logs(self, container: str, tail: int | str = "all") -> str:
        try:
            raw = self._api.logs(container, stdout=True, stderr=True, tail=tail)
        except docker.errors.NotFound:
            return ""
        return bytes(raw).decode(errors="replace")

    def kill(self, container: str, signal: str = "SIGKILL") -> None:
        with _engine_errors(f"killing container {container}"):
            self._api.kill(container, signal=signal)

    def remove_container(self, name_or_id: str) -> None:
        with _engine_errors(f"removing container {name_or_id}", missing_ok=True):
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
        try:
            self._api.inspect_image(reference)
            return True
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise EngineError(f"inspecting image {reference} failed: {_short(exc)}") from None

    def try_pull(self, reference: str) -> bool:
        """Pull ``reference``; False (not an error) when no registry can give it."""
        repository, _, tag = reference.partition(":")
        try:
            self._api.pull(repository, tag=tag or "latest")
            return True
        except docker.errors.APIError:
            return False

    def import_image(self, tar_stream: IO[bytes], reference: str) -> None:
        repository, _, tag = reference.partition(":")
        try:
            result = self._api.import_image_from_data(tar_stream.read(), repository=repository, tag=tag or "latest")
        except docker.errors.APIError as exc:
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
        except docker.errors.APIError as exc:
            raise ImageError(f"building {reference} failed: {_short(exc)}") from None


class _engine_errors:
    """Turn SDK errors into `EngineError` that say what was being done."""

    def __init__(self, doing: str, missing_ok: bool = False) -> None:
        self.doing = doing
        self.missing_ok = missing_ok

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        if isinstance(exc, docker.errors.NotFound) and self.missing_ok:
            return True
        if isinstance(exc, docker.errors.ImageNotFound | docker.errors.NotFound) and "image" in self.doing:
            raise ImageError(f"{self.doing}: image not found ({_short(exc)}). Hint: run `chaos images build`.") from None
        if isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException):
            raise EngineError(f"{self.doing} failed: {_short(exc)}") from None
        return False


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = explanation if isinstance(explanation, str) and explanation else str(exc)
    if isinstance(explanation, bytes):
        text = explanation.decode(errors="replace")
    with contextlib.suppress(ValueError, AttributeError):
        text = json.loads(text).get("message", text)
    return " ".join(text.split())[:400]
