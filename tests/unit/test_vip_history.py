"""The VIP owner history: periods, simultaneous owners, handovers, report shape and waiting (no Docker)."""

from __future__ import annotations

import threading
import time

import pytest

from chaos.errors import RecoveryTimeout, UsageError
from chaos.vips import Owners
from chaos.vips.history import Handover, OwnerHistory, OwnerPeriod

ORIGIN = 1_000.0


def history(*events: tuple[float, str, bool, str]) -> OwnerHistory:
    """A history of lb1 and lb2 from ``(seconds on the lab clock, member, holds, cause)``."""
    made = OwnerHistory(["lb1", "lb2"], origin=ORIGIN)
    for at, member, holds, cause in events:
        made.record(member, holds, ORIGIN + at, cause)
    return made


# Times exact in binary, so that epoch minus origin gives them back exactly.
FAILOVER = (
    (0.0625, "lb2", False, "free"),
    (0.125, "lb1", False, "free"),
    (3.375, "lb1", True, "added"),
    (5.0, "lb1", False, "gone"),
    (8.625, "lb2", True, "added"),
)


def test_a_failover_reads_as_three_changes_of_owner() -> None:
    made = history(*FAILOVER)
    assert made.as_report() == [[0.062, []], [3.375, ["lb1"]], [5.0, []], [8.625, ["lb2"]]]
    assert made.periods[1] == OwnerPeriod(3.375, 5.0, ("lb1",))
    assert made.periods[-1].end is None and made.periods[-1].duration is None
    assert made.owners == ("lb2",)
    assert made.max_simultaneous_owners == 1
    assert made.shared_periods == []


def test_a_handover_says_how_long_the_address_was_unowned() -> None:
    [handover] = history(*FAILOVER).handovers
    assert (handover.previous, handover.owner, handover.via) == ("lb1", "lb2", ((),))
    assert handover.seconds == 3.625
    assert not handover.was_shared


def test_events_arriving_out_of_order_are_read_in_time_order() -> None:
    shuffled = history(FAILOVER[4], FAILOVER[0], FAILOVER[3], FAILOVER[2], FAILOVER[1])
    assert shuffled.as_report() == history(*FAILOVER).as_report()


def test_two_holders_count_as_two_and_as_a_shared_period() -> None:
    made = history(*FAILOVER[:3], (4.0, "lb2", True, "added"), (6.5, "lb2", False, "deleted"))
    assert made.max_simultaneous_owners == 2
    assert made.shared_periods == [OwnerPeriod(4.0, 6.5, ("lb1", "lb2"))]
    assert made.as_report()[-2:] == [[4.0, ["lb1", "lb2"]], [6.5, ["lb1"]]]


def test_a_preemption_overlap_counts_strictly_but_can_be_ignored_by_duration() -> None:
    # lb1 comes back and preempts: it adds the address a millisecond before lb2 drops it.
    made = history(*FAILOVER, (20.0, "lb1", True, "added"), (20.0009765625, "lb2", False, "deleted"))
    assert made.max_simultaneous_owners == 2
    assert made.max_owners_lasting(0.05) == 1
    assert made.handovers[-1] == Handover("lb2", "lb1", 20.0, 20.0009765625, (("lb1", "lb2"),))
    assert made.handovers[-1].was_shared


def test_an_ongoing_split_brain_counts_however_young() -> None:
    made = history(*FAILOVER[:3], (4.0, "lb2", True, "added"))
    assert made.max_owners_lasting(10.0) == 2


def test_owners_at_a_moment() -> None:
    made = history(*FAILOVER)
    assert made.owners_at(0.0) == ()
    assert made.owners_at(4.0) == ("lb1",)
    assert made.owners_at(5.0) == ()
    assert made.owners_at(100.0) == ("lb2",)


def test_redundant_events_do_not_make_new_periods() -> None:
    made = history((0.125, "lb1", True, "held"), (0.25, "lb1", True, "added"), (0.125, "lb2", False, "free"))
    assert made.as_report() == [[0.125, ["lb1"]]]


def test_simultaneous_events_count_together() -> None:
    # A swap at one instant is a handover with nothing in between, not a moment of two owners.
    made = history((1.0, "lb1", True, "added"), (1.0, "lb2", False, "free"), (2.0, "lb1", False, "deleted"), (2.0, "lb2", True, "added"))
    assert made.max_simultaneous_owners == 1
    assert made.handovers == [Handover("lb1", "lb2", 2.0, 2.0, ())]


def test_an_empty_history() -> None:
    made = OwnerHistory(["lb1", "lb2"])
    assert made.as_report() == [] and made.max_simultaneous_owners == 0 and made.handovers == [] and made.owners == ()
    assert not made.is_complete


def test_it_is_complete_once_every_member_reported() -> None:
    made = history(FAILOVER[0])
    assert not made.is_complete
    made.record("lb1", False, ORIGIN + 0.125, "free")
    assert made.is_complete


def test_an_unknown_member_is_refused() -> None:
    with pytest.raises(UsageError, match="'lb3' is not a member; members: lb1, lb2"):
        history().record("lb3", True, ORIGIN, "added")


