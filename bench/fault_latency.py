"""How fast faults bite and heal: median time from the call to the effect, and from heal to recovery, over N runs.

Two views of each figure, side by side:

- *recorded*: what the fault wrote on the lab's timeline (``requested`` to ``effective``,
  ``heal_requested`` to ``healed``), measured by the fault itself (the engine's exit time,
  the moment the last link went down inside the namespace, the agent's "ready" line).
- *traffic*: what a flow inside the lab saw (``lab.traffic.tcp``: a connection from the client
  every 5 ms, 50 ms timeout, for the whole benchmark): the call to the send time of the first
  failed request sent after it, and the heal call to the send time of the first answered one.

Add a case: write ``def case_NAME(lab, flow) -> Sample`` (inject, wait for the effect,
heal, wait for recovery; one run) and list it in CASES. Issue 3's target is under 100 ms for
the call to the effect (Pumba takes seconds).

Run: ``python bench/fault_latency.py [--runs 20] [--cases power_off,isolate]``
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chaos import Engine, eventually, faults, topology_from_dict
from chaos.faults import Injection
from chaos.lab import Lab
from chaos.traffic import Flow
from chaos.traffic.records import Outcome

TOPOLOGY = {"networks": {"n": {}}, "hosts": {"server": {"networks": ["n"]}, "client": {"networks": ["n"]}}}
TARGET_PORT = 9000  # the host agent's TCP responder
RATE = 200  # requests per second: one every 5 ms
TIMEOUT = "50ms"
EFFECT_WAIT = 10.0
RECOVERY_WAIT = 30.0
SETTLE = 0.2  # beyond the request timeout: every request sent before a found one has reported by then


def first_sent(flow: Flow, ok: bool, after: float, within: float) -> float:
    """The send time (lab clock) of the first request sent at or after ``after`` that succeeded (``ok``) or failed.

    Records arrive in completion order, so a request found may still have earlier ones in
    flight; the answer is taken once those have all reported (the flow's timeout plus SETTLE
    after the one found was sent).
    """

    def found() -> float | None:
        requests = flow.requests
        for i in range(bisect.bisect_left(requests.sent, after), len(requests)):
            if (requests.outcome[i] == Outcome.OK) == ok:
                return requests.sent[i]
        return None

    def settled(sent: float | None) -> bool:
        return sent is not None and flow.timeline.now() - sent > flow.timeout + SETTLE

    eventually(found, until=settled, within=within, interval="10ms", what=f"a {'successful' if ok else 'failed'} request in {flow.name}")
    sent = found()
    assert sent is not None
    return sent


@dataclass(frozen=True)
class Sample:
    """One run of one case, in seconds."""

    recorded_effect: float
    traffic_effect: float
    recorded_recovery: float
    traffic_recovery: float


def _cycle(lab: Lab, flow: Flow, fault: faults.Fault[Any]) -> Sample:
    """Inject, see the traffic stop, heal, see it come back."""
    first_sent(flow, ok=True, after=lab.timeline.now(), within=RECOVERY_WAIT)
    run: Injection[Any] = fault.on(lab)
    called = lab.timeline.now()
    run.inject()
    failed = first_sent(flow, ok=False, after=called, within=EFFECT_WAIT)
    heal_called = lab.timeline.now()
    run.heal()
    answered = first_sent(flow, ok=True, after=heal_called, within=RECOVERY_WAIT)
    record = run.record
    assert record is not None and record.effective is not None and record.healed is not None and record.heal_requested is not None
    return Sample(
        recorded_effect=record.effective - record.requested,
        traffic_effect=failed - called,
        recorded_recovery=record.healed - record.heal_requested,
        traffic_recovery=answered - heal_called,
    )


def case_power_off(lab: Lab, flow: Flow) -> Sample:
    """Every container of the server killed at once; heal starts it again and waits for its agent."""
    return _cycle(lab, flow, faults.power_off("server"))


def case_isolate(lab: Lab, flow: Flow) -> Sample:
    """Every link of the server down inside its namespace; heal brings them up and restores the routes."""
    return _cycle(lab, flow, faults.isolate("server"))


def case_partition(lab: Lab, flow: Flow) -> Sample:
    """The server cut from the client (drop rules on both ends, inside their namespaces); heal removes exactly those rules."""
    return _cycle(lab, flow, faults.partition("server"))


def case_loss(lab: Lab, flow: Flow) -> Sample:
    """Loss of every packet the server sends (iptables statistic at 100%, so the first packet after the rule is the first lost)."""
    return _cycle(lab, flow, faults.loss("server", "100 %"))


CASES: dict[str, Callable[[Lab, Flow], Sample]] = {
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
    with (
        Lab(topology_from_dict(TOPOLOGY, source="bench/fault_latency.py"), engine) as lab,
        lab.traffic.tcp("client", "server", port=TARGET_PORT, rate=RATE, timeout=TIMEOUT) as flow,
    ):
        for name in chosen:
            results[name] = []
            for i in range(args.runs):
                results[name].append(CASES[name](lab, flow))
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
