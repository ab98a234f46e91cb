"""``chaos-lab measure``: traffic that measures a link (a transfer's rate, datagrams' order), for degradation faults.

    measure tcp-sink PORT                      accept one connection, count its bytes until it closes;
                                               print ``listening`` once bound, then ``BYTES SECONDS``
    measure tcp-send ADDRESS PORT SIZE         send SIZE bytes to ADDRESS:PORT and close
    measure udp-sink PORT QUIET                collect numbered datagrams until QUIET seconds pass without one;
                                               print ``listening`` once bound, then the numbers in arrival order
    measure udp-send ADDRESS PORT COUNT GAP    send datagrams 0..COUNT-1 to ADDRESS:PORT, GAP seconds apart

Only ever pointed at lab addresses by the runner (`chaos_inlab.protocol` builds the command lines).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Sequence

from chaos_inlab.protocol import LISTENING, TOOL, format_order, format_transfer

CHUNK = 65536


def tcp_sink(port: int) -> int:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))
        server.listen(1)
        print(LISTENING, flush=True)
        conn, _ = server.accept()
        with conn:
            # Timed from the connection's arrival, so the sender's start-up is not part of the rate.
            start, total = time.time(), 0
            while chunk := conn.recv(CHUNK):
                total += len(chunk)
    print(format_transfer(total, time.time() - start), flush=True)
    return 0


def tcp_send(address: str, port: int, size: int) -> int:
    with socket.create_connection((address, port), timeout=30) as conn:
        conn.sendall(b"x" * size)
    return 0


def udp_sink(port: int, quiet: float) -> int:
    order: list[int] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("0.0.0.0", port))
        sink.settimeout(quiet)
        print(LISTENING, flush=True)
        try:
            while True:
                order.append(int(sink.recv(64)))
        except TimeoutError:
            pass
    print(format_order(order), flush=True)
    return 0


def udp_send(address: str, port: int, count: int, gap: float) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for number in range(count):
            sender.sendto(str(number).encode(), (address, port))
            time.sleep(gap)
    return 0


def main(argv: Sequence[str]) -> int:
    action, *rest = argv or ["help"]
    if action == "tcp-sink" and len(rest) == 1:
        return tcp_sink(int(rest[0]))
    if action == "tcp-send" and len(rest) == 3:
        return tcp_send(rest[0], int(rest[1]), int(rest[2]))
    if action == "udp-sink" and len(rest) == 2:
        return udp_sink(int(rest[0]), float(rest[1]))
    if action == "udp-send" and len(rest) == 4:
        return udp_send(rest[0], int(rest[1]), int(rest[2]), float(rest[3]))
    print(
        f"usage: {TOOL} measure tcp-sink PORT | tcp-send ADDRESS PORT SIZE | udp-sink PORT QUIET | udp-send ADDRESS PORT COUNT GAP",
        file=sys.stderr,
    )
    return 2
