"""Query parameters, read as strictly as the spec types them.

A parameter that is absent takes its default. A parameter that is present must hold a value of its type: an
empty value (``?status=``, ``?limit=``) or a malformed one (``?limit=ten``, ``?ids=false`` where ids are job UUIDs)
is a 400 naming the parameter (``validation.source = "query"``), never read as if it were absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.requests import Request

from ionq_mcp import circuits
from ionq_mcp.sandbox._errors import bad_request

__all__ = ["query_bool", "query_date", "query_day", "query_enum", "query_int", "query_list", "query_string",
           "query_uuid", "query_uuids"]


def query_string(request: Request, name: str) -> str | None:
    """The raw value, or None when the parameter is absent. An empty value is a 400."""
    raw = request.query_params.get(name)
    if raw is not None and not raw.strip():
        raise bad_request(f"`{name}` is empty; give it a value or leave it out", name, source="query")
    return raw


def query_int(request: Request, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    """A whole number within ``lo..hi`` (``default`` when absent)."""
    raw = query_string(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"`{name}` must be a whole number, got {raw!r}", name, source="query") from None
    if value < lo or (hi is not None and value > hi):
        allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise bad_request(f"`{name}` must be within {allowed}, got {value}", name, source="query")
    return value


def query_bool(request: Request, name: str, default: bool | None = None) -> bool | None:
    """``true``/``false`` (also ``1``/``0``, any case); ``default`` when absent."""
    raw = query_string(request, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(f"`{name}` must be true or false, got {raw!r}", name, source="query")


def query_enum(request: Request, name: str, allowed: tuple[str, ...], *, required: bool = False) -> str | None:
    """One of ``allowed``; None when absent (a 400 when ``required``)."""
    raw = query_string(request, name)
    if raw is None:
        if required:
            raise bad_request(f"`{name}` is required (one of {', '.join(allowed)})", name, source="query")
        return None
    if raw not in allowed:
        raise bad_request(f"`{name}` must be one of {', '.join(allowed)}, got {raw!r}", name, source="query")
    return raw


def query_list(request: Request, name: str, check: Callable[[str], bool] | None = None,
               expected: str = "") -> list[str] | None:
    """A list given as repeated ``name=a&name=b``, ``name[]=a`` or comma-separated ``name=a,b``; None when absent.
    An empty list or item, or an item failing ``check``, is a 400 (``expected`` says what an item must be)."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    if not values:
        return None
    parts = [part.strip() for value in values for part in value.split(",")]
    for part in parts:
        if not part:
            raise bad_request(f"`{name}` has an empty item; give comma-separated values or leave it out", name,
                              source="query")
        if check is not None and not check(part):
            raise bad_request(f"`{name}`: {part!r} is not {expected}", name, source="query")
    return parts



def query_uuid(request: Request, name: str) -> str | None:
    """An id (UUID); None when absent."""
    raw = query_string(request, name)
    if raw is not None and not circuits.is_uuid(raw):
        raise bad_request(f"`{name}` must be an id (a UUID), got {raw!r}", name, source="query")
    return raw


def query_uuids(request: Request, name: str) -> list[str] | None:
    """A list of ids (UUIDs); None when absent."""
    return query_list(request, name, circuits.is_uuid, "an id (a UUID)")


def query_day(request: Request, name: str, parse: Callable[[str], dt.datetime | None]) -> dt.datetime | None:
    """A date or ISO timestamp read by ``parse``; None when absent."""
    raw = query_string(request, name)
    if raw is None:
        return None
    day = parse(raw)
    if day is None:
        raise bad_request(f"`{name}` must be a date like 2025-12-31 or an ISO timestamp, got {raw!r}", name,
                          source="query")
    return day


def query_date(request: Request, name: str) -> dt.date:
    """A required calendar date (``2025-01-31``)."""
    raw = request.query_params.get(name)
    if not raw:
        raise bad_request(f"`{name}` is required (a date like 2025-01-31)", name, source="query")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"`{name}` must be a date like 2025-01-31, got {raw!r}", name, source="query") from None
