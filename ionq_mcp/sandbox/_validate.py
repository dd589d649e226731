"""Request validation: the OpenAPI component schemas for shape, :func:`ionq_mcp.circuits.parse_job` for meaning.

The component schemas come from :func:`ionq_mcp.openapi.load` (the one loader: the spec's reconciliations applied,
JSON Schema 2020-12). Where the sandbox must accept more, or wants clearer messages, than the spec allows, the
schema is adjusted here and the choice is recorded in docs/spec-deviations.md:

* gates (``Gate_QisGate``/``Gate_NativeGate``) are checked by ``parse_job`` only: the spec's gate schemas lack
  pauliexp's ``terms``/``coefficients``/``time`` and give poor messages through ``anyOf``;
* ``JsonCircuitInput`` and the multi-circuit entries become one object schema with ``gateset`` in
  ``{qis, native}`` (the ``anyOf`` of the spec reports "not valid under any of the given schemas");
* QAOA's ``external_settings`` (Q-CTRL credentials) is optional: the sandbox solves maxcut itself;
* top-level ``lang`` is tolerated and a decimal string in ``shots`` is read as a number, because cirq-ionq
  sends both (``"lang": "json"``, ``"shots": "100"``);
* a null member of any request body reads as absent (:func:`without_nulls`), as on IonQ's service.

Every problem becomes a 400 whose ``validation.keys`` lists the offending keys as dotted paths.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from ionq_mcp import circuits, openapi
from ionq_mcp.sandbox._errors import ApiError

_CIRCUIT_OBJECT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "qubits": {"type": "integer", "minimum": 1},
        "circuit": {"type": "array", "items": {"type": "object"}},
        "gateset": {"type": "string", "enum": ["qis", "native"]},
        "registers": {"$ref": "#/components/schemas/Registers"},
    },
    "required": ["circuit"],
    "additionalProperties": False,
}

_JOB_SCHEMAS = {
    circuits.CIRCUIT_JOB: "CircuitJobCreationPayload",
    circuits.MULTI_CIRCUIT_JOB: "MultiCircuitJobCreationPayload",
    circuits.QAOA_JOB: "QctrlQaoaJobCreationPayload",
    "quantum-function": "QuantumFunctionJobCreationPayload",
    "quantum-function.v1": "QuantumFunctionJobCreationPayload",
}


@functools.cache
def _components() -> dict[str, Any]:
    schemas = openapi.load().json_schema_components()
    schemas["JsonCircuitInput"] = {**_CIRCUIT_OBJECT, "properties": {
        k: v for k, v in _CIRCUIT_OBJECT["properties"].items() if k not in ("name", "registers")}}
    multi = schemas["JsonMultiCircuitInput"]
    multi["properties"]["circuits"] = {"type": "array", "items": _CIRCUIT_OBJECT}
    multi["required"] = ["circuits"]
    for name in ("CircuitJobCreationPayload", "MultiCircuitJobCreationPayload"):
        schemas[name]["properties"]["lang"] = {"type": "string"}
    for name in ("QuantumFunctionJobCreationPayload", "QctrlQaoaJobCreationPayload"):
        schemas[name]["properties"]["lang"] = {"type": "string"}
        schemas[name]["additionalProperties"] = False
    schemas["QuantumFunctionJobCreationPayload"]["properties"]["noise"] = {"$ref": "#/components/schemas/Noise"}
    schemas["QctrlQaoaJobCreationPayload"]["required"] = ["backend", "type", "input"]
    schemas["QctrlQaoaJobCreationPayload"]["properties"]["noise"] = {"$ref": "#/components/schemas/Noise"}
    return schemas


@functools.cache
def validator(component: str) -> jsonschema.protocols.Validator:
    """A JSON Schema validator for one (adjusted) OpenAPI component schema."""
    root = {"$ref": f"#/components/schemas/{component}", "components": {"schemas": _components()}}
    return jsonschema.Draft202012Validator(root)


def _dotted(path: Any) -> str:
    out = ""
    for part in path:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else str(part))
    return out


def schema_problems(component: str, value: Any) -> list[tuple[str, str]]:
    """(key, message) for every way ``value`` breaks the component schema; keys are dotted paths."""
    found: list[tuple[str, str]] = []
    for error in sorted(validator(component).iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        base = _dotted(error.absolute_path)
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            key = ".".join(filter(None, (base, *missing[:1])))
            found.append((key, f"`{key}` is required"))
        elif error.validator == "additionalProperties":
            extras = re.findall(r"'([^']+)'", error.message.split("(")[-1])
            allowed = sorted(error.schema.get("properties", {}))
            for extra in extras or [""]:
                key = ".".join(filter(None, (base, extra)))
                found.append((key, f"unknown key `{key}` (allowed: {', '.join(allowed)})"))
        else:
            message = error.message if len(error.message) < 300 else error.message[:297] + "..."
            found.append((base or "body", f"`{base or 'body'}`: {message}"))
    return found


def _raise(problems: list[tuple[str, str]], source: str = "body") -> None:
    if problems:
        keys = list(dict.fromkeys(k for k, _ in problems))
        raise ApiError(400, "; ".join(m for _, m in problems), keys=keys, source=source)


def validate_body(component: str, body: Any) -> None:
    """Raise a 400 naming every offending key when ``body`` breaks the component schema."""
    _raise(schema_problems(component, body))


def loads_finite(raw: bytes) -> Any:
    """Parse a JSON body, refusing NaN, Infinity and numbers too large for a double with a 400 naming their keys.

    Python's parser accepts all three (as ``nan``/``inf``); stored in a job or session they would make every later
    response that includes it fail to serialise. Raises ``ValueError`` for text that is not JSON at all.
    """
    found = False

    def number(text: str) -> float:
        nonlocal found
        value = float(text)
        found = found or not math.isfinite(value)
        return value

    value = json.loads(raw, parse_float=number, parse_constant=number)
    if found:  # rare: only now walk the document to name the keys
        keys = [_dotted(path) or "body" for path in _non_finite(value, ())]
        raise ApiError(400, f"{', '.join(f'`{k}`' for k in keys)}: must be a finite number (NaN, Infinity and "
                            f"numbers beyond 1.8e308 are not accepted)", keys=keys, source="body")
    return value


def _non_finite(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*path, index))


def without_nulls(value: Any) -> Any:
    """``value`` with every object member whose value is null removed, at any depth (list items are kept).

    IonQ accepts a null wherever a field is optional, and published clients send them (qiskit-ionq sends
    ``"noise": {"model": "ideal", "seed": null}`` on every simulator job), so a null reads as "not given": the
    default applies, and a required field that is null is reported as missing.
    """
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def normalise_job_payload(body: Any) -> dict[str, Any]:
    """Apply the tolerances published clients rely on (see module docstring) to a copy of the payload."""
    if not isinstance(body, Mapping):
        raise ApiError(400, "the request body must be a JSON object describing the job", keys=["body"],
                       source="body")
    payload = dict(body)
    shots = payload.get("shots")
    if isinstance(shots, str) and shots.strip().isdigit():
        payload["shots"] = int(shots.strip())
    return payload


def validate_job(body: Any) -> circuits.JobPlan:
    """Validate a job-creation body: schema for its type, then IonQ's semantic rules. Returns the plan."""
    payload = normalise_job_payload(body)
    job_type = payload.get("type", circuits.CIRCUIT_JOB)
    if not isinstance(job_type, str) or job_type not in _JOB_SCHEMAS:
        _raise([("type", f"unknown job type {job_type!r} (allowed: {', '.join(circuits.JOB_TYPES)})")])
    problems = schema_problems(_JOB_SCHEMAS[job_type], payload)
    try:
        plan = circuits.parse_job(payload)
    except circuits.CircuitError as error:
        seen = {k for k, _ in problems}
        problems += [(p.path or "body", str(p)) for p in error.problems if (p.path or "body") not in seen]
        _raise(problems)
        raise  # pragma: no cover - _raise raised
    except (TypeError, AttributeError):
        # parse_job assumes the shape the schema checks (e.g. a hashable `backend`); report the schema problems
        if problems:
            _raise(problems)
        raise
    _raise(problems)
    return plan
