"""Workflow tools through a real MCP client (both protocol eras) against the in-process sandbox."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig
from ionq_mcp.server import build_server
from ionq_mcp.server._config import ServerConfig

MODES = ["auto", "legacy"]
QPU = "qpu.aria-1"

BELL = {"qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}
GHZ5 = {"qubits": 5, "circuit": [{"gate": "h", "target": 0}]
        + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(4)]}

#: IonQ's published Aria pricing (docs/reference/ionq-notes.md): minimum + per gate-shot rates, USD.
ARIA_MINIMUM, ARIA_1Q, ARIA_2Q = 12.4166, 0.000220, 0.000975
ARIA_MINIMUM_DEBIASED = 97.50


@dataclass
class Env:
    sandbox: Sandbox
    server: Any
    state_dir: Path

    @property
    def audit_path(self) -> Path:
        return self.state_dir / "sandbox-audit.jsonl"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "sandbox-ledger.sqlite3"


@contextlib.asynccontextmanager
async def server_env(tmp_path: Path, *, policy: GuardPolicy | None = None, qpu_latency_s: float = 0.2,
                     simulator_latency_s: float = 0.0, sandbox: Sandbox | None = None) -> AsyncIterator[Env]:
    """A server on an in-process sandbox, with its guard's ledger and audit log under ``tmp_path/state``."""
    own = sandbox is None
    if sandbox is None:
        sandbox = Sandbox(SandboxConfig(db_path=str(tmp_path / "sandbox.sqlite3"), qpu_latency_s=qpu_latency_s,
                                        simulator_latency_s=simulator_latency_s, seed=7))
    state = tmp_path / "state"
    server = build_server(ServerConfig(sandbox=sandbox, state_dir=state,
                                       guard_policy=policy or GuardPolicy()))
    try:
        yield Env(sandbox, server, state)
    finally:
        await server.aclose()
        if own:
            sandbox.close()


def structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, result.content
    return result.structured_content


def job(circuit: dict, backend: str = "simulator", **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "shots": 1000, "input": circuit, "poll_interval_s": 0.02, **extra}


# ---- run_circuit ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("circuit", "expected"), [(BELL, {"00", "11"}), (GHZ5, {"00000", "11111"})])
async def test_run_circuit_returns_textbook_distribution(tmp_path, mode, circuit, expected):
    async with server_env(tmp_path) as env, Client(env.server, mode=mode) as client:
        result = await client.call_tool("run_circuit", job(circuit))
        assert not result.is_error, result.content
        data = structured(result)
        assert data["done"] is True and data["status"] == "completed"
        bits = data["results"]["bitstrings"]
        # (|0...0> + |1...1>)/sqrt(2): exactly two outcomes, each with probability 1/2
        assert set(bits) == expected
        assert all(math.isclose(p, 0.5, abs_tol=1e-9) for p in bits.values())
        assert math.isclose(data["results"]["remaining_mass"], 0.0, abs_tol=1e-12)
        assert "rightmost" in data["bit_order"] and "rightmost" in result.content[0].text
        assert env.sandbox.store.count_jobs() == 1
        assert data["job_id"]


@pytest.mark.anyio
async def test_bit_order_qubit_zero_is_rightmost(tmp_path):
    # X on qubit 0 of 3 qubits: basis state |q2 q1 q0> = |001>
    circuit = {"qubits": 3, "circuit": [{"gate": "x", "target": 0}]}
    async with server_env(tmp_path) as env, Client(env.server) as client:
        data = structured(await client.call_tool("run_circuit", job(circuit)))
        assert data["results"]["bitstrings"] == {"001": 1.0}


