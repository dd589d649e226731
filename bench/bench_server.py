"""MCP server benchmarks: cold start and per-call overhead, ionq-mcp vs FastMCP's ``from_openapi`` (same run).

* **Cold start**: wall time from ``Popen`` to the ``tools/list`` reply over stdio (2025-11-25 handshake:
  ``initialize``, ``notifications/initialized``, ``tools/list``), median of ``--starts`` runs, the servers
  interleaved run by run in a freshly shuffled order each run so machine load hits all alike. Ours: ``python -m ionq_mcp.cli serve --sandbox``
  (fresh state dir), and the same server started without the CLI dispatcher (``ionq_mcp.server._cli``
  directly, to show what the dispatcher costs). Peer: ``FastMCP.from_openapi`` on
  ``schemas/ionq-quantum-cloud-openapi.yml`` run over stdio by the same interpreter.
* **Per-call overhead** of ``get_backend(simulator)``, with one sandbox served on loopback HTTP by a separate
  ``ionq-mcp sandbox`` process as the common upstream:
  - ``direct``: :class:`ionq_mcp.client.IonQClient.get_backend` (no MCP at all; httpx);
  - ``httpx2 GET``: a bare ``httpx2.AsyncClient.get`` of the same URL, the HTTP client FastMCP's tools use
    (the floor under the peer's rows, as ``direct`` is under ours);
  - in-process, the server's own cost without any transport:
    ``ours in-process`` is ``mcp.Client(server)`` (2026-07-28 direct dispatch, our documented in-process path);
    ``ours in-process legacy`` is ``mcp.Client(server, mode="legacy")`` (in-memory streams, JSON-RPC framing);
    ``fastmcp in-process`` is ``fastmcp.Client(server)`` (FastMCP's own idiomatic in-memory client, which
    speaks the 2025-11-25 era over in-memory streams and parses the result against the output schema);
    ``fastmcp in-process mcp.Client`` is the SDK's ``mcp.Client`` on FastMCP's low-level server
    (direct dispatch, the same client and dispatch code as ``ours in-process``);
  - ``ours stdio`` / ``fastmcp stdio``: ``mcp.Client`` over stdio to each server process (2025-11-25 era, the
    one both speak), the same client code for both;
  - ``ours stdio, lean client`` / ``fastmcp stdio, lean client``: the same servers over stdio driven by a
    minimal JSON-RPC client (asyncio pipes, one ``json.dumps`` per request, ``readline`` + ``json.loads`` per
    reply), so the client's own transport cost is mostly taken out and what remains is the server's side
    of stdio plus the pipe hops;
  - ``... stdio ping, lean client``: a JSON-RPC ``ping`` through the same lean connections, the floor of one
    stdio round trip through each server's transport and session with no tool and no upstream request (not
    a ``get_backend`` call: its ratio to ``direct`` only shows scale).
  All paths are open at once and called once each per round, in an order shuffled afresh every round (a fixed
  rotation would always put the same path after the same neighbour), so load hits them alike; median and p90
  of ``--calls`` rounds after a warm-up; the ratio to ``direct`` is the overhead.
* ``--baseline-python PY``: the same server from another checkout (e.g. ``main``'s venv interpreter) joins the
  cold starts and the stdio per-call paths as ``baseline ...`` rows, for before/after comparisons in one run.

Run: ``python bench/bench_server.py [--starts 10] [--calls 300] [--seed 1] [--baseline-python PY] [--json out.json]``
Needs ``fastmcp==4.1.2`` for the peer (its rows are skipped with a note when it is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "schemas" / "ionq-quantum-cloud-openapi.yml"
SANDBOX_KEY = "sandbox-local-key"
#: Working directory of every server process: ``python -m ionq_mcp.cli`` puts the cwd first on sys.path, so a
#: checkout in the cwd would shadow the interpreter's own install (fatal for ``--baseline-python``).
NEUTRAL_CWD = tempfile.gettempdir()

FASTMCP_SERVER = """
import os, yaml, httpx2
from fastmcp import FastMCP
spec = yaml.load(open(os.environ["BENCH_SPEC"]).read(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
client = httpx2.AsyncClient(base_url=os.environ["BENCH_BASE_URL"],
                            headers={"Authorization": "apiKey " + os.environ["BENCH_KEY"]})
FastMCP.from_openapi(openapi_spec=spec, client=client).run(show_banner=False)
"""


def _have_fastmcp() -> bool:
    try:
        import fastmcp  # noqa: F401
    except ImportError:
        return False
    return True


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env.update(extra)
    return env


def _ours_command(python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox"]


#: the same server without ``ionq_mcp.cli``'s dispatcher (shows what the dispatcher adds to start-up)
OURS_DIRECT = """
import argparse, sys
from ionq_mcp.server._cli import add_serve_arguments, run_serve
parser = argparse.ArgumentParser()
add_serve_arguments(parser)
sys.exit(run_serve(parser.parse_args(["--sandbox"])))
"""


def _ours_direct_command() -> list[str]:
    return [sys.executable, "-c", OURS_DIRECT]


def _peer_command() -> list[str]:
    return [sys.executable, "-c", FASTMCP_SERVER]


def _peer_env(base_url: str) -> dict[str, str]:
    return _clean_env(BENCH_SPEC=str(SPEC), BENCH_BASE_URL=base_url, BENCH_KEY=SANDBOX_KEY)


# ------------------------------------------------------------------------------------------------ cold start


def _send(proc: subprocess.Popen, message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def _read_reply(proc: subprocess.Popen, request_id: int) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited before replying (code {proc.poll()})")
        message = json.loads(line)
        if message.get("id") == request_id:
            return message


def cold_start(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from process start to the ``tools/list`` reply, and the number of tools listed."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=NEUTRAL_CWD, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
        _read_reply(proc, 1)
        _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        reply = _read_reply(proc, 2)
        elapsed = time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
    return elapsed, len(reply["result"]["tools"])


def bench_cold_start(starts: int, rng: random.Random, baseline: str | None = None) -> dict[str, Any]:
    servers: dict[str, tuple[list[str], bool]] = {  # name -> (command, is ours: fresh state dir, our env)
        "ours (ionq-mcp serve)": (_ours_command(), True),
        "ours (server entry)": (_ours_direct_command(), True),
    }
    if baseline:
        servers["baseline (ionq-mcp serve)"] = (_ours_command(baseline), True)
    if _have_fastmcp():
        servers["fastmcp"] = (_peer_command(), False)
    runs: dict[str, list[float]] = {name: [] for name in servers}
    tools: dict[str, int] = {}
    for _ in range(starts):
        order = list(servers.items())
        rng.shuffle(order)
        for name, (command, ours) in order:
            if ours:
                with tempfile.TemporaryDirectory() as state:
                    elapsed, tools[name] = cold_start(command, _clean_env(IONQ_MCP_STATE_DIR=state))
            else:
                elapsed, tools[name] = cold_start(command, _peer_env("http://127.0.0.1:9/v0.4"))
            runs[name].append(elapsed)
    return {name: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "tools": tools[name]}
            for name, v in runs.items()}


# ------------------------------------------------------------------------------------------------ per call


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sandbox_process():
    """``ionq-mcp sandbox`` on a free loopback port (in-memory database); yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", str(port), "--db", ":memory:"],
                            cwd=NEUTRAL_CWD,
                            env=_clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sandbox did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v0.4"
    finally:
        proc.terminate()
        proc.wait()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered) * 1e3, "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1e3}


async def _per_call(base_url: str, calls: int, rng: random.Random, baseline: str | None = None,
                    warmup: int = 30) -> dict[str, Any]:
    """All paths open at once and called once each per round in a shuffled order, so load hits them alike."""
    from contextlib import AsyncExitStack

    from mcp import Client, StdioServerParameters

    from ionq_mcp.client import IonQClient
    from ionq_mcp.server import ServerConfig, build_server

    paths: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        state = stack.enter_context(tempfile.TemporaryDirectory())
        direct = await stack.enter_async_context(
            IonQClient(api_key=SANDBOX_KEY, base_url=base_url, allow_insecure_http=True))
        paths["direct"] = lambda: direct.get_backend("simulator")

        server = build_server(ServerConfig(base_url=base_url, state_dir=Path(state)))
        stack.push_async_callback(server.aclose)
        inproc = await stack.enter_async_context(Client(server))
        paths["ours in-process"] = _tool_call(inproc, "get_backend")
        legacy = await stack.enter_async_context(Client(server, mode="legacy"))
        paths["ours in-process legacy"] = _tool_call(legacy, "get_backend")

        ours = StdioServerParameters(command=sys.executable, args=_ours_command()[1:-1], cwd=NEUTRAL_CWD,
                                     env=_clean_env(IONQ_API_URL=base_url, IONQ_MCP_STATE_DIR=state))
        ours_client = await stack.enter_async_context(Client(ours, mode="legacy"))
        paths["ours stdio"] = _tool_call(ours_client, "get_backend")
        lean = await stack.enter_async_context(
            LeanStdioClient(_ours_command()[:-1], _clean_env(IONQ_API_URL=base_url, IONQ_MCP_STATE_DIR=state)))
        paths["ours stdio, lean client"] = lean.tool_call("get_backend")
        paths["ours stdio ping, lean client"] = lean.ping
        if baseline:
            base_lean = await stack.enter_async_context(LeanStdioClient(
                _ours_command(baseline)[:-1], _clean_env(IONQ_API_URL=base_url, IONQ_MCP_STATE_DIR=state)))
            paths["baseline stdio, lean client"] = base_lean.tool_call("get_backend")
            paths["baseline stdio ping, lean client"] = base_lean.ping

        if _have_fastmcp():
            peer = StdioServerParameters(command=sys.executable, args=_peer_command()[1:], env=_peer_env(base_url),
                                         cwd=NEUTRAL_CWD)
            peer_client = await stack.enter_async_context(Client(peer, mode="legacy"))
            names = {t.name for t in (await peer_client.list_tools()).tools}
            peer_tool = next(n for n in ("getBackend", "get_backend") if n in names)
            paths["fastmcp stdio"] = _tool_call(peer_client, peer_tool)
            peer_lean = await stack.enter_async_context(LeanStdioClient(_peer_command(), _peer_env(base_url)))
            paths["fastmcp stdio, lean client"] = peer_lean.tool_call(peer_tool)
            paths["fastmcp stdio ping, lean client"] = peer_lean.ping
            await _add_fastmcp_in_process(stack, paths, base_url, peer_tool)
        samples: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths.items())
        for round_number in range(warmup + calls):
            rng.shuffle(order)
            for name, call in order:
                start = time.perf_counter()
                await call()
                if round_number >= warmup:
                    samples[name].append(time.perf_counter() - start)
    results = {name: _stats(values) for name, values in samples.items()}
    base = results["direct"]["median_ms"]
    for row in results.values():
        row["x_direct"] = row["median_ms"] / base
    return results


