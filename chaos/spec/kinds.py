"""One wording for "what was given instead" in every topology message, the loader's and the providers' alike."""

from __future__ import annotations


def kind_of(value: object) -> str:
    """What a YAML value is, in words.

    Example:
        >>> kind_of(None), kind_of([1]), kind_of("x"), kind_of(2.5)
        ('nothing', 'a list', 'a string', 'a number')
    """
    if value is None:
        return "nothing"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
