"""Audit redaction: arguments fit for an append-only log (no secrets, circuits summarised, sizes bounded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["redact_arguments"]


_SECRET_KEY_PARTS = ("key", "token", "secret", "password", "passwd", "authorization", "credential", "cookie")
_SECRET_PREFIXES = ("apikey ", "bearer ", "basic ")
_MAX_STRING = 200
_MAX_LIST = 50


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _summarise_circuit(entry: Mapping[str, Any]) -> dict[str, Any]:
    gates = entry.get("circuit")
    out: dict[str, Any] = {"gates": len(gates) if isinstance(gates, list) else None}
    for key in ("name", "qubits", "gateset"):
        if key in entry:
            out[key] = _redact_value(key, entry[key])
    return out


def _redact_value(key: str, value: Any) -> Any:
    if _is_secret_key(key):
        return "[redacted]"
    if isinstance(value, Mapping):
        if "circuit" in value and isinstance(value.get("circuit"), list):
            return _summarise_circuit(value)
        if isinstance(value.get("circuits"), list):
            rest = {k: _redact_value(k, v) for k, v in value.items() if k != "circuits"}
            circuits = [_summarise_circuit(c) if isinstance(c, Mapping) else "?" for c in value["circuits"]]
            rest["circuits"] = circuits[:_MAX_LIST] + ([f"... {len(circuits) - _MAX_LIST} more"]
                                                       if len(circuits) > _MAX_LIST else [])
            return rest
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_redact_value(key, v) for v in value[:_MAX_LIST]]
        if len(value) > _MAX_LIST:
            items.append(f"... {len(value) - _MAX_LIST} more")
        return items
    if isinstance(value, str):
        if value.lower().startswith(_SECRET_PREFIXES):
            return "[redacted]"
        return value if len(value) <= _MAX_STRING else value[:_MAX_STRING] + "..."
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return repr(value)[:_MAX_STRING]


def redact_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments fit for the audit log: circuits summarised (gate counts, not gates), values under secret-looking
    keys (``*key*``, ``*token*``, ``*secret*``, ``authorization``, ...) and ``apiKey ...``/``Bearer ...`` strings
    replaced by ``[redacted]``, long strings and lists shortened."""
    return {str(k): _redact_value(str(k), v) for k, v in arguments.items()}

