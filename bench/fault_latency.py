"""How fast faults bite and heal: median time from the call to the effect, and from heal to recovery, over N runs.

Two views of each figure, side by side:

- *recorded*: what the fault wrote on the lab's timeline (``requested`` to ``effective``,
  ``heal_requested`` to ``healed``), measured by the fault itself (the engine's exit time,
  the moment the last link went down inside the namespace, the agent's "ready" line).
- *traffic*: what a prober inside the lab saw: a client connects to the target every 5 ms
  (50 ms timeout) and reports each change; the call to the first failed connection's send
  time, and the heal call to the first answer.

Add a case: write ``def case_NAME(lab, prober) -> Sample`` (inject, wait for the effect,
heal, wait for recovery; one run) and list it in CASES. Issue 3's target is under 100 ms for
the call to the effect (Pumba takes seconds).

Run: ``python bench/fault_latency.py [--runs 20] [--cases power_off,isolate]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chaos import Engine, faults, topology_from_dict
from chaos.faults import Injection
from chaos.lab import Lab

TOPOLOGY = {"networks": {"n": {}}, "hosts": {"server": {"networks": ["n"]}, "client": {"networks": ["n"]}}}
TARGET_PORT = 9000  # the host agent's TCP responder
EFFECT_WAIT = 10.0
RECOVERY_WAIT = 30.0

# Inside the client: a TCP connect every 5 ms, 50 ms timeout; prints "up T"/"down T" (T: the
# attempt's send time, and for "up" also its answer time) whenever the outcome changes.
_PROBER = r"""
import socket, sys, time
address, port = sys.argv[1], int(sys.argv[2])
state = None
print("ready", flush=True)
while True:
    sent = time.time()
    try:
        with socket.create_connection((address, port), timeout=0.05) as sock:
            sock.recv(64)
        ok = True
    except OSError:
        ok = False
    if ok != state:
        print("up" if ok else "down", repr(sent), repr(time.time()), flush=True)
        state = ok
    time.sleep(0.005)
"""


class Prober:
    """A connection prober running in the client for the whole benchmark; remembers every up/down change."""

    def __init__(self, lab: Lab, source: str, address: str, port: int) -> None:
        self.changes: list[tuple[str, float, float]] = []
        self._ready = threading.Event()
        self._lock = threading.Lock()
        argv = ["python3", "-c", _PROBER, address, str(port)]
        self._lines = lab.hosts[source].stream(argv)
        threading.Thread(target=self._follow, daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("the prober did not start in the client")

    def _follow(self) -> None:
        for line in self._lines:
            word, *times = line.split()
            if word == "ready":
                self._ready.set()
            elif word in ("up", "down"):
                with self._lock:
                    self.changes.append((word, float(times[0]), float(times[1])))

    def wait(self, word: str, after: float, within: float) -> tuple[float, float]:
        """(send time, answer time) of the first change to ``word`` whose attempt ended after ``after``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                found = [(sent, done) for w, sent, done in self.changes if w == word and done > after]
            if found:
                return found[0]
            time.sleep(0.005)
        raise RuntimeError(f"the prober saw no {word!r} within {within:g}s")


@dataclass(frozen=True)
class Sample:
    """One run of one case, in seconds."""

    recorded_effect: float
    traffic_effect: float
    recorded_recovery: float
    traffic_recovery: float


def _cycle(lab: Lab, prober: Prober, fault: faults.Fault[Any]) -> Sample:
    """Inject, see the traffic stop, heal, see it come back."""
    prober.wait("up", after=0, within=RECOVERY_WAIT)
    run: Injection[Any] = fault.on(lab)
    called = time.time()
    run.inject()
    down_sent, _ = prober.wait("down", after=called, within=EFFECT_WAIT)
    healed_call = time.time()
    run.heal()
    _, up_answered = prober.wait("up", after=healed_call, within=RECOVERY_WAIT)
    record = run.record
    assert record is not None and record.effective is not None and record.healed is not None and record.heal_requested is not None
    return Sample(
        recorded_effect=record.effective - record.requested,
        traffic_effect=down_sent - called,
        recorded_recovery=record.healed - record.heal_requested,
        traffic_recovery=up_answered - healed_call,
    )


def case_power_off(lab: Lab, prober: Prober) -> Sample:
    """Every container of the server killed at once; heal starts it again and waits for its agent."""
    return _cycle(lab, prober, faults.power_off("server"))


def case_isolate(lab: Lab, prober: Prober) -> Sample:
    """Every link of the server down inside its namespace; heal brings them up and restores the routes."""
    return _cycle(lab, prober, faults.isolate("server"))


def case_partition(lab: Lab, prober: Prober) -> Sample:
    """The server cut from the client (drop rules on both ends, inside their namespaces); heal removes exactly those rules."""
    return _cycle(lab, prober, faults.partition("server"))


def case_loss(lab: Lab, prober: Prober) -> Sample:
    """Loss of every packet the server sends (iptables statistic at 100%, so the first packet after the rule is the first lost)."""
    return _cycle(lab, prober, faults.loss("server", "100 %"))


CASES: dict[str, Callable[[Lab, Prober], Sample]] = {
    "power_off": case_power_off,
    "isolate": case_isolate,
    "partition": case_partition,
    "loss": case_loss,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")

    engine = Engine.connect()
    results: dict[str, list[Sample]] = {}
    with Lab(topology_from_dict(TOPOLOGY, source="bench/fault_latency.py"), engine) as lab:
        prober = Prober(lab, "client", lab.hosts["server"].address("n"), TARGET_PORT)
        for name in chosen:
            results[name] = []
            for i in range(args.runs):
                results[name].append(CASES[name](lab, prober))
                print(f"\r{name}: {i + 1}/{args.runs}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
    print(f"\nmedian over {args.runs} runs, ms (Docker {engine.version}; target for call -> effect: < 100 ms)\n")
    header = ("fault", "call->effect rec.", "call->effect traffic", "heal->healed rec.", "heal->answer traffic")
    print("  ".join(f"{h:>20}" for h in header))
    for name, samples in results.items():
        row = [
            statistics.median(s.recorded_effect for s in samples),
            statistics.median(s.traffic_effect for s in samples),
            statistics.median(s.recorded_recovery for s in samples),
            statistics.median(s.traffic_recovery for s in samples),
        ]
        print("  ".join([f"{name:>20}", *(f"{v * 1000:>20.0f}" for v in row)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
