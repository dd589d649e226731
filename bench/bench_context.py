"""Context cost of ``tools/list`` and validation speed of a large ``create_job``.

Measures, in one run on the same machine:

* model-visible bytes of ``tools/list``: ``json.dumps`` (default separators) of the list of
  ``{name, description, inputSchema}`` of every tool, and total bytes (the whole tool list as the client
  receives it, ``None`` fields left out), for ionq-mcp's server and for FastMCP's ``from_openapi`` on the same
  IonQ OpenAPI spec. Both are read over MCP in-process (``mcp.Client`` / ``fastmcp.Client``). Our 25 API tools
  are reported separately from the workflow tools so the comparison covers the same operations;
* the time ``validate_call`` takes for a 2,000-gate ``create_job`` (median of many runs), with
  ``circuits.parse_job`` alone for reference.

Run: ``/work/venv/bin/python bench/bench_context.py [--runs 200] [--json out.json]``
Needs ``fastmcp==4.1.2`` for the peer (skipped with a note when missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ionq_mcp import _paths
from ionq_mcp.catalog import load_catalog
from ionq_mcp.circuits import parse_job


def _visible(tools: list[dict[str, Any]]) -> int:
    return len(json.dumps([{"name": t["name"], "description": t.get("description"), "inputSchema": t["inputSchema"]}
                           for t in tools]))


def _total(tools: list[dict[str, Any]]) -> int:
    return len(json.dumps(tools))


async def _ours() -> list[dict[str, Any]]:
    from mcp import Client

    from ionq_mcp.server import ServerConfig, build_server

    with tempfile.TemporaryDirectory() as state:
        server = build_server(ServerConfig(force_sandbox=True, sandbox_db=":memory:", state_dir=Path(state)))
        try:
            async with Client(server) as client:
                listed = await client.list_tools()
        finally:
            await server.aclose()
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in listed.tools]


async def _fastmcp() -> list[dict[str, Any]] | None:
    try:
        import httpx2
        from fastmcp import Client, FastMCP
    except ImportError:
        return None
    spec = yaml.load(_paths.openapi_path().read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    server = FastMCP.from_openapi(openapi_spec=spec, client=httpx2.AsyncClient(base_url="http://127.0.0.1:9/v0.4"))
    async with Client(server) as client:
        listed = await client.list_tools()
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in listed]


def context_cost() -> dict[str, Any]:
    ours = asyncio.run(_ours())
    api_names = {op.name for op in load_catalog() if op.kind == "http"}
    api = [t for t in ours if t["name"] in api_names]
    workflows = [t for t in ours if t["name"] not in api_names]
    result: dict[str, Any] = {
        "ours_api": {"tools": len(api), "visible_bytes": _visible(api), "total_bytes": _total(api)},
        "ours_all": {"tools": len(ours), "visible_bytes": _visible(ours), "total_bytes": _total(ours),
                     "workflow_tools": len(workflows)},
        "largest": sorted(((t["name"], _visible([t])) for t in ours), key=lambda x: -x[1])[:3],
    }
    peer = asyncio.run(_fastmcp())
    if peer is not None:
        result["fastmcp"] = {"tools": len(peer), "visible_bytes": _visible(peer), "total_bytes": _total(peer),
                             "annotated_tools": sum(1 for t in peer if t.get("annotations")),
                             "body_wrapped_tools": sum(1 for t in peer if "body" in t["inputSchema"].get("properties", {}))}
    result["ours_api"]["annotated_tools"] = sum(1 for t in api if t.get("annotations"))
    result["ours_api"]["body_wrapped_tools"] = sum(1 for t in api if "body" in t["inputSchema"].get("properties", {}))
    return result


def big_job(gates: int = 2000, qubits: int = 20) -> dict[str, Any]:
    circuit = []
    for i in range(gates // 2):
        circuit.append({"gate": "h", "target": i % qubits})
        circuit.append({"gate": "cnot", "control": i % qubits, "target": (i + 1) % qubits})
    return {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 1000,
            "input": {"gateset": "qis", "qubits": qubits, "circuit": circuit}}


def _median_ms(fn: Any, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3, min(samples) * 1e3


def validation_speed(runs: int) -> dict[str, Any]:
    from ionq_mcp.server._validation import validate_call

    op = load_catalog().get("create_job")
    payload = big_job()
    assert validate_call(op, payload) == [], "the benchmark payload must be valid"
    for _ in range(5):  # warm the validator cache and the interpreter
        validate_call(op, payload)
    median, best = _median_ms(lambda: validate_call(op, payload), runs)
    parse_median, parse_best = _median_ms(lambda: parse_job(payload), runs)
    return {"gates": len(payload["input"]["circuit"]), "runs": runs, "validate_call_median_ms": round(median, 2),
            "validate_call_min_ms": round(best, 2), "parse_job_median_ms": round(parse_median, 2),
            "parse_job_min_ms": round(parse_best, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    results = {"context": context_cost(), "validation": validation_speed(args.runs)}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    context, speed = results["context"], results["validation"]
    ok = context["ours_api"]["visible_bytes"] <= 24_000 and speed["validate_call_median_ms"] <= 10.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
