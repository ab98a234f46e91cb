"""Host handles: run commands in a lab host, read its addresses and logs, hand it to testinfra."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from chaos.engine import ContainerGone, Engine, ExecResult
from chaos.errors import HostCommandError, LabError
from chaos.spec.model import HostSpec

if TYPE_CHECKING:
    import testinfra.host

STDERR_TAIL_LINES = 10


class Host:
    """A running lab host: its host container (which owns the network namespace) and its workloads.

    Example:
        >>> lab.hosts["lb1"].check("ip -o -4 addr show").stdout
        >>> lab.hosts["lb1"].address("front")
        '172.20.0.2'
    """

    def __init__(self, spec: HostSpec, engine: Engine, container: str, workloads: Mapping[str, str], network_names: Mapping[str, str]) -> None:
        self.spec = spec
        self._network_names = dict(network_names)  # spec network name -> Docker network name
        self.name = spec.name
        self.container = container
        self.workloads = dict(workloads)
        self._engine = engine
        self._addresses: dict[str, str] = {}
        self.id = ""

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.id[:8] or 'not started'}>"

    def refresh(self) -> None:
        """Read the container's id and addresses from the engine (after start or restart)."""
        info = self._engine.inspect(self.container)
        self.id = info["Id"]
        networks = info["NetworkSettings"]["Networks"] or {}
        by_docker_name = {n: settings.get("IPAddress", "") for n, settings in networks.items()}
        self._addresses = {spec_name: by_docker_name.get(docker_name, "") for spec_name, docker_name in self._network_names.items()}

    @property
    def addresses(self) -> dict[str, str]:
        """``{network: IPv4 address}`` on every network of this host."""
        return dict(self._addresses)

    def address(self, network: str) -> str:
        """This host's address on ``network``.

        Raises:
            LabError: the host is not on that network; the message lists the ones it is on.
        """
        if network not in self._addresses:
            raise LabError(f"host {self.name!r} is not on network {network!r}; it is on: {', '.join(self._addresses) or 'none'}")
        return self._addresses[network]

    def exec(self, command: str | Sequence[str], container: str | None = None) -> ExecResult:
        """Run ``command`` (a shell string or an argv list) in the host container or a named workload.

        Never raises for a non-zero exit; see `check`.

        Raises:
            ContainerGone: the container is not running.
        """
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        return self._engine.exec(self._container_of(container), argv)

    def stream(self, argv: Sequence[str], container: str | None = None) -> Iterator[str]:
        """Run ``argv`` and yield its output lines as they come (stdout and stderr together)."""
        return self._engine.exec_lines(self._container_of(container), list(argv))

    def check(self, command: str | Sequence[str], container: str | None = None) -> ExecResult:
        """Like `exec`, but raise `HostCommandError` with the command, rc and stderr tail on failure."""
        __tracebackhide__ = True
        result = self.exec(command, container)
        if not result.ok:
            shown = command if isinstance(command, str) else shlex.join(command)
            tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            raise HostCommandError(f"`{shown}` on {self!r} exited {result.rc}" + (f":\n{tail}" if tail else " (no stderr)"))
        return result

    def kill(self, signal: str = "SIGKILL") -> None:
        """Send ``signal`` to every container of this host (workloads first, then the host container).

        With SIGKILL this is the host losing power: nothing gets to say goodbye. The fault
        catalogue builds on it; a test may call it directly.
        """
        for container in [*self.workloads.values(), self.container]:
            self._engine.kill(container, signal)

    def is_running(self, container: str | None = None) -> bool:
        return self._engine.is_running(self._container_of(container))

    def logs(self, tail: int | str = "all") -> str:
        """The logs of the host container and each workload, each under a heading."""
        parts = [f"--- {self.name} (host container) ---\n{self._engine.logs(self.container, tail)}"]
        parts += [f"--- {self.name}/{w} ---\n{self._engine.logs(c, tail)}" for w, c in self.workloads.items()]
        return "\n".join(parts)

    @property
    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host on the host container (`docker://` backend, needs the docker CLI)."""
        import testinfra

        return testinfra.get_host(f"docker://{self.container}")

    def _container_of(self, workload: str | None) -> str:
        if workload is None:
            return self.container
        if workload not in self.workloads:
            raise LabError(f"host {self.name!r} has no container {workload!r}; it has: {', '.join(self.workloads) or 'none'}")
        return self.workloads[workload]

    def holds(self, address: str) -> bool:
        """Whether ``address`` is on one of this host's interfaces (False when the host is down)."""
        try:
            result = self.exec(["ip", "-o", "-4", "addr", "show"])
        except ContainerGone:
            return False
        return any(field.split("/")[0] == address for line in result.stdout.splitlines() for field in line.split()[3:4])

    def read_file(self, path: str, container: str | None = None) -> bytes:
        """The content of ``path`` in the host container (or a named workload), even after the host stopped.

        Raises:
            EngineError: the container or the file does not exist.

        Example:
            >>> lab.hosts["client"].read_file("/etc/hostname")
            b'client\\n'
        """
        return self._engine.read_file(self._container_of(container), path)

    def stopped_at(self) -> float | None:
        """When the host container last stopped (epoch seconds, the engine's own record); None while it runs.

        Example:
            >>> lab.hosts["lb1"].kill()
            >>> lab.hosts["lb1"].stopped_at()
            1714557072.081
        """
        state = self._engine.state(self.container)
        return None if state.running else state.finished_at
