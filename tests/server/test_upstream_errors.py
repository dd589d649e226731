"""Upstream failures become ``isError`` results with the status, IonQ's message and an actionable hint.

Faults come from the sandbox's own fault injection; a wrong key and an unreachable URL are real.
"""

from __future__ import annotations

import socket

import pytest
from mcp import Client

from ionq_mcp.sandbox import FaultRule

pytestmark = pytest.mark.anyio

MISSING_JOB = "00000000-0000-4000-8000-000000000000"


def _error(result) -> dict:
    assert result.is_error, result.content
    return result.structured_content["error"]


async def test_404_names_the_lister(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("get_job", {"job_id": MISSING_JOB})
    error = _error(result)
    assert error["status"] == 404
    assert "list_jobs" in error["hint"]
    assert "404" in result.content[0].text and "list_jobs" in result.content[0].text


async def test_401_with_a_wrong_key_tells_the_user_to_set_the_key(make_server, sandbox, mode):
    wrong_key = "wrong-key-0123456789abcdef"
    async with sandbox.serve() as url:
        server = make_server(sandbox=None, api_key=wrong_key, base_url=url)
        async with Client(server, mode=mode) as client:
            result = await client.call_tool("list_jobs", {})
            who = await client.call_tool("whoami", {})
    error = _error(result)
    assert error["status"] == 401
    assert "IONQ_API_KEY" in error["hint"]
    assert _error(who)["status"] == 401
    for outcome in (result, who):
        assert wrong_key not in outcome.content[0].text
        assert wrong_key not in str(outcome.structured_content)
    assert sandbox.request_log.count() >= 1  # it did reach the API, over real loopback HTTP


@pytest.mark.parametrize(
    ("status", "words"),
    [(429, ("rate limiting", "Wait")), (503, ("outage", "try again")), (500, ("outage",))],
)
async def test_retried_statuses_report_the_attempts(server, sandbox, mode, status, words):
    sandbox.faults.add(FaultRule(kind="status", status=status, retry_after=0.0, path="/backends"))
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("get_backend", {"backend": "simulator"})
    error = _error(result)
    assert error["status"] == status
    assert error["attempts"] == 3  # the fast retry policy of the fixtures: 3 requests, then give up
    assert sandbox.request_log.count(path_prefix="/backends") == 3
    assert "3 times" in error["hint"]
    for word in words:
        assert word in error["hint"]


@pytest.mark.parametrize(
    ("status", "word"),
    [(402, "credits"), (403, "project"), (400, "fix those arguments")],
)
async def test_non_retried_statuses_have_their_own_hint(server, sandbox, mode, status, word):
    sandbox.faults.add(FaultRule(kind="status", status=status, path="/backends"))
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("get_backend", {"backend": "simulator"})
    error = _error(result)
    assert error["status"] == status
    assert word in error["hint"]
    assert sandbox.request_log.count(path_prefix="/backends") == 1


async def test_unreachable_upstream_is_a_connection_error(make_server, mode):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server(sandbox=None, api_key="some-key-abcdef", base_url=f"http://127.0.0.1:{port}/v0.4")
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("get_backend", {"backend": "simulator"})
    error = _error(result)
    assert "status" not in error
    assert "Could not reach" in error["hint"]
    assert "some-key-abcdef" not in result.content[0].text


async def test_a_dropped_connection_is_reported_and_the_server_keeps_serving(server, sandbox, mode):
    sandbox.faults.add(FaultRule(kind="drop", path="/backends", schedule=[True, True, True]))
    async with Client(server, mode=mode) as client:
        dropped = await client.call_tool("get_backend", {"backend": "simulator"})
        after = await client.call_tool("get_backend", {"backend": "simulator"})
    assert dropped.is_error and "reach" in _error(dropped)["hint"]
    assert not after.is_error
