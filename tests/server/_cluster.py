"""Real processes for the replica tests: one ``ionq-mcp sandbox`` and N ``ionq-mcp serve --transport http``
replicas sharing one PostgreSQL ledger, each on its own loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests._listening import stop, wait_until_listening

HTTP_TOKEN = "replica-test-token-" + "t" * 32
STATE_KEY = "replica-test-state-key-" + "k" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_sandbox(tmp_path: Path, port: int, faults: Sequence[str], qpu_latency_s: float) -> subprocess.Popen:
    args = [sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", str(port), "--db",
            str(tmp_path / "sandbox.sqlite3"), "--qpu-latency", str(qpu_latency_s), "--seed", "7"]
    for fault in faults:
        args += ["--fault", fault]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path / "sandbox-state")
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def replica_env(tmp_path: Path, name: str, api_url: str, ledger_url: str, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env.update({
        "IONQ_API_URL": api_url,
        "IONQ_MCP_LEDGER_URL": ledger_url,
        "IONQ_MCP_REPLICAS": "3",
        "IONQ_MCP_STATE_KEY": STATE_KEY,
        "IONQ_MCP_HTTP_TOKEN": HTTP_TOKEN,
        "IONQ_MCP_STATE_DIR": str(tmp_path / f"state-{name}"),
        "IONQ_MCP_ALLOW_QPU": "1",
    })
    env.update(settings)
    return env


@contextmanager
def cluster(tmp_path: Path, ledger_url: str, count: int,
            settings: Sequence[dict[str, str]] | dict[str, str] = (), faults: Sequence[str] = (),
            qpu_latency_s: float = 0.05) -> Iterator[tuple[str, list[Replica]]]:
    """An ``ionq-mcp sandbox`` (with ``faults``) and ``count`` replicas using it, all started at once; yields
    the sandbox's API URL and the replicas. ``settings``: environment for every replica, or one dict each."""
    per = [settings] * count if isinstance(settings, dict) else list(settings) or [{}] * count
    sandbox_port = free_port()
    api_url = f"http://127.0.0.1:{sandbox_port}/v0.4"
    sandbox = _start_sandbox(tmp_path, sandbox_port, faults, qpu_latency_s)
    started: list[Replica] = []
    try:
        for i in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "ionq_mcp.cli", "serve", "--transport", "http", "--port", str(port)],
                env=replica_env(tmp_path, str(i), api_url, ledger_url, per[i]),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            started.append(Replica(port, proc))
        wait_until_listening(sandbox, sandbox_port, timeout_s=60)
        for replica in started:
            wait_until_listening(replica.proc, replica.port, timeout_s=60)
        yield api_url, started
    finally:
        for proc in [r.proc for r in started] + [sandbox]:
            stop(proc)


@asynccontextmanager
async def clients(urls: Sequence[str], mode: str = "auto", **options: Any):
    """One MCP client per replica URL (``mode="auto"``: 2026-07-28; ``"legacy"``: the 2025-11-25 handshake), each
    with the bearer token."""
    async with AsyncExitStack() as stack:
        opened = []
        for url in urls:
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}"}, timeout=60))
            opened.append(await stack.enter_async_context(
                Client(streamable_http_client(url, http_client=http), mode=mode, **options)))
        yield opened


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)
