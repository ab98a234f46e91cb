"""The VIP and stream API on the real engine: a sole-owner wait that really waits, and programs that leave nothing behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaos import faults
from chaos.errors import RecoveryTimeout
from chaos.expect import eventually
from chaos.host import Host
from chaos.lab import Lab
from chaos.vips import Owners
from chaos.vips.observer import WATCHER
from chaos_inlab import protocol

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"
SOLE_WAIT = 2.0
"""Seconds the sole-owner wait is given in the split brain: it must use them all, then time out."""


def running(host: Host, command: str) -> list[int]:
    """The pids of the processes in ``host`` whose command line names ``command``."""
    found = []
    for line in host.check(["ps", "-e", "-o", "pid=,args="]).stdout.splitlines():
        pid, _, args = line.strip().partition(" ")
        if command in args.split(" ")[0:2] or any(word.endswith(f"/{command}") for word in args.split(" ")[0:2]):
            found.append(int(pid))
    return found


@pytest.mark.topology(PAIR)
def test_in_a_split_brain_wait_owner_returns_but_the_sole_owner_wait_times_out_with_the_owners(lab: Lab, chaos) -> None:
    www = lab.vips["www"]
    www.wait_owner("lb1", within="15s", sole=True)
    # SIGKILL: keepalived cannot take its address back, so lb1 keeps it while lb2 takes over.
    run = chaos.inject(faults.kill_process("lb1", "keepalived"))
    _, latest = www.takeover_window("lb2")
    www.wait_owner("lb2", within=latest + 2)
    # One type for a set of owners: the literal a test writes matches the history's and the live query's.
    www.history.wait_until(lambda owners: owners == ["lb1", "lb2"], within="2s", what="both to hold www")
    assert www.owners() == ["lb1", "lb2"] and isinstance(www.owners(), Owners)

    assert www.wait_owner("lb1", within="1s") < 0.5  # lb1 holds the address: it returns at once, beside lb2
    started = time.monotonic()
    with pytest.raises(RecoveryTimeout) as info:
        www.wait_owner("lb1", within=SOLE_WAIT, sole=True)
    assert time.monotonic() - started >= SOLE_WAIT  # it really waited
    assert isinstance(info.value.last, Owners) and info.value.last == ["lb1", "lb2"]
    assert f"waiting for lb1 alone to hold VIP www ({www.address}); last seen {Owners(['lb1', 'lb2'])!r}" in str(info.value)

    chaos.heal(run)  # keepalived starts again on lb1, drops the stale address and preempts
    www.wait_owner("lb1", within="15s", sole=True)
    assert www.owners() == ["lb1"] and www.assert_single_owner() == "lb1"


@pytest.mark.topology(PAIR)
def test_every_streamed_program_is_gone_from_its_host_once_stopped(lab: Lab, tmp_path: Path) -> None:
    www = lab.vips["www"]
    client, lb2 = lab.hosts["client"], lab.hosts["lb2"]
    www.wait_owner("lb1", within="15s", sole=True)

    # A program that ignores SIGTERM: stop() escalates to SIGKILL.
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(600)"
    with client.spawn(["python3", "-c", stubborn], ready=lambda line: line == "ready") as process:
        assert process.pid in running(client, "python3")
    assert not process.is_running
    assert process.pid not in running(client, "python3")

    # A flow, a capture and an owner watch: each is a RemoteProcess, each stops its own program.
    with lab.traffic.udp("client", www, rate=50) as flow, lab.capture(client, directory=tmp_path) as capture:
        assert running(client, protocol.FLOW) and running(client, protocol.CAPTURE)
        watchers_before = running(lb2, WATCHER)  # the lab's own owner history watches lb2 too
        with www.watch_owner(lb2, within="200ms") as watch:
            assert len(running(lb2, WATCHER)) == len(watchers_before) + 1
        assert watch.taken_at is None  # lb1 holds it throughout
        assert running(lb2, WATCHER) == watchers_before
        # The capture is up when it says so, but an advert comes only once a second (advert_int 1):
        # wait for one rather than hope the block lasted long enough on a busy machine.
        eventually(lambda: capture.adverts(www), until=bool, within="5s", what="an advert of www on the client's capture")
    assert flow.lost == 0 and len(flow.requests) > 0
    assert running(client, protocol.FLOW) == [] and running(client, protocol.CAPTURE) == []

    # The VIP's owner history: one watcher per member, all gone when observing stops.
    assert all(running(lab.hosts[member], WATCHER) for member in www.members)
    www.stop_observing()
    assert [running(lab.hosts[member], WATCHER) for member in www.members] == [[], []]
