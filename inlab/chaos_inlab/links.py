"""``chaos-lab links``: cut a host's links and mend them, inside its network namespace (the link faults' in-lab half).

Output is in sections split by ``@@`` lines (`chaos_inlab.protocol.SECTION`), which
``chaos.faults.host`` reads:

    cut ADDRESS...        addresses (ip -o -4 addr show) @@ routes (ip -4 route show) @@
                          the interfaces holding ADDRESS... @@ the time the last went down
                          (exit 3 when no interface holds an address)
    mend ROUTES IFACE...  brings IFACE... up, puts back each of ROUTES (one per line) the kernel
                          did not restore itself; prints the time @@ addresses @@ routes
    iface ADDRESS         the interface holding ADDRESS (nothing when none does)
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from chaos_inlab.protocol import SECTION


def _ip(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    return done


def _section(text: str = "") -> None:
    sys.stdout.write(text)
    sys.stdout.write(f"{SECTION}\n")


def iface_holding(address: str) -> str:
    """The interface holding ``address`` ("" when none does)."""
    for line in _ip("-o", "-4", "addr", "show", "to", f"{address}/32").stdout.splitlines():
        fields = line.split()
        if len(fields) > 1:
            return fields[1]
    return ""


def cut(addresses: Sequence[str]) -> int:
    """Print the baseline (addresses, routes) and the interfaces holding ``addresses``, take them down, print the time."""
    shown = _ip("-o", "-4", "addr", "show")
    if shown.returncode:
        return shown.returncode
    _section(shown.stdout)
    routes = _ip("-4", "route", "show")
    if routes.returncode:
        return routes.returncode
    _section(routes.stdout)
    ifaces = []
    for address in addresses:
        iface = iface_holding(address)
        if not iface:
            print(f"no interface holds {address}", file=sys.stderr)
            return 3
        ifaces.append(iface)
    _section(" ".join(ifaces) + "\n")
    sys.stdout.flush()
    for iface in ifaces:
        down = _ip("link", "set", "dev", iface, "down")
        if down.returncode:
            return down.returncode
    print(repr(time.time()))
    return 0


def mend(routes: str, ifaces: Sequence[str]) -> int:
    """Bring ``ifaces`` up, put back the missing ``routes`` (default routes never), print the time, addresses and routes."""
    for iface in ifaces:
        _ip("link", "set", "dev", iface, "up")
    present = {line.strip() for line in _ip("-4", "route", "show").stdout.splitlines()}
    for route in routes.split("\n"):
        if not route.strip() or route.startswith("default") or route.strip() in present:
            continue
        _ip("route", "replace", *route.split())
    _section(repr(time.time()) + "\n")
    _section(_ip("-o", "-4", "addr", "show").stdout)
    final = _ip("-4", "route", "show")
    sys.stdout.write(final.stdout)
    return final.returncode


def main(argv: Sequence[str]) -> int:
    action, *rest = argv or ["help"]
    if action == "cut" and rest:
        return cut(rest)
    if action == "mend" and rest:
        return mend(rest[0], rest[1:])
    if action == "iface" and len(rest) == 1:
        print(iface_holding(rest[0]))
        return 0
    print("usage: chaos-lab links cut ADDRESS... | mend ROUTES [IFACE...] | iface ADDRESS", file=sys.stderr)
    return 2
