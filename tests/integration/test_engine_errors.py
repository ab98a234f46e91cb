"""The engine boundary: every call says what it tried on what, as an `EngineError`; no Docker SDK or HTTP error escapes.

The first tests use the real engine. The sweep at the end needs none: it points an `Engine`
at a fake engine that answered the handshake and then fails every request (with an error
status, or by dropping the connection), and calls every public method of `Engine`.
"""

from __future__ import annotations

import contextlib
import http.server
import inspect
import io
import json
import re
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaos._internal import naming
from chaos._internal.durations import parse_duration
from chaos.engine import ContainerGone, Engine, LabelledObject
from chaos.errors import ChaosError, EngineError, UsageError
from chaos.images import resolve_image

# -- on the real engine ---------------------------------------------------------------------


@pytest.fixture
def container(chaos_engine: Engine) -> Iterator[str]:
    """A running host container with our labels, removed after the test."""
    owner = naming.Owner.current()
    lab = f"engine-errors-{owner.session}"
    name = owner.object_name(lab, "box")
    chaos_engine.create_container(name, resolve_image("chaos/host", chaos_engine), owner.labels(lab), environment={"CHAOS_HOST": "box"})
    try:
        chaos_engine.start(name)
        yield name
    finally:
        chaos_engine.remove_container(name)


def test_stop_takes_a_duration_string(chaos_engine, container):
    """`stop(timeout="5s")` failed inside the engine (it rounded the string); the agent ignores SIGTERM, so this waits the timeout."""
    chaos_engine.stop(container, timeout="1s")
    assert not chaos_engine.is_running(container)
    assert chaos_engine.state(container).finished_at is not None


def test_stop_refuses_what_is_not_a_duration_before_asking_the_engine(chaos_engine, container):
    with pytest.raises(UsageError) as expected:
        parse_duration("soon", "timeout")
    with pytest.raises(UsageError, match=re.escape(str(expected.value))):
        chaos_engine.stop(container, timeout="soon")
    assert chaos_engine.is_running(container)


def test_logs_of_a_missing_container_is_an_error_naming_it(chaos_engine):
    """It returned "" before, so a wrong container name read as a silent container."""
    with pytest.raises(ContainerGone, match="reading the logs of chaos-no-such-box failed: container chaos-no-such-box does not exist"):
        chaos_engine.logs("chaos-no-such-box")
    with pytest.raises(ContainerGone, match="does not exist"):
        chaos_engine.log_lines_since("chaos-no-such-box", 1.0)


def test_a_removed_container_is_not_running_and_its_state_says_it_is_gone(chaos_engine, container):
    chaos_engine.remove_container(container)
    assert chaos_engine.is_running(container) is False
    assert chaos_engine.state(container).exists is False
    with pytest.raises(ContainerGone, match=f"container {container} does not exist"):
        chaos_engine.container_info(container)
    with pytest.raises(ContainerGone, match=f"exec \\['true'\\] in {container} failed: container {container} does not exist"):
        list(chaos_engine.exec_lines(container, ["true"]))
    with pytest.raises(ContainerGone):
        chaos_engine.exec(container, ["true"])


def test_exec_in_a_stopped_container_is_container_gone(chaos_engine, container):
    chaos_engine.kill(container)
    with pytest.raises(ContainerGone, match=f"container {container} is not running"):
        chaos_engine.exec(container, ["true"])
    with pytest.raises(ContainerGone, match="is not running"):
        list(chaos_engine.exec_lines(container, ["true"]))


def test_container_info_is_typed(chaos_engine, container):
    info = chaos_engine.container_info(container)
    assert info.name == container and len(info.id) == 64
    assert info.state.running and info.state.started_at is not None
    assert info.addresses == {"none": ""}, "a container created without a network sits on 'none', without an address"


# -- every public method, against an engine that fails ---------------------------------------


