"""chaos-lab, the in-lab half of kill_process and the link faults, without Docker: its output read the way the faults read it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import chaos_inlab
from chaos.faults import host as host_faults
from chaos_inlab import links, process, protocol


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A process of this test's own with a name nothing else has (``sleep`` run through a symlink: the name is the link's)."""
    name = f"cz{uuid.uuid4().hex[:10]}"
    sleep = shutil.which("sleep")
    assert sleep is not None
    (tmp_path / name).symlink_to(sleep)
    child = subprocess.Popen([str(tmp_path / name), "30"])
    reaper = threading.Thread(target=child.wait, daemon=True)  # what PID 1 does in a lab host: no zombie lingers
    reaper.start()
    yield name, child
    child.kill()
    reaper.join(5)


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    """``chaos-lab ARGV`` as the image's launcher runs it (the module's main in a new python3)."""
    source = str(Path(chaos_inlab.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": source}
    return subprocess.run([sys.executable, "-m", "chaos_inlab.tool", *argv], capture_output=True, text=True, env=env, timeout=30)


def test_list_gives_pid_parent_and_command_line(sleeper: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    name, child = sleeper
    listed = run_tool(*protocol.process_list_argv(name)[1:])
    assert listed.returncode == 0, listed.stderr
    expected = (str(child.pid), str(os.getpid()), [str(tmp_path / name), "30"])
    assert [protocol.parse_process_line(line) for line in listed.stdout.splitlines()] == [expected]
    assert run_tool("process", "list", f"{name}x").stdout == ""


def test_kill_signals_and_says_when_the_process_was_gone(sleeper: tuple[str, subprocess.Popen[bytes]]) -> None:
    name, child = sleeper
    before = time.time()
    killed = run_tool(*protocol.process_kill_argv("TERM", name, 2.0)[1:])
    assert killed.returncode == 0, killed.stderr
    word, at = killed.stdout.split()  # as KillProcess reads it
    assert word == "gone" and before < float(at) < time.time()
    assert child.wait(5) == -15
    assert run_tool(*protocol.process_kill_argv("TERM", name, 2.0)[1:]).returncode == 3  # nothing left to signal


def test_kill_says_alive_when_the_process_survives_the_settle_time(sleeper: tuple[str, subprocess.Popen[bytes]]) -> None:
    name, child = sleeper
    killed = run_tool(*protocol.process_kill_argv("CONT", name, 0.2)[1:])  # SIGCONT: it runs on
    word, sent = killed.stdout.split()
    assert (killed.returncode, word) == (0, "alive") and child.poll() is None
    assert float(sent) <= time.time()


def test_signal_only_when_the_command_line_names_the_program(sleeper: tuple[str, subprocess.Popen[bytes]]) -> None:
    name, child = sleeper
    assert run_tool(*protocol.process_signal_argv(child.pid, "TERM", "chaos-flow")[1:]).returncode == 1
    assert child.poll() is None
    assert run_tool(*protocol.process_signal_argv(child.pid, "TERM", name)[1:]).returncode == 0
    assert child.wait(5) == -15


def test_usage_errors_exit_2() -> None:
    assert run_tool("process", "kill", "TERM").returncode == 2
    assert run_tool("links").returncode == 2
    assert "usage: chaos-lab" in run_tool("nothing").stderr


# -- links, with an `ip` that answers as a lab host's would ----------------------------------------

ADDRESSES = "1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.77.0.2/24 brd 10.77.0.255 scope global eth0\n"
ROUTES = "10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.2 \n10.88.0.0/24 via 10.77.0.1 dev eth0 \n"


@pytest.fixture
def fake_ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``ip`` on PATH that prints a lab host's addresses and routes and logs every call to ``ip.log``."""
    log = tmp_path / "ip.log"
    script = tmp_path / "ip"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in\n'
        f"  '-o -4 addr show to 10.77.0.2/32') printf '%s\\n' '2: eth0    inet 10.77.0.2/24 scope global eth0' ;;\n"
        "  '-o -4 addr show to '*) ;;\n"
        f"  '-o -4 addr show') printf '{ADDRESSES}' ;;\n"
        f"  '-4 route show') printf '{ROUTES}' ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return log


def test_cut_prints_the_sections_the_link_fault_reads(fake_ip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert links.main(protocol.links_cut_argv(["10.77.0.2"])[2:]) == 0
    addresses, routes, ifaces, at = capsys.readouterr().out.split(host_faults._SECTION)
    assert addresses == ADDRESSES and ifaces.split() == ["eth0"] and float(at) <= time.time()
    assert host_faults._lines(routes) == ["10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.2", "10.88.0.0/24 via 10.77.0.1 dev eth0"]
    assert "link set dev eth0 down" in fake_ip.read_text().splitlines()


def test_cut_refuses_an_address_no_interface_holds(fake_ip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert links.main(["cut", "10.99.0.2"]) == 3
    assert "no interface holds 10.99.0.2" in capsys.readouterr().err
    assert "down" not in fake_ip.read_text()


def test_mend_brings_links_up_and_puts_back_only_the_missing_routes(fake_ip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = ["default via 10.77.0.1 dev eth0", "10.88.0.0/24 via 10.77.0.1 dev eth0", "10.99.0.0/24 via 10.77.0.1 dev eth0"]
    assert links.main(protocol.links_mend_argv(baseline, ["eth0"])[2:]) == 0
    healed, addresses, routes = capsys.readouterr().out.split(host_faults._SECTION)
    assert float(healed) <= time.time() and addresses == ADDRESSES and routes == ROUTES
    calls = fake_ip.read_text().splitlines()
    assert "link set dev eth0 up" in calls
    assert [call for call in calls if "replace" in call] == ["route replace 10.99.0.0/24 via 10.77.0.1 dev eth0"]  # never the default


def test_iface_names_the_interface_holding_an_address(fake_ip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert links.main(protocol.links_iface_argv("10.77.0.2")[2:]) == 0
    assert links.main(protocol.links_iface_argv("10.99.0.2")[2:]) == 0
    assert capsys.readouterr().out.split() == ["eth0"]


def test_signal_names_parse_as_the_faults_write_them() -> None:
    assert process.signal_number("KILL") == process.signal_number("SIGKILL") == process.signal_number("9") == 9


def test_serve_answers_on_each_port_asked_with_the_name_given() -> None:
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    tcp, http = ports
    source = str(Path(chaos_inlab.__file__).parents[1])
    argv = protocol.serve_argv("web", tcp=tcp, http=http)
    server = subprocess.Popen([sys.executable, "-m", "chaos_inlab.tool", *argv[1:]], env={**os.environ, "PYTHONPATH": source})
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", tcp), timeout=1) as conn:
                    assert protocol.name_in_answer(conn.recv(64)) == "web"
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "chaos-lab serve did not listen within 10 s"
                time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", http), timeout=1) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = conn.recv(4096)
        assert f"{protocol.HOST_HEADER}: web".encode() in reply
    finally:
        server.kill()
        server.wait(5)


def test_serve_without_a_port_is_refused() -> None:
    result = run_tool("serve", "web")
    assert result.returncode == 2 and "give at least one of --http, --tcp, --udp" in result.stderr
    with pytest.raises(ValueError, match="at least one port"):
        protocol.serve_argv("web")


def test_names_lists_every_process_name_once(sleeper: tuple[str, subprocess.Popen[bytes]]) -> None:
    name, _ = sleeper
    listed = run_tool(*protocol.process_names_argv()[1:])
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert name in names and names == sorted(set(names))


def test_clock_prints_the_resolution_of_time_time() -> None:
    result = run_tool(*protocol.clock_argv()[1:])
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == time.get_clock_info("time").resolution  # the same interpreter, so the same clock
    assert float(result.stdout) > 0


def test_measure_counts_a_tcp_transfer_and_keeps_the_order_of_datagrams() -> None:
    source = str(Path(chaos_inlab.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": source}

    def sink(argv: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-m", "chaos_inlab.tool", *argv[1:]], stdout=subprocess.PIPE, text=True, env=env)
        assert process.stdout is not None and process.stdout.readline().strip() == protocol.LISTENING
        return process

    def free_port(kind: int) -> int:
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    tcp = free_port(socket.SOCK_STREAM)
    receiving = sink(protocol.tcp_sink_argv(tcp))
    assert run_tool(*protocol.tcp_send_argv("127.0.0.1", tcp, 100_000)[1:]).returncode == 0
    out, _ = receiving.communicate(timeout=30)
    total, seconds = protocol.parse_transfer(out.strip())
    assert total == 100_000 and 0 < seconds < 30

    udp = free_port(socket.SOCK_DGRAM)
    receiving = sink(protocol.udp_sink_argv(udp, quiet=0.5))
    assert run_tool(*protocol.udp_send_argv("127.0.0.1", udp, 20, 0.001)[1:]).returncode == 0
    out, _ = receiving.communicate(timeout=30)
    assert protocol.parse_order(out.strip()) == list(range(20))  # loopback neither loses nor reorders
