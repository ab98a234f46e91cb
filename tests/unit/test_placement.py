"""VIP addresses and member files, computed from the topology alone."""

from __future__ import annotations

import json

from chaos import topology_from_dict
from chaos.vips import keepalived, placement

TOPOLOGY = topology_from_dict(
    {
        "networks": {"front": {"subnet": "10.9.0.0/24"}, "back": {}},
        "hosts": {
            "lb1": {"networks": [{"network": "front", "address": "10.9.0.254"}, "back"]},
            "lb2": {"networks": ["front", "back"]},
            "client": {"networks": ["front"]},
        },
        "vips": {
            "www": {"network": "front", "members": {"lb1": 150, "lb2": 100}},
            "api": {"network": "front", "members": {"lb1": 100, "lb2": 150}},
            "db": {"network": "back", "members": {"lb2": 10}, "address": None},
        },
    }
)
SUBNETS = {"front": "10.9.0.0/24", "back": "172.30.0.0/16"}


def test_automatic_addresses_count_down_from_the_top_skipping_static_ones():
    assert placement.vip_addresses(TOPOLOGY, SUBNETS) == {"www": "10.9.0.253", "api": "10.9.0.252", "db": "172.30.255.254"}


def test_members_get_one_keepalived_config_with_an_instance_per_vip():
    addresses = placement.vip_addresses(TOPOLOGY, SUBNETS)
    files = placement.member_files(TOPOLOGY, "lb2", addresses, SUBNETS)
    config = files[keepalived.CONFIG_TEMPLATE_PATH].decode()
    assert [line.split()[1] for line in config.splitlines() if line.startswith("vrrp_instance")] == ["www", "api", "db"]
    assert "10.9.0.253/24 dev ${iface:10.9.0.0/24}" in config and "172.30.255.254/16 dev ${iface:172.30.0.0/16}" in config
    assert [d["name"] for d in json.loads(files[placement.DAEMONS_PATH])] == ["keepalived"]


def test_a_host_in_no_vip_gets_no_files():
    assert placement.member_files(TOPOLOGY, "client", placement.vip_addresses(TOPOLOGY, SUBNETS), SUBNETS) == {}


def test_host_addresses_fill_from_the_bottom_around_static_ones():
    addresses = placement.host_addresses(TOPOLOGY, SUBNETS, placement.vip_addresses(TOPOLOGY, SUBNETS))
    assert addresses == {
        ("lb1", "front"): "10.9.0.254",
        ("lb1", "back"): "172.30.0.2",
        ("lb2", "front"): "10.9.0.2",
        ("lb2", "back"): "172.30.0.3",
        ("client", "front"): "10.9.0.3",
    }
