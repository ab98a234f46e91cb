"""The ucarp provider: its fields and their refusals, the files each member runs, and its takeover bound."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from chaos import SpecError, providers, topology_from_dict
from chaos.providers import ucarp
from chaos.vips import placement

SUBNETS = {"front": "10.9.0.0/24"}


def data(**vip: Any) -> dict[str, Any]:
    return {
        "name": "pair",
        "networks": {"front": {"subnet": "10.9.0.0/24"}},
        "hosts": {"lb1": {"networks": ["front"]}, "lb2": {"networks": ["front"]}, "client": {"networks": ["front"]}},
        "vips": {"www": {"network": "front", "provider": "ucarp", "members": {"lb1": 0, "lb2": 100}, **vip}},
    }


def problems(**vip: Any) -> list[str]:
    with pytest.raises(SpecError) as info:
        topology_from_dict(data(**vip))
    return info.value.problems


def test_defaults_lowest_free_vhid_one_second_preempt_and_no_password_given():
    www = topology_from_dict(data()).vips["www"]
    assert (www.provider, dict(www.members), www.virtual_router_id, www.advert_int, www.preempt, www.password) == (
        "ucarp",
        {"lb1": 0, "lb2": 100},
        1,
        1.0,
        True,
        None,
    )


def test_fields_are_kept():
    www = topology_from_dict(data(vhid=7, advbase="2s", password="s3cret", preempt=False)).vips["www"]
    assert (www.virtual_router_id, www.advert_int, www.password, www.preempt) == (7, 2.0, "s3cret", False)


def test_vhids_share_one_space_per_network_with_vrrp_router_ids():
    spec = data()
    spec["vips"]["api"] = {"network": "front", "provider": "ucarp", "members": {"lb1": 0}, "vhid": 1}
    with pytest.raises(SpecError) as info:
        topology_from_dict({**spec, "vips": {**spec["vips"], "www": {**spec["vips"]["www"], "vhid": 1}}})
    assert info.value.problems == ["<python>: vips.api.vhid: 1 is already used on network 'front' by VIP 'www'"]
    spec["vips"]["api"].pop("vhid")
    assert topology_from_dict(spec).vips["api"].virtual_router_id == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vhid", 0, "vips.www.vhid: 0 is out of range; allowed: 1 to 255"),
        ("vhid", "one", "vips.www.vhid: expected a whole number from 1 to 255, got a string"),
        ("advbase", 0.5, "vips.www.advbase: expected whole seconds from 1 to 255 (ucarp has no fractions), got 0.5"),
        ("advbase", "500ms", "vips.www.advbase: expected whole seconds from 1 to 255 (ucarp has no fractions), got 0.5"),
        ("advbase", 0, "vips.www.advbase: expected whole seconds from 1 to 255 (ucarp has no fractions), got 0"),
        ("password", "", "vips.www.password: expected a non-empty string, got a string"),
        ("password", "x" * 20, "vips.www.password: is 20 bytes long; ucarp allows at most 19"),
        ("preempt", "yes", "vips.www.preempt: expected true or false, got a string"),
    ],
)
def test_each_bad_ucarp_field_gets_one_line(field: str, value: object, message: str):
    assert problems(**{field: value}) == [f"<python>: {message}"]


@pytest.mark.parametrize("field", ["vrrp_version", "virtual_router_id", "advert_int"])
def test_keepalived_fields_are_refused_for_ucarp(field: str):
    assert problems(**{field: 2}) == [
        f"<python>: vips.www.{field}: a keepalived field, not valid for provider ucarp; ucarp takes: vhid, advbase, password, preempt"
    ]


@pytest.mark.parametrize("field", ["vhid", "advbase", "password"])
def test_ucarp_fields_are_refused_for_keepalived(field: str):
    spec = data(**{field: 1})
    spec["vips"]["www"].update(provider="keepalived", members={"lb1": 150, "lb2": 100})
    with pytest.raises(SpecError) as info:
        topology_from_dict(spec)
    assert info.value.problems == [
        f"<python>: vips.www.{field}: a ucarp field, not valid for provider keepalived; "
        "keepalived takes: advert_int, virtual_router_id, vrrp_version, preempt"
    ]


def test_the_member_number_is_an_advskew_from_0():
    spec = data()
    spec["vips"]["www"]["members"] = {"lb1": 255, "lb2": "low"}
    with pytest.raises(SpecError) as info:
        topology_from_dict(spec)
    assert info.value.problems == [
        "<python>: vips.www.members.lb1: advskew 255 is out of range; allowed: 0 to 254",
        "<python>: vips.www.members.lb2: expected an advskew (a whole number from 0 to 254), got a string",
    ]


def test_unknown_key_lists_the_ucarp_keys():
    assert problems(priority=1) == [
        "<python>: vips.www.priority: unknown key; allowed: network, members, provider, address, vhid, advbase, password, preempt"
    ]


def member_files(host: str, **vip: Any) -> dict[str, bytes]:
    topology = topology_from_dict(data(**vip))
    return placement.member_files(topology, host, placement.vip_addresses(topology, SUBNETS), SUBNETS)


def test_each_member_runs_ucarp_through_a_launcher_the_agent_renders():
    files = member_files("lb2", password="s3cret")
    [daemon] = json.loads(files[placement.DAEMONS_PATH])
    assert daemon == {
        "name": "ucarp www",
        "argv": ["/bin/sh", "/run/chaos/ucarp-www.sh"],
        "templates": [["/etc/chaos/ucarp-www.sh.in", "/run/chaos/ucarp-www.sh"]],
    }
    launcher = files["/etc/chaos/ucarp-www.sh.in"].decode().splitlines()[-1]
    assert shlex.split(launcher) == [
        "exec",
        "ucarp",
        "--interface=${iface:10.9.0.0/24}",
        "--srcip=10.9.0.3",  # lb2's own address: lb1 has .2, the VIP the top
        "--vhid=1",
        "--pass=s3cret",
        "--addr=10.9.0.254",
        "--advbase=1",
        "--advskew=100",
        "--upscript=/etc/chaos/ucarp-www-up",
        "--downscript=/etc/chaos/ucarp-www-down",
        "--xparam=24",
        "--neutral",
        "--shutdown",
        "--preempt",
    ]


def test_no_preempt_and_the_derived_password_is_the_same_on_every_member():
    lb1, lb2 = (member_files(h, preempt=False)["/etc/chaos/ucarp-www.sh.in"].decode() for h in ("lb1", "lb2"))
    assert "--preempt" not in lb1
    password = f"--pass={ucarp.default_password('pair', 'www')}"
    assert password in lb1 and password in lb2
    assert ucarp.default_password("pair", "www") != ucarp.default_password("other", "www")


def test_a_password_with_shell_characters_reaches_ucarp_as_one_word():
    launcher = member_files("lb1", password="a b'$c")["/etc/chaos/ucarp-www.sh.in"].decode().splitlines()[-1]
    assert "--pass=a b'$c" in shlex.split(launcher)


def test_up_and_down_scripts_add_and_remove_the_address_and_say_so():
    files = member_files("lb1")
    up, down = files["/etc/chaos/ucarp-www-up"].decode(), files["/etc/chaos/ucarp-www-down"].decode()
    assert up.startswith("#!/bin/sh\n") and down.startswith("#!/bin/sh\n")  # ucarp execs them: no shell of its own
    assert up.splitlines()[-1] == 'exec ip addr add "$2/$3" dev "$1"'
    assert down.splitlines()[-1] == 'exec ip addr del "$2/$3" dev "$1"'
    assert 'echo "ucarp www: ip addr add $2/$3 dev $1"' in up


def test_a_host_outside_every_ucarp_vip_gets_no_files():
    assert member_files("client") == {}


def test_takeover_bound_follows_ucarps_poll_loop():
    # 3 x (advbase + advskew/256): the third poll wake-up after the last advert read, read up to 1 s late.
    assert ucarp.master_down_interval(100, 1) == pytest.approx(3 * (1 + 100 / 256) + 1)
    assert ucarp.master_down_interval(100, 2) == pytest.approx(3 * (2 + 100 / 256) + 1)
    # advskew 0: the wake-up and the timer coincide, so one more advbase may pass.
    assert ucarp.master_down_interval(0, 1) == 5.0
    # The master advertised every advbase + its skew/256: that is how much earlier it can be.
    assert ucarp.takeover_window(100, 1, master_advskew=0) == (pytest.approx(3.171875), pytest.approx(5.171875))
    assert ucarp.takeover_window(100, 1, master_advskew=50) == (pytest.approx(4.171875 - 1 - 50 / 256), pytest.approx(5.171875))


def test_the_provider_window_uses_the_lowest_other_skew_as_the_master():
    www = topology_from_dict(data()).vips["www"]
    assert providers.provider("ucarp").takeover_window(www, "lb2") == ucarp.takeover_window(100, 1, 0)
    assert providers.provider("ucarp").master_down_interval(www, "lb2") == pytest.approx(5.171875)


def test_state_comes_from_the_scripts_lines_of_the_current_life_only():
    www = topology_from_dict(data()).vips["www"]
    state = providers.provider("ucarp").state
    started = "chaos-agent[lb1]: starting ucarp www: /bin/sh /run/chaos/ucarp-www.sh\n"
    assert state(www, "lb1", "chaos-agent[lb1]: ready\n") is None
    assert state(www, "lb1", started) == "BACKUP"  # ucarp starts as BACKUP and runs no script (--neutral)
    up, down = "ucarp www: ip addr add 10.9.0.254/24 dev eth0\n", "ucarp www: ip addr del 10.9.0.254/24 dev eth0\n"
    assert state(www, "lb1", started + up) == "MASTER"
    assert state(www, "lb1", started + up + down) == "BACKUP"
    assert state(www, "lb1", started + up + started) == "BACKUP"  # after power_on, the old life does not count
    assert state(www, "lb1", started + "ucarp api: ip addr add 10.9.0.253/24 dev eth0\n") == "BACKUP"  # another VIP's line
