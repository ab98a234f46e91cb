"""One request from inside the lab (``chaos-probe http|tcp|udp ADDRESS [PORT] [--timeout S]``).

Prints the name of the host that answered; exits 1 with the reason on stderr when none did.
"""

from __future__ import annotations

import argparse
import socket
import sys
import urllib.request
from collections.abc import Sequence

from chaos_inlab.protocol import DEFAULT_PORTS, PROBE

PROTOCOLS = ("http", "tcp", "udp")


def request(protocol: str, address: str, port: int, timeout: float) -> bytes:
    """The raw answer of one request (raises OSError when none came)."""
    if protocol == "http":
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=timeout) as reply:
            answer: bytes = reply.read()
            return answer
    if protocol == "tcp":
        with socket.create_connection((address, port), timeout=timeout) as sock:
            return sock.recv(256)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(b"?", (address, port))
        return sock.recv(256)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROBE)
    parser.add_argument("protocol", choices=sorted(PROTOCOLS))
    parser.add_argument("address")
    parser.add_argument("port", type=int, nargs="?")
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    port = args.port or DEFAULT_PORTS[args.protocol]
    try:
        answer = request(args.protocol, args.address, port, args.timeout)
    except OSError as exc:
        print(f"{args.protocol} {args.address}:{port}: {exc}", file=sys.stderr)
        return 1
    print(answer.decode(errors="replace").strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
