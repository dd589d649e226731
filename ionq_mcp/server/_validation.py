"""Check a tool call's arguments before anything leaves the process.

Three passes, each reporting :class:`~ionq_mcp.circuits.Problem` records (argument path, what is wrong, what
is allowed) so an agent can fix its call in one retry:

1. unknown argument names, with the closest known name suggested;
2. JSON Schema (Draft 2020-12) against the operation's full ``validation_schema``. Unions (``anyOf``/``oneOf``)
   are resolved by their discriminator (``type`` for jobs, ``gateset`` for circuits): the instance is checked
   against the branch it names, so the agent reads that branch's field errors instead of "is not valid under
   any of the given schemas". A union without a usable discriminator is checked against its closest branch.
3. IonQ's semantic rules (:func:`ionq_mcp.circuits.parse_job`) for job payloads: gates, arity, parameters,
   qubit ranges, backend and shot limits, debiasing.

Gate objects are left to pass 3: ``parse_gate`` enforces every constraint of the spec's gate schemas and more
(the keys each gate takes), with better messages, and skipping them keeps a 2,000-gate job fast. Validators
are compiled once per operation.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from ionq_mcp import circuits
from ionq_mcp.circuits import CircuitError, Problem, parse_job
from ionq_mcp.client import IDEMPOTENCY_METADATA_KEY, path_segment_problem

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation

__all__ = ["Problem", "format_problems", "validate_call"]

_MAX_LISTED = 20
_UNION = "x-union"
_BODY = "x-body"
_MISSING = object()


# --------------------------------------------------------------------------------------------------------------
# Compiling an operation's schema: unions become discriminated, gate lists are left to parse_gate
# --------------------------------------------------------------------------------------------------------------


def _enum_values(schema: Any) -> list[Any] | None:
    if not isinstance(schema, Mapping):
        return None
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _discriminator(branches: Sequence[Mapping[str, Any]]) -> tuple[str, dict[Any, int], bool] | None:
    """(property, value -> branch index, required in every branch) for a union whose branches each fix a
    disjoint set of values for one property; None when no property discriminates."""
    if not branches or not all(isinstance(b, Mapping) and b.get("properties") for b in branches):
        return None
    names = set.intersection(*(set(b["properties"]) for b in branches))
    for name in sorted(names, key=lambda n: (n not in ("type", "gateset"), n)):
        mapping: dict[Any, int] = {}
        for index, branch in enumerate(branches):
            values = _enum_values(branch["properties"][name])
            if values is None or any(v in mapping for v in values):
                break
            mapping.update((v, index) for v in values)
        else:
            return name, mapping, all(name in b.get("required", ()) for b in branches)
    return None


def _is_gate_list(schema: Mapping[str, Any]) -> bool:
    items = schema.get("items")
    if not isinstance(items, Mapping):
        return False
    candidates = [items, *items.get("anyOf", ()), *items.get("oneOf", ())]
    return any(isinstance(c, Mapping) and "gate" in c.get("properties", {}) for c in candidates)


def _compile(schema: Any, *, gates_checked_elsewhere: bool) -> Any:
    if isinstance(schema, list):
        return [_compile(s, gates_checked_elsewhere=gates_checked_elsewhere) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    if gates_checked_elsewhere and _is_gate_list(schema):
        return {k: v for k, v in schema.items() if k != "items"}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("anyOf", "oneOf") and isinstance(value, list):
            branches = [_compile(b, gates_checked_elsewhere=gates_checked_elsewhere) for b in value]
            found = _discriminator(branches)
            union: dict[str, Any] = {"branches": branches}
            if found:
                union["property"], union["mapping"], union["required"] = found
            out[_UNION] = union
        elif key == "properties":
            out[key] = {k: _compile(v, gates_checked_elsewhere=gates_checked_elsewhere) for k, v in value.items()}
        elif key in ("items", "additionalProperties", _BODY):
            out[key] = _compile(value, gates_checked_elsewhere=gates_checked_elsewhere)
        elif key == "allOf":
            out[key] = [_compile(v, gates_checked_elsewhere=gates_checked_elsewhere) for v in value]
        else:
            out[key] = value
    return out


def _union(validator: Any, union: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    branches = union["branches"]
    prop = union.get("property")
    if prop is not None and isinstance(instance, Mapping):
        value = instance.get(prop, _MISSING)
        if value is not _MISSING and _hashable(value) and value in union["mapping"]:
            yield from validator.descend(instance, branches[union["mapping"][value]])
            return
        if value is not _MISSING or union["required"]:
            yield ValidationError(
                "discriminator", validator="discriminator", path=[prop],
                validator_value=list(union["mapping"]), instance=None if value is _MISSING else value)
        # Also report the closest branch's other errors so one retry can fix everything.
        errors = _closest(validator, instance, branches)
        yield from (e for e in errors if not _about(e, prop))
        return
    yield from _closest(validator, instance, branches)


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


def _about(error: ValidationError, prop: str) -> bool:
    """Whether ``error`` concerns the discriminator property itself (already reported)."""
    if error.relative_path:
        return error.relative_path[0] == prop
    return error.validator == "required" and error.message == f"{prop!r} is a required property"


def _closest(validator: Any, instance: Any, branches: Sequence[Any]) -> list[ValidationError]:
    """The errors of the branch that fits best: fewest errors, the first branch on a tie. Keys that no branch
    knows do not count: they say nothing about which branch was meant (and are reported either way)."""
    known = {k for b in branches if isinstance(b, Mapping) for k in b.get("properties", {})}
    foreign = {k for k in instance if k not in known} if isinstance(instance, Mapping) else set()

    def weight(error: ValidationError) -> int:
        if error.validator == "additionalProperties" and not error.relative_path and isinstance(instance, Mapping):
            props = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            return 0 if {k for k in instance if k not in props} <= foreign else 1
        return 1

    best: list[ValidationError] | None = None
    best_score = 0
    for branch in branches:
        errors = list(validator.descend(instance, branch))
        if not errors:
            return []
        score = sum(weight(e) for e in errors)
        if best is None or score < best_score:
            best, best_score = errors, score
    return best or []


def _body(validator: Any, body: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    yield from validator.descend(instance, body)


_Validator = validators.extend(Draft202012Validator, {_UNION: _union, _BODY: _body})
_compiled: weakref.WeakKeyDictionary[Operation, Any] = weakref.WeakKeyDictionary()

#: Formats the server checks (any other ``format`` is informative only). ``ionq-time``: a date or an ISO 8601
#: date-time, as IonQ's characterization filters take them.
_FORMATS = FormatChecker(formats=())
_FORMAT_HELP = {"date": "a date like 2025-12-31", "ionq-time": "a date like 2025-12-31 or an ISO 8601 time like "
                "2025-12-31T12:00:00Z"}


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        dt.date.fromisoformat(value)
        if len(value) != 10:
            raise ValueError(value)
    return True


@_FORMATS.checks("ionq-time", raises=ValueError)
def _is_time(value: object) -> bool:
    if isinstance(value, str):
        dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    return True


def takes_job_payload(op: Operation) -> bool:
    """A tool whose arguments carry a job (create_job, and every workflow with an ``input``): its gate lists
    are left to :func:`ionq_mcp.circuits.parse_job` (run here, or by the workflow for each backend)."""
    return op.validates_job_payload or (op.kind == "workflow" and "input" in op.input_schema.get("properties", {}))


def _validator_for(op: Operation) -> Any:
    validator = _compiled.get(op)
    if validator is None:
        schema = _compile(op.validation_schema or op.input_schema, gates_checked_elsewhere=takes_job_payload(op))
        validator = _Validator(schema, format_checker=_FORMATS)
        _compiled[op] = validator
    return validator


# --------------------------------------------------------------------------------------------------------------
# Turning schema errors into problems
# --------------------------------------------------------------------------------------------------------------


def _path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else str(part))
    return out


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _listing(values: Sequence[Any], limit: int = 30) -> str:
    shown = [v if isinstance(v, str) else _show(v) for v in values[:limit]]
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(shown) + more


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
               type(None): "null"}


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "object" if isinstance(value, Mapping) else type(value).__name__)


def _suggest(name: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _describe(schema: Any) -> str | None:
    """What a property accepts, for a 'required' problem: its enum, or its type."""
    if not isinstance(schema, Mapping):
        return None
    values = _enum_values(schema)
    if values:
        return _listing(values)
    kind = schema.get("type")
    if kind:
        return _article(kind if isinstance(kind, str) else " or ".join(kind))
    return None


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def _to_problems(error: ValidationError) -> list[Problem]:
    where = list(error.absolute_path)
    kind = error.validator
    if kind == "discriminator":
        allowed = _listing(error.validator_value)
        if error.instance is None:
            return [Problem(_path(where), "is required: it selects the payload's shape", allowed)]
        return [Problem(_path(where), f"unknown value {_show(error.instance)}", allowed)]
    if kind == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        props = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return [Problem(_path([*where, name]), "is required", _describe(props.get(name)))
                for name in error.validator_value if name not in instance]
    if kind == "additionalProperties":
        props = list(error.schema.get("properties", {})) if isinstance(error.schema, Mapping) else []
        extras = [k for k in error.instance if k not in props] if isinstance(error.instance, Mapping) else []
        return [Problem(_path([*where, k]), f"unknown field `{k}`{_suggest(str(k), props)}", _listing(props))
                for k in extras]
    if kind == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, str) else " or ".join(expected)
        values = _enum_values(error.schema)
        got = "null" if error.instance is None else f"{_type_name(error.instance)} {_show(error.instance)}"
        return [Problem(_path(where), f"must be {_article(expected)}, got {got}",
                        _listing(values) if values else None)]
    if kind in ("enum", "const"):
        values = error.validator_value if kind == "enum" else [error.validator_value]
        return [Problem(_path(where), f"unknown value {_show(error.instance)}", _listing(values))]
    if kind == "format":
        return [Problem(_path(where), f"not a valid {error.validator_value}: got {_show(error.instance)}",
                        _FORMAT_HELP.get(error.validator_value))]
    if kind in ("maxProperties", "minProperties"):
        return [Problem(_path(where), f"too many keys ({len(error.instance)})" if kind == "maxProperties"
                        else "too few keys", f"{'at most' if kind == 'maxProperties' else 'at least'} "
                        f"{error.validator_value} key(s)")]
    if "propertyNames" in error.relative_schema_path:  # a key of an object breaks the rule for its keys
        return [Problem(_path([*where, str(error.instance)[:40] + "..."]), "key too long",
                        f"keys of at most {error.validator_value} characters")]
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<",
              "minItems": "at least", "maxItems": "at most", "minLength": "at least", "maxLength": "at most"}
    if kind in bounds:
        unit = " item(s)" if "Items" in kind else (" character(s)" if "Length" in kind else "")
        return [Problem(_path(where), f"out of range: got {_show(error.instance)}",
                        f"{bounds[kind]} {error.validator_value}{unit}")]
    return [Problem(_path(where), error.message)]


# --------------------------------------------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------------------------------------------


def _allowed_names(op: Operation) -> tuple[list[str], bool]:
    """(argument names, whether other names are accepted)."""
    names = [a.name for a in op.arguments]
    if op.kind == "workflow":
        extra = op.input_schema.get("additionalProperties", False)
        return names, bool(extra)
    return names, False


def validate_call(op: Operation, arguments: Any) -> list[Problem]:
    """Every problem with ``arguments`` for ``op``; an empty list means the call may be sent.

    Never raises for bad input: a non-object, unknown names, schema and semantic violations all become
    problems. Paths name the argument as the agent wrote it (``input.circuit[3].target``).
    """
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        return [Problem("", f"arguments must be a JSON object, got {_type_name(arguments)}")]
    problems: list[Problem] = []
    names, open_ended = _allowed_names(op)
    if not open_ended:
        by_wire = {a.wire_name: a.name for a in op.arguments if a.wire_name != a.name}
        for key in arguments:
            if key not in names:
                hint = f"; use `{by_wire[key]}`" if key in by_wire else _suggest(str(key), names)
                problems.append(Problem(str(key), f"unknown argument{hint}",
                                        _listing(names) if names else "no arguments"))
    for problem in _generic_problems(op, arguments):
        if problem.path not in {p.path for p in problems}:
            problems.append(problem)
    seen = {p.path for p in problems}
    instance = dict(arguments)
    if op.kind == "workflow" and "input" in instance:
        instance = _with_workflow_defaults(instance)
    for error in _validator_for(op).iter_errors(instance):
        for problem in _to_problems(error):
            if problem.path in seen:
                continue  # e.g. a root additionalProperties error already reported as an unknown argument
            seen.add(problem.path)
            problems.append(problem)
    for argument in op.arguments:  # a path argument must stay one segment (the client refuses it otherwise)
        value = arguments.get(argument.name)
        if argument.location == "path" and isinstance(value, str) and argument.name not in seen:
            problem = path_segment_problem(value)
            if problem is not None:
                seen.add(argument.name)
                problems.append(Problem(argument.name, problem, "one id as listed by the API, e.g. a job's UUID"))
    for problem in _cross_field_problems(op, arguments):
        if not any(problem.path == s or problem.path.startswith((s + ".", s + "[")) for s in seen):
            seen.add(problem.path)
            problems.append(problem)
    if op.validates_job_payload and not any(p.message.startswith(_TOO_BIG) for p in problems):
        semantic = _semantic_problems(arguments)
        if problems and semantic and semantic[0].path == "":
            semantic = []  # the crash came from a value the schema pass already reported
        for problem in semantic:
            if not any(problem.path == s or problem.path.startswith((s + ".", s + "[")) for s in seen):
                problems.append(problem)
    return problems


def _with_workflow_defaults(arguments: dict[str, Any]) -> dict[str, Any]:
    """The workflows' defaults filled in, as the payload they submit has them: ``type`` ionq.circuit.v1 and
    ``input.gateset`` qis (see ``job_body`` and ``circuits.parse_job``)."""
    if arguments.get("type") is None:
        arguments["type"] = circuits.CIRCUIT_JOB
    data = arguments.get("input")
    if isinstance(data, Mapping) and data.get("gateset") is None and ("circuit" in data or "circuits" in data):
        arguments["input"] = {**data, "gateset": "qis"}
    return arguments


_TOO_BIG = "number too large"


def _has_bad_number(value: Any) -> bool:
    """The quick scan behind :func:`_bad_numbers` (no paths built): is any number out of a double's reach?"""
    limit = circuits.MAX_DOUBLE_INT
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is dict:
            extend(node.values())
        elif kind is list:
            extend(node)
        elif kind is int:
            if node > limit or node < -limit:
                return True
        elif kind is float and not math.isfinite(node):
            return True
    return False


