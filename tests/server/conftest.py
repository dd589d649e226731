"""Fixtures for the server tests: an in-memory sandbox we hold (to read its request log and inject faults)
and an ionq-mcp server talking to it in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ionq_mcp.client import RetryPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig
from ionq_mcp.server import ServerApp, ServerConfig, build_server

MODES = ("auto", "legacy")

BELL_JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 1000,
    "input": {
        "qubits": 2,
        "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}

#: quick retries so fault tests stay fast (the policy still makes several attempts)
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.001, max_backoff_s=0.002, max_retry_after_s=0.01)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(SandboxConfig(db_path=":memory:", seed=7))
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
async def make_server(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Callable[..., ServerApp]]:
    """Build servers on the shared sandbox; ``**overrides`` go to :class:`ServerConfig`."""
    built: list[ServerApp] = []

    def make(**overrides: Any) -> ServerApp:
        options = {"sandbox": sandbox, "state_dir": tmp_path / "state", "client_options": {"retry": FAST_RETRY}}
        options.update(overrides)
        server = build_server(ServerConfig(**options))
        built.append(server)
        return server

    try:
        yield make
    finally:
        for app in built:
            await app.aclose()


@pytest.fixture
def server(make_server: Callable[..., ServerApp]) -> ServerApp:
    return make_server()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: ``auto`` (2026-07-28, stateless) and ``legacy`` (2025-11-25 handshake)."""
    return request.param


async def wait_completed(client: Any, job_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """Poll ``get_job`` through the MCP client until the job leaves the queue; return its last state."""
    import anyio

    with anyio.fail_after(timeout):
        while True:
            result = await client.call_tool("get_job", {"job_id": job_id})
            assert not result.is_error, result.content
            job = result.structured_content
            if job["status"] in ("completed", "failed", "canceled"):
                return job
            await anyio.sleep(0.02)