class LeanStdioClient:
    """A minimal MCP client over stdio (2025-11-25 handshake, then one ``tools/call`` at a time): asyncio pipes,
    no threads, no schema validation, so the per-call time is mostly the server's side of stdio."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self._command, self._env = command, env
        self._proc: asyncio.subprocess.Process | None = None
        self._next_id = 0

    async def __aenter__(self) -> Self:
        self._proc = await asyncio.create_subprocess_exec(
            *self._command, env=self._env, cwd=NEUTRAL_CWD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=1 << 24)
        await self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                          "clientInfo": {"name": "bench-lean", "version": "0"}})
        await self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.kill()
        await self._proc.wait()

    async def _write(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self._proc.stdin.drain()

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        self._next_id += 1
        await self._write({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                raise RuntimeError("server closed stdout")
            message = json.loads(line)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]

    async def ping(self) -> None:
        await self.request("ping", {})

    def tool_call(self, name: str) -> Any:
        async def call() -> None:
            result = await self.request("tools/call", {"name": name, "arguments": {"backend": "simulator"}})
            assert not result.get("isError"), result
        return call


async def _add_fastmcp_in_process(stack: Any, paths: dict[str, Any], base_url: str, tool: str) -> None:
    """FastMCP's server built in this process on the same spec and sandbox, driven by its own in-memory
    client and by the SDK's ``mcp.Client`` (direct dispatch, like ``ours in-process``)."""
    import fastmcp
    import httpx2
    import yaml
    from mcp import Client

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(SPEC.read_text(), Loader=loader)
    http = await stack.enter_async_context(
        httpx2.AsyncClient(base_url=base_url, headers={"Authorization": "apiKey " + SANDBOX_KEY}))
    url = f"{base_url}/backends/simulator"

    async def raw_get() -> None:
        response = await http.get(url)
        response.raise_for_status()
    paths["httpx2 GET"] = raw_get

    peer = fastmcp.FastMCP.from_openapi(openapi_spec=spec, client=http)
    peer_client = await stack.enter_async_context(fastmcp.Client(peer))

    async def idiomatic() -> None:
        result = await peer_client.call_tool(tool, {"backend": "simulator"})
        assert not result.is_error, result.content
    paths["fastmcp in-process"] = idiomatic

    await stack.enter_async_context(peer._lifespan_manager())
    sdk_client = await stack.enter_async_context(Client(peer._mcp_server))
    paths["fastmcp in-process mcp.Client"] = _tool_call(sdk_client, tool)


