"""Where IonQ's estimate may fall short of the bill, the guard errs high (multi-circuit) or always asks
(iterative jobs), checked through a real MCP client against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy
from tests.server.test_guard_mcp import answering
from tests.server.test_workflows import ARIA_1Q, ARIA_2Q, ARIA_MINIMUM, MODES, QPU, server_env, structured

H = {"gate": "h", "target": 0}
CNOT = {"gate": "cnot", "control": 0, "target": 1}
SHOTS = 100


def multi_circuit(n: int) -> dict[str, Any]:
    return {"type": "ionq.multi-circuit.v1", "backend": QPU, "shots": SHOTS,
            "input": {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": [H, CNOT]} for _ in range(n)]}}


#: A triangle graph in NetworkX adjacency form (3 nodes: 3 qubits).
QAOA = {"type": "qctrl.qaoa.v1", "backend": QPU, "shots": SHOTS,
        "input": {"problem_type": "maxcut",
                  "problem": {"directed": False, "multigraph": False, "graph": [],
                              "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
                              "adjacency": [[{"id": 1}, {"id": 2}], [{"id": 0}, {"id": 2}], [{"id": 0}, {"id": 1}]]}},
        "external_settings": {"api_credentials": "qctrl-credentials-for-the-test"}}


@pytest.mark.anyio
async def test_multi_circuit_bound_counts_a_minimum_per_circuit(tmp_path):
    async with server_env(tmp_path) as env, Client(env.server) as client:
        data = structured(await client.call_tool("estimate_circuit_cost", multi_circuit(3)))
    ionq_estimate = ARIA_MINIMUM + 3 * (ARIA_1Q + ARIA_2Q) * SHOTS  # the sandbox bills one minimum per parent
    assert data["estimated_cost_usd"] == pytest.approx(ionq_estimate)
    assert data["guard_bound_usd"] == pytest.approx(ionq_estimate + 2 * ARIA_MINIMUM)
    assert "each of the 3 circuits" in data["guard_note"]


@pytest.mark.anyio
async def test_multi_circuit_refused_when_only_the_bound_exceeds_the_cap(tmp_path):
    ionq_estimate = ARIA_MINIMUM + 3 * (ARIA_1Q + ARIA_2Q) * SHOTS
    # the cap admits IonQ's single-job estimate but not one minimum per circuit
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=ionq_estimate + 1, daily_budget_usd=1000,
                         confirm_above_usd=1000)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server) as client:
        result = await client.call_tool("create_job", multi_circuit(3))
        assert result.is_error and "per-job cap" in result.content[0].text
        assert env.sandbox.store.count_jobs() == 0
        one = await client.call_tool("create_job", multi_circuit(1))  # a single circuit: no extra minimum
        assert not one.is_error, one.content
        assert env.sandbox.store.count_jobs() == 2  # the parent and its one child job


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_iterative_qpu_job_is_always_confirmed(tmp_path, mode):
    # confirm_above is far above the job minimum: a gate-model job of this price would go through unasked
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=100, daily_budget_usd=1000, confirm_above_usd=90)
    asked: list[str] = []
    async with server_env(tmp_path, policy=policy) as env:
        async with Client(env.server, mode=mode, elicitation_callback=answering("decline", asked)) as client:
            declined = await client.call_tool("create_job", QAOA)
            assert declined.is_error and env.sandbox.store.count_jobs() == 0
            assert len(asked) == 1 and "lower bound" in asked[0]
        async with Client(env.server, mode=mode, elicitation_callback=answering("accept")) as client:
            accepted = await client.call_tool("create_job", QAOA)
            assert not accepted.is_error, accepted.content
            assert env.sandbox.store.count_jobs() == 1


@pytest.mark.anyio
async def test_iterative_qpu_job_refused_by_a_client_that_cannot_ask(tmp_path):
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=100, daily_budget_usd=1000, confirm_above_usd=90)
    async with server_env(tmp_path, policy=policy) as env, Client(env.server) as client:
        result = await client.call_tool("create_job", QAOA)
        assert result.is_error and "simulator" in result.content[0].text
        assert env.sandbox.store.count_jobs() == 0