def test_wait_until_returns_when_a_watcher_records_the_change() -> None:
    made = OwnerHistory(["lb1", "lb2"], origin=time.time())
    made.record("lb1", True, time.time(), "held")
    timer = threading.Timer(0.2, lambda: made.record("lb2", True, time.time(), "added"))
    timer.start()
    waited = made.wait_until(lambda owners: "lb2" in owners, within=5, what="lb2 to hold www")
    timer.join()
    assert 0.15 < waited < 2.0


def test_wait_until_times_out_with_the_owners_it_saw() -> None:
    made = OwnerHistory(["lb1", "lb2"], origin=time.time())
    made.record("lb1", True, time.time(), "held")
    with pytest.raises(RecoveryTimeout) as info:
        made.wait_until(lambda owners: "lb2" in owners, within=0.2, what="lb2 to hold VIP www")
    assert info.value.last == ["lb1"]
    assert [owners for _, owners in info.value.history] == [["lb1"]]
    assert isinstance(info.value.last, Owners)
    assert f"timed out after 0.2s waiting for lb2 to hold VIP www; last seen {Owners(['lb1'])!r}" in str(info.value)


# -- one type for a set of owners (a list literal in a predicate matches) ------------------------


def test_a_predicate_comparing_with_a_list_matches_the_history_owners() -> None:
    # Before: history owners were a tuple, so `owners == ["lb1", "lb2"]` never held and the wait timed out.
    made = OwnerHistory(["lb2", "lb1"], origin=time.time())  # members in the other order, too
    made.record("lb1", True, time.time(), "held")
    made.record("lb2", True, time.time(), "held")
    assert made.wait_until(lambda owners: owners == ["lb1", "lb2"], within=0.5, what="both to hold www") < 0.5
    assert made.wait_until(lambda owners: owners == {"lb2", "lb1"}, within=0.5, what="both to hold www") < 0.5


def test_every_set_of_owners_the_history_gives_is_an_owners() -> None:
    made = history(*FAILOVER[:3], (4.0, "lb2", True, "added"), (6.5, "lb1", False, "deleted"))
    assert isinstance(made.owners, Owners) and made.owners == ["lb2"]
    assert isinstance(made.owners_at(0.0), Owners) and made.owners_at(0.0) == []
    assert all(isinstance(period.owners, Owners) for period in made.periods)
    assert made.periods[-2].owners == ["lb1", "lb2"]
    [handover] = made.handovers
    assert handover.via == (["lb1", "lb2"],) and all(isinstance(owners, Owners) for owners in handover.via)
    assert made.as_report()[-2:] == [[4.0, ["lb1", "lb2"]], [6.5, ["lb2"]]]  # JSON stays lists
    assert all(type(owners) is list for _, owners in made.as_report())
    assert OwnerHistory(["lb1"]).owners == [] and isinstance(OwnerHistory(["lb1"]).owners, Owners)


def test_a_timeout_history_holds_owners_too() -> None:
    made = OwnerHistory(["lb1", "lb2"], origin=time.time())
    made.record("lb1", True, time.time(), "held")
    made.record("lb2", True, time.time() + 0.001, "added")
    with pytest.raises(RecoveryTimeout) as info:
        made.wait_until(lambda owners: owners.sole == "lb1", within=0.1, what="lb1 alone to hold www")
    assert info.value.last == ["lb1", "lb2"] and isinstance(info.value.last, Owners)
    assert all(isinstance(owners, Owners) for _, owners in info.value.history)


# -- durations ----------------------------------------------------------------------------------


def test_wait_until_takes_a_duration_string() -> None:
    # Before: within="8s" raised TypeError (a float was required).
    made = history(*FAILOVER)
    assert made.wait_until(lambda owners: owners == ["lb2"], within="8s") < 1.0
    with pytest.raises(RecoveryTimeout) as info:
        made.wait_until(lambda owners: owners == ["lb1"], within="100ms", what="lb1 to hold www")
    assert info.value.within == 0.1


def test_wait_until_refuses_what_is_not_a_duration() -> None:
    with pytest.raises(UsageError, match="within='eight' is not a duration"):
        history(*FAILOVER).wait_until(lambda owners: True, within="eight")


def test_max_owners_lasting_takes_a_duration() -> None:
    made = history(*FAILOVER, (20.0, "lb1", True, "added"), (20.0009765625, "lb2", False, "deleted"))
    assert made.max_owners_lasting("50ms") == made.max_owners_lasting(0.05) == 1
    assert made.max_owners_lasting("0.5ms") == 2


def test_wait_complete_returns_once_every_member_reported_or_the_watchers_gave_up() -> None:
    made = OwnerHistory(["lb1", "lb2"], origin=time.time())
    made.record("lb1", True, time.time(), "held")
    timer = threading.Timer(0.1, lambda: made.record("lb2", False, time.time(), "free"))
    timer.start()
    assert made.wait_complete("5s")
    timer.join()
    stuck = OwnerHistory(["lb1", "lb2"])
    gave_up = threading.Event()
    threading.Timer(0.1, lambda: (gave_up.set(), stuck.record_error("lb2: gave up"))).start()
    started = time.monotonic()
    assert not stuck.wait_complete("5s", gave_up=gave_up.is_set)
    assert time.monotonic() - started < 2.0
