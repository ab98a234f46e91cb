"""Host faults on the real engine: power_off/power_on, isolate, link_down/link_up, proven with traffic between lab hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import faults
from chaos.errors import FaultError
from chaos.expect import eventually
from chaos_inlab.protocol import serve_argv

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"

# A workload that answers TCP on 8080 with its name, inside its host's network namespace.
WEB = serve_argv("web", tcp=8080)

TWO_NETWORKS = {
    "networks": {"front": {}, "back": {}},
    "hosts": {
        "app": {"networks": ["front", "back"], "containers": {"web": {"image": "chaos/host", "command": WEB}}},
        "db": {"networks": ["back"]},
        "client": {"networks": ["front"]},
    },
}


def answers(lab, source: str, address: str, protocol: str = "tcp", port: int | None = None) -> str | None:
    """Who answered one probe from ``source`` (None: nobody, within half a second)."""
    argv = ["chaos-probe", protocol, address, *([str(port)] if port else []), "--timeout", "0.5"]
    result = lab.hosts[source].exec(argv)
    return result.stdout.strip() if result.ok else None


def pings(lab, source: str, address: str) -> bool:
    return lab.hosts[source].exec(["ping", "-c", "1", "-W", "1", address]).ok


def owners_become(www, expected: list[str], within: float = 10.0) -> None:
    """Poll until exactly ``expected`` hold the VIP (stricter than wait_owner: nobody else may hold it)."""
    eventually(www.owners, until=lambda owners: owners == expected, within=within, what=f"{expected} alone to hold {www.name}")


def baseline(host) -> tuple[str, str]:
    """A host's addresses and routes, as the kernel lists them."""
    return host.check("ip -o -4 addr show | awk '{print $2, $4}'").stdout, host.check("ip -4 route show").stdout


@pytest.mark.topology(PAIR)
def test_power_off_then_power_on_keeps_addresses_and_keepalived_takes_the_vip_back(lab, chaos):
    www, lb1, client = lab.vips["www"], lab.hosts["lb1"], lab.hosts["client"]
    owners_become(www, ["lb1"])
    addresses = lb1.addresses
    assert answers(lab, "client", www.address, "http") == "lb1"

    off = chaos.inject(faults.power_off("lb1"))
    assert not lb1.is_running()
    # Effective is when the engine saw the container die, measured after the request.
    assert off.requested is not None and off.effective is not None and off.requested <= off.effective < off.requested + 2
    assert lab.engine.state(lb1.container).finished_at == pytest.approx(lab.timeline.origin + off.effective, abs=0.001)
    assert not pings(lab, "client", addresses["front"])
    owners_become(www, ["lb2"])
    assert answers(lab, "client", www.address, "http") == "lb2"

    on = chaos.inject(faults.power_on("lb1"))
    assert not off.is_active and off.healed is not None and chaos.active == []
    assert lb1.addresses == addresses and lb1.is_running()
    assert "chaos-agent[lb1]: ready" in lab.engine.logs(lb1.container, tail=40)
    assert on.effective is not None and on.effective >= off.effective
    # preempt: the higher priority comes back and takes the address again, alone.
    owners_become(www, ["lb1"], within=12)
    assert answers(lab, "client", www.address, "http") == "lb1"
    assert client.exec(["ip", "route", "get", "192.0.2.1"]).rc != 0, "still no route out"
    assert lb1.exec(["ip", "route", "get", "192.0.2.1"]).rc != 0, "a powered-on host has no route out either"
    render = lab.timeline.render()
    assert "inject #0 power_off(lb1) effective" in render and "heal   #0 power_off(lb1) done" in render and "inject #1 power_on(lb1)" in render


