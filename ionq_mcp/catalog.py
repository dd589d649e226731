"""The tool catalog, built from data: capability specs + IonQ's OpenAPI description.

Every operation in ``capabilities/*.yaml`` (Naftiko ``kind: Capability``) becomes one :class:`Operation`, and
the server turns each into one MCP tool. HTTP operations are matched to the OpenAPI operation by method and
path (never by name); their path, query and body parameters are merged into one flat argument object with
identifier-safe names (``{UUID}`` under ``/jobs`` -> ``job_id``, ``variantId`` -> ``variant_id``, ``1q_gates``
-> ``one_qubit_gates``). Workflow operations (``x-handler: workflow``) carry their schemas inline.

Three schemas per operation, each for one reader:

* ``input_schema``: what the model sees. Flat, ``$ref``-free, compact; ``anyOf`` bodies merged into one
  property set.
* ``validation_schema``: what :mod:`ionq_mcp.server._validation` checks. The spec's full schema for the same
  flat arguments with every ``anyOf`` branch kept, reconciled with ``schemas/*.json``.
* ``output_schema``: what MCP clients check ``structuredContent`` against. Derived from the 2xx response and
  relaxed (no ``required``, no ``additionalProperties: false``, every leaf nullable) so a response with new or
  null fields never fails; non-object responses are wrapped under ``result_key``.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from . import _catalog_text as text
from . import _paths

__all__ = ["Argument", "Catalog", "CatalogError", "Operation", "load_catalog", "snake_case"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_TOOLSET_PREFIX = "ionq-quantum-cloud-"
_DROP_FORMATS = {"int32", "int64", "double", "float", "unix-timestamp", "uuid"}
_DROP_KEYS = {"example", "examples", "title", "discriminator", "externalDocs", "xml", "readOnly", "writeOnly",
              "deprecated"}
_NUMBER_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
                 "7": "seven", "8": "eight", "9": "nine"}


class CatalogError(ValueError):
    """A capability file or the OpenAPI description cannot be turned into tools (names the file and entry)."""


@dataclass(frozen=True)
class Argument:
    """One tool argument and where it goes on the wire."""

    name: str                                   # tool argument name (identifier-safe snake_case)
    location: Literal["path", "query", "body"]  # where it goes on the wire
    wire_name: str                              # the name on the wire ("UUID", "variantId", "1q_gates", ...)
    required: bool


@dataclass(frozen=True, eq=False)
class Operation:
    """One tool. Identity-hashed (``eq=False``) so validators can be cached per operation."""

    name: str                           # tool name: snake_case of the capability operation id
    capability: str                     # toolset: backends | jobs | sessions | usage | workflows | ...
    operation_id: str                   # the capability's id (listBackends)
    openapi_operation_id: str | None    # matched by method + path (getBackends); None for workflows
    kind: Literal["http", "workflow"]
    method: str | None                  # upper case; None for workflows
    path: str | None                    # the spec's path template, e.g. /jobs/{UUID}; None for workflows
    title: str
    description: str = field(repr=False)
    input_schema: dict[str, Any] = field(repr=False)  # model-visible flat object: path + query + body, inline
    output_schema: dict[str, Any] | None = field(repr=False)  # relaxed; object at the top
    arguments: tuple[Argument, ...] = field(repr=False)
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    secured: bool = True                # needs the API key
    #: Wrapper key for responses that are not JSON objects: the runtime returns ``{result_key: response}``.
    result_key: str | None = None
    #: The arguments form a job-creation payload (type + input + backend): validation runs circuits.parse_job.
    validates_job_payload: bool = False
    #: The full, unmerged JSON Schema (Draft 2020-12) of the flat arguments, anyOf branches kept.
    validation_schema: dict[str, Any] = field(default_factory=dict, repr=False)
    #: True when the operation sends a JSON body (even an empty one).
    has_body: bool = False
    #: The capability file this operation came from.
    source: str = ""
    #: The arguments that form the job body, as create_job's request body declares them in the spec (empty when
    #: the operation takes no job payload); workflow-only arguments (timeout_s, top_k, ...) are not among them.
    job_fields: tuple[str, ...] = ()

    def argument(self, name: str) -> Argument | None:
        for argument in self.arguments:
            if argument.name == name:
                return argument
        return None

    def split(self, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """Split tool arguments into (path params, query params, JSON body) keyed by wire names.

        Arguments that are absent or ``None`` are left out. The body is ``None`` when the operation sends
        none; names that are not arguments of this operation are ignored (validation rejects them first).
        """
        path: dict[str, Any] = {}
        query: dict[str, Any] = {}
        body: dict[str, Any] | None = {} if self.has_body else None
        for argument in self.arguments:
            value = arguments.get(argument.name)
            if value is None:
                continue
            if argument.location == "path":
                path[argument.wire_name] = value
            elif argument.location == "query":
                query[argument.wire_name] = value
            elif body is not None:
                body[argument.wire_name] = value
        return path, query, body

    def render_path(self, path_params: Mapping[str, Any]) -> str:
        """The request path with every ``{param}`` filled in and percent-encoded.

        ``path_params`` may be keyed by wire name (as :meth:`split` returns) or by tool argument name.
        Raises ``KeyError`` naming the missing argument.
        """
        if self.path is None:
            raise ValueError(f"{self.name} is a workflow and has no HTTP path")
        by_wire = {a.wire_name: a.name for a in self.arguments if a.location == "path"}

        def fill(match: re.Match[str]) -> str:
            wire = match.group(1)
            if wire in path_params:
                value = path_params[wire]
            elif by_wire.get(wire) in path_params:
                value = path_params[by_wire[wire]]
            else:
                raise KeyError(f"{self.name}: missing path argument {by_wire.get(wire, wire)!r}")
            return urllib.parse.quote(str(value), safe="")

        return re.sub(r"\{([^}]+)\}", fill, self.path)


@dataclass(frozen=True)
class Catalog:
    """An ordered, immutable set of operations."""

    operations: tuple[Operation, ...]

    def __iter__(self):
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)

    def __contains__(self, name: object) -> bool:
        return any(op.name == name for op in self.operations)

    def names(self) -> list[str]:
        return [op.name for op in self.operations]

    def get(self, name: str) -> Operation:
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(f"unknown tool {name!r}; known tools: {', '.join(self.names())}")

    def toolsets(self) -> list[str]:
        return list(dict.fromkeys(op.capability for op in self.operations))

    def select(self, *, toolsets: Iterable[str] | None = None, tools: Iterable[str] | None = None,
               read_only: bool = False) -> Catalog:
        """A sub-catalog. Unknown toolset or tool names raise ``KeyError`` listing the known ones."""
        ops = self.operations
        if toolsets is not None:
            wanted = _known("toolset", toolsets, self.toolsets())
            ops = tuple(op for op in ops if op.capability in wanted)
        if tools is not None:
            wanted = _known("tool", tools, self.names())
            ops = tuple(op for op in ops if op.name in wanted)
        if read_only:
            ops = tuple(op for op in ops if op.read_only)
        return Catalog(ops)


def _known(kind: str, wanted: Iterable[str], known: Sequence[str]) -> set[str]:
    chosen = set(wanted)
    unknown = chosen - set(known)
    if unknown:
        raise KeyError(f"unknown {kind}(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    return chosen


# --------------------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """``listBackends`` -> ``list_backends``, ``variantId`` -> ``variant_id``, ``get-usages`` -> ``get_usages``,
    ``1q_gates`` -> ``one_qubit_gates``."""
    match = re.match(r"^(\d)(q?)(?=_|$)", name)
    if match:
        word = _NUMBER_WORDS[match.group(1)] + ("_qubit" if match.group(2) else "")
        name = word + name[match.end():]
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _path_argument_name(path: str, wire_name: str) -> str:
    """Generic identifiers (``{UUID}``, ``{id}``) are named after their collection: ``/jobs/{UUID}`` -> job_id."""
    if wire_name.lower() in ("uuid", "id"):
        segments = path.split("/")
        index = segments.index("{" + wire_name + "}")
        collection = next((s for s in reversed(segments[:index]) if s and not s.startswith("{")), "resource")
        return f"{snake_case(_singular(collection))}_id"
    return snake_case(wire_name)


# --------------------------------------------------------------------------------------------------------------
# Schema conversion
# --------------------------------------------------------------------------------------------------------------


class _Spec:
    """The OpenAPI document with ``$ref`` inlining and the reconciliation patches applied."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        components = document.get("components", {})
        self.schemas: dict[str, Any] = copy.deepcopy(components.get("schemas", {}))
        for name, patches in text.SCHEMA_PATCHES.items():
            if name in self.schemas:
                _apply_patches(self.schemas[name], patches)
        self.components = components
        self.operations: dict[tuple[str, str], dict[str, Any]] = {}
        for path, item in document.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method in _METHODS:
                    self.operations[(method.upper(), path)] = {**op, "parameters": [*shared, *op.get("parameters", [])]}

    def deref(self, node: Any) -> Any:
        """Follow a top-level ``$ref`` (parameters, responses, request bodies)."""
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/components/"):
                raise CatalogError(f"unsupported $ref {ref!r}")
            kind, name = ref[len("#/components/"):].split("/", 1)
            node = self.schemas[name] if kind == "schemas" else self.components[kind][name]
            seen += 1
            if seen > 32:
                raise CatalogError(f"$ref cycle at {ref!r}")
        return node

    def inline(self, schema: Any, depth: int = 0) -> Any:
        """A deep copy of ``schema`` with every ``$ref`` replaced by its target and OpenAPI's ``nullable``
        turned into a JSON Schema type list."""
        if depth > 40:
            raise CatalogError("schema nesting too deep (a recursive $ref?)")
        if isinstance(schema, list):
            return [self.inline(s, depth + 1) for s in schema]
        if not isinstance(schema, Mapping):
            return schema
        if "$ref" in schema:
            target = self.inline(self.deref({"$ref": schema["$ref"]}), depth + 1)
            siblings = {k: self.inline(v, depth + 1) for k, v in schema.items() if k != "$ref"}
            return {**target, **siblings}
        out = {k: self.inline(v, depth + 1) for k, v in schema.items()}
        nullable = out.pop("nullable", False)
        all_of = out.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            del out["allOf"]
            out = {**all_of[0], **out}
        return _nullable(out) if nullable else out


