"""Streamable HTTP on loopback: the bearer token is required, Host/Origin are checked, both eras work.

The server runs as a real process (``ionq-mcp serve --transport http``) on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests._listening import stop, wait_until_listening

pytestmark = pytest.mark.anyio

TOKEN = "test-token-" + "x" * 32
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path, token: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    env.update(extra or {})
    if token is not None:
        env["IONQ_MCP_HTTP_TOKEN"] = token
    return env


@contextmanager
def _serve(tmp_path, token: str | None, *extra: str,
           env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox", "--transport", "http", "--port", str(port),
         *extra],
        env=_env(tmp_path, token, env), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        wait_until_listening(proc, port)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        stop(proc)


def test_requests_without_or_with_a_wrong_token_are_refused(tmp_path):
    with _serve(tmp_path, TOKEN) as (url, _):
        missing = httpx.post(url, json=INIT, headers=ACCEPT)
        wrong = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": "Bearer not-the-token"})
        near = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {TOKEN[:-1]}"})
        good = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == near.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in wrong.text
    assert good.status_code == 200


def test_dns_rebinding_is_refused_even_with_the_token(tmp_path):
    auth = {**ACCEPT, "Authorization": f"Bearer {TOKEN}"}
    with _serve(tmp_path, TOKEN) as (url, _):
        host = httpx.post(url, json=INIT, headers={**auth, "Host": "evil.example:80"})
        origin = httpx.post(url, json=INIT, headers={**auth, "Origin": "http://evil.example"})
        local_origin = httpx.post(url, json=INIT, headers={**auth, "Origin": "http://localhost:3000"})
    assert host.status_code == 421
    assert origin.status_code == 403
    assert local_origin.status_code == 200


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_with_the_token_works_in_both_eras(tmp_path, mode):
    with _serve(tmp_path, TOKEN) as (url, _):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            tools = {tool.name for tool in (await client.list_tools()).tools}
            backend = await client.call_tool("get_backend", {"backend": "simulator"})
            bad = await client.call_tool("get_backend", {"backend": "nowhere"})
            version = client.protocol_version
    assert (version in MODERN_PROTOCOL_VERSIONS) is (mode == "auto")
    assert "create_job" in tools
    assert backend.structured_content["qubits"] == 29
    assert bad.is_error and "backend" in bad.content[0].text


def test_loopback_without_a_token_generates_one_and_prints_it(tmp_path):
    with _serve(tmp_path, None) as (url, proc):
        line = ""
        deadline = time.monotonic() + 10
        while "token is:" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        token = line.rsplit(":", 1)[1].strip()
        refused = httpx.post(url, json=INIT, headers=ACCEPT)
        accepted = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    assert len(token) >= 32
    assert refused.status_code == 401 and accepted.status_code == 200


def test_refuses_to_start_off_loopback_without_a_token(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox", "--transport", "http", "--host", "0.0.0.0",
         "--port", str(_free_port())],
        env=_env(tmp_path, None), capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "IONQ_MCP_HTTP_TOKEN" in done.stderr


def test_the_bearer_scheme_is_case_insensitive(tmp_path):
    with _serve(tmp_path, TOKEN) as (url, _):
        statuses = [httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"{scheme} {TOKEN}"}).status_code
                    for scheme in ("bearer", "BEARER", "BeArEr")]
        basic = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"Basic {TOKEN}"})
    assert statuses == [200, 200, 200]
    assert basic.status_code == 401


def test_refuses_to_start_off_loopback_with_a_short_token(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox", "--transport", "http", "--host", "0.0.0.0",
         "--port", str(_free_port())],
        env=_env(tmp_path, "short-token-31-characters-long!"), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "at least 32" in done.stderr and "short-token" not in done.stderr


def test_a_client_that_never_finishes_its_headers_is_dropped(tmp_path):
    with _serve(tmp_path, TOKEN, env={"IONQ_MCP_HTTP_HEADER_TIMEOUT_S": "1"}) as (url, _):
        port = int(url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow, \
                socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            slow.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            started = time.monotonic()
            assert slow.recv(1024) == b""  # the server closed the connection
            assert silent.recv(1024) == b""
            waited = time.monotonic() - started
        good = httpx.post(url, json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {TOKEN}"})
    assert 0.5 <= waited < 8
    assert good.status_code == 200  # the server kept serving


def test_an_idle_session_is_closed(tmp_path):
    headers = {**ACCEPT, "Authorization": f"Bearer {TOKEN}"}
    with _serve(tmp_path, TOKEN, env={"IONQ_MCP_HTTP_SESSION_IDLE_S": "1"}) as (url, _):
        opened = httpx.post(url, json=INIT, headers=headers)
        session = {**headers, "mcp-session-id": opened.headers["mcp-session-id"],
                   "mcp-protocol-version": "2025-11-25"}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        alive = httpx.post(url, json=ping, headers=session)
        time.sleep(2.5)
        gone = httpx.post(url, json=ping, headers=session)
    assert opened.status_code == 200 and alive.status_code == 200
    assert gone.status_code == 404


async def test_http_agent_view_of_results_and_refusals(tmp_path):
    """Issue 9 over streamable HTTP: results pass mcp.Client's outputSchema check and carry the whole result in
    text; a call the API would refuse is refused first (exact key); usage works without an organization id."""
    import json

    multi = {"type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 100, "input": {
        "gateset": "qis", "qubits": 2, "circuits": [{"name": "a", "circuit": [{"gate": "h", "target": 0}]},
                                                    {"name": "b", "circuit": [{"gate": "x", "target": 1}]}]}}
    with _serve(tmp_path, TOKEN) as (url, _):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"bearer {TOKEN}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            created = await client.call_tool("create_job", multi)
            job_id = created.structured_content["id"]
            results = await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": 30})
            probs = await client.call_tool("get_job_probabilities", {"job_id": job_id})
            chars = await client.call_tool("get_backend_characterizations", {"backend": "qpu.aria-1"})
            limit = await client.call_tool("list_jobs", {"limit": 0})
            usage = await client.call_tool("get_organization_usage", {
                "start_date": "2026-01-01", "end_date": "2027-01-01", "group_by": "job", "modality": "monthly"})
    assert results.structured_content["status"] == "completed"
    assert [c["name"] for c in probs.structured_content["children"].values()] == ["a", "b"]
    compact = json.dumps(chars.structured_content, separators=(",", ":"), ensure_ascii=False)
    assert len(compact) > 1500 and compact in chars.content[0].text  # the whole result, not a pointer to it
    assert limit.is_error and "limit" in limit.content[0].text
    assert not usage.is_error, usage.content[0].text
