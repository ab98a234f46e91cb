"""Network faults bound to a paper lab: targets, grudges, filters, claims and validation, without Docker.

Only the two calls that would reach a host are replaced: the sweep a lab gets before its first
network fault, and the netem probe. Applying is replaced where a test injects (to see claims clash).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from chaos import faults
from chaos._internal.stash import Stash
from chaos.errors import FaultError
from chaos.faults import network
from chaos.host import Host
from chaos.net import apply as net_apply
from chaos.spec.model import Attachment, HostSpec
from chaos.timeline import Timeline

ADDRESSES = {"lb1": "10.9.0.2", "lb2": "10.9.0.3", "client": "10.9.0.4"}


class PaperHost(Host):
    """A host handle with addresses and no container behind it."""

    def __init__(self, name: str, address: str) -> None:
        super().__init__(HostSpec(name, (Attachment("front"),)), None, f"chaos-paper-{name}", {}, {"front": "paper-front"})  # type: ignore[arg-type]
        self._paper = {"front": address}

    @property
    def addresses(self) -> dict[str, str]:
        return dict(self._paper)


@dataclass
class PaperNetwork:
    subnet: str


@dataclass
class PaperOwner:
    session: str = "0badcafe"


@dataclass
class PaperLab:
    name: str = "paper"
    hosts: dict[str, Host] = field(default_factory=lambda: {n: PaperHost(n, a) for n, a in ADDRESSES.items()})
    networks: dict[str, PaperNetwork] = field(default_factory=lambda: {"front": PaperNetwork("10.9.0.0/24")})
    timeline: Timeline = field(default_factory=Timeline)
    owner: PaperOwner = field(default_factory=PaperOwner)
    engine: object = None
    stash: Stash = field(default_factory=Stash)

    def __hash__(self) -> int:
        return id(self)


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> PaperLab:
    swept: list[PaperLab] = []
    monkeypatch.setattr(network, "_sweep_once", swept.append)
    monkeypatch.setattr(net_apply, "netem_available", lambda lab, host: False)
    paper = PaperLab()
    paper.swept = swept  # type: ignore[attr-defined]
    return paper


@pytest.fixture
def applied_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Injects "apply" by writing down the fault instead of touching hosts."""
    done: list[str] = []

    def inject(applied, changes, what):
        done.append(what)
        return time.time()

    monkeypatch.setattr(net_apply, "inject", inject)
    monkeypatch.setattr(net_apply, "heal", lambda applied: time.time())
    return done


def bodies(run, host: str) -> list[str]:
    change = run.fault.changes(run)[host]
    return [f"{r.hook} {r.body}" for r in change.rules]


def test_one_group_is_cut_from_the_rest_of_the_lab(lab):
    run = faults.partition("lb1").on(lab)
    assert run.targets == ("lb1", "lb2", "client")
    assert run.data.grudge == {"lb1": {"lb2", "client"}, "lb2": {"lb1"}, "client": {"lb1"}}
    assert sorted(bodies(run, "lb2")) == ["INPUT -s 10.9.0.2/32 -j DROP", "OUTPUT -d 10.9.0.2/32 -j DROP"]
    assert str(run.fault) == "partition(lb1)"
    assert lab.swept == [lab]


def test_groups_can_be_spelled_as_arguments_or_as_one_list(lab):
    spread = faults.partition("lb1", ["lb2", "client"]).on(lab)
    listed = faults.partition([["lb1"], ["lb2", "client"]]).on(lab)
    assert spread.data.grudge == listed.data.grudge


def test_a_vrrp_only_partition_touches_only_the_pair_and_only_protocol_112(lab):
    run = faults.partition("lb1", "lb2", protocol="vrrp").on(lab)
    assert run.targets == ("lb1", "lb2")
    assert sorted(bodies(run, "lb1")) == ["INPUT -s 10.9.0.3/32 -p 112 -j DROP", "OUTPUT -d 10.9.0.3/32 -p 112 -j DROP"]
    assert str(run.fault) == "partition(lb1|lb2, protocol=vrrp)"


