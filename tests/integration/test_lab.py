"""A lab on the real engine: up, ready, labelled, usable, and gone after down."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos import Lab, topology_from_dict
from chaos._internal import naming
from chaos._internal.naming import Owner
from chaos.engine import Engine
from chaos.errors import ChaosError, HostCommandError, ImageError, LabError

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"



def two_networks(subnet: str | None = None, address: str | None = None) -> dict[str, object]:
    """Two networks, a host on both with a workload, and a host on one; ``front`` pinned to ``subnet`` when given.

    Without a subnet Docker picks a free one, so concurrent runs never clash on a fixed range.
    """
    front: dict[str, object] = {"subnet": subnet} if subnet else {}
    attachment: object = {"network": "front", "address": address} if address else "front"
    return {
        "networks": {"front": front, "back": {}},
        "hosts": {
            "app": {
                "networks": [attachment, "back"],
                "containers": {"sidecar": {"image": "chaos/host", "command": ["sleep", "infinity"]}},
                "environment": {"GREETING": "hello"},
            },
            "db": {"networks": ["back"]},
        },
    }


TWO_NETWORKS = two_networks()


def free_subnet(engine: Engine) -> ipaddress.IPv4Network:
    """A subnet no Docker network uses now: Docker's own pick for a probe network (labelled as ours), freed at once."""
    owner = Owner.current()
    probe = owner.object_name("subnet-probe", secrets.token_hex(3))
    subnet = engine.create_network(probe, owner.labels("subnet-probe"), None, internal=True)
    engine.remove_network(probe)
    return ipaddress.IPv4Network(subnet)


@pytest.fixture
def pinned_lab(chaos_engine: Engine) -> Iterator[tuple[Lab, str]]:
    """A lab of `two_networks` with ``front`` pinned to a free subnet and app at a fixed address in it; (lab, address).

    Another run may take the same free subnet between the probe and the lab's creation: then
    the lab (which cleans up after a failed start) is tried again on another one.
    """
    for _ in range(5):
        subnet = free_subnet(chaos_engine)
        address = str(subnet.network_address + 10)
        lab = Lab(topology_from_dict(two_networks(str(subnet), address)), chaos_engine)
        try:
            lab.up()
        except ChaosError as exc:
            if "overlap" not in str(exc).lower():
                raise
            continue
        try:
            yield lab, address
        finally:
            lab.down()
        return
    pytest.fail("five free subnets in a row were taken by other runs before the lab could pin one", pytrace=False)


@pytest.mark.topology(PAIR)
def test_every_object_carries_the_labels_and_a_unique_name(lab, chaos_engine):
    objects = chaos_engine.find({naming.LAB: lab.name})
    assert sorted(o.kind for o in objects) == ["container"] * 3 + ["network"]
    for obj in objects:
        assert obj.labels[naming.SESSION] == lab.owner.session
        assert obj.labels[naming.WORKER] == lab.owner.worker
        assert obj.name.startswith(f"chaos-{lab.name}-")


@pytest.mark.topology(PAIR)
def test_hosts_have_addresses_and_no_route_out(lab):
    client = lab.hosts["client"]
    address = ipaddress.IPv4Address(client.address("front"))
    assert address in ipaddress.IPv4Network(lab.networks["front"].subnet)
    # A route lookup only, no packet: 192.0.2.1 (TEST-NET-1) must be unreachable from the lab.
    result = client.exec(["ip", "route", "get", "192.0.2.1"])
    assert result.rc != 0 and "Network is unreachable" in result.stderr
    assert client.exec("ip route show default").stdout.strip() == ""


