"""``ionq-mcp sandbox``: serve the sandbox over HTTP for curl, IonQ's SDKs or another MCP server.

Prints ``IONQ_API_URL=...`` and ``IONQ_API_KEY=...`` lines to paste into a shell. State lives in
``state_dir()/sandbox.sqlite3`` unless ``--db`` says otherwise, so jobs survive a restart. The sandbox refuses
to listen on a non-loopback address unless ``--api-key`` sets a key of the user's choosing (the default key is
public knowledge).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ionq_mcp import _paths
from ionq_mcp._net import is_loopback_host
from ionq_mcp.sandbox._config import DEFAULT_SANDBOX_KEY, ApiKey, SandboxConfig
from ionq_mcp.sandbox._faults import FaultRule

if TYPE_CHECKING:
    from ionq_mcp.sandbox._sandbox import Sandbox

DEFAULT_PORT = 8600


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default: <state dir>/sandbox.sqlite3; "
                                                     "':memory:' keeps nothing)")
    parser.add_argument("--api-key", metavar="KEY", help=f"the API key to accept (default {DEFAULT_SANDBOX_KEY!r};"
                                                         f" required with a non-loopback --host)")
    parser.add_argument("--fault", metavar="SPEC", action="append", default=[],
                        help="inject faults, e.g. 'kind=status,status=503,rate=0.3,methods=GET,path=/jobs' "
                             "(repeatable; kinds: status, latency, drop)")
    parser.add_argument("--qpu-latency", metavar="S", type=float, default=2.0,
                        help="emulated queue+run seconds of a QPU job (default 2)")
    parser.add_argument("--simulator-latency", metavar="S", type=float, default=0.0,
                        help="emulated seconds of a simulator job (default 0)")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed for jobs that give none")


def build_config(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox configuration the arguments describe (raises ValueError on a bad ``--fault``)."""
    db = args.db or str(_paths.state_dir() / "sandbox.sqlite3")
    key = ApiKey.generate(args.api_key or DEFAULT_SANDBOX_KEY, "sandbox key" if args.api_key else
                          "sandbox default key")
    return SandboxConfig(db_path=db, api_keys=[key], qpu_latency_s=args.qpu_latency,
                         simulator_latency_s=args.simulator_latency, seed=args.seed,
                         faults=[FaultRule.parse(spec) for spec in args.fault])


def run(args: argparse.Namespace) -> int:
    if not is_loopback_host(args.host) and not args.api_key:
        print(f"ionq-mcp sandbox: refusing to listen on {args.host} with the public default key; pass "
              f"--api-key KEY (or use --host 127.0.0.1)", file=sys.stderr)
        return 2
    if args.qpu_latency < 0 or args.simulator_latency < 0:
        print("ionq-mcp sandbox: latencies must be >= 0 seconds", file=sys.stderr)
        return 2
    try:
        config = build_config(args)
    except ValueError as error:
        print(f"ionq-mcp sandbox: --fault: {error}", file=sys.stderr)
        return 2
    from ionq_mcp.sandbox._sandbox import Sandbox

    try:
        if config.db_path != ":memory:":
            Path(config.db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        sandbox = Sandbox(config)
    except (OSError, sqlite3.Error) as error:
        print(f"ionq-mcp sandbox: cannot open the database {config.db_path}: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(sandbox, args.host, args.port))
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.close()
    return 0


async def _serve(sandbox: Sandbox, host: str, port: int) -> None:
    import uvicorn

    from ionq_mcp.sandbox._sandbox import _listening_url

    server = uvicorn.Server(uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        url = await _listening_url(server, task)
    except RuntimeError as error:
        print(f"ionq-mcp sandbox: {error}", file=sys.stderr)
        return
    print(f"IONQ_API_URL={url}")
    print(f"IONQ_API_KEY={sandbox.api_key}")
    print(f"# sandbox database: {sandbox.config.db_path}; Ctrl-C to stop", flush=True)
    await task
