"""Process and container faults on the real engine, proven with traffic between lab hosts, and healed back to the baseline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaos import faults
from chaos.errors import FaultError
from chaos.expect import eventually
from chaos_inlab.protocol import serve_argv

PAIR = Path(__file__).resolve().parents[2] / "suites" / "keepalived" / "pair.yaml"

SLACK = 0.15
"""Seconds around the RFC 5798 takeover window, as in test_measure_rfc.py: keepalived's timer scheduling
on a busy machine (tens of ms) plus the netlink watcher's report of the new address (a few ms)."""

# A workload that answers TCP on 8080 with its name, inside its host's network namespace.
WEB = serve_argv("web", tcp=8080)
APP = {
    "networks": {"front": {}},
    "hosts": {"app": {"networks": ["front"], "containers": {"web": {"image": "chaos/host", "command": WEB}}}, "client": {"networks": ["front"]}},
}


def answers(lab, address: str, protocol: str = "tcp", port: int | None = None) -> str | None:
    """Who answered one probe from the client (None: nobody within half a second)."""
    argv = ["chaos-probe", protocol, address, *([str(port)] if port else []), "--timeout", "0.5"]
    result = lab.hosts["client"].exec(argv)
    return result.stdout.strip() if result.ok else None


def web_answers(lab, address: str) -> None:
    """The workload answers on 8080 soon: it runs when its container starts, and listens a moment later."""
    eventually(lambda: answers(lab, address, port=8080), until=lambda who: who == "web", within=5, what="the web workload to answer")


def owners_become(www, expected: list[str], within: float = 10.0) -> None:
    eventually(www.owners, until=lambda owners: owners == expected, within=within, what=f"{expected} alone to hold {www.name}")


@pytest.mark.topology(APP)
def test_kill_a_workload_leaves_the_host_answering_and_heal_starts_it_again(lab, chaos):
    app = lab.hosts["app"]
    address = app.address("front")
    web_answers(lab, address)  # the workload listens a moment after its container starts
    with chaos.inject(faults.kill("app", container="web")) as run:
        assert not app.is_running("web") and app.is_running()
        assert answers(lab, address, port=8080) is None
        assert answers(lab, address) == "app", "the host itself still answers"
        finished = lab.engine.state(app.workloads["web"]).finished_at
        assert run.effective is not None and finished == pytest.approx(lab.timeline.origin + run.effective, abs=0.001)
    assert app.is_running("web")
    web_answers(lab, address)


@pytest.mark.topology(APP)
def test_sigterm_to_the_host_container_stops_it_and_heal_brings_the_host_back_whole(lab, chaos):
    app = lab.hosts["app"]
    address = app.address("front")
    run = chaos.inject(faults.kill("app", "SIGTERM"))
    assert not app.is_running(), "the agent exits on SIGTERM"
    assert answers(lab, address) is None
    chaos.heal(run)
    assert app.address("front") == address
    assert answers(lab, address) == "app"
    web_answers(lab, address)


@pytest.mark.topology(APP)
def test_a_signal_the_container_survives_takes_effect_when_sent(lab, chaos):
    app = lab.hosts["app"]
    run = chaos.inject(faults.kill("app", "SIGUSR2"))  # PID 1 has no handler for it: the kernel drops it
    assert app.is_running() and answers(lab, app.address("front")) == "app"
    assert run.effective is not None and run.effective - run.requested < 1.5


@pytest.mark.topology(APP)
def test_stop_then_start_heals_the_stop(lab, chaos):
    app = lab.hosts["app"]
    address = app.address("front")
    stopped = chaos.inject(faults.stop("app", container=faults.EVERY_CONTAINER, timeout=2))
    assert not app.is_running() and not app.is_running("web")
    assert answers(lab, address) is None
    started = chaos.inject(faults.start("app"))
    assert not stopped.is_active and chaos.active == [] and chaos.last is started
    assert answers(lab, address) == "app"
    web_answers(lab, address)
    assert "heal   #0 stop(app) timeout=2s container=* done" in lab.timeline.render()


@pytest.mark.topology(APP)
def test_restart_brings_a_container_back_with_a_new_start_time(lab, chaos):
    app = lab.hosts["app"]
    web = app.workloads["web"]
    started_before = lab.engine.state(web).started_at
    run = chaos.inject(faults.restart("app", container="web", timeout=1))
    assert not run.is_active, "a restart is an action: nothing to heal"
    assert lab.engine.state(web).started_at > started_before
    web_answers(lab, app.address("front"))
    host_started = lab.engine.state(app.container).started_at
    chaos.inject(faults.restart("app", timeout=1))
    assert lab.engine.state(app.container).started_at > host_started
    assert answers(lab, app.address("front")) == "app"
    web_answers(lab, app.address("front"))  # restarted after the host, in its new namespace


