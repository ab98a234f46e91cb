"""The VIP handle without Docker: owners as `Owners`, waiting for a (sole) owner, the RFC 5798 window from the spec."""

from __future__ import annotations

import threading

import pytest

from chaos.errors import LabError, RecoveryTimeout, UsageError
from chaos.host import Host
from chaos.spec.model import Attachment, HostSpec, VipSpec
from chaos.vips import Owners, Vip, keepalived

ADDRESS = "10.77.0.250"


class PaperHost(Host):
    """A member host whose address state a test sets (`holds` asks no engine)."""

    def __init__(self, name: str) -> None:
        super().__init__(HostSpec(name, (Attachment("front"),)), None, f"chaos-paper-{name}", {}, {"front": "paper-front"})  # type: ignore[arg-type]
        self.holding = False

    def holds(self, address: str) -> bool:
        return self.holding and address == ADDRESS


def pair(advert_int: float = 1.0, lb2_priority: int = 100) -> tuple[Vip, PaperHost, PaperHost]:
    lb1, lb2 = PaperHost("lb1"), PaperHost("lb2")
    spec = VipSpec("www", "front", {"lb1": 150, "lb2": lb2_priority}, advert_int=advert_int, virtual_router_id=51)
    return Vip(spec, ADDRESS, {"lb1": lb1, "lb2": lb2}), lb1, lb2


def test_the_live_owners_are_an_owners_equal_to_a_list() -> None:
    # Before: a list here and a tuple in the history, so the same literal matched one and not the other.
    www, lb1, lb2 = pair()
    lb1.holding = lb2.holding = True
    owners = www.owners()
    assert isinstance(owners, Owners)
    assert owners == ["lb1", "lb2"] and owners == ("lb2", "lb1")
    lb1.holding = False
    assert www.owners() == ["lb2"] and www.owners().sole == "lb2"


def test_wait_owner_returns_while_another_member_still_holds_but_sole_waits() -> None:
    www, lb1, lb2 = pair()
    lb1.holding = lb2.holding = True  # a split brain, or the instant of a preemption
    assert www.wait_owner("lb1", within="1s", interval="10ms") < 1.0
    with pytest.raises(RecoveryTimeout) as info:
        www.wait_owner("lb1", within="300ms", interval="10ms", sole=True)
    assert isinstance(info.value.last, Owners) and info.value.last == ["lb1", "lb2"]
    assert "waiting for lb1 alone to hold VIP www (10.77.0.250)" in str(info.value)
    timer = threading.Timer(0.2, lambda: setattr(lb2, "holding", False))
    timer.start()
    waited = www.wait_owner(lb1, within="5s", interval="10ms", sole=True)  # a handle works as well as a name
    timer.join()
    assert 0.15 < waited < 4.0


def test_wait_owner_takes_durations_and_refuses_what_is_not_one() -> None:
    www, lb1, _ = pair()
    lb1.holding = True
    assert www.wait_owner("lb1", within=2, interval=0.01) < 1.0
    with pytest.raises(UsageError, match="within='ten seconds' is not a duration"):
        www.wait_owner("lb1", within="ten seconds")
    with pytest.raises(UsageError, match="interval=-1 is not a duration"):
        www.wait_owner("lb1", interval=-1)


def test_a_host_that_is_not_a_member_is_refused_by_name_or_handle() -> None:
    www, _, _ = pair()
    with pytest.raises(LabError, match="'client' is not a member of VIP 'www'; members: lb1, lb2"):
        www.wait_owner("client")
    with pytest.raises(LabError, match="'client' is not a member"):
        www.takeover_window(PaperHost("client"))
    with pytest.raises(UsageError, match="host=3 is not a host"):
        www.watch_owner(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("advert_int", "priority"), [(1.0, 100), (1.0, 254), (0.5, 200), (3.0, 1)])
def test_the_takeover_window_comes_from_the_spec(advert_int: float, priority: int) -> None:
    # Before: chaos.vips.keepalived.takeover_window(www.spec.members["lb2"], www.spec.advert_int) by hand.
    www, _, lb2 = pair(advert_int, priority)
    assert www.takeover_window("lb2") == keepalived.takeover_window(priority, advert_int)
    assert www.takeover_window(lb2) == www.takeover_window("lb2")
    assert www.master_down_interval("lb2") == keepalived.master_down_interval(priority, advert_int)
    assert www.takeover_window("lb1") == keepalived.takeover_window(150, advert_int)


def test_the_window_is_rfc_5798s() -> None:
    www, _, _ = pair()
    earliest, latest = www.takeover_window("lb2")
    assert latest == www.master_down_interval("lb2") == 3 * 1.0 + (256 - 100) * 1.0 / 256
    assert latest - earliest == www.spec.advert_int


def test_assert_single_owner_names_the_owners() -> None:
    www, lb1, lb2 = pair()
    lb1.holding = lb2.holding = True
    with pytest.raises(AssertionError, match=r"held by 2 members: lb1\+lb2; expected exactly one"):
        www.assert_single_owner()
    lb1.holding = False
    assert www.assert_single_owner() == "lb2"
