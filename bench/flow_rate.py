"""Measure what a traffic flow achieves: request rate against the asked one, and how precise its send times are."""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import dataclass

from chaos import Engine, Lab, topology_from_dict
from chaos.traffic import Flow
from chaos.traffic.figures import percent
from chaos_inlab import protocol as inlab

TOPOLOGY = {"name": "flow-bench", "networks": {"n": {}}, "hosts": {"client": {"networks": ["n"]}, "server": {"networks": ["n"]}}}


@dataclass(frozen=True)
class Run:
    """One flow's figures: rates, loss, latency, and send-time precision against the schedule."""

    protocol: str
    asked: float
    achieved: float
    ok_rate: float
    availability: float | None
    p99_ms: float | None
    resolution_us: float
    jitter_p50_us: float
    jitter_p99_us: float
    jitter_max_us: float


def measure(flow: Flow) -> Run:
    requests = flow.requests
    sent = list(requests.sent)
    count = len(sent)
    # Records come back in sequence order with no gap once the flow has stopped, so index i is request i,
    # due at start + i / rate. Lateness against that schedule is the send jitter.
    assert flow.started_at is not None
    late = sorted((sent[i] - (flow.started_at + i / flow.rate)) * 1e6 for i in range(count))
    gaps = [b - a for a, b in itertools.pairwise(sent) if b > a]
    figures = flow.figures()
    return Run(
        flow.protocol,
        flow.rate,
        count / flow.duration,
        figures.ok / flow.duration,
        figures.availability,
        None if figures.p99 is None else figures.p99 * 1000,
        min(gaps) * 1e6 if gaps else float("nan"),
        statistics.median(late),
        late[max(0, int(0.99 * count) - 1)],
        late[-1],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="200,500,1000", help="requests per second to ask for (comma-separated)")
    parser.add_argument("--protocols", default="http,udp", help="protocols (comma-separated): http, tcp, udp, icmp")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per flow")
    parser.add_argument("--timeout", type=float, default=1.0, help="per-request timeout")
    args = parser.parse_args()
    engine = Engine.connect()
    runs: list[Run] = []
    with Lab(topology_from_dict(TOPOLOGY), engine) as lab:
        clock = lab.hosts["client"].check(inlab.clock_argv()).stdout.strip()
        for protocol in args.protocols.split(","):
            for rate in (float(r) for r in args.rates.split(",")):
                with lab.traffic.flow(protocol, "client", "server", rate=rate, timeout=args.timeout) as flow:
                    time.sleep(args.duration)
                runs.append(measure(flow))
                print(f"  measured {protocol} at {rate:g}/s", file=sys.stderr)
    print(f"flow rate and send-time precision: {args.duration:g} s per flow, client -> server in one lab, engine {engine.version}")
    print(f"clock inside the lab: time.time() resolution {float(clock) * 1e9:g} ns; records carry microseconds")
    print()
    columns = [("protocol", 8), ("asked/s", 8), ("sent/s", 8), ("ok/s", 8), ("ok", 8), ("p99 ms", 7), ("min gap us", 10), ("late p50 us", 11)]
    header = " ".join(f"{name:{width}}" if name == "protocol" else f"{name:>{width}}" for name, width in [*columns, ("p99 us", 8), ("max us", 8)])
    print(header)
    print("-" * len(header))
    for run in runs:
        p99 = f"{run.p99_ms:.1f}" if run.p99_ms is not None else "-"
        print(
            f"{run.protocol:8} {run.asked:8g} {run.achieved:8.1f} {run.ok_rate:8.1f} {percent(run.availability):>8} {p99:>7} "
            f"{run.resolution_us:10.0f} {run.jitter_p50_us:11.0f} {run.jitter_p99_us:8.0f} {run.jitter_max_us:8.0f}"
        )
    print()
    print("sent/s: completed requests / flow duration; ok/s: successful ones. min gap: the smallest non-zero difference")
    print("between consecutive send times; late: send time minus its slot on the schedule (start + i / rate).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
