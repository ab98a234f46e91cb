"""Shaping arguments (rate, netem, the userspace shaper) and the shaper's own pure parts, without Docker."""

from __future__ import annotations

import importlib
import random
import types

import pytest

from chaos.errors import FaultError
from chaos.net.shaping import (
    CLASS_MASK,
    SLOTS,
    Shape,
    Slot,
    choose_path,
    describe_path,
    netem_leaf,
    packet_delay,
    parse_rate,
    root_handle,
    shaper_argv,
    tbf_leaf,
)


def load_shaper() -> types.ModuleType:
    """chaos-shaper's module (fnfqueue is imported only when shaping)."""
    return importlib.import_module("chaos_inlab.shaper")


@pytest.mark.parametrize(
    ("given", "bits"),
    [
        ("1mbit", 1_000_000),
        ("512kbit", 512_000),
        ("2.5mbit", 2_500_000),
        ("1gbit", 10**9),
        ("1mbps", 8_000_000),
        ("100kbps", 800_000),
        (64000, 64000),
        ("300bit", 300),
    ],
)
def test_rates_in_tc_units(given, bits):
    assert parse_rate(given) == bits


@pytest.mark.parametrize("given", ["fast", "1 parsec", "-1mbit", 0, 4, "200gbit", True, float("nan")])
def test_a_bad_rate_says_what_a_rate_looks_like(given):
    with pytest.raises(FaultError, match=r"is not a rate; use e\.g\. '1mbit'"):
        parse_rate(given)


def test_tbf_leaf_bursts_ten_milliseconds_but_at_least_two_frames():
    assert tbf_leaf(1_000_000) == "tbf rate 1000000bit burst 3028 latency 100ms"
    assert tbf_leaf(100_000_000) == "tbf rate 100000000bit burst 125000 latency 100ms"
    with pytest.raises(FaultError, match="at least one full frame"):
        tbf_leaf(1_000_000, burst_bytes=100)


def test_shape_validation_follows_netem():
    with pytest.raises(FaultError, match="reorder needs a delay"):
        Shape(reorder=0.25)
    with pytest.raises(FaultError, match="jitter needs a delay"):
        Shape(jitter_ms=10)
    with pytest.raises(FaultError, match=r"duplicate=150 is not a share"):
        Shape(duplicate=150)
    with pytest.raises(FaultError, match=r"duplicate=30 is not a share: shares are fractions, .*'30 %'"):
        Shape(duplicate=30)
    with pytest.raises(FaultError, match="needs a delay, or a duplicate or corrupt share"):
        Shape()
    with pytest.raises(FaultError, match="delay must be a duration"):
        Shape(delay_ms=-1)
    assert Shape(delay_ms=100, jitter_ms=20, reorder=0.25).describe() == "delay 100ms ±20ms reorder 25%"


def test_shares_are_fractions_and_tc_and_the_shaper_get_percentages():
    shape = Shape(duplicate="1 %", corrupt=0.005)  # type: ignore[arg-type]  # a percentage string is a share too
    assert (shape.duplicate, shape.corrupt) == (0.01, 0.005)
    assert shape.percents() == [("duplicate", 1.0), ("corrupt", 0.5)]


def test_netem_and_userspace_get_the_same_shape():
    shape = Shape(delay_ms=100, jitter_ms=20, duplicate=0.01, corrupt=0.005, reorder=0.25)
    assert netem_leaf(shape) == "netem limit 1000 delay 100ms 20ms duplicate 1% corrupt 0.5% reorder 25%"
    argv = shaper_argv(shape, Slot(3), "/run/chaos/x.pid", "/run/chaos/x.log", seed=7)
    assert argv[:6] == ["chaos-shaper", "--daemon", "--queue", "4203", "--mark", "0x80000"]
    options = dict(zip(argv[6::2], argv[7::2], strict=True))
    assert options == {
        "--delay": "100",
        "--jitter": "20",
        "--duplicate": "1",
        "--corrupt": "0.5",
        "--reorder": "25",
        "--limit": "1000",
        "--pidfile": "/run/chaos/x.pid",
        "--log": "/run/chaos/x.log",
        "--seed": "7",
    }
    # The shaper accepts exactly what the library writes.
    parsed = load_shaper().parse_args(argv[1:])
    assert (parsed.queue, parsed.mark, parsed.delay, parsed.jitter, parsed.duplicate, parsed.corrupt, parsed.reorder) == (
        4203,
        0x80000,
        100,
        20,
        1,
        0.5,
        25,
    )


