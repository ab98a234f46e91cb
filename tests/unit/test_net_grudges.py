"""Grudges (who drops whose packets) computed from host lists, without Docker."""

from __future__ import annotations

import itertools

import pytest

from chaos.errors import FaultError
from chaos.net import grudges

FIVE = ["n1", "n2", "n3", "n4", "n5"]


def heard(grudge: grudges.Grudge, hosts: list[str], host: str) -> set[str]:
    """The hosts whose packets ``host`` still receives (itself included)."""
    return set(hosts) - set(grudge.get(host, ()))


def test_complete_cuts_every_link_between_components_and_none_inside():
    grudge = grudges.complete([["a", "b"], ["c"]])
    assert grudge == {"a": {"c"}, "b": {"c"}, "c": {"a", "b"}}
    assert grudges.cut_links(grudge) == [("a", "c"), ("b", "c"), ("c", "a"), ("c", "b")]


def test_complete_leaves_hosts_outside_every_component_alone():
    grudge = grudges.complete([["a"], ["b"]])
    assert "c" not in grudges.hosts_of(grudge)


def test_overlapping_components_let_the_shared_host_hear_both_sides():
    grudge = grudges.complete([["a", "b"], ["b", "c"]])
    assert "b" not in grudge
    assert grudge == {"a": {"c"}, "c": {"a"}}


def test_an_empty_component_is_refused():
    with pytest.raises(FaultError, match="empty"):
        grudges.complete([["a"], []])


@pytest.mark.parametrize(("count", "sizes"), [(2, (1, 1)), (3, (1, 2)), (4, (2, 2)), (5, (2, 3))])
def test_bisect_puts_the_smaller_half_first(count, sizes):
    halves = grudges.bisect(FIVE[:count])
    assert tuple(map(len, halves)) == sizes
    assert halves[0] + halves[1] == FIVE[:count]


def test_bisect_needs_two_distinct_hosts():
    with pytest.raises(FaultError, match="at least 2 hosts; got 1: n1"):
        grudges.bisect(["n1"])
    with pytest.raises(FaultError, match="more than once: n1"):
        grudges.bisect(["n1", "n1"])


def test_split_one_isolates_the_first_host_or_the_named_one():
    assert grudges.split_one(FIVE[:3]) == [["n1"], ["n2", "n3"]]
    assert grudges.split_one(FIVE[:3], "n2") == [["n2"], ["n1", "n3"]]
    with pytest.raises(FaultError, match=r"unknown host.*'n9'"):
        grudges.split_one(FIVE[:3], "n9")


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6, 7])
def test_majority_minority_gives_a_strict_majority_first(count):
    majority, minority = grudges.majority_minority(FIVE[:count] if count <= 5 else [f"n{i}" for i in range(count)])
    assert len(majority) > count / 2 > len(minority)


def test_bridge_connects_two_halves_through_one_host_only():
    grudge = grudges.bridge(FIVE)
    # n3 is the bridge: it drops nobody and nobody drops it.
    assert "n3" not in grudge
    assert all("n3" not in dropped for dropped in grudge.values())
    assert grudge == {"n1": {"n4", "n5"}, "n2": {"n4", "n5"}, "n4": {"n1", "n2"}, "n5": {"n1", "n2"}}


@pytest.mark.parametrize("count", range(3, 10))
def test_majorities_ring_lets_each_host_hear_a_different_majority(count):
    hosts = [f"n{i}" for i in range(count)]
    grudge = grudges.majorities_ring(hosts)
    views = [frozenset(heard(grudge, hosts, h)) for h in hosts]
    assert all(host in view for host, view in zip(hosts, views, strict=True))
    assert all(len(view) == count // 2 + 1 for view in views)
    assert len(set(views)) == count, "two hosts hear the same majority"


def test_majorities_ring_of_five_is_symmetric_neighbours():
    grudge = grudges.majorities_ring(FIVE)
    assert heard(grudge, FIVE, "n1") == {"n5", "n1", "n2"}
    assert all(a in grudge[b] for b, senders in grudge.items() for a in senders), "an odd ring cuts both ways"


def test_one_way_drops_only_from_sources_to_destinations():
    grudge = grudges.one_way(["a"], ["b", "c"])
    assert grudges.cut_links(grudge) == [("a", "b"), ("a", "c")]
    assert "a" not in grudge
    with pytest.raises(FaultError, match="cannot cut a host off from itself: b"):
        grudges.one_way(["a", "b"], ["b"])
    with pytest.raises(FaultError, match="at least one source"):
        grudges.one_way([], ["b"])


def test_links_cut_pairs_both_ways_or_one_way():
    assert grudges.links([("a", "b")]) == {"a": {"b"}, "b": {"a"}}
    assert grudges.links([("a", "b"), ("a", "c")], both_ways=False) == {"b": {"a"}, "c": {"a"}}
    with pytest.raises(FaultError, match="to itself"):
        grudges.links([("a", "a")])


def test_union_overlaps_partitions():
    merged = grudges.union(grudges.complete([["a"], ["b", "c"]]), grudges.links([("b", "c")], both_ways=False))
    assert merged == {"a": {"b", "c"}, "b": {"a"}, "c": {"a", "b"}}


def test_describe_pairs_two_way_cuts_and_shows_one_way_ones():
    assert grudges.describe(grudges.complete([["a"], ["b"]])) == "a<->b"
    assert grudges.describe(grudges.one_way(["a"], ["b"])) == "a->b"
    assert grudges.describe({}) == "nothing cut"


def test_every_strategy_cuts_only_hosts_it_was_given():
    for strategy, count in itertools.product(("bridge", "majorities_ring"), (3, 4, 5)):
        hosts = FIVE[:count]
        grudge = getattr(grudges, strategy)(hosts)
        assert set(grudges.hosts_of(grudge)) <= set(hosts)
        assert all(host not in senders for host, senders in grudge.items()), "a host drops itself"
