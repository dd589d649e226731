"""Several replicas (separate processes and ports) share one budget and one audit trail in PostgreSQL.

Each test runs a real ``ionq-mcp sandbox`` process as the upstream, replicas as ``ionq-mcp serve --transport
http`` processes with ``IONQ_MCP_LEDGER_URL`` pointing at a scratch database, and talks to them with the MCP SDK's
client over streamable HTTP (2026-07-28, stateless). The database is taken down by closing the scratch database
to connections (the shared PostgreSQL server keeps running).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import psycopg
import pytest

from ionq_mcp.client import IonQClient
from tests._postgres import set_connections
from tests.server._cluster import HTTP_TOKEN, clients, cluster, wait_for
from tests.server.test_workflows import ARIA_1Q, ARIA_2Q, ARIA_MINIMUM, BELL, QPU

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

#: create_job of a Bell pair, 100 shots on Aria: 1 billable 1q and 1 2q gate.
PAID = {"type": "ionq.circuit.v1", "backend": QPU, "shots": 100, "input": {**BELL, "gateset": "qis"}}
BELL_COST = ARIA_MINIMUM + ARIA_1Q * 100 + ARIA_2Q * 100
FREE = {**PAID, "backend": "simulator"}


def text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def upstream_qpu_jobs(api_url: str) -> set[str]:
    async with IonQClient(api_key="sandbox-local-key", base_url=api_url, allow_insecure_http=True) as client:
        page = await client.list_jobs(limit=1000)
    return {job.id for job in page.jobs if job.backend == QPU}


def ledger_rows(url: str, state: str) -> list[tuple[str | None, float]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT job_id, estimated_usd::float8 FROM ionq_mcp_spend WHERE state = %s ORDER BY id",
                            (state,)).fetchall()


def sandbox_jobs(tmp_path: Path) -> int:
    """Jobs in the sandbox's database, read directly (a GET /jobs would consume the scripted faults)."""
    with closing(sqlite3.connect(f"file:{tmp_path / 'sandbox.sqlite3'}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM jobs").fetchone()[0])


