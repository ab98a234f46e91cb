"""The VIP handle a test asks: who holds the address now, and wait until a member does."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from chaos._internal.durations import parse_duration
from chaos.errors import LabError
from chaos.expect import eventually
from chaos.host import Host
from chaos.spec.model import VipSpec


class Vip:
    """A running VIP: its address, its members, and who holds it.

    Example:
        >>> www = lab.vips["www"]
        >>> www.wait_owner("lb1", within="10s")
        >>> www.owners()
        ['lb1']
    """

    def __init__(self, spec: VipSpec, address: str, members: Mapping[str, Host]) -> None:
        self.spec = spec
        self.name = spec.name
        self.address = address
        self.network = spec.network
        self.members = dict(members)

    def __repr__(self) -> str:
        return f"<Vip {self.name} {self.address} members={','.join(self.members)}>"

    def owners(self) -> list[str]:
        """The members that have the address on an interface now (a stopped member holds nothing)."""
        with ThreadPoolExecutor(max_workers=len(self.members)) as pool:
            held = list(pool.map(lambda host: host.holds(self.address), self.members.values()))
        return [name for name, holds in zip(self.members, held, strict=True) if holds]

    def wait_owner(self, host: str, within: str | float = "10s", interval: float = 0.05) -> float:
        """Wait until ``host`` holds the address; return the seconds waited.

        Raises:
            LabError: ``host`` is not a member.
            RecoveryTimeout: it did not happen in time; the error lists the owners seen and when.
        """
        __tracebackhide__ = True
        if host not in self.members:
            raise LabError(f"{host!r} is not a member of VIP {self.name!r}; members: {', '.join(self.members)}")
        return eventually(
            self.owners,
            until=lambda owners: host in owners,
            within=parse_duration(within),
            interval=interval,
            what=f"{host} to hold VIP {self.name} ({self.address})",
        )

    def assert_single_owner(self) -> str:
        """Return the one member holding the address; raise AssertionError naming them otherwise."""
        __tracebackhide__ = True
        owners = self.owners()
        if len(owners) != 1:
            raise AssertionError(f"VIP {self.name} ({self.address}) is held by {len(owners)} members: {owners or 'none'}; expected exactly one")
        return owners[0]
