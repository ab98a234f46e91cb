"""A host parameter takes a name or a handle, for faults, flows and captures alike: resolved here."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from chaos.errors import UsageError

if TYPE_CHECKING:
    from chaos.host import Host

HostRef: TypeAlias = "str | Host"
"""A lab host, by name (``"lb1"``) or by handle (``lab.hosts["lb1"]``)."""


def host_name(value: object, what: str = "host") -> str:
    """The name of a host given by name or by handle.

    Raises:
        UsageError: ``value`` is neither; the message names ``what`` was expected.

    Example:
        >>> host_name("lb1")
        'lb1'
    """
    from chaos.host import Host  # the handle's module imports the engine; a name needs none of it

    if isinstance(value, Host):
        return value.name
    if isinstance(value, str) and value:
        return value
    raise UsageError(f"{what}={value!r} is not a host; give a host's name ('lb1') or its handle (lab.hosts['lb1'])")