@pytest.mark.topology(PAIR)
def test_pause_longer_than_the_takeover_window_hands_the_vip_to_lb2_and_resume_takes_it_back(lab, chaos):
    www, lb1 = lab.vips["www"], lab.hosts["lb1"]
    earliest, latest = www.takeover_window("lb2")
    owners_become(www, ["lb1"])
    address = lb1.address("front")
    assert answers(lab, address) == "lb1"
    paused = chaos.inject(faults.pause("lb1"))
    assert lab.engine.state(lb1.container).paused
    for protocol in ("tcp", "http", "udp"):
        assert answers(lab, address, protocol) is None, f"{protocol} answered from a frozen host"
    with pytest.raises(FaultError, match=r"pause\(lb1\) is already injected on container lb1 \(active #0 pause\(lb1\)"):
        chaos.inject(faults.pause("lb1"))
    # Frozen, keepalived on lb1 sends no adverts: lb2 takes over inside the RFC window, while lb1 is still frozen.
    www.wait_owner("lb2", within=latest + 2)
    assert lab.engine.state(lb1.container).paused
    taken = next(e.at for e in www.history.events if e.member == "lb2" and e.holds and e.at > paused.requested)
    # The freeze began between the pause request and its return (effective): bound each side by the safe end.
    assert earliest - SLACK <= taken - paused.requested and taken - paused.effective <= latest + SLACK, (
        f"lb2 took the VIP {taken - paused.effective:.3f} s after the pause, outside [{earliest:.3f}, {latest:.3f}] (slack {SLACK} s)"
    )
    chaos.inject(faults.resume("lb1"))
    assert not paused.is_active and not lab.engine.state(lb1.container).paused
    assert answers(lab, address) == "lb1"
    # Thawed, lb1 adverts its higher priority again: lb2 steps back (preemption) and lets the address go.
    owners_become(www, ["lb1"], within=latest + 2)


@pytest.mark.topology(PAIR)
def test_pause_shorter_than_the_takeover_window_leaves_the_vip_with_lb1(lab, chaos):
    www = lab.vips["www"]
    earliest, latest = www.takeover_window("lb2")
    owners_become(www, ["lb1"])
    paused = chaos.inject(faults.pause("lb1"))
    time.sleep(earliest / 2)
    resumed = chaos.inject(faults.resume("lb1"))
    # The freeze lay between the pause request and the resume's return: at most that long.
    frozen_at_most = resumed.effective - paused.requested
    assert frozen_at_most < earliest - SLACK, f"the freeze may have lasted {frozen_at_most:.3f} s: too long to prove anything"
    # lb2's timer would have fired by `latest` after the freeze began; wait past it, then read the history.
    time.sleep(max(0.0, paused.requested + latest + SLACK - lab.timeline.now()))
    taken = [e for e in www.history.events if e.member == "lb2" and e.holds and e.at > paused.requested]
    assert taken == [], f"lb2 took the VIP though lb1 was frozen only {frozen_at_most:.3f} s: {www.history.as_report()}"
    assert www.owners() == ["lb1"]


@pytest.mark.topology(PAIR)
def test_sigterm_to_keepalived_hands_the_vip_over_and_heal_takes_it_back(lab, chaos):
    www, lb1 = lab.vips["www"], lab.hosts["lb1"]
    owners_become(www, ["lb1"])
    run = chaos.inject(faults.kill_process("lb1", "keepalived", "SIGTERM"))
    assert lb1.exec(["pgrep", "-x", "keepalived"]).rc == 1 and lb1.is_running()
    # An orderly shutdown sends priority 0: lb2 takes over at once, and lb1 lets the address go.
    owners_become(www, ["lb2"], within=3)
    assert answers(lab, www.address, "http") == "lb2"
    chaos.heal(run)
    assert lb1.exec(["pgrep", "-x", "keepalived"]).ok
    owners_become(www, ["lb1"], within=12)
    assert "Starting Keepalived" in lab.engine.logs(lb1.container, tail=60).split("chaos-agent[lb1]: ready")[-1], "its log reaches the container's"


@pytest.mark.topology(PAIR)
def test_sigkill_to_keepalived_leaves_the_stale_vip_behind_a_split_brain(lab, chaos):
    www = lab.vips["www"]
    owners_become(www, ["lb1"])
    run = chaos.inject(faults.kill_process("lb1", "keepalived"))
    assert run.effective is not None and run.effective >= run.requested
    # SIGKILL: no priority 0 advert, no cleanup. lb2 takes over after Master_Down_Interval,
    # and lb1 keeps the address it had: both hold it. This is what the framework must show.
    earliest, latest = www.takeover_window("lb2")
    owners_become(www, ["lb1", "lb2"], within=latest + 2)
    taken = next(e.at for e in www.history.events if e.member == "lb2" and e.holds and e.at > run.requested)
    assert earliest - SLACK <= taken - run.effective <= latest + SLACK, f"lb2 took over {taken - run.effective:.3f} s after the SIGKILL"
    chaos.heal(run)  # keepalived starts again, drops the stale address, and preempts
    owners_become(www, ["lb1"], within=12)


@pytest.mark.topology(APP)
def test_bad_process_and_container_names_say_what_exists(lab, chaos):
    with pytest.raises(FaultError) as info:
        chaos.inject(faults.kill_process("app", "nginx"))
    message = str(info.value)
    assert "kill_process(app, process=nginx): no process named 'nginx' runs in app; it runs:" in message and "chaos-agent" in message
    with pytest.raises(FaultError, match=r"kill\(app, container=db\): host 'app' has no container 'db'; its workloads: web"):
        chaos.inject(faults.kill("app", container="db"))
    assert lab.hosts["app"].is_running("web") and answers(lab, lab.hosts["app"].address("front")) == "app"