@pytest.mark.topology(PAIR)
def test_exec_returns_and_check_raises_with_command_rc_and_stderr(lab):
    host = lab.hosts["lb1"]
    result = host.exec("echo out; echo err >&2; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "out\n", "err\n")
    with pytest.raises(HostCommandError) as info:
        host.check("echo broken >&2; exit 4")
    message = str(info.value)
    assert "`echo broken >&2; exit 4`" in message and "<Host lb1" in message and "exited 4" in message and "broken" in message


@pytest.mark.topology(PAIR)
def test_testinfra_sees_processes_sockets_and_addresses(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="10s")
    host = lab.hosts["lb1"].testinfra
    assert host.process.filter(comm="keepalived")
    assert host.socket("tcp://0.0.0.0:80").is_listening
    assert www.address in host.interface("eth0").addresses
    assert host.file("/run/chaos/keepalived.conf").contains(f"virtual_router_id {www.spec.virtual_router_id}")


def test_static_addresses_several_networks_workloads_and_environment(pinned_lab):
    lab, address = pinned_lab
    app = lab.hosts["app"]
    assert app.address("front") == address
    assert ipaddress.IPv4Address(app.address("back")) in ipaddress.IPv4Network(lab.networks["back"].subnet)
    # The workload shares the host's network namespace: it sees the same addresses.
    seen = app.check("ip -o -4 addr show", container="sidecar").stdout
    assert address in seen and app.address("back") in seen
    assert app.check("echo $GREETING").stdout.strip() == "hello"
    with pytest.raises(LabError, match="has no container 'nope'; it has: sidecar"):
        app.exec("true", container="nope")
    with pytest.raises(LabError, match="not on network 'front'; it is on: back"):
        lab.hosts["db"].address("front")
    assert "chaos-agent[app]: ready" in app.logs()


def test_down_leaves_nothing_and_is_safe_twice(chaos_engine, leftovers):
    lab = Lab(topology_from_dict(TWO_NETWORKS), chaos_engine).up()
    assert len(leftovers(lab=lab.name)) == 5  # 2 host containers, 1 workload, 2 networks
    lab.down()
    lab.down()
    assert leftovers(lab=lab.name) == []


def test_context_manager_tears_down_on_exception(chaos_engine, leftovers):
    lab = Lab(topology_from_dict(TWO_NETWORKS), chaos_engine)
    with pytest.raises(RuntimeError, match="boom"), lab:
        assert leftovers(lab=lab.name)
        raise RuntimeError("boom")
    assert leftovers(lab=lab.name) == []


def test_interrupt_while_coming_up_leaves_nothing(chaos_engine, leftovers, monkeypatch):
    lab = Lab(topology_from_dict(TWO_NETWORKS), chaos_engine)
    started = []
    real_start = chaos_engine.start

    def start_then_interrupt(container: str) -> None:
        real_start(container)
        started.append(container)
        if len(started) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(chaos_engine, "start", start_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        lab.up()
    assert len(started) >= 2  # the other host may finish its own starts before the interrupt reaches the lab
    assert leftovers(lab=lab.name) == []


def test_missing_image_is_reported_before_anything_is_created(chaos_engine, leftovers):
    spec = topology_from_dict({"networks": {"n": {}}, "hosts": {"a": {"networks": ["n"], "image": "chaos-missing/nothing:1"}}})
    lab = Lab(spec, chaos_engine)
    with pytest.raises(ImageError) as info:
        lab.up()
    assert "hosts.a.image: image 'chaos-missing/nothing:1'" in str(info.value)
    assert leftovers(lab=lab.name) == []


def test_a_host_that_dies_at_start_fails_with_its_logs(chaos_engine, leftovers):
    spec = topology_from_dict({"networks": {"n": {}}, "hosts": {"a": {"networks": ["n"], "environment": {"CHAOS_HTTP_PORT": "not-a-port"}}}})
    lab = Lab(spec, chaos_engine)
    with pytest.raises(LabError) as info:
        lab.up()
    assert "exited before it was ready" in str(info.value)
    assert "ValueError" in str(info.value)  # the agent's own traceback, from the container log
    assert leftovers(lab=lab.name) == []