def _tool_call(client: Any, name: str) -> Any:
    async def call() -> None:
        result = await client.call_tool(name, {"backend": "simulator"})
        assert not result.is_error, result.content
    return call


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10, help="cold starts per server (default 10)")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per path (default 300)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffled orders (default 1)")
    parser.add_argument("--baseline-python", metavar="PY",
                        help="interpreter of another checkout whose server joins as 'baseline' rows")
    args = parser.parse_args(argv)
    if not _have_fastmcp():
        print("note: fastmcp==4.1.2 is not installed; peer rows skipped (pip install -e '.[bench]')")

    report: dict[str, Any] = {"python": sys.version.split()[0], "load_avg": os.getloadavg()}
    rng = random.Random(args.seed)
    report["cold_start"] = bench_cold_start(args.starts, rng, args.baseline_python)
    print(f"cold start to first tools/list over stdio (median of {args.starts}):")
    for name, row in report["cold_start"].items():
        print(f"  {name:<26} {row['median_s']:.3f} s  (min {row['min_s']:.3f}, max {row['max_s']:.3f}; "
              f"{row['tools']} tools)")

    with sandbox_process() as base_url:
        report["per_call"] = asyncio.run(_per_call(base_url, args.calls, rng, args.baseline_python))
    print(f"get_backend(simulator) against a loopback sandbox ({args.calls} calls):")
    for name, row in report["per_call"].items():
        print(f"  {name:<32} median {row['median_ms']:.3f} ms  p90 {row['p90_ms']:.3f} ms  "
              f"{row['x_direct']:.2f}x direct")
    report["load_avg_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
