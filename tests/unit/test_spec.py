"""Valid topologies: the shape `load_topology` and `topology_from_dict` build (no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos._internal.durations import parse_duration
from chaos.errors import SpecError, UsageError
from chaos.spec import Attachment, ContainerSpec, load_topology, topology_from_dict
from chaos.spec.model import HOST_IMAGE

SUITES = Path(__file__).parents[2] / "suites"

FULL = """
networks:
  front: {subnet: 10.77.0.0/24}
  back: {internal: true}
hosts:
  lb1:
    role: keepalived
    networks: [{network: front, address: 10.77.0.10}, back]
    command: sleep infinity
    cap_add: [cap_net_admin, net_raw]
    environment: {PORT: 80, DEBUG: x}
    containers:
      web: {image: chaos/httpd, command: [httpd, -f, -p, 80]}
  lb2: {networks: [front]}
vips:
  www: {network: front, address: 10.77.0.250, members: {lb1: 150, lb2: 100}, vrrp_version: 3, advert_int: 0.5, preempt: false}
  api: {network: front, members: {lb1: 100, lb2: 150}}
  db: {network: back, members: {lb1: 100}, virtual_router_id: 51}
  cache: {network: back, members: {lb1: 100}}
"""


@pytest.fixture
def full(tmp_path: Path):
    path = tmp_path / "full.yaml"
    path.write_text(FULL, encoding="utf-8")
    return load_topology(path), path


def test_networks_and_hosts(full) -> None:
    topo, path = full
    assert topo.name == "full"
    assert topo.source == str(path)
    assert topo.networks["front"].subnet == "10.77.0.0/24"
    assert (topo.networks["back"].subnet, topo.networks["back"].internal) == (None, True)
    lb1, lb2 = topo.hosts["lb1"], topo.hosts["lb2"]
    assert lb1.networks == (Attachment("front", "10.77.0.10"), Attachment("back", None))
    assert lb1.attachment("back") == Attachment("back", None)
    assert lb1.attachment("nowhere") is None
    assert lb1.command == ("/bin/sh", "-c", "sleep infinity")
    assert lb1.cap_add == ("NET_ADMIN", "NET_RAW")
    assert dict(lb1.environment) == {"PORT": "80", "DEBUG": "x"}
    assert lb1.role == "keepalived"
    assert lb1.containers == (ContainerSpec(name="web", image="chaos/httpd", command=("httpd", "-f", "-p", "80")),)
    assert HOST_IMAGE == "chaos/host"
    assert (lb2.image, lb2.command, lb2.containers, lb2.cap_add, lb2.role, dict(lb2.environment)) == (HOST_IMAGE, None, (), (), None, {})


def test_vips(full) -> None:
    vips = full[0].vips
    www = vips["www"]
    assert (www.provider, www.address, www.vrrp_version, www.advert_int, www.preempt) == ("keepalived", "10.77.0.250", 3, 0.5, False)
    assert dict(www.members) == {"lb1": 150, "lb2": 100}
    assert (vips["api"].address, vips["api"].advert_int, vips["api"].vrrp_version, vips["api"].preempt) == (None, 1.0, 2, True)
    # automatic ids start at 51, are unique per network and skip ids given explicitly
    assert {n: v.virtual_router_id for n, v in vips.items()} == {"www": 51, "api": 52, "db": 51, "cache": 52}


def test_name_from_stem_or_file(tmp_path: Path) -> None:
    path = tmp_path / "pair.yaml"
    path.write_text("networks: {front: {}}\nhosts: {a: {networks: [front]}}\n", encoding="utf-8")
    assert load_topology(path).name == "pair"
    path.write_text("name: other\nnetworks: {front: {}}\nhosts: {a: {networks: [front]}}\n", encoding="utf-8")
    assert load_topology(str(path)).name == "other"


def test_topology_from_dict() -> None:
    topo = topology_from_dict({"networks": {"front": None}, "hosts": {"a": {"networks": ["front"]}}})
    assert (topo.source, topo.name, topo.vips) == ("<python>", "lab", {})
    assert topo.hosts["a"].networks == (Attachment("front"),)
    with pytest.raises(SpecError) as info:
        topology_from_dict({"networks": {"front": {}}, "hosts": {"a": {"networks": ["back"]}}})
    assert info.value.problems == ["<python>: hosts.a.networks[0]: unknown network 'back'; defined networks: front"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SpecError) as info:
        load_topology(path)
    assert str(info.value) == f"{path}: cannot read the topology file: No such file or directory"
    assert isinstance(info.value, ValueError)


def test_keepalived_pair_suite() -> None:
    topo = load_topology(SUITES / "keepalived" / "pair.yaml")
    assert topo.name == "pair"
    assert list(topo.hosts) == ["lb1", "lb2", "client"]
    assert all(h.networks == (Attachment("front"),) for h in topo.hosts.values())
    www = topo.vips["www"]
    assert (www.network, dict(www.members), www.virtual_router_id, www.advert_int) == ("front", {"lb1": 150, "lb2": 100}, 51, 1.0)


# Edge cases that once crashed or misreported.


def test_stem_that_is_not_a_name(tmp_path: Path) -> None:
    path = tmp_path / "01-Pair.Lab.yaml"
    path.write_text("networks: {front: {}}\nhosts: {a: {networks: [front]}}\n", encoding="utf-8")
    assert load_topology(path).name == "lab-01-pair-lab"


def test_vip_network_list() -> None:
    with pytest.raises(SpecError, match=r"vips\.v\.network: expected a network name, got a list"):
        topology_from_dict(
            {"networks": {"front": {}}, "hosts": {"a": {"networks": ["front"]}}, "vips": {"v": {"network": ["front"], "members": {"a": 1}}}}
        )


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_topology(path)


def test_duplicate_address_path_counts_rejected_attachments() -> None:
    data = {
        "networks": {"a": {"subnet": "10.1.0.0/24"}, "b": {"subnet": "10.2.0.0/24"}},
        "hosts": {
            "g": {"networks": [{"network": "b", "address": "10.2.0.5"}]},
            "h": {"networks": [{"network": "a", "address": "10.9.9.9"}, {"network": "b", "address": "10.2.0.5"}]},
        },
    }
    with pytest.raises(SpecError) as info:
        topology_from_dict(data)
    assert info.value.problems[-1].startswith("<python>: hosts.h.networks[1].address: ")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("networks: {front: {}}\nhosts:\n  a: {networks: [front]}\n  a: {networks: [front]}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="duplicate key 'a'"):
        load_topology(path)


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_advert_int_must_be_finite(value: float) -> None:
    data = {"networks": {"f": {}}, "hosts": {"a": {"networks": ["f"]}}, "vips": {"v": {"network": "f", "members": {"a": 1}, "advert_int": value}}}
    with pytest.raises(SpecError, match="expected a finite number of seconds"):
        topology_from_dict(data)


def test_a_large_subnet_is_checked_quickly() -> None:
    data = {"networks": {"f": {"subnet": "10.0.0.0/8"}}, "hosts": {"a": {"networks": [{"network": "f", "address": "10.200.0.9"}]}}}
    assert topology_from_dict(data).hosts["a"].networks[0].address == "10.200.0.9"


def test_a_rejected_network_is_not_reported_again_by_its_hosts() -> None:
    data = {"networks": {"front": {"subnet": "10.0.0.1/24"}}, "hosts": {"a": {"networks": ["front"]}}}
    with pytest.raises(SpecError) as info:
        topology_from_dict(data)
    assert len(info.value.problems) == 1
    assert "networks.front.subnet" in info.value.problems[0]


@pytest.mark.parametrize(("value", "seconds"), [("1s", 1.0), ("500ms", 0.5), (2, 2.0)])
def test_advert_int_takes_a_duration_like_every_time_in_the_api(value: object, seconds: float) -> None:
    data = {
        "networks": {"f": {}},
        "hosts": {"a": {"networks": ["f"]}},
        "vips": {"v": {"network": "f", "members": {"a": 1}, "advert_int": value, "vrrp_version": 3}},
    }
    assert topology_from_dict(data).vips["v"].advert_int == seconds


def test_an_advert_int_that_is_not_a_duration_says_what_is_allowed() -> None:
    data = {"networks": {"f": {}}, "hosts": {"a": {"networks": ["f"]}}, "vips": {"v": {"network": "f", "members": {"a": 1}, "advert_int": "fast"}}}
    with pytest.raises(UsageError) as expected:
        parse_duration("fast", "advert_int")
    with pytest.raises(SpecError) as info:
        topology_from_dict(data)
    assert info.value.problems == [f"<python>: vips.v.advert_int: {expected.value}"]
