"""How to assert on a host's state with testinfra: a process, a listening socket, an address on an interface.

Every host handle has a ``testinfra`` property: a testinfra host on the host container (the
``docker://`` backend, through the docker CLI). Anything testinfra knows works there, see
https://testinfra.readthedocs.io/en/latest/modules.html. A workload container shares the
host's network namespace, so sockets and interfaces read the same from either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import faults

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"


@pytest.mark.topology(PAIR)
def test_the_master_runs_keepalived_listens_and_holds_the_vip(lab):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="15s")
    lb1 = lab.hosts["lb1"].testinfra

    # A process: keepalived runs (by its command name), as root.
    [keepalived, *_] = lb1.process.filter(comm="keepalived")
    assert keepalived.user == "root"
    assert "/run/chaos/keepalived.conf" in keepalived.args

    # A listening socket: the agent answers HTTP on port 80 and TCP and UDP on 9000.
    assert lb1.socket("tcp://0.0.0.0:80").is_listening
    assert lb1.socket("tcp://0.0.0.0:9000").is_listening
    assert lb1.socket("udp://0.0.0.0:9000").is_listening
    assert not lb1.socket("tcp://0.0.0.0:22").is_listening  # no SSH in a lab host

    # An address on an interface: the master has its own address and the VIP on eth0.
    eth0 = lb1.interface("eth0")
    assert eth0.exists
    assert lab.hosts["lb1"].address("front") in eth0.addresses
    assert www.address in eth0.addresses


@pytest.mark.topology(PAIR)
def test_after_a_failover_the_backup_holds_the_vip_and_the_old_master_is_gone(lab, chaos):
    www = lab.vips["www"]
    www.wait_owner("lb1", within="15s")
    assert www.address not in lab.hosts["lb2"].testinfra.interface("eth0").addresses

    chaos.inject(faults.kill_process("lb1", "keepalived", "SIGTERM"))  # keepalived lets go and exits; the host lives on
    www.wait_owner("lb2", within="10s")

    lb1, lb2 = lab.hosts["lb1"].testinfra, lab.hosts["lb2"].testinfra
    assert lb1.process.filter(comm="keepalived") == []
    assert lb1.socket("tcp://0.0.0.0:80").is_listening  # only keepalived died
    assert www.address not in lb1.interface("eth0").addresses
    assert www.address in lb2.interface("eth0").addresses
