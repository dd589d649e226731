"""Every result satisfies its own outputSchema, for every kind of job, through ``mcp.Client`` (which validates
``structuredContent`` against each tool's outputSchema and raises when it does not match).

Job kinds: single circuit, multi-circuit parent and its children, debiased QPU job with variants, dry run,
failed job, QAOA, quantum function. For each job every read tool is called; each must answer with a result the
client accepts (a success, or an ``isError`` result such as "no compiled circuit" for QAOA), and the text must
carry the same content as the structured result.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from ionq_mcp.guard import GuardPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig

from .conftest import BELL_JOB, FAST_RETRY, wait_completed

pytestmark = pytest.mark.anyio

BELL_QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
H0 = {"gate": "h", "target": 0}
JOBS: dict[str, dict[str, Any]] = {
    "single": {**BELL_JOB, "input": {**BELL_JOB["input"], "qubits": 3}},
    "multi": {"type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 100,
              "input": {"gateset": "qis", "qubits": 3, "circuits": [
                  {"name": "bell", "circuit": BELL_JOB["input"]["circuit"]},
                  {"name": "flip", "circuit": [{"gate": "x", "target": 2}]}]}},
    "debiased": {**BELL_JOB, "backend": "qpu.aria-1", "shots": 500,
                 "settings": {"error_mitigation": {"debiasing": True}}},
    "dry_run": {**BELL_JOB, "dry_run": True},
    "noisy": {**BELL_JOB, "noise": {"model": "aria-1", "seed": 3}},
    "failed": {"type": "quantum-function", "backend": "simulator",
               "input": {"data": {"type": "hamiltonian-energy", "data": {
                   "hamiltonian": [{"pauli_string": "Z", "coefficient": 1.0}],
                   "ansatz": {"data": "this is not a circuit"}}}, "params": []}},
    "qaoa": {"type": "qctrl.qaoa.v1", "backend": "simulator", "shots": 100,
             "input": {"problem_type": "maxcut", "problem": {
                 "directed": False, "multigraph": False, "graph": [], "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
                 "adjacency": [[{"id": 1}, {"id": 2}], [{"id": 0}, {"id": 2}], [{"id": 0}, {"id": 1}]]}},
             "external_settings": {"api_credentials": "qctrl-credentials-for-the-test"}},
    "quantum_function": {"type": "quantum-function", "backend": "simulator",
                         "input": {"data": {"type": "hamiltonian-energy", "data": {
                             "hamiltonian": [{"pauli_string": "ZZ", "coefficient": 1.0}],
                             "ansatz": {"data": BELL_QASM2}}}, "params": []}},
}


def _job_reads(job_id: str, job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_job", {"job_id": job_id}), ("get_job_cost", {"job_id": job_id}),
        ("get_job_probabilities", {"job_id": job_id}), ("get_job_circuits", {"job_id": job_id, "lang": "native"}),
        ("get_job_circuits", {"job_id": job_id, "lang": "qasm3"}), ("wait_for_job", {"job_id": job_id}),
        ("get_job_results", {"job_id": job_id, "top_k": 4}),
    ]
    variants = ((job.get("output") or {}).get("error_mitigation") or {}).get("debiasing", {}).get("variants") or []
    for variant in variants[:2]:
        for tool in ("get_variant_probabilities", "get_variant_histogram", "get_variant_shots"):
            calls.append((tool, {"job_id": job_id, "variant_id": variant["variant_id"]}))
    return calls


def _checked(name: str, arguments: dict[str, Any], result: Any) -> Any:
    text = result.content[0].text
    if not result.is_error:
        compact = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
        assert compact in text, f"{name}({arguments}): the text does not carry the whole result"
    return result


@pytest.fixture
def qpu_sandbox():
    box = Sandbox(SandboxConfig(db_path=":memory:", seed=11, qpu_latency_s=0.0))
    try:
        yield box
    finally:
        box.close()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_read_of_every_job_kind_satisfies_its_output_schema(qpu_sandbox, tmp_path, mode):
    from ionq_mcp.server import ServerConfig, build_server

    server = build_server(ServerConfig(
        sandbox=qpu_sandbox, state_dir=tmp_path, client_options={"retry": FAST_RETRY},
        guard_policy=GuardPolicy(allow_qpu=True, max_job_cost_usd=500, daily_budget_usd=5000,
                                 confirm_above_usd=5000)))
    seen: dict[str, int] = {}
    try:
        async with Client(server, mode=mode) as client:
            created: dict[str, str] = {}
            for kind, payload in JOBS.items():
                result = _checked("create_job", payload, await client.call_tool("create_job", payload))
                assert not result.is_error, (kind, result.content[0].text)
                created[kind] = result.structured_content["id"]
            await qpu_sandbox.wait_idle()
            jobs = {kind: await wait_completed(client, jid) for kind, jid in created.items()}
            assert jobs["failed"]["status"] == "failed" and jobs["debiased"]["status"] == "completed"
            children = jobs["multi"]["child_job_ids"]
            targets = [(jid, jobs[kind]) for kind, jid in created.items()]
            for cid in children:
                targets.append((cid, (await client.call_tool("get_job", {"job_id": cid})).structured_content))
            for job_id, job in targets:
                for name, arguments in _job_reads(job_id, job):
                    result = _checked(name, arguments, await client.call_tool(name, arguments))
                    seen[name] = seen.get(name, 0) + (not result.is_error)
            for name, arguments in [("list_jobs", {"limit": 50}), ("list_backends", {}), ("whoami", {}),
                                    ("get_backend_characterizations", {"backend": "qpu.aria-1"}),
                                    ("estimate_circuit_cost", {**JOBS["debiased"]}),
                                    ("compare_backends", {"input": BELL_JOB["input"], "shots": 500}),
                                    ("run_circuit", {k: v for k, v in JOBS["multi"].items()}),
                                    ("get_organization_usage", {"start_date": "2026-01-01",
                                                                "end_date": "2027-01-01", "group_by": "job",
                                                                "modality": "monthly"})]:
                result = _checked(name, arguments, await client.call_tool(name, arguments))
                assert not result.is_error, (name, result.content[0].text)
                seen[name] = seen.get(name, 0) + 1
            parent = (await client.call_tool("get_job_probabilities", {"job_id": created["multi"]})).structured_content
    finally:
        await server.aclose()
    # every read tool produced at least one successful, schema-valid result
    for name in ("get_job", "get_job_cost", "get_job_probabilities", "get_job_circuits", "wait_for_job",
                 "get_job_results", "get_variant_probabilities", "get_variant_histogram", "get_variant_shots"):
        assert seen.get(name, 0) >= 1, (name, seen)
    assert [c["name"] for c in parent["children"].values()] == ["bell", "flip"]
    assert all(len(b) == 3 for c in parent["children"].values() for b in c["bitstrings"])
