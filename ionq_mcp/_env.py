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


def parse_seconds(name: str, value: str | None, default: float, *, zero_ok: bool = False) -> float:
    """A positive (or, with ``zero_ok``, non-negative), finite number of seconds (``default`` when unset or
    blank).

    Raises ValueError naming ``name``, the value and what is allowed.
    """
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (0 <= seconds if zero_ok else 0 < seconds) or not seconds < 1e9:
        allowed = "a number >= 0, e.g. 30" if zero_ok else "a positive number, e.g. 30"
        raise ValueError(f"{name}={value!r} is not a number of seconds (allowed: {allowed})")
    return seconds


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def parse_log_level(name: str, value: str | None) -> str | None:
    """A logging level name (any case), or None when unset or blank. Raises ValueError naming ``name``."""
    if value is None or not value.strip():
        return None
    level = value.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"{name}={value!r} is not a log level (allowed: {', '.join(LOG_LEVELS)})")
    return level