class _FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    failing = False
    mode = "status"  # "status": answer 500; "drop": close the connection without an answer


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _FakeEngine

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def address_string(self) -> str:  # a unix socket has no (host, port)
        return "fake"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if not self.server.failing and (path.endswith("/_ping") or path.endswith("/version")):
            body = b"OK" if path.endswith("/_ping") else json.dumps({"ApiVersion": "1.41", "Version": "fake"}).encode()
            self._send(200, body)
        elif self.server.mode == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
        else:
            self._send(500, json.dumps({"message": "the fake engine refuses everything"}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer


@pytest.fixture(params=["status", "drop"])
def failing_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    socket_path = tmp_path_factory.mktemp("fake-engine") / "docker.sock"
    server = _FakeEngine(str(socket_path), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        engine = Engine.connect(f"unix://{socket_path}", timeout=5)
        server.failing, server.mode = True, request.param
        yield engine
    finally:
        server.shutdown()
        server.server_close()


def _calls(context: Path) -> dict[str, Callable[[Engine], object]]:
    """One call of every public method of `Engine`, by name."""
    box = LabelledObject("container", "chaos-box", "chaos-box", {})
    return {
        "close": lambda e: e.close(),
        "connect_network": lambda e: e.connect_network("chaos-net", "chaos-box"),
        "container_info": lambda e: e.container_info("chaos-box"),
        "create_container": lambda e: e.create_container("chaos-box", "chaos/host:x", {}, network="chaos-net", ipv4="10.0.0.2"),
        "create_network": lambda e: e.create_network("chaos-net", {}, "10.0.0.0/24", False),
        "create_volume": lambda e: e.create_volume("chaos-vol", {}),
        "exec": lambda e: e.exec("chaos-box", ["true"]),
        "exec_detached": lambda e: e.exec_detached("chaos-box", ["true"]),
        "exec_lines": lambda e: list(e.exec_lines("chaos-box", ["true"])),
        "find": lambda e: e.find({naming.SESSION: None}),
        "has_image": lambda e: e.has_image("chaos/host:x"),
        "import_image": lambda e: e.import_image(io.BytesIO(b"not a tar"), "chaos/base:x"),
        "build_image": lambda e: list(e.build_image(str(context), "chaos/host:x", {}, {})),
        "is_running": lambda e: e.is_running("chaos-box"),
        "kill": lambda e: e.kill("chaos-box"),
        "log_lines_since": lambda e: e.log_lines_since("chaos-box", 1.0),
        "logs": lambda e: e.logs("chaos-box"),
        "open_exec": lambda e: e.open_exec("chaos-box", ["sh"], timeout="1s"),
        "pause": lambda e: e.pause("chaos-box"),
        "put_files": lambda e: e.put_files("chaos-box", {"/etc/x": (b"x", 0o644)}),
        "read_file": lambda e: e.read_file("chaos-box", "/etc/x"),
        "remove": lambda e: e.remove(box),
        "remove_container": lambda e: e.remove_container("chaos-box"),
        "remove_network": lambda e: e.remove_network("chaos-net"),
        "remove_volume": lambda e: e.remove_volume("chaos-vol"),
        "start": lambda e: e.start("chaos-box"),
        "state": lambda e: e.state("chaos-box"),
        "stop": lambda e: e.stop("chaos-box", timeout="1s"),
        "try_pull": lambda e: e.try_pull("chaos/base:x"),
        "unpause": lambda e: e.unpause("chaos-box"),
    }


def test_the_sweep_covers_every_public_method(tmp_path):
    public = {name for name, member in inspect.getmembers(Engine) if not name.startswith("_") and callable(member) and name != "connect"}
    assert public == set(_calls(tmp_path)), "a new public Engine method needs a case in the sweep"


@pytest.mark.parametrize("method", sorted(_calls(Path("."))))
def test_no_sdk_or_http_error_escapes(failing_engine, method, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    try:
        _calls(tmp_path)[method](failing_engine)
    except ChaosError as exc:
        assert str(exc), "the message says what was tried"
    except Exception as exc:  # the trap: a raw docker.errors.* or requests error
        pytest.fail(f"Engine.{method} let {type(exc).__module__}.{type(exc).__name__} escape: {exc}")


def test_a_refused_call_says_what_was_tried_on_what(failing_engine):
    with pytest.raises(EngineError, match="stopping container chaos-box failed"):
        failing_engine.stop("chaos-box", timeout="1s")
