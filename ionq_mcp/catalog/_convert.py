"""OpenAPI operations as tools: names, arguments and the three schemas of each HTTP operation.

The spec comes from :func:`ionq_mcp.openapi.load` (patched, ``$ref``-resolving); the agent-facing text and the
presentation fields from the overlay (:data:`ionq_mcp._catalog_text.OVERLAY`, keyed by ``METHOD /path``).
:func:`_build_http` turns one capability entry into an :class:`~._model.Operation`; the schema helpers
(:func:`_clean`, :func:`_flatten` for the model-visible form, :func:`_relax` for output schemas) live here too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ionq_mcp import _catalog_text as text
from ionq_mcp.catalog._model import RESULT_KINDS, ROLES, Argument, CatalogError, Operation
from ionq_mcp.openapi import Spec, nullable

__all__ = ["snake_case"]

_DROP_FORMATS = {"int32", "int64", "double", "float", "unix-timestamp", "uuid"}
_DROP_KEYS = {"example", "examples", "title", "discriminator", "externalDocs", "xml", "readOnly", "writeOnly",
              "deprecated"}
_NUMBER_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
                 "7": "seven", "8": "eight", "9": "nine"}


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
        out = nullable(out)
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


#: Routes ("METHOD /path") an operation refers to, resolved to tool names once the whole catalog is built:
#: (the route that lists its ids, the route that shows a job's status for results that need a completed job).
_Links = tuple[str | None, str | None]

#: The route that shows a job's status (a result that exists only once the job completed points there).
_JOB_STATUS_ROUTE = "GET /jobs/{UUID}"


def _presentation(overlay: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The presentation fields an overlay (HTTP) or a workflow's x-* keys set, checked."""
    kind = overlay.get("result_kind", "object")
    role = overlay.get("role")
    if kind not in RESULT_KINDS:
        raise CatalogError(f"{where}: result kind {kind!r} is not one of {', '.join(RESULT_KINDS)}")
    if role is not None and role not in ROLES:
        raise CatalogError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    return {"result_kind": kind, "role": role, "describes_upstream": bool(overlay.get("describes_upstream"))}


def _is_distribution_schema(schema: Mapping[str, Any] | None) -> bool:
    """A response that is a bare map of numbers (decimal basis state -> probability or count)."""
    extra = (schema or {}).get("additionalProperties")
    return not (schema or {}).get("properties") and isinstance(extra, Mapping) and extra.get("type") in (
        "number", "integer", ["number", "null"], ["integer", "null"])


def _build_http(spec: Spec, entry: Mapping[str, Any], toolset: str, source: str) -> tuple[Operation, _Links]:
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
            add(name, "path", p["name"], schema, True, p.get("description"))
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

    validation_schema = _validation_schema(arguments, full, required, body_full)

    output_schema, result_key = _output(spec, raw, path, overlay)
    presentation = _presentation(overlay, where)
    if "result_kind" not in overlay and _is_distribution_schema(output_schema):
        presentation["result_kind"] = "distribution"
    collection = f"GET /{path.strip('/').split('/')[0]}"
    lister = overlay.get("lister") or (collection if ("GET", collection[4:]) in spec.operations else None)
    links = (lister, _JOB_STATUS_ROUTE if overlay.get("completed_first") else None)
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
        **presentation, **_annotations(method, path),
    ), links


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


def _output(spec: Spec, raw: Mapping[str, Any], path: str,
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
