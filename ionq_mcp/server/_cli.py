"""``ionq-mcp serve | tools | call | demo`` (dispatched by :mod:`ionq_mcp.cli`).

* ``serve``: run the server over stdio (default) or streamable HTTP.
* ``tools``: every exposed tool with its annotations and schema sizes in bytes, and the totals.
* ``call TOOL 'JSON'``: one call in-process through a real MCP client session (same validation and result
  shaping as a served call); prints the structured result; exit status 1 when the result is an error. With the
  embedded sandbox, jobs run in a background worker process that exits when idle, so a job created by one call
  completes and later calls read it.
* ``demo``: a real MCP client session over stdio against ``ionq-mcp serve --sandbox`` in a subprocess (fresh
  temporary state): list tools, estimate a Bell circuit on a QPU, run it on the simulator, wait, print the
  histogram (qubit 0 = rightmost bit) and the cost. Works offline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "add_call_arguments",
    "add_demo_arguments",
    "add_serve_arguments",
    "add_tools_arguments",
    "run_call",
    "run_demo",
    "run_serve",
    "run_tools",
    "tool_sizes",
]


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tool selection (also IONQ_MCP_TOOLSETS, IONQ_MCP_TOOLS, IONQ_MCP_READ_ONLY)")
    group.add_argument("--toolsets", metavar="LIST",
                       help="comma list of toolsets: backends,jobs,sessions,usage,workflows (default: all)")
    group.add_argument("--tools", metavar="LIST", help="comma list of tool names to expose (default: all)")
    group.add_argument("--read-only", action="store_true", help="drop every tool that changes state")
    group.add_argument("--capabilities", metavar="YAML", action="append",
                       help="extra capability file adding operations (repeatable)")
    upstream = parser.add_argument_group("upstream (also IONQ_API_KEY, IONQ_API_URL, IONQ_MCP_SANDBOX)")
    upstream.add_argument("--sandbox", action="store_true",
                          help="use the embedded sandbox even when IONQ_API_KEY is set (simulated results)")
    upstream.add_argument("--sandbox-db", metavar="PATH",
                          help="sandbox database file or :memory: (default: <state dir>/sandbox.sqlite3)")
    from ionq_mcp.guard import add_guard_arguments

    add_guard_arguments(parser)


def _build(args: argparse.Namespace, **overrides: Any) -> Any:
    """The server for ``args`` (``overrides`` replace ServerConfig fields), or None after printing why the
    configuration is refused."""
    from dataclasses import replace

    from ionq_mcp.server._app import build_server
    from ionq_mcp.server._config import ServerConfig

    try:
        return build_server(replace(ServerConfig.from_args(args), **overrides))
    except (ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ionq-mcp: {message}", file=sys.stderr)
        return None


# ---------------------------------------------------------------------------------------------------- serve


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    _add_selection_arguments(parser)
    net = parser.add_argument_group("transport (HTTP requires IONQ_MCP_HTTP_TOKEN off loopback)")
    net.add_argument("--transport", choices=("stdio", "http"), default=None, help="default: stdio")
    net.add_argument("--host", default=None, help="HTTP bind address (default 127.0.0.1)")
    net.add_argument("--port", type=int, default=None, help="HTTP port (default 8000)")


def run_serve(args: argparse.Namespace) -> int:
    import anyio

    from ionq_mcp.server._transports import TokenRequired, serve_http, serve_stdio

    server = _build(args)
    if server is None:
        return 2

    async def main() -> None:
        try:
            if server.config.transport == "http":
                await serve_http(server, server.config)
            else:
                await serve_stdio(server)
        finally:
            with anyio.CancelScope(shield=True):
                await server.aclose()

    try:
        anyio.run(main)
    except TokenRequired as exc:
        print(f"ionq-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


# ---------------------------------------------------------------------------------------------------- tools


def tool_sizes(tool: Any) -> dict[str, int]:
    """Bytes of one ``tools/list`` entry as JSON (default separators, as a client would count them).

    ``model``: name + description + inputSchema, what a model sees; ``input``/``output``: the schemas;
    ``total``: the whole entry as served.
    """
    def size(value: Any) -> int:
        return len(json.dumps(value).encode())

    entry = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "model": size({"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}),
        "input": size(tool.input_schema),
        "output": size(tool.output_schema) if tool.output_schema is not None else 0,
        "total": size(entry),
    }


def add_tools_arguments(parser: argparse.ArgumentParser) -> None:
    _add_selection_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the tools/list entries as JSON")


def run_tools(args: argparse.Namespace) -> int:
    server = _build(args)
    if server is None:
        return 2
    tools = server.tools
    if args.json:
        print(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools], indent=2))
        return 0
    ops = server.operations
    header = f"{'tool':<32} {'toolset':<10} {'hints':<5} {'model':>7} {'input':>7} {'output':>7} {'total':>7}"
    print(header)
    print("-" * len(header))
    totals = {"model": 0, "input": 0, "output": 0, "total": 0}
    for tool in tools:
        op = ops[tool.name]
        hints = ("R" if op.read_only else "-") + ("D" if op.destructive else "-") + ("I" if op.idempotent else "-")
        sizes = tool_sizes(tool)
        for key in totals:
            totals[key] += sizes[key]
        print(f"{tool.name:<32} {op.capability:<10} {hints:<5} {sizes['model']:>7} {sizes['input']:>7} "
              f"{sizes['output']:>7} {sizes['total']:>7}")
    print("-" * len(header))
    print(f"{f'{len(tools)} tools':<49} {totals['model']:>7} {totals['input']:>7} {totals['output']:>7} "
          f"{totals['total']:>7}")
    print("bytes of JSON; model = name + description + inputSchema; hints: R read-only, D destructive, "
          "I idempotent")
    return 0


# ---------------------------------------------------------------------------------------------------- call


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tool", help="tool name (see `ionq-mcp tools`)")
    parser.add_argument("arguments", nargs="?", default="{}",
                        help="JSON object of arguments, '-' to read it from stdin, or @FILE (default: {})")
    _add_selection_arguments(parser)


def _read_arguments(text: str) -> Any:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        text = Path(text[1:]).read_text()
    return json.loads(text)


def run_call(args: argparse.Namespace) -> int:
    import anyio

    try:
        arguments = _read_arguments(args.arguments)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"ionq-mcp call: arguments: not a JSON object ({exc})", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print(f"ionq-mcp call: arguments: expected a JSON object, got {type(arguments).__name__}", file=sys.stderr)
        return 2
    # One call, then exit: an embedded-sandbox job it creates runs in a background worker that outlives it, and a
    # later call never waits for a simulation it did not ask for (ionq_mcp.sandbox._worker).
    server = _build(args, sandbox_detached=True)
    if server is None:
        return 2

    async def main() -> Any:
        from mcp import Client

        try:
            async with Client(server) as client:
                return await client.call_tool(args.tool, arguments)
        finally:
            await server.aclose()

    result = anyio.run(main)
    if result.structured_content is not None and not result.is_error:
        print(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    else:
        for block in result.content:
            print(getattr(block, "text", block), file=sys.stderr if result.is_error else sys.stdout)
    return 1 if result.is_error else 0


# ---------------------------------------------------------------------------------------------------- demo


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shots", type=int, default=1000, help="shots for the Bell circuit (default 1000)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the job (default 60)")


BELL_INPUT: dict[str, Any] = {
    "qubits": 2,
    "gateset": "qis",
    "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
}


def run_demo(args: argparse.Namespace) -> int:
    import tempfile

    import anyio

    with tempfile.TemporaryDirectory(prefix="ionq-mcp-demo-") as state:
        try:
            return anyio.run(_demo, args.shots, args.timeout, state)
        except Exception as exc:  # noqa: BLE001 - the demo reports any failure in one line
            print(f"ionq-mcp demo: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1


def _structured(result: Any, step: str) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(getattr(b, "text", "") for b in result.content)
        raise RuntimeError(f"{step}: {text}")
    return result.structured_content or {}


async def _demo(shots: int, timeout: float, state: str) -> int:
    import time

    import anyio
    from mcp import Client, StdioServerParameters

    env = {k: v for k, v in os.environ.items() if k not in ("IONQ_API_KEY", "IONQ_API_URL")}
    env["IONQ_MCP_STATE_DIR"] = state
    params = StdioServerParameters(command=sys.executable, args=["-m", "ionq_mcp.cli", "serve", "--sandbox"], env=env)
    print(f"$ {Path(sys.executable).name} -m ionq_mcp.cli serve --sandbox   (MCP over stdio, state in {state})")
    async with Client(params) as client:
        listed = await client.list_tools()
        names = {t.name for t in listed.tools}
        print(f"tools/list: {len(listed.tools)} tools")
        sandbox_line = next((ln for ln in (client.instructions or "").splitlines() if "SANDBOX" in ln), None)
        if sandbox_line:
            print("instructions: " + sandbox_line)

        print("\n1. Estimate the Bell circuit on qpu.aria-1 before spending anything")
        if "estimate_circuit_cost" in names:
            estimate = _structured(await client.call_tool(
                "estimate_circuit_cost", {"backend": "qpu.aria-1", "shots": shots, "input": BELL_INPUT}),
                "estimate_circuit_cost")
        else:
            estimate = _structured(await client.call_tool("get_job_estimate", {
                "backend": "qpu.aria-1", "qubits": 2, "shots": shots, "one_qubit_gates": 1, "two_qubit_gates": 1,
            }), "get_job_estimate")
        print("   " + str(estimate.get("summary") or json.dumps(estimate, separators=(", ", ": "))[:400]))

        print(f"\n2. Submit it to the simulator ({shots} shots)")
        job = _structured(await client.call_tool("create_job", {
            "type": "ionq.circuit.v1", "backend": "simulator", "shots": shots, "name": "ionq-mcp demo: Bell",
            "input": BELL_INPUT,
        }), "create_job")
        job_id = job["id"]
        print(f"   job {job_id}: {job.get('status')}")

        print("\n3. Wait for it")
        if "wait_for_job" in names:
            status = _structured(await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": timeout}),
                                 "wait_for_job")
            status = status.get("job", status)
        else:
            deadline = time.monotonic() + timeout
            delay = 0.05
            while True:
                status = _structured(await client.call_tool("get_job", {"job_id": job_id}), "get_job")
                if status.get("status") in ("completed", "failed", "canceled") or time.monotonic() > deadline:
                    break
                await anyio.sleep(delay)
                delay = min(delay * 2, 1.0)
        print(f"   status: {status.get('status')}")
        if status.get("status") != "completed":
            raise RuntimeError(f"job ended as {status.get('status')}: {status.get('failure')}")

        print("\n4. Histogram (qubit 0 is the rightmost bit)")
        probs = _structured(await client.call_tool("get_job_probabilities", {"job_id": job_id}),
                            "get_job_probabilities")
        for bits, p in sorted(probs.get("bitstrings", {}).items()):
            print(f"   |{bits}>  {p:6.3f}  {'#' * round(40 * p)}")

        print("\n5. Cost")
        cost = _structured(await client.call_tool("get_job_cost", {"job_id": job_id}), "get_job_cost")
        charged = cost.get("cost") or {}
        if isinstance(charged, dict) and "value" in charged:
            print(f"   {charged['value']} {charged.get('unit', 'usd')} (the simulator is free)")
        else:
            print("   " + json.dumps(cost, separators=(", ", ": "))[:400])
    print("\nAll of this ran against the embedded sandbox: simulated, offline, free.")
    return 0