@pytest.mark.anyio
async def test_qpu_run_reports_counts_and_actual_cost(tmp_path):
    policy = GuardPolicy(allow_qpu=True, confirm_above_usd=1000, max_job_cost_usd=100, daily_budget_usd=100)
    async with server_env(tmp_path, policy=policy, qpu_latency_s=0.1) as env, Client(env.server) as client:
        result = await client.call_tool("run_circuit", job(BELL, QPU, shots=200))
        data = structured(result)
        expected = ARIA_MINIMUM + ARIA_1Q * 1 * 200 + ARIA_2Q * 1 * 200
        assert data["estimated_cost_usd"] == pytest.approx(expected)
        assert data["actual_cost_usd"] == pytest.approx(expected)
        counts = data["results"]["counts"]
        assert sum(counts.values()) + round(data["results"]["remaining_mass"] * 200) == 200
        assert counts.get("00", 0) + counts.get("11", 0) > 150  # noisy, but mostly the Bell outcomes


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_timeout_returns_resumable_job_id(tmp_path, mode):
    policy = GuardPolicy(allow_qpu=True, confirm_above_usd=1000, max_job_cost_usd=100, daily_budget_usd=100)
    async with server_env(tmp_path, policy=policy, qpu_latency_s=60) as env, Client(env.server, mode=mode) as client:
        result = await client.call_tool("run_circuit", job(BELL, QPU, timeout_s=0.2))
        assert not result.is_error, result.content
        data = structured(result)
        assert data["done"] is False and data["status"] in ("submitted", "ready", "started")
        job_id = data["job_id"]
        assert f'wait_for_job(job_id="{job_id}")' in result.content[0].text
        resumed = structured(await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": 0.1,
                                                                     "poll_interval_s": 0.02}))
        assert resumed["job_id"] == job_id and resumed["done"] is False
        pending = structured(await client.call_tool("get_job_results", {"job_id": job_id}))
        assert pending["done"] is False and "wait_for_job" in pending["summary"]
        await client.call_tool("cancel_job", {"job_id": job_id})
        assert env.sandbox.store.count_jobs() == 1


# ---- wait_for_job ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_progress_notifications_arrive_in_order(tmp_path, mode):
    policy = GuardPolicy(allow_qpu=True, confirm_above_usd=1000, max_job_cost_usd=100, daily_budget_usd=100)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with server_env(tmp_path, policy=policy, qpu_latency_s=0.6) as env, \
            Client(env.server, mode=mode) as client:
        result = await client.call_tool("run_circuit", job(BELL, QPU), progress_callback=on_progress)
        assert structured(result)["status"] == "completed"
    assert len(seen) >= 2
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)  # strictly increasing
    assert seen[-1][0] == seen[-1][1]  # the last one reaches the total
    assert "completed" in (seen[-1][2] or "")
    order = ["submitted", "ready", "started", "completed"]
    statuses = [next(s for s in order if s in (m or "")) for _, _, m in seen]
    assert statuses == sorted(statuses, key=order.index)


@pytest.mark.anyio
async def test_wait_for_job_stops_polling_when_the_request_is_cancelled(tmp_path):
    policy = GuardPolicy(allow_qpu=True, confirm_above_usd=1000, max_job_cost_usd=100, daily_budget_usd=100)
    async with server_env(tmp_path, policy=policy, qpu_latency_s=60) as env, Client(env.server) as client:
        created = structured(await client.call_tool("create_job", {
            "backend": QPU, "type": "ionq.circuit.v1", "shots": 100, "input": {**BELL, "gateset": "qis"}}))
        job_id = created["id"]
        polls = f"/jobs/{job_id}"
        with anyio.move_on_after(0.5):
            await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": 30, "poll_interval_s": 0.02})
        after_cancel = env.sandbox.request_log.count("GET", polls)
        assert after_cancel >= 2  # it was polling
        await anyio.sleep(0.3)
        assert env.sandbox.request_log.count("GET", polls) == after_cancel  # and stopped with the request
        # the server keeps serving
        status = structured(await client.call_tool("get_job", {"job_id": job_id}))
        assert status["status"] in ("submitted", "ready", "started")
        await client.call_tool("cancel_job", {"job_id": job_id})


