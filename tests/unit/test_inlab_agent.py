"""The agent without Docker: it says ready the way the lab waits for, answers with the host's name, and chaos-probe reads it."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import socket
import subprocess
from collections.abc import Iterator

import pytest

from chaos.lab import READY_LINE
from chaos_inlab import agent, probe, protocol
from chaos_inlab.flow import parse_http, parse_name

LOCALHOST = "127.0.0.1"


@pytest.fixture(scope="module")
def booted() -> Iterator[tuple[list[agent.Server], list[str]]]:
    """The agent's boot for host ``web-1``, on free localhost ports, with the route cut skipped (this is not a lab host)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(agent, "cut_route_out", lambda name: None)
        patch.setattr(agent, "DAEMONS_PATH", "/nonexistent/daemons.json")
        patch.setattr(agent, "serve", lambda name, http, tcp, udp: serve(name, http, tcp, udp))
        for variable in ("CHAOS_HTTP_PORT", "CHAOS_TCP_PORT", "CHAOS_UDP_PORT"):
            patch.setenv(variable, "0")
        patch.setenv(protocol.COMMAND_ENV, json.dumps(["true"]))
        children: list[subprocess.Popen[bytes]] = []
        servers = agent.boot("web-1", children)
        for child in children:
            child.wait(5)
    yield servers, out.getvalue().splitlines()
    for server in servers:
        server.shutdown()
        server.server_close()


real_serve = agent.serve


def serve(name: str, http: int, tcp: int, udp: int) -> list[agent.Server]:
    return real_serve(name, http, tcp, udp, bind=LOCALHOST)


def test_the_agent_says_ready_as_the_lab_waits_for_it(booted: tuple[list[agent.Server], list[str]]) -> None:
    _, lines = booted
    assert lines == [protocol.agent_line("web-1", "starting command: true"), protocol.agent_line("web-1", protocol.READY)]
    assert READY_LINE in lines[-1] and not any(READY_LINE in line for line in lines[:-1])


def test_each_protocol_answers_with_the_host_name(booted: tuple[list[agent.Server], list[str]]) -> None:
    http, tcp, udp = (server.server_address[1] for server in booted[0])
    http_answer = probe.request("http", LOCALHOST, http, 2.0)
    assert parse_http(b"HTTP/1.0 200 OK\r\n\r\n" + http_answer) == (protocol.OK, "web-1")
    assert parse_name(probe.request("tcp", LOCALHOST, tcp, 2.0)) == (protocol.OK, "web-1")
    assert parse_name(probe.request("udp", LOCALHOST, udp, 2.0)) == (protocol.OK, "web-1")


def test_the_http_answer_names_the_host_in_a_header_too(booted: tuple[list[agent.Server], list[str]]) -> None:
    port = booted[0][0].server_address[1]
    with socket.create_connection((LOCALHOST, port), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    assert f"{protocol.HOST_HEADER}: web-1".encode() in raw
    assert parse_http(raw) == (protocol.OK, "web-1")


def test_chaos_probe_prints_the_name_or_says_why_not(booted: tuple[list[agent.Server], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    tcp = booted[0][1].server_address[1]
    assert probe.main(["tcp", LOCALHOST, str(tcp)]) == 0
    assert capsys.readouterr().out == "web-1\n"
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        closed = sock.getsockname()[1]  # nobody listens once it is closed
    assert probe.main(["tcp", LOCALHOST, str(closed), "--timeout", "0.5"]) == 1
    assert f"tcp {LOCALHOST}:{closed}: [Errno 111] Connection refused" in capsys.readouterr().err


def test_daemon_templates_name_the_interface_in_a_subnet() -> None:
    addresses = {"eth0": ipaddress.ip_interface("172.18.0.3/16"), "eth1": ipaddress.ip_interface("10.77.0.2/24")}
    assert agent.render("interface ${iface:10.77.0.0/24} # ${iface:172.18.0.0/16}", addresses) == "interface eth1 # eth0"
    with pytest.raises(SystemExit, match=r"chaos-agent\[lb1\]: no interface has an address in 192.168.0.0/24"):
        agent.render("${iface:192.168.0.0/24}", addresses, "lb1")