def audit_outcomes(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT tool, outcome FROM ionq_mcp_audit ORDER BY id").fetchall()


async def test_sixty_concurrent_paid_submissions_round_robin_take_exactly_the_budget(tmp_path, pg_url):
    budget = round(10 * BELL_COST, 6)
    policy = {"IONQ_MCP_DAILY_BUDGET_USD": str(budget), "IONQ_MCP_MAX_JOB_COST_USD": "50",
              "IONQ_MCP_CONFIRM_ABOVE_USD": "1000"}
    results: list[Any] = [None] * 60
    with cluster(tmp_path, pg_url, 3, policy) as (api_url, nodes):
        async with clients([n.url for n in nodes]) as mcp:
            async def submit(i: int) -> None:
                results[i] = await mcp[i % 3].call_tool("create_job", PAID)

            async with anyio.create_task_group() as tasks:
                for i in range(60):
                    tasks.start_soon(submit, i)
        upstream = await upstream_qpu_jobs(api_url)
    accepted = [r for r in results if not r.is_error]
    refused = [r for r in results if r.is_error]
    assert len(accepted) == 10 and len(upstream) == 10
    assert {r.structured_content["id"] for r in accepted} == upstream
    assert all("daily budget of $125.36" in text(r) for r in refused), text(refused[0])
    committed = ledger_rows(pg_url, "committed")
    assert {job for job, _ in committed} == upstream
    assert sum(cost for _, cost in committed) == pytest.approx(10 * BELL_COST, abs=1e-6)
    assert ledger_rows(pg_url, "reserved") == []
    outcomes = audit_outcomes(pg_url)
    assert outcomes.count(("create_job", "submitted")) == 10 and outcomes.count(("create_job", "refused")) == 50


async def test_confirmation_started_on_one_replica_is_answered_through_another(tmp_path, pg_url):
    policy = {"IONQ_MCP_DAILY_BUDGET_USD": "100", "IONQ_MCP_MAX_JOB_COST_USD": "50", "IONQ_MCP_CONFIRM_ABOVE_USD": "1"}
    accept = {"ionq_mcp_confirm": types.ElicitResult(action="accept", content={"confirm": True})}

    async def never_called(context: Any, params: Any) -> types.ElicitResult:
        raise AssertionError("the 2026-07-28 flow returns the question instead of asking mid-call")

    with cluster(tmp_path, pg_url, 2, policy) as (api_url, (a, b)):
        async with clients([a.url, b.url], elicitation_callback=never_called) as (on_a, on_b):
            first = await on_a.session.call_tool("create_job", PAID, allow_input_required=True)
            assert isinstance(first, types.InputRequiredResult)
            assert "$12.54" in first.input_requests["ionq_mcp_confirm"].params.message
            assert await upstream_qpu_jobs(api_url) == set()
            done = await on_b.session.call_tool("create_job", PAID, allow_input_required=True,
                                                input_responses=accept, request_state=first.request_state)
            assert isinstance(done, types.CallToolResult) and not done.is_error, done
            # the consent is single-use across replicas: replaying it on A (or B) asks again
            for node in (on_a, on_b):
                replay = await node.session.call_tool("create_job", PAID, allow_input_required=True,
                                                      input_responses=accept, request_state=first.request_state)
                assert isinstance(replay, types.InputRequiredResult)
        # 2025-11-25 clients: stateless HTTP has no session stream to ask on, so they are told so (nothing is sent)
        async with clients([a.url], mode="legacy", elicitation_callback=never_called) as (legacy,):
            told = await legacy.call_tool("create_job", PAID)
            read = await legacy.call_tool("get_job", {"job_id": done.structured_content["id"]})
        assert told.is_error and "cannot ask the user" in text(told)
        assert not read.is_error
        jobs = await upstream_qpu_jobs(api_url)
    assert jobs == {done.structured_content["id"]}
    assert [job for job, _ in ledger_rows(pg_url, "committed")] == [done.structured_content["id"]]


async def test_replicas_killed_between_reserve_and_commit_are_reconciled(tmp_path, pg_url):
    """Two replicas are SIGKILLed after reserving, before committing; a third reconciles once their leases end.

    1. The first victim's POST /jobs creates the job but the connection drops (sandbox fault), and the victim is
       killed while its client looks the job up (that GET is held 5 s): the job exists -> committed.
    2. The second victim's POST /jobs is held 5 s before the sandbox reads it, and the victim is killed: the
       request dies with the connection, no job exists -> released.
    """
    policy = {"IONQ_MCP_DAILY_BUDGET_USD": "100", "IONQ_MCP_MAX_JOB_COST_USD": "50",
              "IONQ_MCP_CONFIRM_ABOVE_USD": "1000", "IONQ_MCP_LEASE_S": "3"}
    survivor = {**policy, "IONQ_MCP_RECONCILE_INTERVAL_S": "0.5"}
    faults = ("kind=drop,methods=POST,path=/jobs,schedule=1",
              "kind=latency,latency_s=5,methods=GET,path=/jobs,schedule=0|1",
              "kind=latency,latency_s=5,methods=POST,path=/jobs,schedule=0|1")
    with cluster(tmp_path, pg_url, 3, [policy, policy, survivor], faults) as (api_url, (first, second, _)):
        failures: list[Exception] = []  # what the dying calls saw (kept for debugging)
        for victim in (first, second):
            async def doomed(url: str = victim.url) -> None:
                try:
                    async with clients([url]) as (client,):
                        await client.call_tool("create_job", PAID)
                except Exception as exc:  # noqa: BLE001 - the replica dies under the call
                    failures.append(exc)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(doomed)
                # phase 1 waits for the job to exist as well (it does from the dropped POST on); phase 2 for the
                # reservation only (its job never will)
                await anyio.to_thread.run_sync(lambda: wait_for(
                    lambda: ledger_rows(pg_url, "reserved") and sandbox_jobs(tmp_path) == 1, 20,
                    "the victim's reservation (and in phase 1 its job)", 0.05))
                os.kill(victim.proc.pid, signal.SIGKILL)
                victim.proc.wait()
                tasks.cancel_scope.cancel()
            await anyio.to_thread.run_sync(lambda: wait_for(
                lambda: not ledger_rows(pg_url, "reserved"), 30, "reconciliation by the surviving replica", 0.25))
        upstream = await upstream_qpu_jobs(api_url)
    committed = ledger_rows(pg_url, "committed")
    assert len(upstream) == 1 and [job for job, _ in committed] == sorted(upstream)
    assert sum(cost for _, cost in committed) == pytest.approx(BELL_COST, abs=1e-6)
    assert [cost for _, cost in ledger_rows(pg_url, "released")] == [pytest.approx(BELL_COST, abs=1e-6)]
    outcomes = audit_outcomes(pg_url)
    assert ("reconcile_reservation", "committed") in outcomes and ("reconcile_reservation", "released") in outcomes


async def test_database_down_refuses_paid_work_serves_reads_and_recovers(tmp_path, pg_url):
    policy = {"IONQ_MCP_DAILY_BUDGET_USD": "100", "IONQ_MCP_MAX_JOB_COST_USD": "50",
              "IONQ_MCP_CONFIRM_ABOVE_USD": "1000"}
    with cluster(tmp_path, pg_url, 1, policy) as (api_url, (node,)):
        probe = httpx.Client(base_url=node.base, timeout=10)
        async with clients([node.url]) as (client,):
            first = await client.call_tool("create_job", PAID)
            assert not first.is_error, text(first)
            job_id = first.structured_content["id"]
            assert probe.get("/readyz").status_code == 200
            set_connections(pg_url, False)
            try:
                refused = await client.call_tool("create_job", PAID)
                assert refused.is_error and "spend ledger cannot be reached" in text(refused)
                assert "Reads and simulator jobs still work" in text(refused)
                assert "postgres" not in text(refused).split("(")[0]  # the reason comes last, in parentheses
                read = await client.call_tool("get_job", {"job_id": job_id})
                assert not read.is_error and read.structured_content["id"] == job_id
                free = await client.call_tool("create_job", FREE)
                assert not free.is_error, text(free)
                assert probe.get("/healthz").status_code == 200
                down = wait_for(lambda: probe.get("/readyz").status_code == 503 or None, 15, "/readyz to fail")
                assert down and probe.get("/readyz").json() == {"status": "not ready"}
            finally:
                set_connections(pg_url, True)
            again = await client.call_tool("create_job", PAID)
            assert not again.is_error, text(again)
            wait_for(lambda: probe.get("/readyz").status_code == 200, 15, "/readyz to recover")
            metrics = probe.get("/metrics", headers={"Authorization": f"Bearer {HTTP_TOKEN}"}).text
        upstream = await upstream_qpu_jobs(api_url)
    assert upstream == {job_id, again.structured_content["id"]}
    assert {job for job, _ in ledger_rows(pg_url, "committed")} == upstream
    assert 'ionq_mcp_tool_calls_total{outcome="error",tool="create_job"} 1.0' in metrics
    assert f'ionq_mcp_guard_dollars_total{{backend="{QPU}",state="committed"}}' in metrics
    probe.close()
