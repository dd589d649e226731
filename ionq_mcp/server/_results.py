"""Upstream responses as MCP tool results: structured content, a short text summary, and a size cap.

Contract:

* ``structuredContent`` is always a JSON object. A top-level array is wrapped as ``{op.result_key: [...]}``;
  a scalar as ``{"result": value}``; no body as ``{}``.
* Probability distributions and histograms (decimal basis-state keys, qubit 0 = least significant bit) are
  reshaped (:func:`shape_distribution`): the top :data:`TOP_OUTCOMES` outcomes by mass under the operation's
  ``result_key``, the same outcomes as bitstrings (qubit 0 = **rightmost** character), plus ``shown``,
  ``total_outcomes``, ``truncated``, ``remaining_mass`` and ``total_mass``; workflows shape every distribution
  they return with the same function. :func:`output_schema_for` adds those properties to the
  catalog's outputSchema.
* Every result is at most :data:`MAX_RESULT_BYTES` of compact JSON. Larger results are cut (the biggest list,
  map or string first) and carry ``truncated: true`` plus ``truncation_note`` saying what was cut.
* The text block is a one-line summary, followed by the compact JSON when that is short.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import mcp_types as types

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation
    from ionq_mcp.server._upstream import Upstream

__all__ = [
    "DISTRIBUTION_EXTRA_PROPERTIES",
    "MAX_RESULT_BYTES",
    "TOP_OUTCOMES",
    "cap_size",
    "is_distribution_op",
    "output_schema_for",
    "shape_distribution",
    "shape_result",
]

#: Upper bound on the compact JSON of one result's structured content (bytes, UTF-8).
MAX_RESULT_BYTES = 16_000
#: How many outcomes of a distribution are shown (largest mass first).
TOP_OUTCOMES = 32
#: Text blocks repeat the JSON only when it is at most this long; otherwise the summary stands alone.
INLINE_JSON_BYTES = 1_500

_BIT_ORDER = (
    "qubit 0 = least significant bit of the decimal keys = rightmost character of the bitstrings; bitstrings "
    "are as wide as the highest qubit observed (pad with 0s on the left to the circuit's qubit count)"
)

#: Properties the server adds next to a distribution (``{result_key: top outcomes, ...}``).
DISTRIBUTION_EXTRA_PROPERTIES: dict[str, Any] = {
    "bitstrings": {
        "type": "object",
        "description": "The outcomes shown, keyed by bitstring with qubit 0 the rightmost character.",
        "additionalProperties": {"type": "number"},
    },
    "shown": {"type": "integer", "description": "Outcomes shown (largest first)."},
    "total_outcomes": {"type": "integer", "description": "Outcomes in the full result."},
    "truncated": {"type": "boolean"},
    "remaining_mass": {"type": "number", "description": "Sum of the values not shown."},
    "total_mass": {"type": "number", "description": "Sum of all values."},
    "bit_order": {"type": "string"},
}


def is_distribution_op(op: Operation) -> bool:
    """True for tools whose result is a basis-state distribution (probabilities or counts): the catalog says so
    (``op.result_kind``, set by the overlay or recognised from the response schema)."""
    return op.result_kind == "distribution"


def output_schema_for(op: Operation) -> dict | None:
    """The outputSchema the server advertises for ``op`` (the shape :func:`shape_result` produces)."""
    schema = op.output_schema
    if schema is not None and is_distribution_op(op):
        key = _distribution_key(op)
        properties = dict(schema.get("properties") or {})
        properties.setdefault(key, {"type": "object", "additionalProperties": {"type": "number"}})
        properties.update(DISTRIBUTION_EXTRA_PROPERTIES)
        return {**schema, "properties": properties}
    return schema


def _distribution_key(op: Operation) -> str:
    return getattr(op, "result_key", None) or "distribution"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _size(value: Any) -> int:
    return len(_dumps(value).encode())


def _is_distribution_data(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(k, str) and k.isdigit() for k in data)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.values())
    )


def shape_distribution(data: Mapping[str, float], *, qubits: int | None = None, top: int = TOP_OUTCOMES,
                       shots: int | None = None, key: str | None = None) -> dict[str, Any]:
    """The one shaper of a decimal-keyed distribution (probabilities or counts) as agents read it.

    The ``top`` outcomes, largest value first (ties in basis-state order, so the output is deterministic):

    * ``bitstrings``: bitstring -> value, qubit 0 the **rightmost** character; as wide as ``qubits`` (the
      circuit's width, when known) or the highest qubit observed, whichever is larger;
    * ``shown`` / ``total_outcomes``: outcomes shown / outcomes in the full result; ``truncated`` when fewer
      are shown;
    * ``remaining_mass`` / ``total_mass``: the sum of the values not shown / of all values (a probability sum,
      or a shot count for histograms);
    * ``counts``: integer counts of the shown outcomes when the job was sampled with ``shots`` (largest
      remainder rounding of ``p * shots`` over the whole distribution);
    * under ``key`` (when given): the same outcomes with their decimal wire keys.
    """
    values = {str(k): v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], int(kv[0])))
    shown = ranked[:top]
    width = max([qubits or 0, 1, *(int(k).bit_length() for k in values)])
    out: dict[str, Any] = {key: dict(shown)} if key else {}
    out.update({
        "bitstrings": {format(int(k), f"0{width}b"): v for k, v in shown},
        "shown": len(shown),
        "total_outcomes": len(ranked),
        "truncated": len(shown) < len(ranked),
        "remaining_mass": _mass(v for _, v in ranked[top:]),
        "total_mass": _mass(values.values()),
    })
    if shots:
        from ionq_mcp.client import counts_from_probabilities  # loaded: the job was just read through it

        counts = counts_from_probabilities(values, shots)
        out["counts"] = {format(int(k), f"0{width}b"): counts.get(k, 0) for k, _ in shown}
    return out


def _mass(values: Iterable[float]) -> float:
    """A sum as JSON: integers stay integers (counts), floats are rounded to 12 places."""
    items = list(values)
    if all(isinstance(v, int) for v in items):
        return sum(items)
    return round(math.fsum(items), 12)


def _wrap(op: Operation, data: Any) -> dict[str, Any]:
    key = getattr(op, "result_key", None)
    if key:
        return {key: data}
    if data is None:
        return {}
    if isinstance(data, dict):
        return data
    return {"items" if isinstance(data, list) else "result": data}


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def _bulkiest_path(root: Any) -> list[Any]:
    """Path to the node to cut: descend while one child holds most of its parent's bytes."""
    path: list[Any] = []
    node = root
    while True:
        children = _children(node)
        if not children:
            return path
        total = _size(node)
        key, child = max(children, key=lambda kv: _size(kv[1]))
        if not isinstance(child, (dict, list, str)) or _size(child) * 2 < total:
            return path
        if isinstance(child, str):
            return [*path, key]
        path.append(key)
        node = child


def _cut(root: dict, path: list[Any]) -> str:
    """Halve the list, map or string at ``path`` in place; return a description of the cut."""
    parent: Any = None
    node: Any = root
    for key in path:
        parent, node = node, node[key]
    where = "/".join(str(p) for p in path) or "(top level)"
    if isinstance(node, str):
        keep = max(0, len(node) // 2)
        parent[path[-1]] = node[:keep] + "...[truncated]"
        return f"{where}: string shortened from {len(node)} characters"
    if isinstance(node, list):
        keep = len(node) // 2
        del node[keep:]
        return f"{where}: list cut to its first {keep} items"
    if isinstance(node, dict):
        keys = list(node)
        keep = len(keys) // 2
        for key in keys[keep:]:
            del node[key]
        return f"{where}: map cut to its first {keep} of {len(keys)} entries"
    return f"{where}: cut"


def cap_size(content: dict[str, Any], *, limit: int = MAX_RESULT_BYTES, compact: str | None = None) -> dict[str, Any]:
    """``content`` cut until its compact JSON fits in ``limit`` bytes, with a note on what was cut.

    Wrapped lists are cut to the longest prefix that fits (the note gives shown/total); otherwise the bulkiest
    list, map or string is halved until the result fits. ``compact`` is ``content``'s compact JSON when the
    caller already has it.
    """
    compact = _dumps(content) if compact is None else compact
    if len(compact) <= limit and len(compact.encode()) <= limit:
        return content
    content = json.loads(_dumps(content))  # private deep copy
    budget = limit - 400  # room for the note
    notes: list[str] = []
    lists = [k for k, v in content.items() if isinstance(v, list)]
    if len(lists) == 1 and len(content) <= 3:
        key = lists[0]
        items = content[key]
        total = len(items)
        lo, hi = 0, total
        while lo < hi:  # longest prefix that fits
            mid = (lo + hi + 1) // 2
            content[key] = items[:mid]
            if _size(content) <= budget:
                lo = mid
            else:
                hi = mid - 1
        content[key] = items[:lo]
        notes.append(f"{key}: showing the first {lo} of {total} items")
        content["shown"] = lo
        content["total"] = total
    for _ in range(64):
        if _size(content) <= budget:
            break
        notes.append(_cut(content, _bulkiest_path(content)))
    content["truncated"] = True
    content["truncation_note"] = (
        f"Result cut to fit {limit} bytes: " + "; ".join(notes) + ". Narrow the request (ids, limit, filters) "
        "to see the rest."
    )
    return content


def _summary(op: Operation, content: dict[str, Any]) -> str:
    if "bitstrings" in content and "total_outcomes" in content:
        top = list(content["bitstrings"].items())[:8]
        outcomes = ", ".join(f"{b}: {v:.6g}" for b, v in top)
        more = f" (top {content['shown']} of {content['total_outcomes']} outcomes)" if content["truncated"] else ""
        return f"{op.name}: {outcomes}{more}. Qubit 0 is the rightmost bit."
    for value in content.values():
        if isinstance(value, list):
            return f"{op.name}: {len(value)} item(s)."
    scalars = [
        f"{k}={v}"
        for k, v in content.items()
        if isinstance(v, (str, int, float, bool)) and k not in ("truncation_note", "bit_order")
    ][:6]
    return f"{op.name}: " + (", ".join(scalars) if scalars else "done") + "."


def shape_result(op: Operation, data: Any, upstream: Upstream | None = None, *,
                 summary: str | None = None) -> types.CallToolResult:
    """A JSON value returned for ``op`` as a successful ``CallToolResult`` (see the module contract).

    ``summary`` replaces the generic one-line summary (workflows write their own; it may span lines, and the
    sandbox note goes at the end of its first line)."""
    if is_distribution_op(op) and _is_distribution_data(data):
        content = {**shape_distribution(data, key=_distribution_key(op)), "bit_order": _BIT_ORDER}
    else:
        content = _wrap(op, data)
    if op.describes_upstream and upstream is not None:
        content = {**content, "upstream": upstream.describe()}
    compact = _dumps(content)
    if upstream is not None:
        # A key echoed upstream never leaves. Scrub before the size cap: a cut could split the key in two.
        redacted = upstream.redact(compact)
        if redacted != compact:
            compact, content = redacted, json.loads(redacted)
    capped = cap_size(content, compact=compact)
    if capped is not content:
        content, compact = capped, _dumps(capped)
    first, newline, more = (_summary(op, content) if summary is None else summary).partition("\n")
    if upstream is not None and upstream.is_sandbox:
        first += " [sandbox: simulated, no real hardware]"
    text = first + newline + more
    if len(compact) <= INLINE_JSON_BYTES:
        text += "\n" + compact
    else:
        text += f"\nFull result in structuredContent ({len(compact)} bytes)."
    if upstream is not None:
        text = upstream.redact(text)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=content)
