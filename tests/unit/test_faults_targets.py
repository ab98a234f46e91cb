"""Fault targets: names, lists and picks resolved by pure functions with a seeded generator."""

from __future__ import annotations

import random

import pytest

from chaos.errors import ChaosError, FaultError
from chaos.faults.targets import Pick, describe, pick, resolve, size

HOSTS = ["lb1", "lb2", "lb3", "db", "client"]


@pytest.mark.parametrize(
    ("kind", "sizes"),
    [
        ("one", [0, 1, 1, 1, 1, 1]),
        ("minority", [0, 0, 0, 1, 1, 2]),
        ("majority", [0, 1, 2, 2, 3, 3]),
        ("all", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_pick_sizes_follow_quorum_arithmetic(kind, sizes):
    assert [size(kind, n) for n in range(6)] == sizes


def test_a_minority_is_less_and_a_majority_more_than_half():
    for n in range(1, 12):
        assert size("minority", n) < n / 2 < size("majority", n)
        assert size("minority", n) + size("majority", n) == n  # a minority is exactly what a majority leaves


def test_the_same_seed_picks_the_same_hosts_and_keeps_their_order():
    first = [pick("majority", HOSTS, random.Random(seed)) for seed in range(20)]
    again = [pick("majority", HOSTS, random.Random(seed)) for seed in range(20)]
    assert first == again
    assert len(set(first)) > 1, "twenty seeds should not all pick the same majority"
    for chosen in first:
        assert len(chosen) == 3 and list(chosen) == [h for h in HOSTS if h in chosen]


def test_resolve_names_lists_words_and_scoped_picks():
    rng = random.Random(3)
    assert resolve("db", HOSTS, rng) == ("db",)
    assert resolve(["lb2", "lb1"], HOSTS, rng) == ("lb2", "lb1")
    assert resolve("all", HOSTS, rng) == tuple(HOSTS)
    assert len(resolve("one", HOSTS, rng)) == 1
    assert len(resolve("minority", HOSTS, rng)) == 2
    for seed in range(10):
        assert resolve(Pick("one", among=("lb1", "lb2")), HOSTS, random.Random(seed))[0] in ("lb1", "lb2")


def test_a_list_naming_a_host_called_like_a_pick_word_names_it():
    assert resolve(["all"], ["all", "b"], random.Random(0)) == ("all",)
    assert resolve("all", ["all", "b"], random.Random(0)) == ("all", "b")


def test_an_unknown_host_names_what_was_asked_and_what_exists():
    with pytest.raises(FaultError) as info:
        resolve("lb9", HOSTS, random.Random(0))
    assert str(info.value) == "unknown host 'lb9' in 'lb9'; the lab's hosts: lb1, lb2, lb3, db, client"
    assert isinstance(info.value, ChaosError) and isinstance(info.value, ValueError)
    with pytest.raises(FaultError, match=r"unknown hosts 'x', 'y' in \['lb1', 'x', 'y'\]; the lab's hosts: lb1"):
        resolve(["lb1", "x", "y"], HOSTS, random.Random(0))
    with pytest.raises(FaultError, match=r"unknown host 'nope' in pick one of lb1\|nope"):
        resolve(Pick("one", among=("lb1", "nope")), HOSTS, random.Random(0))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ([], "an empty list of hosts targets nothing; hosts: lb1, lb2"),
        (["lb1", "lb1"], "['lb1', 'lb1'] names lb1 more than once"),
        ("minority", "a minority of 2 host(s) (lb1, lb2) is empty; a minority needs at least 3 hosts"),
        (3, "a target is a host name, a list of host names or a pick (one, minority, majority, all); got 3; hosts: lb1, lb2"),
    ],
)
def test_bad_targets_are_one_clear_message(target, message):
    with pytest.raises(FaultError) as info:
        resolve(target, ["lb1", "lb2"], random.Random(0))
    assert str(info.value) == message


def test_an_unknown_pick_kind_is_refused():
    with pytest.raises(FaultError, match="unknown pick 'most'; picks: one, minority, majority, all"):
        Pick("most")  # type: ignore[arg-type]


def test_targets_read_well_in_labels():
    assert [describe(t) for t in ("lb1", ["lb1", "lb2"], "one", Pick("majority", ("a", "b", "c")))] == [
        "lb1",
        "lb1|lb2",
        "one",
        "majority of a|b|c",
    ]