@pytest.mark.topology(TWO_NETWORKS)
def test_power_off_kills_workloads_too_and_power_on_restarts_them_in_the_new_namespace(lab, chaos):
    app = lab.hosts["app"]
    front = app.address("front")
    # The workload listens a moment after its container starts.
    eventually(lambda: answers(lab, "client", front, port=8080), until=lambda who: who == "web", within=5, what="the workload to answer")
    with chaos.inject(faults.power_off("app")) as run:
        assert not app.is_running() and not app.is_running("web")
        assert answers(lab, "client", front, port=8080) is None
        assert run.claims and {str(c) for c in run.claims} == {"container app", "container app/web"}
    assert app.is_running("web")
    # It joined the restarted host's namespace; it listens a moment after its container starts.
    eventually(lambda: answers(lab, "client", front, port=8080), until=lambda who: who == "web", within=5, what="the workload to answer")
    assert answers(lab, "db", app.address("back")) == "app"


@pytest.mark.topology(PAIR)
def test_isolate_cuts_every_link_keeps_processes_and_heal_restores_the_baseline(lab, chaos):
    www, lb1 = lab.vips["www"], lab.hosts["lb1"]
    owners_become(www, ["lb1"])
    before = baseline(lb1)
    keepalived = lb1.check("pgrep -x keepalived | sort").stdout
    address = lb1.address("front")

    run = chaos.inject(faults.isolate("lb1"))
    assert run.effective is not None and run.effective >= run.requested
    assert answers(lab, "client", address) is None and not pings(lab, "client", address)
    assert not pings(lab, "lb1", lab.hosts["client"].address("front")), "isolated both ways"
    assert lb1.check("pgrep -x keepalived | sort").stdout == keepalived, "processes keep running"
    assert "state DOWN" in lb1.check("ip -o link show dev eth0").stdout
    owners_become(www, ["lb2"])  # keepalived on lb1 sees its link go and lets the address go

    chaos.heal(run)
    assert run.healed is not None and not run.is_active
    addresses, routes = baseline(lb1)
    assert routes == before[1] and f"eth0 {address}/" in addresses  # the VIP comes and goes with keepalived, so not compared
    assert lb1.exec("ip route show default").stdout.strip() == "" and lb1.exec(["ip", "route", "get", "192.0.2.1"]).rc != 0
    assert answers(lab, "client", address) == "lb1" and pings(lab, "client", address)
    owners_become(www, ["lb1"], within=12)


@pytest.mark.topology(TWO_NETWORKS)
def test_link_down_cuts_one_network_only_and_link_up_heals_it(lab, chaos):
    app = lab.hosts["app"]
    before = baseline(app)
    chaos.inject(faults.link_down("app", "back"))
    assert answers(lab, "db", app.address("back")) is None
    assert answers(lab, "client", app.address("front")) == "app", "the other link stays up"
    assert answers(lab, "client", app.address("front"), port=8080) == "web"

    up = chaos.inject(faults.link_up("app", "back"))
    assert chaos.active == [] and up.effective is not None
    assert baseline(app) == before
    assert answers(lab, "db", app.address("back")) == "app"


@pytest.mark.topology(TWO_NETWORKS)
def test_link_faults_refuse_unknown_networks_partial_heals_and_doubles(lab, chaos):
    with pytest.raises(FaultError, match=r"link_down\(app, network=side\): unknown network 'side'; the lab's networks: front, back"):
        chaos.inject(faults.link_down("app", "side"))
    with pytest.raises(FaultError, match=r"host 'db' is not on network 'front'; it is on: back"):
        chaos.inject(faults.link_down("db", "front"))
    isolated = chaos.inject(faults.isolate("app"))
    with pytest.raises(FaultError, match=r"link_up\(app, network=back\): would heal only part of active #0 isolate\(app\)"):
        chaos.inject(faults.link_up("app", "back"))
    with pytest.raises(FaultError, match=r"link_down\(app, network=back\) clashes with active #0 isolate\(app\)"):
        chaos.inject(faults.link_down("app", "back"))
    assert isolated.is_active and [f.name for f in lab.timeline.faults] == ["isolate"], "refused faults leave no trace"
    chaos.heal()
    assert answers(lab, "db", lab.hosts["app"].address("back")) == "app"