# ---- get_job_results -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_results_per_child_of_a_multi_circuit_job(tmp_path):
    payload = {"backend": "simulator", "type": "ionq.multi-circuit.v1", "shots": 100, "input": {
        "gateset": "qis", "qubits": 2, "circuits": [
            {"name": "bell", "circuit": BELL["circuit"]},
            {"name": "x1", "circuit": [{"gate": "x", "target": 1}]},
        ]}}
    async with server_env(tmp_path) as env, Client(env.server) as client:
        data = structured(await client.call_tool("run_circuit", {**payload, "poll_interval_s": 0.02}))
        children = list(data["children"].values())
        assert len(children) == 2
        assert [set(c["bitstrings"]) for c in children] == [{"00", "11"}, {"10"}]
        again = structured(await client.call_tool("get_job_results", {"job_id": data["job_id"]}))
        assert again["children"] == data["children"]


@pytest.mark.anyio
async def test_results_per_debiasing_variant(tmp_path):
    policy = GuardPolicy(allow_qpu=True, confirm_above_usd=1000, max_job_cost_usd=200, daily_budget_usd=200)
    async with server_env(tmp_path, policy=policy, qpu_latency_s=0.05) as env, Client(env.server) as client:
        data = structured(await client.call_tool("run_circuit", job(
            BELL, QPU, shots=600, settings={"error_mitigation": {"debiasing": True}}, top_k=4)))
        assert data["status"] == "completed"
        assert data["estimated_cost_usd"] == pytest.approx(97.50 + ARIA_1Q * 600 + ARIA_2Q * 600)
        variants = data["variants"]
        assert len(variants) >= 2
        for variant in variants.values():
            assert variant["shown"] <= 4
            assert math.isclose(sum(variant["bitstrings"].values()) + variant["remaining_mass"],
                                variant["total_mass"], abs_tol=1e-9)


# ---- estimate and compare ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_estimate_bills_multi_controlled_gates_as_published(tmp_path, mode):
    # one Toffoli (3 qubits: 6*(3-2) = 6 two-qubit gates), two H, one CNOT
    circuit = {"qubits": 3, "circuit": [{"gate": "h", "target": 0}, {"gate": "h", "target": 1},
                                        {"gate": "cnot", "controls": [0, 1], "target": 2},
                                        {"gate": "cnot", "control": 0, "target": 1}]}
    async with server_env(tmp_path) as env, Client(env.server, mode=mode) as client:
        data = structured(await client.call_tool("estimate_circuit_cost",
                                                 {"backend": QPU, "shots": 500, "input": circuit}))
        assert (data["one_qubit_gates"], data["two_qubit_gates"]) == (2, 7)
        # 500 shots of a QIS circuit on a QPU: debiased by default, so the error-mitigation minimum applies
        assert data["error_mitigation"] is True
        expected = ARIA_MINIMUM_DEBIASED + ARIA_1Q * 2 * 500 + ARIA_2Q * 7 * 500
        assert data["estimated_cost_usd"] == pytest.approx(expected)
        assert f"{expected:.4f}" in data["formula"]
        assert env.sandbox.store.count_jobs() == 0  # an estimate submits nothing


@pytest.mark.anyio
async def test_compare_backends_table(tmp_path):
    async with server_env(tmp_path) as env, Client(env.server) as client:
        result = await client.call_tool("compare_backends", {"shots": 100, "input": GHZ5})
        data = structured(result)
        rows = {r["backend"]: r for r in data["rows"]}
        assert set(rows) == {"simulator", "qpu.aria-1", "qpu.aria-2", "qpu.forte-1", "qpu.forte-enterprise-1"}
        assert rows["simulator"]["estimated_cost_usd"] == 0
        aria = rows["qpu.aria-1"]
        assert aria["estimated_cost_usd"] == pytest.approx(ARIA_MINIMUM + ARIA_1Q * 100 + ARIA_2Q * 4 * 100)
        assert 0.9 < aria["fidelity_2q"] < aria["fidelity_1q"] <= 1
        assert aria["qubits"] == 25
        for name in rows:
            assert name in result.content[0].text
        assert env.sandbox.store.count_jobs() == 0