def test_slots_never_share_a_queue_a_mark_bit_a_class_or_a_filter():
    slots = [Slot(i) for i in range(SLOTS)]
    for attribute in ("queue", "done_bit", "class_mark", "class_minor", "filter_prio"):
        assert len({getattr(s, attribute) for s in slots}) == SLOTS, attribute
    done_bits = 0
    for slot in slots:
        assert slot.done_bit & CLASS_MASK == 0 and slot.class_mark & ~CLASS_MASK == 0
        assert done_bits & slot.done_bit == 0
        done_bits |= slot.done_bit
    with pytest.raises(FaultError):
        Slot(SLOTS)


def test_the_path_follows_the_kernel_unless_asked():
    assert choose_path("auto", netem_available=True) == "netem"
    assert choose_path("auto", netem_available=False) == "userspace"
    assert choose_path("userspace", netem_available=True) == "userspace"
    with pytest.raises(FaultError, match="no sch_netem; available: path='userspace'"):
        choose_path("netem", netem_available=False)
    with pytest.raises(FaultError, match="unknown shaping path 'tc'"):
        choose_path("tc", netem_available=True)  # type: ignore[arg-type]
    assert "chaos-shaper on NFQUEUE" in describe_path(False) and "tc netem" in describe_path(True)


def test_root_handles_are_stable_per_session_and_valid_for_tc():
    assert root_handle("3f2a9c01") == root_handle("3f2a9c01") == "25e8"
    handles = {root_handle(f"{n:08x}") for n in range(2000)}
    assert all(0x100 <= int(h, 16) < 0xFF00 for h in handles)
    assert len(handles) > 1900


def test_packet_delays_are_durations_and_a_bare_large_number_is_a_slip():
    assert packet_delay("100ms", "delay") == 0.1
    assert packet_delay(0.02, "jitter") == 0.02
    assert packet_delay(10, "delay") == 10.0, "ten seconds is the most a bare number may mean"
    assert packet_delay("100s", "delay") == 100.0, "an explicit unit is honoured"
    with pytest.raises(FaultError, match="delay='soon' is not a duration"):
        packet_delay("soon", "delay")
    slip = r"delay=100 is 100 seconds per packet, almost surely a slip: did you mean '100ms'\? write '100s' if you mean it"
    with pytest.raises(FaultError, match=slip):
        packet_delay(100, "delay")
    with pytest.raises(FaultError, match="did you mean '250ms'"):
        packet_delay("250", "jitter")


def test_the_shaper_corrupts_exactly_one_bit_after_the_ip_header():
    shaper = load_shaper()
    header = bytes([0x45]) + bytes(19)  # IPv4, 20-byte header
    packet = header + bytes(range(40))
    rng = random.Random(1)
    for _ in range(200):
        corrupted = shaper.corrupt(packet, rng)
        flipped = [i for i, (a, b) in enumerate(zip(packet, corrupted, strict=True)) if a != b]
        assert len(flipped) == 1 and flipped[0] >= 20
        assert bin(packet[flipped[0]] ^ corrupted[flipped[0]]).count("1") == 1
    assert shaper.corrupt(header, rng) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--queue", "1", "--mark", "0x1", "--reorder", "10"], "--reorder needs --delay"),
        (["--queue", "1", "--mark", "0x1", "--duplicate", "101"], "percentage"),
        (["--queue", "1", "--mark", "0x1", "--delay", "-5"], ">= 0"),
    ],
)
def test_the_shaper_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        load_shaper().parse_args(argv)
    assert message in capsys.readouterr().err
