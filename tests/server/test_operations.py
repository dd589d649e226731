"""Operating replicas: settings checks, the shared state key and its rotation, probes and metrics, JSON logs, and
reconciliation through the real client look-up (in-process sandbox over the ASGI transport)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import httpx
import mcp_types as types
import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy, reconcile_reservations
from ionq_mcp.server import ServerConfig, _confirm, build_server
from ionq_mcp.server._logging import JsonFormatter
from ionq_mcp.server._ops import client_job_lookup
from ionq_mcp.server._transports import build_http_app
from tests.server.test_workflows import BELL, QPU

pytestmark = pytest.mark.anyio

KEY_A = "a" * 40
KEY_B = "b" * 40
PAID = {"type": "ionq.circuit.v1", "backend": QPU, "shots": 100, "input": {**BELL, "gateset": "qis"}}


# ---- settings ------------------------------------------------------------------------------------------------


def test_several_replicas_need_a_state_key(tmp_path):
    with pytest.raises(ValueError, match="IONQ_MCP_STATE_KEY is not set"):
        build_server(ServerConfig(force_sandbox=True, state_dir=tmp_path, replicas=3))
    env = {"IONQ_MCP_REPLICAS": "2", "IONQ_MCP_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox"], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 2 and "IONQ_MCP_STATE_KEY" in done.stderr


def test_replica_settings_from_environment_and_flags(tmp_path):
    import argparse

    from ionq_mcp.server._cli import add_serve_arguments

    env = {"IONQ_MCP_REPLICAS": "3", "IONQ_MCP_STATE_KEY": KEY_A,
           "IONQ_MCP_LEDGER_URL": "postgresql://app:pw-secret@db.internal/ionq", "IONQ_MCP_LOG_FORMAT": "json"}
    config = ServerConfig.from_env(env)
    assert (config.replicas, config.stateless_http, config.log_format) == (3, True, "json")
    assert "pw-secret" not in repr(config) and KEY_A not in repr(config)
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    flags = parser.parse_args(["--replicas", "1", "--no-stateless", "--ledger-url", "postgresql://h/db"])
    config = ServerConfig.from_args(flags, env)
    assert (config.replicas, config.stateless_http, config.ledger_url) == (1, False, "postgresql://h/db")
    with pytest.raises(ValueError, match="expected postgresql://"):
        ServerConfig(ledger_url="sqlite:///x").check_replicas()
    with pytest.raises(ValueError, match="IONQ_MCP_LOG_FORMAT"):
        ServerConfig.from_env({"IONQ_MCP_LOG_FORMAT": "xml"})


def test_short_state_key_is_refused():
    with pytest.raises(ValueError, match="shorter than 32 characters"):
        _confirm.configure_state_key("too-short")


# ---- the shared state key --------------------------------------------------------------------------------------


async def test_confirmation_sealed_by_one_server_is_accepted_by_another_with_the_same_key(make_server, sandbox):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=1)
    accept = {"ionq_mcp_confirm": types.ElicitResult(action="accept", content={"confirm": True})}

    async def answer(context, params):
        return types.ElicitResult(action="accept", content={"confirm": True})

    one = make_server(guard_policy=policy, state_key=KEY_A)
    async with Client(one, elicitation_callback=answer) as client:
        first = await client.session.call_tool("create_job", PAID, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult)
    # rotation: the new key seals, the old one still opens what it sealed
    two = make_server(guard_policy=policy, state_key=f"{KEY_B},{KEY_A}")
    async with Client(two, elicitation_callback=answer) as client:
        done = await client.session.call_tool("create_job", PAID, allow_input_required=True, input_responses=accept,
                                              request_state=first.request_state)
        assert isinstance(done, types.CallToolResult) and not done.is_error
        second = await client.session.call_tool("create_job", PAID, allow_input_required=True)
    # once the old key is dropped, states it sealed are no longer consent; states of the new key are
    three = make_server(guard_policy=policy, state_key=KEY_B)
    async with Client(three, elicitation_callback=answer) as client:
        stale = await client.session.call_tool("create_job", {**PAID, "shots": 101}, allow_input_required=True)
        assert isinstance(stale, types.InputRequiredResult)
        again = await client.session.call_tool("create_job", PAID, allow_input_required=True, input_responses=accept,
                                               request_state=second.request_state)
        assert isinstance(again, types.CallToolResult) and not again.is_error
    assert sandbox.store.count_jobs() == 2
    _confirm.configure_state_key(KEY_A + "-reset-for-other-tests")


# ---- probes and metrics ------------------------------------------------------------------------------------------


async def test_probes_need_no_token_and_reveal_nothing_metrics_need_one(make_server):
    server = make_server(http_token="h" * 40, metrics_token="m" * 40)
    app = build_http_app(server, server.config, "h" * 40)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        post = await http.post("/healthz")
        anonymous = await http.get("/metrics")
        with_http_token = await http.get("/metrics", headers={"Authorization": "Bearer " + "h" * 40})
        metrics = await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40})
        mcp_without_token = await http.post("/mcp", json={})
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert post.status_code == 405
    assert anonymous.status_code == with_http_token.status_code == 401
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "ionq_mcp_ledger_up 1.0" in metrics.text
    assert mcp_without_token.status_code == 401


async def test_tool_calls_and_dollars_are_counted(make_server):
    server = make_server(guard_policy=GuardPolicy(allow_qpu=True, max_job_cost_usd=50, confirm_above_usd=1000),
                         http_token="h" * 40)
    app = build_http_app(server, server.config, "h" * 40)
    async with Client(server) as client:
        ok = await client.call_tool("create_job", PAID)
        bad = await client.call_tool("get_job", {"job_id": "nope"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        text = (await http.get("/metrics", headers={"Authorization": "Bearer " + "h" * 40})).text
    assert not ok.is_error and bad.is_error
    assert 'ionq_mcp_tool_calls_total{outcome="ok",tool="create_job"}' in text
    assert 'ionq_mcp_tool_calls_total{outcome="error",tool="get_job"}' in text
    cost = ok.structured_content["spend"]["estimated_cost_usd"]
    reserved = next(line for line in text.splitlines()
                    if line.startswith(f'ionq_mcp_guard_dollars_total{{backend="{QPU}",state="reserved"}}'))
    assert float(reserved.rsplit(" ", 1)[1]) >= cost
    assert re.search(r'ionq_mcp_upstream_request_seconds_count\{method="POST",status="20[01]"\} [1-9]', text)


def test_json_log_lines_carry_the_extra_fields():
    record = logging.LogRecord("ionq_mcp.calls", logging.INFO, __file__, 1, "tool call", (), None)
    record.tool, record.outcome, record.duration_ms = "create_job", "ok", 1.5
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info" and line["message"] == "tool call" and line["logger"] == "ionq_mcp.calls"
    assert (line["tool"], line["outcome"], line["duration_ms"]) == ("create_job", "ok", 1.5)
    assert line["time"].endswith("+00:00")


# ---- reconciliation through the client ---------------------------------------------------------------------


async def test_reconciliation_looks_jobs_up_by_idempotency_key(make_server):
    server = make_server(guard_policy=GuardPolicy(allow_qpu=True, max_job_cost_usd=50))
    guard = server.guard
    now = [guard.clock()]
    guard.clock = lambda: now[0]
    client = await server.upstream.client()
    created = await client.create_job(**PAID, idempotency_key="k-exists", new_key=True)
    exists = guard.reserve("create_job", QPU, 12.5, idempotency_key="k-exists")
    absent = guard.reserve("create_job", QPU, 12.5, idempotency_key="k-absent")
    now[0] += guard.lease_s + 1
    settled = {s.reservation_id: s for s in await reconcile_reservations(guard, client_job_lookup(server.upstream))}
    assert (settled[exists.id].outcome, settled[exists.id].job_id) == ("committed", created.id)
    assert settled[absent.id].outcome == "released"
    assert guard.ledger_entry(created.id)["state"] == "committed"
    assert guard.spent_usd() == pytest.approx(12.5)


def test_spend_summary_after_a_submission_survives_an_unreachable_ledger(pg_url):
    """It is computed once the job exists: failing there would read as "not submitted" and invite a resubmit."""
    from ionq_mcp.guard import Guard
    from ionq_mcp.server._spending import CostEstimate, spend_summary
    from tests._postgres import set_connections

    guard = Guard(GuardPolicy(allow_qpu=True), pg_url, pg_url)
    estimate = CostEstimate(backend=QPU, job_type="ionq.circuit.v1", qubits=2, shots=100, one_qubit_gates=1,
                            two_qubit_gates=1, error_mitigation=False, cost_usd=12.5, unit="usd", queue_time_s=None,
                            execution_time_s=None, rates={})
    assert spend_summary(guard, estimate)["spent_24h_usd"] == 0.0
    set_connections(pg_url, False)
    try:
        assert spend_summary(guard, estimate) == {"estimated_cost_usd": 12.5, "spent_24h_usd": None,
                                                  "daily_budget_usd": 100.0}
    finally:
        set_connections(pg_url, True)
    guard.close()
