"""keepalived.conf rendering and the RFC 5798 takeover timing (no Docker)."""

from __future__ import annotations

import pytest

from chaos.errors import SpecError
from chaos.spec.model import VipSpec
from chaos.vips.keepalived import PlacedVip, master_down_interval, render_config, takeover_window


def placed(name: str = "www", **kw: object) -> PlacedVip:
    spec = VipSpec(name=name, network="front", members={"lb1": 150, "lb2": 100}, virtual_router_id=51, **kw)  # type: ignore[arg-type]
    return PlacedVip(spec, "10.77.0.250", "10.77.0.0/24")


def test_render_member() -> None:
    conf = render_config("lb2", [placed()])
    assert conf.endswith("}\n")
    assert "    router_id lb2\n    vrrp_version 2\n" in conf
    block = conf[conf.index("vrrp_instance www {") :]
    assert block.splitlines() == [
        "vrrp_instance www {",
        "    state BACKUP",
        "    interface ${iface:10.77.0.0/24}",
        "    virtual_router_id 51",
        "    priority 100",
        "    advert_int 1",
        "    virtual_ipaddress {",
        "        10.77.0.250/24 dev ${iface:10.77.0.0/24}",
        "    }",
        "}",
    ]


def test_render_options_and_several_vips() -> None:
    conf = render_config("lb1", [placed(vrrp_version=3, advert_int=0.25, preempt=False), placed("api", vrrp_version=3)])
    assert "    vrrp_version 3\n" in conf
    assert "    priority 150\n    advert_int 0.25\n    nopreempt\n" in conf
    assert conf.count("vrrp_instance ") == 2
    assert conf.count("nopreempt") == 1


def test_render_rejects_mixed_vrrp_versions() -> None:
    with pytest.raises(SpecError, match=r"host 'lb1' is a member of VIPs with VRRP versions \[2, 3\]; use one version per host"):
        render_config("lb1", [placed(), placed("api", vrrp_version=3)])


def test_timing() -> None:
    assert master_down_interval(100, 1) == pytest.approx(3.609375)
    assert master_down_interval(254, 0.5) == pytest.approx(1.5 + 2 * 0.5 / 256)
    assert takeover_window(100, 1) == pytest.approx((2.609375, 3.609375))
