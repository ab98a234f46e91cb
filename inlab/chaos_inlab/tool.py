"""``chaos-lab``: the small one-shot actions the runner sends through exec (what were shell strings before).

    chaos-lab links cut|mend|iface ...          see `chaos_inlab.links`
    chaos-lab process list|kill|start|signal ...  see `chaos_inlab.process`
    chaos-lab serve NAME [--http P] [--tcp P] [--udp P]   answer on those ports with NAME (a workload)
    chaos-lab clock                             print the resolution of time.time() in seconds
    chaos-lab measure tcp-sink|tcp-send|udp-sink|udp-send ...   see `chaos_inlab.measure`

The runner writes these command lines with the ``*_argv`` functions of `chaos_inlab.protocol`.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence

from chaos_inlab import agent, links, measure, process
from chaos_inlab.protocol import TOOL


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["links"]:
        return links.main(args[1:])
    if args[:1] == ["process"]:
        return process.main(args[1:])
    if args[:1] == ["serve"]:
        return serve(args[1:])
    if args == ["clock"]:
        return clock()
    if args[:1] == ["measure"]:
        return measure.main(args[1:])
    print(f"usage: {TOOL} links ... | {TOOL} process ... | {TOOL} serve ... | {TOOL} clock | {TOOL} measure ...", file=sys.stderr)
    return 2


def serve(argv: Sequence[str]) -> int:
    """Answer on the ports asked with the name given, until killed: a workload with the agent's responders."""
    parser = argparse.ArgumentParser(prog=f"{TOOL} serve")
    parser.add_argument("name")
    for kind in ("http", "tcp", "udp"):
        parser.add_argument(f"--{kind}", type=int, metavar="PORT")
    args = parser.parse_args(list(argv))
    servers: list[agent.Server] = []
    if args.http is not None:
        servers.append(agent.HttpServer(("0.0.0.0", args.http), args.name))
    if args.tcp is not None:
        servers.append(agent.TcpServer(("0.0.0.0", args.tcp), args.name))
    if args.udp is not None:
        servers.append(agent.UdpServer(("0.0.0.0", args.udp), args.name))
    if not servers:
        parser.error("give at least one of --http, --tcp, --udp")
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()
    return 0


def clock() -> int:
    """Print the resolution of ``time.time()`` in seconds: how finely this host's clock stamps a send."""
    print(repr(time.get_clock_info("time").resolution))
    return 0


if __name__ == "__main__":
    sys.exit(main())