def test_one_way_drops_in_one_direction_only(lab):
    run = faults.one_way("client", "lb1").on(lab)
    assert run.data.grudge == {"lb1": {"client"}}
    assert bodies(run, "lb1") == ["INPUT -s 10.9.0.4/32 -j DROP"]
    assert bodies(run, "client") == ["OUTPUT -d 10.9.0.2/32 -j DROP"]
    assert str(run.fault) == "one_way(client->lb1)"


def test_partition_by_a_strategy_replays_with_the_same_seed(lab):
    first = faults.partition_by("bisect").on(lab, rng=42).data.grudge
    again = faults.partition_by("bisect").on(lab, rng=42).data.grudge
    assert first == again
    drawn = {frozenset(faults.partition_by("split_one").on(lab, rng=seed).data.grudge.items()) for seed in range(30)}
    assert len(drawn) == 3, "split_one over shuffled hosts isolates each of the three hosts for some seed"


def test_cut_links_cuts_only_the_named_links(lab):
    run = faults.cut_links([("lb1", "lb2")]).on(lab)
    assert run.data.grudge == {"lb1": {"lb2"}, "lb2": {"lb1"}}
    assert run.targets == ("lb1", "lb2")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (faults.partition("lb9"), "unknown host 'lb9' in 'lb9'; the lab's hosts: lb1, lb2, client"),
        (faults.partition("lb1", network="back"), "unknown network 'back'; the lab's networks: front"),
        (faults.partition("lb1", "lb1"), "cuts no link"),
        (faults.partition("lb1", ["lb1", "lb2", "client"]), "cuts no link"),
        (faults.partition("all"), "leaves no other host"),
        (faults.one_way("lb1", ["lb1", "lb2"]), "cannot cut a host off from itself: lb1"),
        (faults.delay("lb1", "100ms", path="netem"), "no sch_netem; available: path='userspace'"),
        (faults.loss("lb1", 0.1, to="lb7"), "unknown host 'lb7'"),
    ],
)
def test_bad_input_gets_one_clear_message_at_bind_time(lab, fault, message):
    with pytest.raises(FaultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fault.on(lab)
    assert lab.swept == [], "a fault refused at bind time touched the lab"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: faults.loss("lb1", 130), "loss=130 is not a share"),
        (lambda: faults.delay("lb1", "soon"), "delay='soon' is not a duration"),
        (lambda: faults.jitter("lb1", "-5ms"), "jitter='-5ms' is not a duration"),
        (lambda: faults.rate("lb1", "fast"), "'fast' is not a rate"),
        (lambda: faults.duplicate("lb1", 0), "needs a delay, or a duplicate or corrupt share above zero"),
        (lambda: faults.partition("lb1", protocol="vrpp"), "unknown protocol 'vrpp'; use a number 0..255 or one of: icmp"),
        (lambda: faults.blackhole("lb1", 80, protocol="icmp"), "protocol 'icmp' has no ports"),
        (lambda: faults.blackhole("lb1", [80, 70000]), r"port 70000 is not a port number \(1\.\.65535\)"),
        (lambda: faults.partition_by("halves"), "unknown partition strategy 'halves'; strategies: bisect, split_one"),
        (lambda: faults.delay("lb1", "100ms", path="tc"), "unknown shaping path 'tc'"),
        (lambda: faults.cut_links([("lb1", "lb1")]), "a link from lb1 to itself cannot be cut"),
        (lambda: faults.cut_links([]), "needs at least one"),
    ],
)
def test_bad_arguments_are_refused_when_the_fault_is_built(build, message):
    with pytest.raises(FaultError, match=message):
        build()


def test_the_same_cut_twice_is_refused_but_another_cut_is_not(lab, applied_here):
    faults.partition("lb1").on(lab).inject()
    with pytest.raises(FaultError, match=r"is already injected on partition client->lb1"):
        faults.partition("lb1", "client").on(lab).inject()
    with pytest.raises(FaultError, match="partition lb1->lb2"):
        faults.one_way("lb1", "lb2").on(lab).inject()
    faults.partition("lb2", "client").on(lab).inject()  # a different link: an overlapping partition is fine
    faults.partition("lb1", "client", protocol="tcp").on(lab).inject()  # the same link, another filter
    assert applied_here == ["partition(lb1)", "partition(lb2|client)", "partition(lb1|client, protocol=tcp)"]


