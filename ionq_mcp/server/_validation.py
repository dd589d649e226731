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

import difflib
import json
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, ValidationError, validators

from ionq_mcp.circuits import CircuitError, Problem, parse_job
from ionq_mcp.client import path_segment_problem

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


def _validator_for(op: Operation) -> Any:
    validator = _compiled.get(op)
    if validator is None:
        schema = _compile(op.validation_schema or op.input_schema,
                          gates_checked_elsewhere=op.validates_job_payload)
        validator = _Validator(schema)
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
    seen = {p.path for p in problems}
    for error in _validator_for(op).iter_errors(dict(arguments)):
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
    if op.validates_job_payload:
        semantic = _semantic_problems(arguments)
        if problems and semantic and semantic[0].path == "":
            semantic = []  # the crash came from a value the schema pass already reported
        for problem in semantic:
            if not any(problem.path == s or problem.path.startswith((s + ".", s + "[")) for s in seen):
                problems.append(problem)
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
