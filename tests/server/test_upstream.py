"""Which upstream the server talks to: in-process sandbox, a sandbox URL, or IonQ (never exposing the key)."""

from __future__ import annotations

import pytest
from mcp import Client

from ionq_mcp.server import ServerConfig, build_server
from ionq_mcp.server._upstream import IONQ_BASE_URL

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


def test_no_key_means_the_in_process_sandbox(tmp_path):
    server = build_server(ServerConfig(sandbox_db=":memory:", state_dir=tmp_path))
    assert server.upstream.is_sandbox and server.upstream.mode == "in-process sandbox"
    assert "SIMULATED" in server.instructions
    assert server.upstream.sandbox is None  # built on the first call, not at start-up


def test_a_key_means_ionq_unless_the_sandbox_is_forced(tmp_path):
    key = "real-looking-key-0123456789"
    real = build_server(ServerConfig(api_key=key, state_dir=tmp_path))
    assert not real.upstream.is_sandbox and real.upstream.base_url == IONQ_BASE_URL
    assert "SIMULATED" not in real.instructions
    assert key not in repr(real.upstream) and key not in real.instructions
    forced = build_server(ServerConfig(api_key=key, force_sandbox=True, state_dir=tmp_path))
    assert forced.upstream.is_sandbox and forced.upstream.mode == "in-process sandbox"


async def test_the_owned_sandbox_lives_in_the_state_dir_and_is_closed(tmp_path, mode):
    server = build_server(ServerConfig(state_dir=tmp_path))
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", BELL_JOB)
        job = await wait_completed(client, created.structured_content["id"])
    assert job["status"] == "completed"
    assert (tmp_path / "sandbox.sqlite3").exists()
    sandbox = server.upstream.sandbox
    await server.aclose()
    assert server.upstream.sandbox is None and sandbox._closed


async def test_api_url_targets_a_running_sandbox(make_server, sandbox, mode):
    async with sandbox.serve() as url:
        server = make_server(sandbox=None, base_url=url)
        assert server.upstream.is_sandbox and server.upstream.mode == "remote sandbox"
        async with Client(server, mode=mode) as client:
            who = await client.call_tool("whoami", {})
            created = await client.call_tool("create_job", BELL_JOB)
    assert not who.is_error and who.structured_content["upstream"]["base_url"] == url
    assert not created.is_error, created.content
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 1  # over real loopback HTTP