def test_the_same_degradation_twice_on_a_host_is_refused(lab, applied_here):
    first = faults.delay("lb1", "50ms").on(lab)
    first.inject()
    with pytest.raises(FaultError, match="already injected on delay lb1"):
        faults.delay("lb1", "80ms").on(lab).inject()
    stacked = faults.duplicate("lb1", 0.05).on(lab)
    stacked.inject()  # a different degradation stacks on the same host
    assert first.is_active and stacked.is_active and applied_here == [str(first.fault), str(stacked.fault)]


def test_degradations_aim_at_peers_or_a_network_and_pick_a_path(lab):
    towards = faults.loss("lb1", 0.3, to=["lb2", "client"]).on(lab)
    assert towards.data.destinations == ("10.9.0.3", "10.9.0.4")
    assert next(r.body for r in towards.fault.changes(towards)["lb1"].rules).startswith("! -o lo -d 10.9.0.3 -m statistic")
    on_network = faults.rate("lb1", "1mbit", network="front").on(lab)
    degrade = on_network.fault.changes(on_network)["lb1"].degrade
    assert degrade is not None and degrade.destinations == ("10.9.0.0/24",) and degrade.leaf == "tbf rate 1000000bit burst 3028 latency 100ms"
    shaped = faults.delay("lb1", "100ms", jitter="10ms").on(lab)
    assert shaped.data.path == "userspace"
    degrade = shaped.fault.changes(shaped)["lb1"].degrade
    assert degrade is not None and degrade.shape is not None and (degrade.shape.delay_ms, degrade.shape.jitter_ms) == (100, 10)


def test_with_netem_the_same_fault_becomes_a_netem_leaf(lab, monkeypatch):
    monkeypatch.setattr(net_apply, "netem_available", lambda lab, host: True)
    run = faults.reorder("lb1", 0.25, delay="20ms").on(lab)
    assert run.data.path == "netem"
    degrade = run.fault.changes(run)["lb1"].degrade
    assert degrade is not None and degrade.leaf == "netem limit 1000 delay 20ms reorder 25%"
    assert faults.jitter("lb1", "20ms").shape().delay_ms == 20, "jitter alone varies around a delay of its own size"


def test_binding_a_network_fault_sweeps_the_lab_first(lab):
    faults.partition("lb1").on(lab)
    assert lab.swept == [lab]


def test_the_real_sweep_runs_once_per_lab_and_the_lab_keeps_that_it_did(monkeypatch):
    calls: list[object] = []
    monkeypatch.setattr(net_apply, "sweep", lambda lab, hosts=None: calls.append(lab))
    paper, other = PaperLab(), PaperLab()
    network._sweep_once(paper)  # type: ignore[arg-type]
    network._sweep_once(paper)  # type: ignore[arg-type]
    network._sweep_once(other)  # type: ignore[arg-type]
    assert calls == [paper, other]
    assert net_apply.lab_net(paper) is net_apply.lab_net(paper) is not net_apply.lab_net(other), "per-lab state lives in each lab's stash"


def test_a_blackhole_on_one_network_drops_only_at_that_address(lab):
    run = faults.blackhole("lb1", [80, 443], sources="client", network="front").on(lab)
    assert bodies(run, "lb1") == ["INPUT -s 10.9.0.4 -d 10.9.0.2/32 -p tcp -m multiport --dports 80,443 -j DROP"]
    anywhere = faults.blackhole("lb1", 53, protocol=None).on(lab)
    assert bodies(anywhere, "lb1") == [
        "INPUT -p tcp -m multiport --dports 53 -j DROP",
        "INPUT -p udp -m multiport --dports 53 -j DROP",
    ]
    assert [str(c) for c in anywhere.claims] == ["blackhole lb1:tcp+udp/53"]
