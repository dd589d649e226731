"""An outage after a paid submission never invites a second paid job; uncertain reservations can be settled.

Faults come from the sandbox's own fault injection: ``drop`` processes the request, then drops the connection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy, reconcile_reservations
from ionq_mcp.sandbox import FaultRule
from ionq_mcp.server._ops import client_job_lookup

from .conftest import BELL_JOB

pytestmark = pytest.mark.anyio

QPU_POLICY = GuardPolicy(allow_qpu=True, max_job_cost_usd=200, daily_budget_usd=1000, confirm_above_usd=1000)
QPU_BELL = {**BELL_JOB, "backend": "qpu.aria-1", "shots": 100}


def _audit(server) -> list[dict]:
    return [json.loads(line) for line in Path(server.guard.audit_log.path).read_text().splitlines()]


async def test_run_circuit_whose_upstream_drops_after_the_submission_names_the_job(make_server, sandbox, mode):
    server = make_server(guard_policy=QPU_POLICY)
    # The estimate (the first GET) passes; after the POST every GET loses its connection: the job exists, the
    # wait for it fails.
    sandbox.faults.add(FaultRule(kind="drop", methods=("GET",), schedule=[False] + [True] * 200))
    run = {k: v for k, v in QPU_BELL.items() if k != "type"}
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("run_circuit", {**run, "timeout_s": 5})
    assert result.is_error
    [job_id] = [row.id for row in sandbox.store.list_jobs(sandbox.config.api_keys[0].project_id)]
    text = result.content[0].text
    error = result.structured_content["error"]
    assert error["job_id"] == job_id and result.structured_content["job_id"] == job_id
    assert error["submitted"] is True and error["resume_with"][:2] == ["wait_for_job", "get_job_results"]
    assert job_id in text and "Do NOT submit it again" in text and f'wait_for_job(job_id="{job_id}")' in text
    assert "try again" not in text.split("\n")[0].lower()
    assert sandbox.store.count_jobs() == 1  # one paid job, and the advice does not ask for another
    assert [e["outcome"] for e in _audit(server) if e["tool"] == "run_circuit"] == ["submitted"]


async def test_resume_advice_names_only_exposed_tools(make_server, sandbox):
    server = make_server(guard_policy=QPU_POLICY, tools=("run_circuit", "get_job"))
    sandbox.faults.add(FaultRule(kind="drop", methods=("GET",), schedule=[False] + [True] * 200))
    run = {k: v for k, v in QPU_BELL.items() if k != "type"}
    async with Client(server) as client:
        result = await client.call_tool("run_circuit", {**run, "timeout_s": 5})
    assert result.is_error and result.structured_content["error"]["resume_with"] == ["get_job"]
    assert "wait_for_job" not in result.content[0].text.split("\n")[0]


async def test_an_uncertain_submission_is_reconciled_by_its_token(make_server, sandbox, mode):
    server = make_server(guard_policy=QPU_POLICY)
    # The POST creates the job but its answer is lost, and the look-ups that would find it fail too.
    sandbox.faults.add(FaultRule(kind="drop", methods=("POST",), path="/jobs"))
    sandbox.faults.add(FaultRule(kind="status", status=503, methods=("GET",), schedule=[False] + [True] * 200))
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("create_job", QPU_BELL)
    text = result.content[0].text
    assert result.is_error and "UncertainOutcomeError" in text
    assert "Do NOT submit it again" in text and "ionq-mcp reconcile" in text
    [pending] = server.guard.uncertain_reservations()
    assert pending.idempotency_key and pending.estimated_usd > 0
    spent_before = server.guard.spent_usd()

    sandbox.faults.clear()
    rows = await reconcile_reservations(server.guard, client_job_lookup(server.upstream),
                                        server.guard.uncertain_reservations())
    assert [r.outcome for r in rows] == ["committed"]
    assert rows[0].job_id and sandbox.store.get_job(rows[0].job_id) is not None
    assert server.guard.uncertain_reservations() == []
    assert server.guard.spent_usd() == pytest.approx(spent_before)  # the job exists: its money stays counted


async def test_a_reservation_whose_job_never_existed_is_released(make_server, sandbox):
    server = make_server(guard_policy=QPU_POLICY)
    server.guard.reserve("create_job", "qpu.aria-1", 42.0, idempotency_key="f" * 32)
    assert server.guard.spent_usd() == pytest.approx(42.0)
    rows = await reconcile_reservations(server.guard, client_job_lookup(server.upstream),
                                        server.guard.uncertain_reservations())
    assert [r.outcome for r in rows] == ["released"]
    assert server.guard.spent_usd() == pytest.approx(0.0)
    assert server.guard.uncertain_reservations() == []