def _apply_patches(schema: dict[str, Any], patches: Mapping[str, Mapping[str, Any]]) -> None:
    for path, keys in patches.items():
        node = schema
        for part in filter(None, path.split(".")):
            node = node.setdefault("properties", {}).setdefault(part, {})
        for key, value in keys.items():
            if value is None:
                node.pop(key, None)
            else:
                node[key] = copy.deepcopy(value)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind == "null":
        return schema
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


def _short(description: Any, limit: int = 160) -> str | None:
    """First sentence of a spec description, without markdown noise; None when empty."""
    if not isinstance(description, str):
        return None
    flat = " ".join(description.replace("`", "").split())
    if not flat:
        return None
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    sentence = match.group(1) if match else flat
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def _clean(schema: Any, *, keep_descriptions: bool) -> Any:
    """Drop what neither validators nor models need: examples, titles, number formats, vendor keys."""
    if isinstance(schema, list):
        return [_clean(s, keep_descriptions=keep_descriptions) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP_KEYS or key.startswith("x-"):
            continue
        if key == "format" and value in _DROP_FORMATS:
            continue
        if key == "description":
            if keep_descriptions and (short := _short(value)):
                out[key] = short
            continue
        if key == "properties":
            if value:
                out[key] = {k: _clean(v, keep_descriptions=keep_descriptions) for k, v in value.items()}
            continue
        if key in ("items", "additionalProperties", "not", "if", "then", "else"):
            out[key] = _clean(value, keep_descriptions=keep_descriptions)
            continue
        if key in ("anyOf", "oneOf", "allOf"):
            out[key] = [_clean(v, keep_descriptions=keep_descriptions) for v in value]
            continue
        out[key] = copy.deepcopy(value)
    return out


def _merge_branches(branches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One schema that accepts the union of the branches' properties (for the model-visible schema only)."""
    flat = [_flatten(b) for b in branches]
    result = dict(flat[0])
    for other in flat[1:]:
        result = _merge_two(result, other)
    return result


def _flatten(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Replace every anyOf/oneOf of object branches by their merge, recursively."""
    out = dict(schema)
    for key in ("anyOf", "oneOf"):
        if key in out and all(isinstance(b, Mapping) for b in out[key]):
            branches = out.pop(key)
            merged = _merge_branches(branches)
            out = _merge_two(merged, out) if out else merged
    if "properties" in out:
        out["properties"] = {k: _flatten(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), Mapping):
        out["items"] = _flatten(out["items"])
    return out


def _merge_two(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    if a == b:
        return dict(a)
    out: dict[str, Any] = dict(a)
    for key, value in b.items():
        if key not in out:
            if key not in ("required", "enum", "const"):
                out[key] = value
            continue
        mine = out[key]
        if key == "properties":
            props = dict(mine)
            for name, schema in value.items():
                props[name] = _merge_two(props[name], schema) if name in props else schema
            out[key] = props
        elif key == "required":
            out[key] = [r for r in mine if r in value]
        elif key == "enum":
            out[key] = list(dict.fromkeys([*mine, *value]))
        elif key in ("items",) and isinstance(mine, Mapping) and isinstance(value, Mapping):
            out[key] = _merge_two(mine, value)
        elif key == "additionalProperties":
            if mine is False and value is False:
                out[key] = False
            elif mine is False or value is False:
                out[key] = value if mine is False else mine
            else:
                out[key] = mine
        elif key == "type" and mine != value:
            kinds = [*([mine] if isinstance(mine, str) else mine), *([value] if isinstance(value, str) else value)]
            out[key] = list(dict.fromkeys(kinds))
    if out.get("description") != b.get("description", out.get("description")):
        del out["description"]  # the branches describe different things: neither text fits the merge
    for key in ("enum", "const"):
        if key in out and key not in b:
            del out[key]  # one branch restricts it, another does not: the union is unrestricted
    if "required" in out and "required" not in b:
        del out["required"]
    if not out.get("required", True):
        del out["required"]
    return out


def _relax(schema: Any) -> Any:
    """An output schema that accepts anything the spec's response could grow into: no required lists, no
    closed objects, no enums or bounds, every typed node nullable."""
    if isinstance(schema, list):
        return [_relax(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("required", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                   "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "format",
                   "default", "description"):
            continue
        if key == "additionalProperties":
            if isinstance(value, Mapping):
                out[key] = _relax(value)
            continue
        if key == "properties":
            out[key] = {k: _relax(v) for k, v in value.items()}
        elif key in ("items",):
            out[key] = _relax(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            out["anyOf" if key == "oneOf" else key] = [_relax(v) for v in value]
        else:
            out[key] = copy.deepcopy(value)
    if "type" in out:
        out = _nullable(out)
    return out


def _object_response(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else (kind or [])
    return ("object" in kinds or "properties" in schema) and bool(schema.get("properties"))


def _set_path(schema: dict[str, Any], dotted: str, replacement: Any) -> None:
    parts = dotted.split(".")
    node = schema
    for part in parts[:-1]:
        node = node.get("properties", {}).get(part)
        if node is None:
            return
    props = node.get("properties", {})
    if replacement is None:
        props.pop(parts[-1], None)
    elif parts[-1] in props:
        props[parts[-1]] = copy.deepcopy(replacement)


# --------------------------------------------------------------------------------------------------------------
# Building operations
# --------------------------------------------------------------------------------------------------------------


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _annotations(method: str, path: str) -> dict[str, bool]:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    read_only = method == "GET"
    return {
        "read_only": read_only,
        "destructive": method == "DELETE" or (not read_only and last in ("cancel", "end")),
        "idempotent": method in ("GET", "PUT", "DELETE"),
        "open_world": True,
    }


def _build_http(spec: _Spec, entry: Mapping[str, Any], toolset: str, source: str) -> Operation:
    method = str(entry["method"]).upper()
    path = str(entry["path"])
    op_id = str(entry["id"])
    where = f"{source}: operation {op_id!r}"
    raw = spec.operations.get((method, path))
    if raw is None:
        raise CatalogError(f"{where}: no OpenAPI operation for {method} {path}")
    overlay = text.OVERLAY.get(f"{method} {path}", {})
    notes = {**text.COMMON_ARGS, **overlay.get("args", {})}

    arguments: list[Argument] = []
    visible: dict[str, Any] = {}
    full: dict[str, Any] = {}
    required: list[str] = []

    def add(name: str, location: str, wire: str, schema: Mapping[str, Any], is_required: bool,
            description: Any) -> None:
        if any(a.name == name for a in arguments):
            raise CatalogError(f"{where}: two arguments named {name!r}")
        arguments.append(Argument(name, location, wire, is_required))  # type: ignore[arg-type]
        shown = _clean(schema, keep_descriptions=False)
        note = notes[name] if name in notes else _short(description or schema.get("description"), 100)
        if note:
            shown = {**shown, "description": note}
        visible[name] = shown
        full[name] = _clean(schema, keep_descriptions=False)
        if is_required:
            required.append(name)

    params = [spec.deref(p) for p in raw.get("parameters", [])]
    path_names: dict[str, str] = {}
    for p in params:
        if p.get("in") == "path":
            name = _path_argument_name(path, p["name"])
            schema = spec.inline(p.get("schema", {"type": "string"}))
            if p["name"] == "backend":
                schema = {**schema, "enum": list(text.PATH_BACKENDS)}
            path_names[name] = p["name"]
            # a path argument the server can fill in itself (overlay "optional") may be left out by the agent
            add(name, "path", p["name"], schema, name not in overlay.get("optional", ()), p.get("description"))
    for p in params:
        if p.get("in") == "query":
            name = snake_case(p["name"])
            if name in path_names:
                continue  # the spec repeats a path parameter as a query filter (GET /sessions/{id}/jobs)
            add(name, "query", p["name"], spec.inline(p.get("schema", {"type": "string"})),
                bool(p.get("required")), p.get("description"))

    body_full: dict[str, Any] | None = None
    request_body = spec.deref(raw.get("requestBody")) if raw.get("requestBody") else None
    if request_body:
        content = request_body.get("content", {}).get("application/json", {})
        body = spec.inline(content.get("schema", {"type": "object"}))
        body_full = _clean(body, keep_descriptions=False)
        merged = _flatten(_clean(body, keep_descriptions=True))
        body_required = set(merged.get("required", []))
        for wire, schema in merged.get("properties", {}).items():
            description = schema.get("description")
            schema = {k: v for k, v in schema.items() if k != "description"}
            add(snake_case(wire), "body", wire, schema, wire in body_required, description)
            visible_schema = visible[snake_case(wire)]
            if description and "description" not in visible_schema:
                visible_schema["description"] = _short(description, 100)
            if visible_schema.get("description") is None:
                visible_schema.pop("description", None)
    input_schema = _object(visible, required)
    for dotted, replacement in overlay.get("visible", {}).items():
        _set_path(input_schema, dotted, replacement)
    _share_repeats(input_schema)

    _patch_validation(text.VALIDATION_PATCHES.get(f"{method} {path}", {}), arguments, full, body_full)
    validation_schema = _validation_schema(arguments, full, required, body_full)

    output_schema, result_key = _output(spec, raw, path, overlay)
    _describe_outputs(output_schema, text.OUTPUT_UNITS.get(f"{method} {path}", {}))
    description = overlay.get("description") or " ".join(
        filter(None, [entry.get("summary") and f"{entry['summary']}.", _short(raw.get("description"))]))
    props = input_schema["properties"]
    takes_job = _is_job_payload(props) and request_body is not None
    return Operation(
        name=snake_case(op_id), capability=toolset, operation_id=op_id,
        openapi_operation_id=raw.get("operationId"), kind="http", method=method, path=path,
        title=str(entry.get("summary") or raw.get("summary") or op_id), description=description,
        input_schema=input_schema, output_schema=output_schema, arguments=tuple(arguments),
        secured=raw.get("security") != [], result_key=result_key,
        validates_job_payload=takes_job,
        validation_schema=validation_schema, has_body=request_body is not None, source=source,
        job_fields=tuple(a.name for a in arguments if a.location == "body") if takes_job else (),
        **_annotations(method, path),
    )


def _share_repeats(schema: dict[str, Any], *, min_bytes: int = 300) -> None:
    """Move a sub-schema that occurs more than once (create_job's gate object, in ``circuit`` and in each of
    ``circuits``) into ``$defs`` and point at it with ``$ref``: the model reads it once. In place."""
    import json

    seen: dict[str, int] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            key = json.dumps(node, sort_keys=True)
            if len(key) >= min_bytes:
                seen[key] = seen.get(key, 0) + 1
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    count(schema.get("properties", {}))
    repeated = [k for k, n in seen.items() if n > 1]
    if not repeated:
        return
    # the largest repeat only (smaller ones are usually inside it)
    target = max(repeated, key=len)
    shared = json.loads(target)
    name = "circuit" if shared.get("type") == "array" and '"gate"' in target else "shared"

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            if json.dumps(node, sort_keys=True) == target:
                return {"$ref": f"#/$defs/{name}"}
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    schema["properties"] = replace(schema["properties"])
    schema["$defs"] = {name: shared}


def _patch_validation(patches: Mapping[str, Mapping[str, Any]], arguments: Sequence[Argument],
                      full: dict[str, Any], body: Mapping[str, Any] | None) -> None:
    """Merge validation-only constraints into the parameter schemas (``full``) and, for body arguments, into
    the property of that name in every branch of the ``body`` schema."""
    for argument in arguments:
        extra = patches.get(argument.name)
        if not extra:
            continue
        if argument.location != "body":
            full[argument.name] = {**full[argument.name], **copy.deepcopy(dict(extra))}
            continue
        branches = [body] if body is not None else []
        while branches:
            node = branches.pop()
            if not isinstance(node, dict):
                continue
            branches += [*node.get("anyOf", ()), *node.get("oneOf", ())]
            prop = node.get("properties", {}).get(argument.wire_name)
            if isinstance(prop, dict):
                prop.update(copy.deepcopy(dict(extra)))


def _describe_outputs(schema: dict[str, Any], units: Mapping[str, Any]) -> None:
    """Set each ``units`` entry (a description, or schema keys) on the output property at its dotted path;
    ``[]`` steps into array items. A path that does not exist is ignored (the spec may drop a field)."""
    for dotted, value in units.items():
        node: Any = schema
        for part in dotted.split("."):
            name, items = (part[:-2], True) if part.endswith("[]") else (part, False)
            node = (node.get("properties") or {}).get(name) if isinstance(node, dict) else None
            if items and isinstance(node, dict):
                node = node.get("items")
            if not isinstance(node, dict):
                break
        if isinstance(node, dict):
            node.update({"description": value} if isinstance(value, str) else copy.deepcopy(dict(value)))


def _is_job_payload(properties: Mapping[str, Any]) -> bool:
    return {"type", "input", "backend"} <= set(properties)


def _validation_schema(arguments: Sequence[Argument], full: Mapping[str, Any], required: Sequence[str],
                       body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flat arguments' full schema: parameters as properties, the body schema (with its anyOf branches)
    applied to the body arguments through ``allOf``. Parameter names are stripped from the body's
    ``additionalProperties: false`` scope by listing them in every branch."""
    params = {a.name: full[a.name] for a in arguments if a.location != "body"}
    schema: dict[str, Any] = {"type": "object", "properties": params}
    req = [r for r in required if r in params]
    if req:
        schema["required"] = req
    if body is not None:
        renames = {a.wire_name: a.name for a in arguments if a.location == "body"}
        schema["x-body"] = _rename_body(body, renames, list(params))
    return schema


def _rename_body(body: Mapping[str, Any], renames: Mapping[str, str], extra: Sequence[str]) -> dict[str, Any]:
    """The body schema in tool-argument names, with the parameter names allowed alongside."""
    def visit(schema: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(schema)
        for key in ("anyOf", "oneOf"):
            if key in out:
                out[key] = [visit(b) for b in out[key]]
        if "properties" in out:
            out["properties"] = {renames.get(k, k): v for k, v in out["properties"].items()}
            for name in extra:
                out["properties"].setdefault(name, True)
        if "required" in out:
            out["required"] = [renames.get(k, k) for k in out["required"]]
        return out
    return visit(body)


def _output(spec: _Spec, raw: Mapping[str, Any], path: str,
            overlay: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    schema: Any = None
    for status, response in sorted(raw.get("responses", {}).items()):
        if str(status).startswith("2"):
            response = spec.deref(response)
            content = response.get("content", {})
            media = content.get("application/json") or next(iter(content.values()), None)
            if media and "schema" in media:
                schema = spec.inline(media["schema"])
            break
    if schema is not None and _object_response(schema) and "result_key" not in overlay:
        relaxed = _relax(_clean(schema, keep_descriptions=False))
        relaxed["type"] = "object"
        return relaxed, None
    key = overlay.get("result_key") or next(
        (s for s in reversed(path.split("/")) if s and not s.startswith("{")), "result")
    inner = overlay["result_schema"] if "result_schema" in overlay else (
        _relax(_clean(schema, keep_descriptions=False)) if schema is not None else {})
    return {"type": "object", "properties": {key: inner}}, key


def _build_workflow(entry: Mapping[str, Any], toolset: str, source: str) -> Operation:
    op_id = str(entry["id"])
    where = f"{source}: workflow {op_id!r}"
    input_schema = entry.get("inputSchema")
    if not isinstance(input_schema, Mapping) or input_schema.get("type") != "object":
        raise CatalogError(f"{where}: inputSchema must be an inline object schema")
    hints = entry.get("hints") or {}
    properties = input_schema.get("properties", {})
    required = set(input_schema.get("required", []))
    arguments = tuple(Argument(name, "body", name, name in required) for name in properties)
    output = entry.get("outputSchema")
    if output is not None:
        output = _relax(output)
        output["type"] = "object"
    read_only = bool(hints.get("readOnly", False))
    return Operation(
        name=snake_case(op_id), capability=toolset, operation_id=op_id, openapi_operation_id=None,
        kind="workflow", method=None, path=None, title=str(entry.get("summary") or op_id),
        description=str(entry.get("description") or entry.get("summary") or op_id).strip(),
        input_schema=copy.deepcopy(dict(input_schema)), output_schema=output, arguments=arguments,
        read_only=read_only, destructive=bool(hints.get("destructive", False)) and not read_only,
        idempotent=bool(hints.get("idempotent", read_only)), open_world=bool(hints.get("openWorld", True)),
        secured=bool(hints.get("secured", True)),
        validates_job_payload=bool(hints.get("validatesJobPayload", _is_job_payload(properties))),
        validation_schema=copy.deepcopy(dict(input_schema)), source=source,
    )


def _toolset(document: Mapping[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    if metadata.get("toolset"):
        return str(metadata["toolset"])
    name = str(metadata.get("name") or "")
    return name.removeprefix(_TOOLSET_PREFIX)


def _load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)


def load_catalog(capabilities_dir: Path | None = None, openapi_path: Path | None = None,
                 extra_files: Sequence[Path] = ()) -> Catalog:
    """Read every ``*.yaml`` capability spec in ``capabilities_dir`` (sorted by file name) plus
    ``extra_files`` and build one operation per entry, in file order.

    Raises :class:`CatalogError` naming the file and entry when an operation has no OpenAPI counterpart,
    lacks a method/path or workflow schema, or two operations share a tool name.
    """
    directory = Path(capabilities_dir) if capabilities_dir is not None else _paths.capabilities_dir()
    spec = _Spec(_load_yaml(Path(openapi_path) if openapi_path is not None else _paths.openapi_path()))
    files = [*sorted(directory.glob("*.yaml")), *sorted(directory.glob("*.yml")), *map(Path, extra_files)]
    operations: list[Operation] = []
    names: dict[str, str] = {}
    for file in dict.fromkeys(files):
        document = _load_yaml(file)
        if not isinstance(document, Mapping) or document.get("kind") != "Capability":
            continue
        toolset = _toolset(document)
        for entry in (document.get("spec") or {}).get("operations") or []:
            if not isinstance(entry, Mapping) or "id" not in entry:
                raise CatalogError(f"{file.name}: every operation needs an `id`")
            if entry.get("method") and entry.get("path"):
                op = _build_http(spec, entry, toolset, file.name)
            elif entry.get("x-handler") == "workflow":
                op = _build_workflow(entry, toolset, file.name)
            else:
                raise CatalogError(f"{file.name}: operation {entry['id']!r} needs method+path or "
                                   "`x-handler: workflow` with an inline inputSchema")
            if op.name in names:
                raise CatalogError(f"{file.name}: tool {op.name!r} already defined in {names[op.name]}")
            names[op.name] = file.name
            operations.append(op)
    return Catalog(tuple(_share_job_fields(operations)))


def _share_job_fields(operations: Sequence[Operation]) -> list[Operation]:
    """Workflows that take a job payload ("the same fields as create_job") get create_job's job fields (from
    the ``POST /jobs`` request body of the spec) and are checked against create_job's own body schema, with
    its ``anyOf`` branches: ``type`` must match ``input``'s shape, unknown ``noise`` or ``settings`` keys are
    refused, exactly as create_job refuses them. Their own arguments (``timeout_s``, ``top_k``...) are allowed
    beside the job fields; a job field the workflow makes optional (compare_backends' ``backend``) is optional
    in every branch."""
    job = next((op for op in operations if op.kind == "http" and op.job_fields and op.method == "POST"
                and op.path == "/jobs"), None)
    body = job.validation_schema.get("x-body") if job is not None else None
    if job is None or body is None:
        return list(operations)
    shared: list[Operation] = []
    for op in operations:
        properties = op.validation_schema.get("properties", {})
        if op.kind == "workflow" and _is_job_payload(properties):
            required = set(op.validation_schema.get("required", ()))
            own = [name for name in properties if name not in job.input_schema.get("properties", {})]
            for name in properties:
                if name not in own:
                    properties[name] = True  # checked by the body schema below
            op.validation_schema["x-body"] = _workflow_body(copy.deepcopy(body), own, required)
            visible = op.input_schema.get("properties", {})
            for name, schema in text.WORKFLOW_JOB_FIELDS.items():
                if name in visible:
                    visible[name] = copy.deepcopy(schema)
            op = dataclasses.replace(op, job_fields=job.job_fields)
        shared.append(op)
    return shared


def _workflow_body(schema: Any, own: Sequence[str], required: set[str]) -> Any:
    """create_job's body schema for a workflow: its own argument names allowed in every branch, and only the
    fields it requires (plus ``type``, which the workflow defaults) required."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in ("anyOf", "oneOf"):
        if key in out:
            out[key] = [_workflow_body(b, own, required) for b in out[key]]
    if "properties" in out:
        out["properties"] = {**out["properties"], **{name: True for name in own}}
    if "required" in out:
        out["required"] = [r for r in out["required"] if r in required or r == "type"]
    return out
