"""The API key and the HTTP bearer token never leave the server: not in a tool result, an error, a log line,
the audit log or the spend ledger.

A real sandbox on loopback accepts a recognisable planted key; the server reaches it over HTTP (IonQ mode, not
the sandbox shortcut). Every tool is driven through ``mcp.Client``, on success and error paths (401 from a wrong
key, 404, 429 by fault injection, validation errors, unknown tools), with every logger captured at DEBUG. Jobs
carry the key in their name and metadata, so the sandbox echoes it back in job documents, and the agent-side
copies are what is grepped.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy
from ionq_mcp.sandbox import ApiKey, FaultRule, Sandbox, SandboxConfig
from ionq_mcp.server import ServerConfig, build_server

from .conftest import BELL_JOB, FAST_RETRY

pytestmark = pytest.mark.anyio

KEY = "sk-ionq-PLANTED-" + secrets.token_hex(12)
WRONG_KEY = "sk-ionq-WRONG-" + secrets.token_hex(12)
TOKEN = "http-token-PLANTED-" + secrets.token_hex(12)
SECRETS = (KEY, WRONG_KEY, TOKEN)
QPU = "qpu.aria-1"
MISSING = "00000000-0000-4000-8000-000000000000"


def _seen(result: Any) -> str:
    """Everything an agent sees of one result."""
    parts = [getattr(block, "text", "") for block in getattr(result, "content", None) or []]
    parts.append(json.dumps(getattr(result, "structured_content", None)))
    return "\n".join(parts)


def _files(state: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in state.rglob("*") if path.is_file()}


async def test_no_secret_in_any_result_error_log_audit_line_or_ledger(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox = Sandbox(SandboxConfig(
        db_path=str(tmp_path / "sandbox.sqlite3"), qpu_latency_s=0.05, seed=5,
        api_keys=[ApiKey(key=KEY, key_id="5d0c4c3e-2f7d-4a55-9a43-8f1c4e0b9a01", name="planted",
                         project_id="0b6e8a52-7a8e-4d4a-b3f4-2a4c1e9d7f10",
                         organization_id="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")]))
    state = tmp_path / "state"
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=1000,
                         bulk_confirm_above=100)
    seen: list[str] = []
    called: set[str] = set()
    try:
        async with sandbox.serve() as url:
            def config(key: str) -> ServerConfig:
                return ServerConfig(api_key=key, base_url=url, http_token=TOKEN, state_dir=state,
                                    guard_policy=policy, client_options={"retry": FAST_RETRY})

            server = build_server(config(KEY))
            assert not server.upstream.is_sandbox  # IonQ mode: the key travels in the Authorization header
            try:
                async with Client(server) as client:
                    async def call(name: str, arguments: Any, *, ok: bool | None = None) -> Any:
                        result = await client.call_tool(name, arguments)
                        called.add(name)
                        seen.append(_seen(result))
                        if ok is not None:
                            assert result.is_error is not ok, (name, result.content)
                        return result.structured_content or {}

                    tagged = {**BELL_JOB, "name": KEY, "metadata": {"note": KEY}}
                    sim = await call("run_circuit", {**tagged, "timeout_s": 30}, ok=True)
                    paid = await call("run_circuit", {**tagged, "backend": QPU, "shots": 100, "timeout_s": 30},
                                      ok=True)
                    created = await call("create_job", tagged, ok=True)
                    job_id, paid_id = sim["job_id"], paid["job_id"]
                    await call("wait_for_job", {"job_id": created["id"], "timeout_s": 30}, ok=True)
                    await call("get_job_results", {"job_id": paid_id}, ok=True)
                    await call("estimate_circuit_cost", {**BELL_JOB, "backend": QPU}, ok=True)
                    await call("compare_backends", {"input": BELL_JOB["input"], "shots": 100}, ok=True)
                    await call("list_backends", {}, ok=True)
                    backend = await call("get_backend", {"backend": QPU}, ok=True)
                    await call("get_backend_characterizations", {"backend": QPU}, ok=True)
                    await call("get_backend_characterization",
                               {"backend": QPU, "characterization_id": backend["characterization_id"]}, ok=True)
                    await call("list_jobs", {}, ok=True)
                    await call("get_job", {"job_id": job_id}, ok=True)
                    await call("get_job_cost", {"job_id": paid_id}, ok=True)
                    await call("get_job_estimate", {"backend": QPU, "shots": 100, "one_qubit_gates": 1,
                                                    "two_qubit_gates": 1}, ok=True)
                    await call("get_job_circuits", {"job_id": job_id, "lang": "qasm3"})
                    await call("get_job_probabilities", {"job_id": job_id}, ok=True)
                    for name in ("get_variant_probabilities", "get_variant_histogram", "get_variant_shots"):
                        await call(name, {"job_id": job_id, "variant_id": MISSING}, ok=False)  # 404
                    session = await call("create_session", {"backend": QPU}, ok=True)
                    await call("list_sessions", {}, ok=True)
                    await call("get_session", {"session_id": session["id"]}, ok=True)
                    await call("list_session_jobs", {"session_id": session["id"]}, ok=True)
                    await call("end_session", {"session_id": session["id"]}, ok=True)
                    me = await call("whoami", {}, ok=True)
                    await call("get_organization_usage", {
                        "organization_id": me.get("organization_id") or MISSING, "start_date": "2026-01-01",
                        "end_date": "2026-12-31", "group_by": "job", "modality": "daily"})
                    await call("cancel_job", {"job_id": created["id"]})
                    await call("cancel_many_jobs", {"ids": [created["id"]]})
                    await call("delete_job", {"job_id": created["id"]}, ok=True)
                    await call("delete_jobs", {"ids": [job_id, paid_id]}, ok=True)

                    # error paths: 404, 429 (injected), validation errors, unknown tools, null arguments
                    await call("get_job", {"job_id": MISSING}, ok=False)
                    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=0.001, methods=("GET",),
                                                 path="/backends"))
                    await call("list_backends", {}, ok=False)
                    sandbox.faults.clear()
                    await call("get_job", {"job_id": KEY + "/x"}, ok=False)
                    await call("create_job", {**tagged, "shots": "many"}, ok=False)
                    await call("get_job", None, ok=False)
                    await call("no_such_tool", {"api_key": KEY}, ok=False)
            finally:
                await server.aclose()
            assert called >= set(server.operations)

            # 401: the same server with a key the sandbox does not know
            wrong = build_server(config(WRONG_KEY))
            try:
                async with Client(wrong) as client:
                    for name, arguments in (("whoami", {}), ("get_job", {"job_id": MISSING}),
                                            ("run_circuit", {**BELL_JOB, "timeout_s": 5})):
                        result = await client.call_tool(name, arguments)
                        assert result.is_error and "401" in result.content[0].text, result.content
                        seen.append(_seen(result))
            finally:
                await wrong.aclose()
    finally:
        sandbox.close()

    logs = caplog.text + "\n".join(repr(record.args) for record in caplog.records)
    files = _files(state)
    assert "audit.jsonl" in files and "ledger.sqlite3" in files
    assert len(seen) >= len(called) + 3 and all(seen)
    for secret in SECRETS:
        for text in seen:
            assert secret not in text, text[:500]
        assert secret not in logs
        for name, data in files.items():
            assert secret.encode() not in data, name
