"""The catalog's model: :class:`Operation` (one tool), :class:`Argument`, :class:`Catalog` and their error.

Built by :mod:`._loader` from the capability files and IonQ's OpenAPI description (:mod:`._convert`), read by
the server. Everything here is immutable data.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["RESULT_KINDS", "ROLES", "Argument", "Catalog", "CatalogError", "Operation", "ResultKind", "Role"]

ResultKind = Literal["object", "distribution", "samples"]
Role = Literal["submit", "estimate", "status", "results"]
ROLES: tuple[str, ...] = ("submit", "estimate", "status", "results")
RESULT_KINDS: tuple[str, ...] = ("object", "distribution", "samples")


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
    # ---- presentation, from the overlay (HTTP) or the capability file (workflows x-* keys) ----
    #: ``distribution`` (decimal basis state -> probability or count: reshaped with bitstrings), ``samples``
    #: (shot-by-shot outcomes) or ``object`` (anything else).
    result_kind: ResultKind = "object"
    #: The result also says where calls go (sandbox or IonQ): ``whoami``'s ``upstream`` field.
    describes_upstream: bool = False
    #: Its part in the agent's basic loop, which the server's instructions mention by tool name: ``submit``,
    #: ``estimate``, ``status`` or ``results`` (None: not mentioned).
    role: Role | None = None
    #: The tool that lists the ids this operation takes (a 404's hint names it); None when there is none.
    lister: str | None = None
    #: For results that exist only once the job completed: the tool that shows a job's status (a 404's hint).
    status_tool: str | None = None

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
