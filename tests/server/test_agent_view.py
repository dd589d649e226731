"""What an agent reads through a real MCP client: nothing internal, hints that say what happened."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from ionq_mcp.client import IDEMPOTENCY_METADATA_KEY

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


async def test_the_internal_idempotency_key_is_not_shown_in_job_metadata(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", {**BELL_JOB, "metadata": {"experiment": "bell"}})
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        shown = [await client.call_tool("get_job", {"job_id": job_id}),
                 await client.call_tool("list_jobs", {"limit": 5}),
                 await client.call_tool("wait_for_job", {"job_id": job_id})]
    stored = sandbox.store.get_job(job_id)
    assert IDEMPOTENCY_METADATA_KEY in json.dumps(stored.doc)  # the job does carry it upstream
    for result in [created, *shown]:
        assert not result.is_error, result.content
        text = json.dumps(result.structured_content) + result.content[0].text
        assert IDEMPOTENCY_METADATA_KEY not in text
    assert shown[0].structured_content["metadata"] == {"experiment": "bell"}


async def test_the_reserved_metadata_key_is_refused_before_anything_is_sent(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        for tool in ("create_job", "run_circuit"):
            arguments = {**BELL_JOB, "metadata": {IDEMPOTENCY_METADATA_KEY: "00000000-aaaa"}}
            if tool == "run_circuit":
                arguments.pop("type")
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            assert f"metadata.{IDEMPOTENCY_METADATA_KEY}" in result.content[0].text
            assert "reserved" in result.content[0].text
    assert sandbox.request_log.count() == 0
    assert sandbox.store.count_jobs() == 0


async def test_a_job_in_an_ended_session_gets_a_hint_that_says_what_happened(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        session = await client.call_tool("create_session", {"backend": "simulator"})
        assert not session.is_error, session.content
        session_id = session.structured_content["id"]
        ended = await client.call_tool("end_session", {"session_id": session_id})
        assert not ended.is_error, ended.content
        refused = await client.call_tool("create_job", {**BELL_JOB, "session_id": session_id})
    text = refused.content[0].text
    assert refused.is_error and "409" in text
    assert "no longer accepts jobs" in text and "Nothing was created" in text
    assert "Unexpected failure" not in text


async def test_whoami_reveals_the_organization_and_usage_works_without_it(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        me = await client.call_tool("whoami", {})
        usage = await client.call_tool("get_organization_usage", {
            "start_date": "2026-01-01", "end_date": "2027-01-01", "group_by": "project", "modality": "monthly"})
        explicit = await client.call_tool("get_organization_usage", {
            "organization_id": me.structured_content["organization_id"], "start_date": "2026-01-01",
            "end_date": "2027-01-01", "group_by": "project", "modality": "monthly"})
    assert me.structured_content["organization_id"] == sandbox.config.api_keys[0].organization_id
    assert me.structured_content["organization_id"] in me.content[0].text
    assert not usage.is_error, usage.content[0].text
    assert usage.structured_content == explicit.structured_content


async def test_a_missing_job_read_is_a_404_with_a_hint_not_a_wrapped_exception(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("get_job_probabilities", {"job_id": "00000000-0000-4000-8000-000000000000"})
    assert result.is_error and result.structured_content["error"]["status"] == 404
    assert "ExceptionGroup" not in result.content[0].text


async def test_hints_name_only_tools_the_server_exposes(make_server, mode):
    narrow = make_server(tools=("get_job", "get_job_probabilities"))
    async with Client(narrow, mode=mode) as client:
        result = await client.call_tool("get_job", {"job_id": "00000000-0000-4000-8000-000000000000"})
    hint = result.structured_content["error"]["hint"]
    assert result.is_error and "list_jobs" not in hint and "list_jobs" not in result.content[0].text
    assert "list_jobs" not in (narrow.instructions or "") and "create_job" not in (narrow.instructions or "")


async def test_instructions_name_only_exposed_tools_and_real_gates(make_server):
    workflows = make_server(toolsets=("workflows",))
    text = workflows.instructions or ""
    assert "create_job" not in text and "rxx" not in text
    assert "run_circuit" in text and "estimate_circuit_cost" in text


@pytest.mark.parametrize(("threshold", "settings", "advice", "not_advised"), [
    # every paid job must be confirmed: lowering the cost cannot help ("at most $0.00" was the old advice)
    (0.0, None, "simulator", "lower the cost"),
    # a debiased job's minimum (97.50) is above the threshold, a plain one's (12.42) is not
    (50.0, {"error_mitigation": {"debiasing": True}}, "turn off error mitigation", "fewer shots"),
    (50.0, {"error_mitigation": {"debiasing": False}}, "lower the cost to at most $50.00", "turn off"),
])
async def test_a_refusal_states_the_estimate_and_threshold_and_only_advice_that_can_work(
        make_server, sandbox, threshold, settings, advice, not_advised):
    from ionq_mcp.guard import GuardPolicy

    server = make_server(guard_policy=GuardPolicy(allow_qpu=True, max_job_cost_usd=500, daily_budget_usd=5000,
                                                  confirm_above_usd=threshold))
    gates = [{"gate": "h", "target": 0}, *[{"gate": "cnot", "control": 0, "target": 1}] * 20]
    job = {**BELL_JOB, "backend": "qpu.aria-1", "shots": 2000, "input": {**BELL_JOB["input"], "circuit": gates}}
    if settings is not None:
        job["settings"] = settings
    async with Client(server) as client:  # a client that cannot ask the user (no elicitation)
        # no settings: IonQ's default applies to both (a QIS job with >= 500 shots is debiased)
        mitigation = {} if settings is None else {"error_mitigation": settings["error_mitigation"]["debiasing"]}
        estimate = await client.call_tool("get_job_estimate", {
            "backend": "qpu.aria-1", "qubits": 2, "shots": 2000, "one_qubit_gates": 1, "two_qubit_gates": 20,
            **mitigation})
        result = await client.call_tool("create_job", job)
    text = result.content[0].text
    cost = estimate.structured_content["estimated_cost"]
    assert result.is_error and f"${cost:,.2f}" in text and f"${threshold:,.2f}" in text
    assert advice in text and not_advised not in text
    assert "at most $0.00" not in text
    assert sandbox.store.count_jobs() == 0
