"""VIP providers: each module validates its own spec fields, renders its daemons per member, and knows its takeover bound.

A provider is an object with the `Provider` shape, registered in `PROVIDERS` by name; the
topology loader and the lab ask the registry, so a third provider is a new module here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chaos.spec.kinds import kind_of
from chaos.spec.model import VipSpec

COMMON_KEYS = ("network", "members", "provider", "address")
"""The VIP keys every provider takes; the rest are the provider's own `Provider.fields`."""


@dataclass(frozen=True)
class PlacedVip:
    """A VIP with what the running lab decided: its address, its network's subnet, and the member's own address there."""

    spec: VipSpec
    address: str
    subnet: str
    host_address: str | None = None


def checked_id(raw: Mapping[str, Any], field: str, path: str, checker: Checker) -> int | None:
    """A provider's router id field (VRRP's virtual_router_id, CARP's vhid): 1..255, or 0 when unset (chosen later).

    None after reporting it invalid to ``checker``.
    """
    value = raw.get(field, 0)
    if field in raw and (not isinstance(value, int) or isinstance(value, bool)):
        checker.fail(f"{path}.{field}", f"expected a whole number from 1 to 255, got {kind_of(value)}")
        return None
    if field in raw and not 1 <= value <= 255:
        checker.fail(f"{path}.{field}", f"{value!r} is out of range; allowed: 1 to 255")
        return None
    return int(value)


@dataclass(frozen=True)
class MemberRule:
    """What the number after each member means for a provider, and its range: ``members: {lb1: NUMBER}``."""

    meaning: str
    low: int
    high: int


class Checker(Protocol):
    """What a provider's `Provider.check` uses of the topology loader: report a problem, check a type."""

    def fail(self, path: str, message: str) -> None: ...

    def typed(self, value: object, path: str, kind: type[Any], what: str) -> Any: ...


class Provider(Protocol):
    """A VIP provider: its spec fields and their validation, the files its members run, its takeover bound."""

    name: str
    fields: tuple[str, ...]
    """Its own VIP keys, in the order the loader lists them."""
    id_field: str
    """The key that holds the group's id on the wire (VRRP's virtual router id, CARP's vhid)."""
    first_id: int
    """Where the search for a free id starts when the spec gives none."""
    member_rule: MemberRule

    def check(self, raw: Mapping[str, Any], path: str, checker: Checker) -> dict[str, Any] | None:
        """Validate this provider's fields of one VIP; return `VipSpec` keyword values, or None after reporting."""
        ...

    def member_files(self, lab: str, host: str, vips: Sequence[PlacedVip]) -> tuple[dict[str, bytes], list[dict[str, object]]]:
        """``({path in the host container: content}, [daemon entries for the agent])`` for ``host``'s VIPs of this provider."""
        ...

    def master_down_interval(self, vip: VipSpec, member: str) -> float:
        """Seconds ``member`` waits without adverts before it takes over."""
        ...

    def takeover_window(self, vip: VipSpec, member: str) -> tuple[float, float]:
        """``(earliest, latest]`` seconds after the master dies at which ``member`` holds the address."""
        ...

    def state(self, vip: VipSpec, host: str, log: str) -> str | None:
        """The state the daemon of ``host`` last announced for ``vip`` in its current life, read from its container's ``log``."""
        ...


def _registry() -> dict[str, Provider]:
    from chaos.providers import keepalived, ucarp

    return {p.name: p for p in (keepalived.PROVIDER, ucarp.PROVIDER)}


PROVIDERS: Mapping[str, Provider] = {}
"""Every provider by name (filled on first use of `provider`)."""


def provider(name: str) -> Provider:
    """The provider called ``name``.

    Raises:
        KeyError: there is none; `names` lists them.

    Example:
        >>> provider("ucarp").fields
        ('vhid', 'advbase', 'password', 'preempt')
    """
    return _providers()[name]


def names() -> tuple[str, ...]:
    """The providers' names, in registration order.

    Example:
        >>> names()
        ('keepalived', 'ucarp')
    """
    return tuple(_providers())


def owner_of_field(key: str) -> str | None:
    """The provider whose own field ``key`` is (the first, if several share it), or None."""
    return next((p.name for p in _providers().values() if key in p.fields), None)


def _providers() -> Mapping[str, Provider]:
    global PROVIDERS
    if not PROVIDERS:
        PROVIDERS = _registry()
    return PROVIDERS