def _bad_numbers(value: Any, path: str = "") -> Iterator[Problem]:
    """Numbers no JSON reader of IonQ's holds: integers beyond a double (about 1.8e308; JSON allows 400
    digits) and NaN/Infinity (which a Python caller can pass), each at its exact path."""
    if not _has_bad_number(value):
        return
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        kind = type(node)
        if kind is dict:
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in node.items()
                         if type(v) in (dict, list, int, float))
        elif kind is list:
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node) if type(v) in (dict, list, int, float))
        elif kind is int:
            if not -circuits.MAX_DOUBLE_INT <= node <= circuits.MAX_DOUBLE_INT:
                yield Problem(where, f"{_TOO_BIG}: {len(str(abs(node)))} digits do not fit in a 64-bit float",
                              "a number within +-1.8e308")
        elif kind is float and not math.isfinite(node):
            yield Problem(where, f"must be a finite number, got {node}", "a number within +-1.8e308")


def _without_gates(arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """``arguments`` without their gate lists: ``circuits.parse_job`` checks every number in a gate (a rotation
    too large for a double is not a finite number there), so the number scan skips the bulk of a big job."""
    data = arguments.get("input")
    if not isinstance(data, Mapping) or not ("circuit" in data or "circuits" in data):
        return arguments
    trimmed = {k: v for k, v in data.items() if k not in ("circuit", "circuits")}
    entries = data.get("circuits")
    if isinstance(entries, list):
        trimmed["circuits"] = [{k: v for k, v in e.items() if k != "circuit"} if isinstance(e, Mapping) else e
                               for e in entries]
    return {**arguments, "input": trimmed}


def _generic_problems(op: Operation, arguments: Mapping[str, Any]) -> list[Problem]:
    """Rules every tool shares: numbers a double holds, ids and query values that are not blank, UUIDs where the
    job listing filters by id, and the metadata key the server reserves for submitting a job exactly once."""
    problems = list(_bad_numbers(_without_gates(arguments) if takes_job_payload(op) else arguments))
    for argument in op.arguments:
        value = arguments.get(argument.name)
        if argument.name.endswith("_id") and isinstance(value, str) and not value.strip():
            problems.append(Problem(argument.name, "must not be empty", "an id as listed by the API, e.g. a UUID"))
        elif argument.location == "query" and isinstance(value, str) and not value.strip():
            # The API refuses a blank query value; leaving the argument out is how to not filter by it.
            problems.append(Problem(argument.name, "must not be empty", "a value, or leave the argument out"))
        elif argument.location == "query" and argument.name.endswith("_id") and isinstance(value, str) \
                and not circuits.is_uuid(value):
            # The job listing's id filters are UUIDs; the API answers anything else with a 400.
            problems.append(Problem(argument.name, f"must be an id (a UUID), got {value!r}",
                                    "an id as listed by the API, e.g. 3f2b6c1e-8d4a-4c3b-9e1f-0a2b3c4d5e6f"))
        elif argument.name == "ids" and isinstance(value, list):
            problems += [Problem(f"ids[{i}]", "must not be empty" if not item.strip() else
                                 f"must be a job id (a UUID), got {item!r}", "a job id (UUID)")
                         for i, item in enumerate(value) if isinstance(item, str)
                         and (not item.strip() or argument.location == "query" and not circuits.is_uuid(item))]
    metadata = arguments.get("metadata")
    if isinstance(metadata, Mapping) and IDEMPOTENCY_METADATA_KEY in metadata:
        problems.append(Problem(f"metadata.{IDEMPOTENCY_METADATA_KEY}", "is reserved: the server sets it to "
                                "submit each job exactly once", "any other key"))
    return problems


def _cross_field_problems(op: Operation, arguments: Mapping[str, Any]) -> list[Problem]:
    """Rules that relate two arguments: an estimate's qubits and shots against its backend, a usage period
    that ends after it starts."""
    problems: list[Problem] = []
    route = f"{op.method} {op.path}"
    if route == "GET /jobs/estimate":
        backend = arguments.get("backend")
        limit = circuits.BACKEND_QUBITS.get(backend) if isinstance(backend, str) else None
        qubits, shots = arguments.get("qubits"), arguments.get("shots")
        if limit is not None and isinstance(qubits, int) and not isinstance(qubits, bool) and qubits > limit:
            problems.append(Problem("qubits", f"{backend} has {limit} qubits, got {circuits.show(qubits)}",
                                    f"1..{limit}"))
        if (isinstance(backend, str) and circuits.is_qpu(backend) and isinstance(shots, int)
                and shots > circuits.MAX_QPU_SHOTS):
            problems.append(Problem("shots", f"{circuits.show(shots)} shots exceed the QPU limit",
                                    f"1..{circuits.MAX_QPU_SHOTS:,} on {backend}"))
    elif route == "GET /organizations/{organization_id}/usage":
        start, end = arguments.get("start_date"), arguments.get("end_date")
        try:
            first, last = dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
        except ValueError:
            return problems  # the format check names the bad date
        if last <= first:
            problems.append(Problem("end_date", f"must be after start_date ({start}), got {end}",
                                    "end_date is exclusive: at least the day after start_date"))
    return problems


def _semantic_problems(arguments: Mapping[str, Any]) -> list[Problem]:
    try:
        parse_job(arguments)
    except CircuitError as error:
        return error.problems
    except (TypeError, ValueError, AttributeError) as error:
        # A value of an unexpected JSON type reached a rule that assumes the schema held (e.g. a list as
        # `backend`); the schema pass has reported it, or this names it.
        return [Problem("", f"the job payload could not be checked: {error}")]
    return []


def format_problems(op: Operation, problems: Sequence[Problem]) -> str:
    """The agent-facing text of an invalid call: one line per problem, then how to proceed."""
    count = len(problems)
    head = (f"Invalid arguments for {op.name}: {count} problem{'s' if count != 1 else ''}. "
            "Nothing was sent to IonQ.")
    lines = [f"- {p}" for p in problems[:_MAX_LISTED]]
    if count > _MAX_LISTED:
        lines.append(f"- ... and {count - _MAX_LISTED} more of the same kind")
    return "\n".join([head, *lines, f"Fix these and call {op.name} again."])