@pytest.mark.anyio
async def test_compare_backends_marks_backends_too_small(tmp_path):
    wide = {"qubits": 30, "circuit": [{"gate": "h", "target": 29}]}
    async with server_env(tmp_path) as env, Client(env.server) as client:
        rows = {r["backend"]: r for r in structured(
            await client.call_tool("compare_backends", {"shots": 100, "input": wide}))["rows"]}
        assert rows["qpu.forte-1"]["fits"] is True and rows["qpu.forte-1"]["estimated_cost_usd"] > 0
        assert rows["qpu.aria-1"]["fits"] is False and "30" in rows["qpu.aria-1"]["note"]
        assert rows["simulator"]["fits"] is False


@pytest.mark.anyio
async def test_invalid_circuit_names_the_field_and_sends_nothing(tmp_path):
    bad = {"qubits": 2, "circuit": [{"gate": "h", "target": 5}]}
    async with server_env(tmp_path) as env, Client(env.server) as client:
        for tool in ("run_circuit", "estimate_circuit_cost", "compare_backends"):
            result = await client.call_tool(tool, {"backend": "simulator", "input": bad} if tool != "compare_backends"
                                            else {"input": bad})
            assert result.is_error
            assert "input.circuit[0]" in result.content[0].text
        assert env.sandbox.request_log.count(path_prefix="/jobs") == 0


@pytest.mark.anyio
async def test_prompts_are_listed_and_render(tmp_path):
    async with server_env(tmp_path) as env, Client(env.server) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        assert {"run_circuit_safely", "inspect_backend"} <= names
        prompt = await client.get_prompt("run_circuit_safely", {"circuit": "Bell pair", "backend": QPU})
        text = prompt.messages[0].content.text
        for step in ("estimate_circuit_cost", "compare_backends", "run_circuit", "get_job_results", QPU):
            assert step in text
        inspect = await client.get_prompt("inspect_backend", {"backend": QPU})
        assert "get_backend_characterization" in inspect.messages[0].content.text


@pytest.mark.anyio
async def test_estimates_apply_ionq_debiasing_default(tmp_path):
    # A QIS circuit with >= 500 shots is debiased on a QPU unless the payload says otherwise, so the guard's
    # estimate (and every backend row of a comparison) must carry the debiased minimum, as IonQ will bill it.
    async with server_env(tmp_path) as env, Client(env.server) as client:
        data = structured(await client.call_tool("estimate_circuit_cost",
                                                 {"backend": QPU, "shots": 1000, "input": BELL}))
        assert data["error_mitigation"] is True
        assert data["estimated_cost_usd"] == pytest.approx(ARIA_MINIMUM_DEBIASED + ARIA_1Q * 1000 + ARIA_2Q * 1000)
        rows = {r["backend"]: r for r in structured(
            await client.call_tool("compare_backends", {"shots": 1000, "input": BELL}))["rows"]}
        assert rows["qpu.aria-1"]["estimated_cost_usd"] == pytest.approx(data["estimated_cost_usd"])
        assert rows["simulator"]["estimated_cost_usd"] == 0
        off = structured(await client.call_tool("estimate_circuit_cost", {
            "backend": QPU, "shots": 1000, "input": BELL, "settings": {"error_mitigation": {"debiasing": False}}}))
        assert off["error_mitigation"] is False
        assert off["estimated_cost_usd"] == pytest.approx(ARIA_MINIMUM + ARIA_1Q * 1000 + ARIA_2Q * 1000)
        assert env.sandbox.store.count_jobs() == 0
