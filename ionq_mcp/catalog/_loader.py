"""Load the catalog: every capability file (Naftiko ``kind: Capability``) in order, one operation per entry.

HTTP entries are converted from IonQ's OpenAPI description by :mod:`._convert`; workflow entries
(``x-handler: workflow``) carry their schemas inline. Cross-references are resolved once every file is read:
listers and status tools (routes -> tool names) and the job fields workflows share with create_job.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ionq_mcp import _paths, openapi
from ionq_mcp.catalog._convert import _build_http, _is_job_payload, _Links, _presentation, _relax, snake_case
from ionq_mcp.catalog._model import Argument, Catalog, CatalogError, Operation

__all__ = ["load_catalog"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOOLSET_PREFIX = "ionq-quantum-cloud-"


def _build_workflow(entry: Mapping[str, Any], toolset: str, source: str) -> tuple[Operation, _Links]:
    op_id = str(entry["id"])
    where = f"{source}: workflow {op_id!r}"
    input_schema = entry.get("inputSchema")
    if not isinstance(input_schema, Mapping) or input_schema.get("type") != "object":
        raise CatalogError(f"{where}: inputSchema must be an inline object schema")
    hints = entry.get("hints") or {}
    properties = input_schema.get("properties", {})
    required = set(input_schema.get("required", []))
    in_path = set(entry.get("x-path-arguments") or ())  # ids the workflow puts into a URL path
    if in_path - set(properties):
        raise CatalogError(f"{where}: x-path-arguments {sorted(in_path - set(properties))} are not arguments")
    arguments = tuple(Argument(name, "path" if name in in_path else "body", name, name in required)
                      for name in properties)
    presentation = _presentation({"result_kind": entry.get("x-result-kind", "object"), "role": entry.get("x-role")},
                                 where)
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
        validation_schema=copy.deepcopy(dict(input_schema)), source=source, **presentation,
    ), (entry.get("x-lister"), None)


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
    spec = openapi.load(openapi_path)
    files = [*sorted(directory.glob("*.yaml")), *sorted(directory.glob("*.yml")), *map(Path, extra_files)]
    operations: list[Operation] = []
    links: list[_Links] = []
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
                op, link = _build_http(spec, entry, toolset, file.name)
            elif entry.get("x-handler") == "workflow":
                op, link = _build_workflow(entry, toolset, file.name)
            else:
                raise CatalogError(f"{file.name}: operation {entry['id']!r} needs method+path or "
                                   "`x-handler: workflow` with an inline inputSchema")
            if op.name in names:
                raise CatalogError(f"{file.name}: tool {op.name!r} already defined in {names[op.name]}")
            names[op.name] = file.name
            operations.append(op)
            links.append(link)
    return Catalog(tuple(_share_job_fields(_resolve_links(operations, links))))


def _resolve_links(operations: Sequence[Operation], links: Sequence[_Links]) -> list[Operation]:
    """Each operation's lister and status routes as the names of the first tools bound to those routes."""
    by_route: dict[str, str] = {}
    for op in operations:
        if op.kind == "http":
            by_route.setdefault(f"{op.method} {op.path}", op.name)
    return [dataclasses.replace(op, lister=by_route.get(lister) if lister else None,
                                status_tool=by_route.get(status) if status else None)
            for op, (lister, status) in zip(operations, links, strict=True)]


def _share_job_fields(operations: Sequence[Operation]) -> list[Operation]:
    """Workflows that take a job payload ("the same fields as create_job") get create_job's job fields, and
    validate them with create_job's schemas: they advertise short schemas to keep the tool list small, but a
    payload the API would reject (an unknown noise key, say) is refused before anything is sent, exactly as
    create_job refuses it. The job fields come from the ``POST /jobs`` request body of the spec."""
    job = next((op for op in operations if op.kind == "http" and op.job_fields and op.method == "POST"
                and op.path == "/jobs"), None)
    if job is None:
        return list(operations)
    spec = job.input_schema.get("properties", {})
    shared: list[Operation] = []
    for op in operations:
        properties = op.validation_schema.get("properties", {})
        if op.kind == "workflow" and _is_job_payload(properties):
            if op.validates_job_payload:
                for name in job.job_fields:
                    if name in properties and name in spec:
                        properties[name] = copy.deepcopy(spec[name])
            op = dataclasses.replace(op, job_fields=job.job_fields)
        shared.append(op)
    return shared
