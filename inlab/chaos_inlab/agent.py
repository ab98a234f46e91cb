"""PID 1 of a lab host (``chaos-agent``): cuts the route out, answers probes with the host's name, runs the host's daemons.

With arguments it runs them instead (``chaos/host`` as a workload image: ``command: [...]``).

Daemons come from ``DAEMONS_PATH``, written by the lab before the container starts, so a
restarted host starts them again. A daemon that dies stays dead: that may be the fault
under test.
"""

from __future__ import annotations

import glob
import http.server
import ipaddress
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from chaos_inlab.protocol import (
    COMMAND_ENV,
    DAEMONS_PATH,
    HOST_ENV,
    HOST_HEADER,
    HTTP_PORT,
    READY,
    RUN_DIRECTORY,
    TCP_PORT,
    UDP_PORT,
    agent_line,
    answer,
)


def host_name() -> str:
    return os.environ.get(HOST_ENV) or socket.gethostname()


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True)


def cut_route_out(name: str) -> None:
    """Remove every default route, so nothing sent in this namespace can leave the lab."""
    for family in ("-4", "-6"):
        for _ in range(16):
            if not _run("ip", family, "route", "show", "default").stdout.strip():
                break
            result = _run("ip", family, "route", "del", "default")
            if result.returncode != 0:
                raise SystemExit(agent_line(name, f"cannot remove the default route: {result.stderr.strip()} (the host container needs NET_ADMIN)"))


def interfaces() -> dict[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    """Each interface's IPv4 address (the last one listed when it has several)."""
    found: dict[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface] = {}
    for line in _run("ip", "-o", "-4", "addr", "show").stdout.splitlines():
        fields = line.split()
        found[fields[1]] = ipaddress.ip_interface(fields[3])
    return found


def render(text: str, addresses: dict[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface], name: str = "") -> str:
    """Replace ``${iface:SUBNET}`` with the interface whose address lies in SUBNET.

    Example:
        >>> render("interface ${iface:10.0.0.0/24}", {"eth1": ipaddress.ip_interface("10.0.0.2/24")})
        'interface eth1'
    """
    while "${iface:" in text:
        start = text.index("${iface:")
        end = text.index("}", start)
        subnet = ipaddress.ip_network(text[start + 8 : end])
        iface = next((i for i, a in addresses.items() if a.ip in subnet), None)
        if iface is None:
            raise SystemExit(agent_line(name, f"no interface has an address in {subnet}"))
        text = text[:start] + iface + text[end + 1 :]
    return text


def start_daemons(name: str, children: list[subprocess.Popen[bytes]]) -> None:
    if not os.path.exists(DAEMONS_PATH):
        return
    os.makedirs(RUN_DIRECTORY, exist_ok=True)
    # A restarted host (power_on) boots with the pid files of its earlier life, and a pid in
    # them may now belong to another process: keepalived would refuse to start ("daemon is
    # already running"). A real machine's /run is empty at boot.
    for stale in glob.glob(os.path.join(RUN_DIRECTORY, "*.pid")):
        os.unlink(stale)
    with open(DAEMONS_PATH) as f:
        daemons: list[dict[str, Any]] = json.load(f)
    for daemon in daemons:
        for source, target in daemon.get("templates", []):
            with open(source) as src, open(target, "w") as dst:
                dst.write(render(src.read(), interfaces(), name))
        print(agent_line(name, f"starting {daemon['name']}: {' '.join(daemon['argv'])}"), flush=True)
        children.append(subprocess.Popen(daemon["argv"], stdin=subprocess.DEVNULL))


# -- the answers: every protocol says the host's name ------------------------------------------


class _Threading:
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: flows of hundreds of connections a second overflow
    # it, and a dropped SYN shows up as a false timeout in the flow's figures.
    request_queue_size = 1024


class HttpServer(_Threading, http.server.ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], name: str) -> None:
        self.name = name
        super().__init__(address, HttpAnswer)


class TcpServer(_Threading, socketserver.ThreadingTCPServer):
    def __init__(self, address: tuple[str, int], name: str) -> None:
        self.name = name
        super().__init__(address, TcpAnswer)


class UdpServer(_Threading, socketserver.ThreadingUDPServer):
    def __init__(self, address: tuple[str, int], name: str) -> None:
        self.name = name
        super().__init__(address, UdpAnswer)


class HttpAnswer(http.server.BaseHTTPRequestHandler):
    server: HttpServer

    def do_GET(self) -> None:
        name = self.server.name
        body = answer(name)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(HOST_HEADER, name)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TcpAnswer(socketserver.BaseRequestHandler):
    server: TcpServer
    request: socket.socket

    def handle(self) -> None:
        self.request.sendall(answer(self.server.name))


class UdpAnswer(socketserver.BaseRequestHandler):
    server: UdpServer
    request: tuple[bytes, socket.socket]

    def handle(self) -> None:
        _, sock = self.request
        sock.sendto(answer(self.server.name), self.client_address)


Server = HttpServer | TcpServer | UdpServer


def serve(name: str, http_port: int = HTTP_PORT, tcp_port: int = TCP_PORT, udp_port: int = UDP_PORT, bind: str = "0.0.0.0") -> list[Server]:
    """Answer HTTP, TCP and UDP with ``name``, each server in its own thread; port 0 picks a free port (``server.server_address``)."""
    servers: list[Server] = [HttpServer((bind, http_port), name), TcpServer((bind, tcp_port), name), UdpServer((bind, udp_port), name)]
    for server in servers:
        threading.Thread(target=server.serve_forever, name=f"answer-{type(server).__name__}", daemon=True).start()
    return servers


# -- PID 1 -------------------------------------------------------------------------------------


def boot(name: str, children: list[subprocess.Popen[bytes]]) -> list[Server]:
    """Cut the route out, answer on the ports (``CHAOS_*_PORT`` override them), start the daemons and the command, say ready."""
    cut_route_out(name)
    servers = serve(
        name,
        int(os.environ.get("CHAOS_HTTP_PORT", HTTP_PORT)),
        int(os.environ.get("CHAOS_TCP_PORT", TCP_PORT)),
        int(os.environ.get("CHAOS_UDP_PORT", UDP_PORT)),
    )
    start_daemons(name, children)
    command = os.environ.get(COMMAND_ENV)
    if command:
        workload: list[str] = json.loads(command)
        print(agent_line(name, f"starting command: {' '.join(workload)}"), flush=True)
        children.append(subprocess.Popen(workload, stdin=subprocess.DEVNULL))
    print(agent_line(name, READY), flush=True)
    return servers


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        # As a workload (a container joined to a host's namespace), run the given command instead.
        os.execvp(args[0], args)
    name = host_name()
    children: list[subprocess.Popen[bytes]] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    boot(name, children)
    while True:
        # PID 1 reaps every orphan, or killed daemons would linger as zombies.
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
