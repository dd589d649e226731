"""Reading settings from environment variables, with errors that name the variable.

Shared by the server's configuration and the guard's policy, which sit in different layers.
"""

from __future__ import annotations

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def parse_bool(name: str, value: str | None) -> bool:
    """An on/off flag: ``1/true/yes/on`` or ``0/false/no/off`` (any case; empty or unset is off).

    Raises ValueError naming ``name``, the value and what is allowed.
    """
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (allowed: 1, true, yes, on / 0, false, no, off)")
