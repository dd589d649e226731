"""The spend guard through a real MCP client: race for the budget, elicitation in both eras, refusals, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from ionq_mcp.guard import Guard, GuardPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig
from tests.server.test_workflows import (
    ARIA_1Q,
    ARIA_2Q,
    ARIA_MINIMUM,
    BELL,
    MODES,
    QPU,
    job,
    server_env,
    structured,
)

#: Bell pair, 100 shots on Aria: 1 billable 1q and 1 2q gate (published formula).
BELL_COST = ARIA_MINIMUM + ARIA_1Q * 100 + ARIA_2Q * 100
PAID = job(BELL, QPU, shots=100, timeout_s=5)


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def answering(action: str, calls: list[str] | None = None):
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if calls is not None:
            calls.append(params.message)
        content = {"confirm": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    return callback


# ---- the race for the last dollars ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_twenty_concurrent_runs_on_a_budget_for_five(tmp_path, mode):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=5 * BELL_COST, confirm_above_usd=1000)
    sandbox = Sandbox(SandboxConfig(db_path=str(tmp_path / "sandbox.sqlite3"), qpu_latency_s=0.05, seed=3))
    results: list[Any] = []
    try:
        async with server_env(tmp_path, policy=policy, sandbox=sandbox) as env:
            async with Client(env.server, mode=mode) as client:
                async def one() -> None:
                    results.append(await client.call_tool("run_circuit", PAID))

                async with anyio.create_task_group() as tg:
                    for _ in range(20):
                        tg.start_soon(one)
            # counted on the sandbox side: never more than the budget allows, and the budget is used exactly
            assert sandbox.store.count_jobs() == 5
            ok = [r for r in results if not r.is_error]
            refused = [r for r in results if r.is_error]
            assert len(ok) == 5 and len(refused) == 15
            budget = f"${5 * BELL_COST:,.2f}"
            assert all(budget in r.content[0].text and "IONQ_MCP_DAILY_BUDGET_USD" in r.content[0].text
                       for r in refused)
            assert {structured(r)["status"] for r in ok} == {"completed"}
            outcomes = [line["outcome"] for line in audit_lines(env.audit_path) if line["tool"] == "run_circuit"]
            assert outcomes.count("submitted") == 5 and outcomes.count("refused") == 15

        # restart: a new server on the same state directory remembers the spending
        async with server_env(tmp_path, policy=policy, sandbox=sandbox) as env, Client(env.server) as client:
            again = await client.call_tool("run_circuit", PAID)
            assert again.is_error and "daily budget" in again.content[0].text and budget in again.content[0].text
        assert sandbox.store.count_jobs() == 5
        ledger = Guard(policy, env.ledger_path, env.audit_path)
        assert ledger.spent_usd() == pytest.approx(5 * BELL_COST)
        ledger.close()
    finally:
        sandbox.close()


# ---- refusals --------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_qpu_is_refused_by_default_and_nothing_is_sent(tmp_path):
    async with server_env(tmp_path) as env, Client(env.server) as client:
        result = await client.call_tool("run_circuit", PAID)
        assert result.is_error
        text = result.content[0].text
        assert "IONQ_MCP_ALLOW_QPU=1" in text and "--allow-qpu" in text
        assert env.sandbox.request_log.count(path_prefix="/jobs") == 0
        # the simulator is always allowed
        assert not (await client.call_tool("run_circuit", job(BELL))).is_error


@pytest.mark.anyio
async def test_per_job_cap_refusal_quotes_estimate_and_cap(tmp_path):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=12.0, daily_budget_usd=100, confirm_above_usd=1000)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server) as client:
        result = await client.call_tool("create_job", {"backend": QPU, "type": "ionq.circuit.v1", "shots": 100,
                                                       "input": {**BELL, "gateset": "qis"}})
        assert result.is_error
        text = result.content[0].text
        assert f"${BELL_COST:,.2f}" in text and "$12.00" in text and "IONQ_MCP_MAX_JOB_COST_USD" in text
        assert env.sandbox.store.count_jobs() == 0


@pytest.mark.anyio
async def test_qpu_session_gets_a_cost_limit(tmp_path):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=40, confirm_above_usd=1000)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server) as client:
        created = await client.call_tool("create_session", {"backend": QPU})
        assert not created.is_error, created.content
        session = structured(created)
        fetched = structured(await client.call_tool("get_session", {"session_id": session["id"]}))
        assert fetched["settings"]["cost_limit"]["value"] == 40
        too_high = await client.call_tool("create_session", {
            "backend": QPU, "settings": {"cost_limit": {"unit": "usd", "value": 500}}})
        assert too_high.is_error and "$500.00" in too_high.content[0].text and "$40.00" in too_high.content[0].text


# ---- confirmation through elicitation --------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "submitted"), [("accept", 1), ("decline", 0), ("cancel", 0)])
async def test_confirmation_paths(tmp_path, mode, action, submitted):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=10)
    asked: list[str] = []
    async with server_env(tmp_path, policy=policy, qpu_latency_s=0.05) as env, \
            Client(env.server, mode=mode, elicitation_callback=answering(action, asked)) as client:
        result = await client.call_tool("run_circuit", PAID)
        assert len(asked) == 1 and f"${BELL_COST:,.2f}" in asked[0] and QPU in asked[0]
        assert env.sandbox.store.count_jobs() == submitted
        if action == "accept":
            assert not result.is_error and structured(result)["status"] == "completed"
            assert Guard(policy, env.ledger_path, env.audit_path).spent_usd() == pytest.approx(BELL_COST)
        else:
            assert result.is_error and "not submitted" in result.content[0].text
        outcome = {"accept": "submitted", "decline": "declined", "cancel": "cancel"}[action]
        assert [line["outcome"] for line in audit_lines(env.audit_path) if line["tool"] == "run_circuit"] == [outcome]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_client_without_elicitation_gets_a_refusal_saying_how_to_proceed(tmp_path, mode):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=10)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server, mode=mode) as client:
        result = await client.call_tool("run_circuit", PAID)
        assert result.is_error
        text = result.content[0].text
        assert "cannot ask the user" in text and "IONQ_MCP_CONFIRM_ABOVE_USD" in text and "$10.00" in text
        assert env.sandbox.store.count_jobs() == 0


@pytest.mark.anyio
async def test_forged_mismatched_or_replayed_request_state_is_not_consent(tmp_path):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=10)
    accept = {"ionq_mcp_confirm": types.ElicitResult(action="accept", content={"confirm": True})}
    async with server_env(tmp_path, policy=policy) as env, \
            Client(env.server, elicitation_callback=answering("accept")) as client:
        session = client.session
        first = await session.call_tool("run_circuit", PAID, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        payload, _, tag = first.request_state.partition(".")
        forged = [None, "", "x.y", payload + "." + tag[::-1], first.request_state + "x"]
        for state in forged:
            retry = await session.call_tool("run_circuit", PAID, allow_input_required=True,
                                            input_responses=accept, request_state=state)
            assert isinstance(retry, types.InputRequiredResult)  # asked again, nothing submitted
        # a genuine state for OTHER arguments (more shots = a different price) is not consent either
        other = await session.call_tool("run_circuit", {**PAID, "shots": 200}, allow_input_required=True,
                                        input_responses=accept, request_state=first.request_state)
        assert isinstance(other, types.InputRequiredResult)
        assert env.sandbox.store.count_jobs() == 0
        done = await session.call_tool("run_circuit", PAID, allow_input_required=True,
                                       input_responses=accept, request_state=first.request_state)
        assert isinstance(done, types.CallToolResult) and not done.is_error
        assert env.sandbox.store.count_jobs() == 1
        # a consent is single-use: replaying the accepted state asks again
        replay = await session.call_tool("run_circuit", PAID, allow_input_required=True,
                                         input_responses=accept, request_state=first.request_state)
        assert isinstance(replay, types.InputRequiredResult)
        assert env.sandbox.store.count_jobs() == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_bulk_delete_and_cancel_ask_above_the_threshold(tmp_path, mode):
    policy = GuardPolicy(bulk_confirm_above=2)
    asked: list[str] = []
    decision = {"action": "decline"}

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return await answering(decision["action"])(context, params)

    async with server_env(tmp_path, policy=policy, simulator_latency_s=0) as env, \
            Client(env.server, mode=mode, elicitation_callback=callback) as client:
        ids = [structured(await client.call_tool("run_circuit", job(BELL)))["job_id"] for _ in range(3)]
        assert env.sandbox.store.count_jobs() == 3

        small = await client.call_tool("cancel_many_jobs", {"ids": ids[:2]})
        assert not small.is_error and asked == []  # at the threshold: no question

        declined = await client.call_tool("delete_jobs", {"ids": ids})
        assert declined.is_error and "no job was touched" in declined.content[0].text
        assert len(asked) == 1 and "3" in asked[0]
        assert env.sandbox.store.count_jobs() == 3

        decision["action"] = "accept"
        deleted = await client.call_tool("delete_jobs", {"ids": ids})
        assert not deleted.is_error, deleted.content
        assert env.sandbox.store.count_jobs() == 0
        tools = [(line["tool"], line["outcome"]) for line in audit_lines(env.audit_path)]
        assert ("delete_jobs", "declined") in tools and ("delete_jobs", "done") in tools
        assert ("cancel_many_jobs", "done") in tools


# ---- audit log ---------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_audit_log_has_every_acting_call_and_never_the_key(tmp_path):
    key = "sk-ionq-audit-planted-0123456789"
    from ionq_mcp.sandbox import ApiKey

    sandbox = Sandbox(SandboxConfig(db_path=str(tmp_path / "sb.sqlite3"), qpu_latency_s=0.05,
                                    api_keys=[ApiKey(key=key, key_id="5d0c4c3e-2f7d-4a55-9a43-8f1c4e0b9a01",
                                                     name="planted",
                                                     project_id="0b6e8a52-7a8e-4d4a-b3f4-2a4c1e9d7f10",
                                                     organization_id="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")]))
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=1000,
                         bulk_confirm_above=10)
    try:
        async with server_env(tmp_path, policy=policy, sandbox=sandbox) as env, Client(env.server) as client:
            calls = [
                ("run_circuit", job(BELL, metadata={"note": f"apiKey {key}"})),
                ("run_circuit", PAID),
                ("create_job", {"backend": "simulator", "type": "ionq.circuit.v1", "input": {**BELL, "gateset": "qis"},
                                "metadata": {"api_key": key}}),
                ("create_session", {"backend": QPU}),
            ]
            ids = []
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                assert not result.is_error, result.content
                data = structured(result)
                ids.append(data.get("job_id") or data.get("id"))
            await client.call_tool("cancel_job", {"job_id": ids[0]})
            await client.call_tool("end_session", {"session_id": ids[3]})
            await client.call_tool("delete_jobs", {"ids": ids[:2]})
            text = env.audit_path.read_text()
            lines = audit_lines(env.audit_path)
    finally:
        sandbox.close()
    assert key not in text
    acted = [line["tool"] for line in lines]
    for name in ("run_circuit", "create_job", "create_session", "cancel_job", "end_session", "delete_jobs",
                 "reconcile"):
        assert name in acted, (name, acted)
    paid = next(line for line in lines if line["tool"] == "run_circuit" and line["arguments"]["backend"] == QPU)
    assert paid["estimated_usd"] == pytest.approx(BELL_COST) and paid["job_id"]
    assert paid["arguments"]["input"] == {"gates": 2, "qubits": 2}  # summarised, not the gates
    for line in lines:
        assert set(line) >= {"time", "tool", "arguments", "outcome", "estimated_usd", "actual_usd", "job_id"}


@pytest.mark.anyio
@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_session_above_the_threshold_is_confirmed(tmp_path, action):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=40, confirm_above_usd=10)
    asked: list[str] = []
    async with server_env(tmp_path, policy=policy) as env, \
            Client(env.server, mode="legacy", elicitation_callback=answering(action, asked)) as client:
        result = await client.call_tool("create_session", {"backend": QPU})
        sessions = structured(await client.call_tool("list_sessions", {}))["sessions"]
        assert len(asked) == 1 and "$40.00" in asked[0]
        if action == "accept":
            assert not result.is_error and [s["id"] for s in sessions] == [structured(result)["id"]]
        else:
            assert result.is_error and "session was not created" in result.content[0].text
            assert sessions == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_paid_submission_cancelled_in_flight_keeps_its_reservation_and_is_audited(tmp_path, mode):
    from ionq_mcp.sandbox import FaultRule
    from tests.server.conftest import BELL_JOB

    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=1000)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server, mode=mode) as client:
        assert not (await client.call_tool("list_backends", {})).is_error
        env.sandbox.faults.add(FaultRule(kind="latency", latency_s=2.0, methods=("POST",), path="/jobs"))
        arguments = {**BELL_JOB, "backend": QPU, "shots": 100}
        with anyio.move_on_after(0.5) as scope:
            await client.call_tool("create_job", arguments)
        assert scope.cancelled_caught  # still waiting on the slowed POST when the caller gave up
        with anyio.fail_after(10):
            while not audit_lines(env.audit_path):
                await anyio.sleep(0.05)
        lines = audit_lines(env.audit_path)
        # the POST may have reached IonQ: the money stays reserved (fail closed) and the audit log says why
        assert [(line["tool"], line["outcome"]) for line in lines] == [("create_job", "uncertain")]
        assert lines[0]["estimated_usd"] == pytest.approx(BELL_COST)
        assert env.server.guard.spent_usd() == pytest.approx(BELL_COST)


@pytest.mark.anyio
async def test_a_free_backend_cannot_ride_on_a_qpu_session(tmp_path):
    from tests.server.conftest import BELL_JOB

    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=100, confirm_above_usd=1000)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server) as client:
        session = structured(await client.call_tool("create_session", {"backend": QPU}))
        for tool, extra in (("create_job", {}), ("run_circuit", {"timeout_s": 5})):
            result = await client.call_tool(tool, {**BELL_JOB, **extra, "session_id": session["id"]})
            text = result.content[0].text
            assert result.is_error and QPU in text and "spend guard" in text, text
            assert result.structured_content["error"]["type"] == "guard_refused"
        assert env.sandbox.request_log.count(method="POST", path_prefix="/jobs") == 0
        # a simulator session is no such case: its jobs run for free as before
        free = structured(await client.call_tool("create_session", {"backend": "simulator"}))
        ok = await client.call_tool("create_job", {**BELL_JOB, "session_id": free["id"]})
        assert not ok.is_error, ok.content
    assert env.server.guard.spent_usd() == 0
