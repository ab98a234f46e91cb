"""The one type for a set of VIP owners: live queries, the history, predicates and reports all use it."""

from __future__ import annotations

from collections.abc import Iterable


class Owners(tuple[str, ...]):
    """The members holding a VIP, sorted by name; compares equal to any collection of the same names.

    So the literal a test writes matches whatever it is compared with, and the order of
    discovery never matters: ``owners == ["lb1", "lb2"]``, ``== ("lb2", "lb1")`` and
    ``== {"lb1", "lb2"}`` all hold for the same owners. It is a tuple (indexing, ``len``,
    JSON as a list) and hashes like the frozenset of its names.

    Example:
        >>> owners = Owners(["lb2", "lb1"])
        >>> owners == ["lb1", "lb2"], owners == {"lb1", "lb2"}, owners == ("lb1",)
        (True, True, False)
        >>> owners, str(owners), str(Owners())
        (Owners('lb1', 'lb2'), 'lb1+lb2', 'none')
    """

    __slots__ = ()

    def __new__(cls, names: Iterable[str] = ()) -> Owners:
        return super().__new__(cls, sorted(set(names)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return False  # one name is not a set of owners: write ["lb1"] (a bare string would compare its letters)
        if isinstance(other, tuple | list | set | frozenset):
            return frozenset(self) == frozenset(other) and len(set(other)) == len(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(frozenset(self))

    def __repr__(self) -> str:
        return f"Owners({', '.join(map(repr, self))})"

    def __str__(self) -> str:
        return "+".join(self) or "none"

    @property
    def sole(self) -> str | None:
        """The one owner, or None when nobody or several hold the VIP."""
        return self[0] if len(self) == 1 else None
