"""Report when an IPv4 address appears on or leaves this namespace's interfaces (``chaos-addrwatch ADDRESS``).

Lines on stdout, times in epoch seconds on the kernel clock every container shares
(formats in `chaos_inlab.protocol`):
  watching PID TIME held|free    once subscribed, with the state at that moment
  added TIME                     the address was added to an interface
  deleted TIME                   the address was removed
It listens to the kernel's netlink address notifications itself (no `ip monitor` child to
leave behind), so each line is written the moment the change happens, not at a poll.
Runs until killed.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

from chaos_inlab.protocol import ADDED, ADDRWATCH, DELETED, format_change, format_watching

RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR, RTM_DELADDR = 20, 21
IFA_ADDRESS, IFA_LOCAL = 1, 2
NLMSG_HEADER = struct.Struct("=LHHLL")
IFADDRMSG_SIZE = 8
RTATTR = struct.Struct("=HH")


def align(n: int) -> int:
    return (n + 3) & ~3


def changes(data: bytes, wanted: bytes) -> Iterator[str]:
    """Yield "added"/"deleted" for each notification in ``data`` about ``wanted`` (packed IPv4)."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind = NLMSG_HEADER.unpack_from(data, offset)[:2]
        if length < NLMSG_HEADER.size:
            return
        if kind in (RTM_NEWADDR, RTM_DELADDR):
            attr, end = offset + NLMSG_HEADER.size + IFADDRMSG_SIZE, offset + length
            while attr + RTATTR.size <= end:
                attr_length, attr_type = RTATTR.unpack_from(data, attr)
                if attr_length < RTATTR.size:
                    break
                if attr_type in (IFA_LOCAL, IFA_ADDRESS) and data[attr + RTATTR.size : attr + attr_length] == wanted:
                    yield ADDED if kind == RTM_NEWADDR else DELETED
                    break  # IFA_LOCAL and IFA_ADDRESS both carry it: one line per change
                attr += align(attr_length)
        offset += align(length)


def change_lines(data: bytes, wanted: bytes, at: float) -> list[str]:
    """The lines chaos-addrwatch writes for one netlink read received at ``at``."""
    return [format_change(change == ADDED, at) for change in changes(data, wanted)]


def is_held(address: str, shown: str) -> bool:
    """Whether ``ip -o -4 addr show`` output ``shown`` lists ``address`` on an interface."""
    return any(fields[3].split("/")[0] == address for fields in (line.split() for line in shown.splitlines()) if len(fields) > 3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=ADDRWATCH, description="report when an IPv4 address comes and goes on this namespace's interfaces")
    parser.add_argument("address")
    address: str = parser.parse_args(argv).address
    wanted = socket.inet_aton(address)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, RTMGRP_IPV4_IFADDR))
    # Subscribed first, then read the state: a change in between is queued on the socket, not lost.
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    print(format_watching(os.getpid(), time.time(), is_held(address, shown)), flush=True)
    while True:
        data = sock.recv(1 << 16)
        now = time.time()
        for line in change_lines(data, wanted, now):
            print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
