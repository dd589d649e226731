"""IonQ's OpenAPI description, read through one door: the only module that opens, patches and converts it.

* :func:`load` parses ``schemas/ionq-quantum-cloud-openapi.yml`` (or another file) once per process and applies
  the one set of reconciliations, :data:`ionq_mcp._catalog_text.SCHEMA_PATCHES` (where the spec disagrees with
  IonQ's job and session JSON Schemas or published rules; each is recorded in docs/spec-deviations.md).
* :class:`Spec` gives the raw document, the patched component schemas, the operations by ``(METHOD, path)``,
  :meth:`Spec.deref` and :meth:`Spec.inline` (``$ref`` replaced by its target, OpenAPI 3.0 ``nullable``
  turned into JSON Schema).
* :meth:`Spec.json_schema_components` is every patched component schema as JSON Schema draft 2020-12
  (:data:`DRAFT`), ``$ref`` kept, for validators that resolve references against
  ``{"components": {"schemas": ...}}``.

Users: the tool catalog (:mod:`ionq_mcp.catalog`) and the sandbox's request validation
(:mod:`ionq_mcp.sandbox._validate`). A :class:`Spec` is shared: treat what it returns as read-only (copy before
changing).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ionq_mcp import _catalog_text, _paths

__all__ = ["DRAFT", "Spec", "SpecError", "load", "nullable"]

#: The JSON Schema dialect every converted schema follows.
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
#: OpenAPI-only keys that are not JSON Schema (or only annotate examples).
_NOT_JSON_SCHEMA = ("example", "examples")


class SpecError(ValueError):
    """The OpenAPI description uses something this loader does not support (names the reference)."""


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts ``null`` (JSON Schema form of OpenAPI 3.0's ``nullable: true``): ``null``
    joins the type list and the enum, or the schema becomes ``anyOf: [schema, {type: null}]``."""
    kind = schema.get("type")
    if kind == "null":
        return schema
    if isinstance(kind, (str, list)):
        kinds = [kind] if isinstance(kind, str) else kind
        out = schema if "null" in kinds else {**schema, "type": [*kinds, "null"]}
        if "enum" in out and None not in out["enum"]:
            out = {**out, "enum": [*out["enum"], None]}
        return out
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


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


def _to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema 2020-12: ``nullable`` converted, example keys dropped, ``$ref`` kept."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, Mapping):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in _NOT_JSON_SCHEMA}
    return nullable(out) if out.pop("nullable", False) else out


class Spec:
    """The OpenAPI document with the reconciliation patches applied (see the module docstring)."""

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        components = document.get("components", {})
        self.components: Mapping[str, Any] = components
        self.schemas: dict[str, Any] = copy.deepcopy(components.get("schemas", {}))
        for name, patches in _catalog_text.SCHEMA_PATCHES.items():
            if name in self.schemas:
                _apply_patches(self.schemas[name], patches)
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
                raise SpecError(f"unsupported $ref {ref!r}")
            kind, name = ref[len("#/components/"):].split("/", 1)
            node = self.schemas[name] if kind == "schemas" else self.components[kind][name]
            seen += 1
            if seen > 32:
                raise SpecError(f"$ref cycle at {ref!r}")
        return node

    def inline(self, schema: Any, depth: int = 0) -> Any:
        """A deep copy of ``schema`` with every ``$ref`` replaced by its target, a single-branch ``allOf`` merged
        into its parent, and OpenAPI's ``nullable`` turned into JSON Schema (:func:`nullable`)."""
        if depth > 40:
            raise SpecError("schema nesting too deep (a recursive $ref?)")
        if isinstance(schema, list):
            return [self.inline(s, depth + 1) for s in schema]
        if not isinstance(schema, Mapping):
            return schema
        if "$ref" in schema:
            target = self.inline(self.deref({"$ref": schema["$ref"]}), depth + 1)
            siblings = {k: self.inline(v, depth + 1) for k, v in schema.items() if k != "$ref"}
            return {**target, **siblings}
        out = {k: self.inline(v, depth + 1) for k, v in schema.items()}
        is_nullable = out.pop("nullable", False)
        all_of = out.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            del out["allOf"]
            out = {**all_of[0], **out}
        return nullable(out) if is_nullable else out

    def patched_document(self) -> dict[str, Any]:
        """The whole OpenAPI document with the reconciled component schemas (a fresh deep copy): what the
        sandbox's responses are checked against (docs/spec-deviations.md records each difference)."""
        out = copy.deepcopy(dict(self.document))
        out.setdefault("components", {})["schemas"] = copy.deepcopy(self.schemas)
        return out

    @functools.cached_property
    def _json_schemas(self) -> dict[str, Any]:
        return _to_json_schema(self.schemas)

    def json_schema_components(self) -> dict[str, Any]:
        """Every patched component schema as JSON Schema 2020-12 (a fresh deep copy the caller may change)."""
        return copy.deepcopy(self._json_schemas)


@functools.cache
def _load(path: Path) -> Spec:
    with open(path, encoding="utf-8") as handle:
        return Spec(yaml.load(handle, Loader=_Loader))


def load(path: Path | str | None = None) -> Spec:
    """The (patched) spec at ``path`` (default: IonQ's v0.4 description shipped in ``schemas/``), parsed once per
    process and path."""
    return _load(Path(path) if path is not None else _paths.openapi_path())
