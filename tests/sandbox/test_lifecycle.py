"""Job lifecycle: statuses in order, cancel and delete mid-flight, multi-circuit children, QAOA and quantum
functions, failures, and the API answering while a large simulation runs."""

from __future__ import annotations

import anyio
import pytest

from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import BELL, UNSUPPORTED_ANSATZ_JOB, assert_error, circuit_job, run, submit

pytestmark = pytest.mark.anyio

ORDER = ["submitted", "ready", "started", "completed"]


async def _watch(client, job_id: str, until: set[str], timeout: float = 20.0) -> list[str]:
    seen: list[str] = []
    with anyio.fail_after(timeout):
        while True:
            status = (await client.get(f"/jobs/{job_id}")).json()["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in until:
                return seen
            await anyio.sleep(0.005)


async def test_qpu_job_moves_through_the_statuses_in_order(client, sandbox):
    sandbox.config.qpu_latency_s = 0.6
    job_id = await submit(client, circuit_job(backend="qpu.aria-1"))
    seen = await _watch(client, job_id, {"completed", "failed", "canceled"})
    assert seen[-1] == "completed"
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen)
    assert "started" in seen  # latency 0.6 s: the started phase lasts ~0.3 s, polled every few ms
    job = (await client.get(f"/jobs/{job_id}")).json()
    assert job["submitted_at"] <= job["started_at"] <= job["completed_at"]
    assert job["execution_duration_ms"] is not None and job["failure"] is None


async def test_cancel_while_started_discards_the_result(client, sandbox):
    sandbox.config.qpu_latency_s = 2.0
    job_id = await submit(client, circuit_job(backend="qpu.forte-1"))
    await _watch(client, job_id, {"started"})
    assert (await client.put(f"/jobs/{job_id}/status/cancel")).status_code == 200
    await sandbox.wait_idle()
    job = (await client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "canceled" and job["results"] is None


async def test_cancel_while_a_zero_latency_simulation_runs_discards_the_result(client, sandbox):
    # the simulator has no latency: its worker stores the outcome itself, and must lose to the cancel
    chain = [{"gate": "cnot", "control": q, "target": q + 1} for q in range(21)]
    job_id = await submit(client, circuit_job([{"gate": "h", "target": 0}, *(chain + chain[::-1]) * 3], qubits=22))
    await _watch(client, job_id, {"started", "completed"})
    assert (await client.put(f"/jobs/{job_id}/status/cancel")).status_code == 200
    await sandbox.wait_idle()
    job = (await client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "canceled" and job["results"] is None
    assert sandbox.store.get_result(job_id, "probabilities") is None
    assert_error(await client.get(f"/jobs/{job_id}/results/probabilities"), 404, "UUID")


async def test_wait_idle_gives_up_after_its_timeout(client, sandbox):
    sandbox.config.qpu_latency_s = 30.0
    job_id = await submit(client, circuit_job(backend="qpu.aria-1"))
    with pytest.raises(TimeoutError, match="1 sandbox job"):
        await sandbox.wait_idle(timeout=0.05)
    assert (await client.put(f"/jobs/{job_id}/status/cancel")).status_code == 200


async def test_delete_an_unfinished_job(client, sandbox):
    sandbox.config.qpu_latency_s = 2.0
    job_id = await submit(client, circuit_job(backend="qpu.aria-1"))
    assert (await client.delete(f"/jobs/{job_id}")).status_code == 200
    await sandbox.wait_idle()
    assert_error(await client.get(f"/jobs/{job_id}"), 404, "UUID")
    assert sandbox.store.count_jobs() == 0


async def test_multi_circuit_job_has_one_child_per_circuit(client, sandbox):
    payload = {
        "type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 500,
        "input": {"gateset": "native", "qubits": 2, "circuits": [
            {"name": "bell", "gateset": "qis", "circuit": BELL},
            {"name": "flip", "gateset": "qis", "circuit": [{"gate": "x", "target": 1}]},
        ]},
    }
    parent = await run(client, sandbox, payload)
    assert parent["status"] == "completed" and len(parent["child_job_ids"]) == 2
    bell_id, flip_id = parent["child_job_ids"]
    children = (await client.get("/jobs", params={"parent_job_id": parent["id"]})).json()["jobs"]
    assert {c["id"] for c in children} == {bell_id, flip_id}
    for child_id, name, expected in ((bell_id, "bell", {"0": 0.5, "3": 0.5}), (flip_id, "flip", {"2": 1.0})):
        child = (await client.get(f"/jobs/{child_id}")).json()
        validator("GetJobResponse").validate(child)
        assert child["parent_job_id"] == parent["id"] and child["name"] == name
        assert child["status"] == "completed" and child["type"] == "ionq.circuit.v1"
        probs = (await client.get(f"/jobs/{child_id}/results/probabilities")).json()
        assert probs == pytest.approx(expected)
    combined = (await client.get(f"/jobs/{parent['id']}/results/probabilities")).json()
    assert set(combined) == {bell_id, flip_id}
    assert combined[flip_id] == pytest.approx({"2": 1.0})
    assert parent["stats"]["circuits"] == 2


async def test_multi_circuit_children_inherit_the_parent_gateset(client, sandbox):
    payload = {
        "type": "ionq.multi-circuit.v1", "backend": "simulator",
        "input": {"gateset": "native", "qubits": 1, "circuits": [
            {"circuit": [{"gate": "gpi", "target": 0, "phase": 0}]},
        ]},
    }
    parent = await run(client, sandbox, payload)
    probs = (await client.get(f"/jobs/{parent['child_job_ids'][0]}/results/probabilities")).json()
    assert probs == pytest.approx({"1": 1.0})  # GPI(0) is a bit flip


async def test_deleting_a_parent_deletes_its_children(client, sandbox):
    payload = {"type": "ionq.multi-circuit.v1", "backend": "simulator",
               "input": {"gateset": "qis", "circuits": [{"circuit": BELL}, {"circuit": BELL}]}}
    parent = await run(client, sandbox, payload)
    await client.delete(f"/jobs/{parent['id']}")
    for child in parent["child_job_ids"]:
        assert (await client.get(f"/jobs/{child}")).status_code == 404


def _triangle_plus_leaf() -> dict:
    # edges 0-1, 1-2, 0-2, 2-3: a triangle allows at most 2 cut edges, plus the leaf edge -> maxcut 3
    adjacency = {0: [1, 2], 1: [0, 2], 2: [0, 1, 3], 3: [2]}
    return {"directed": False, "multigraph": False, "graph": [],
            "nodes": [{"id": i} for i in range(4)],
            "adjacency": [[{"id": j} for j in adjacency[i]] for i in range(4)]}


def _cut(bitstring: str, edges: list[tuple[int, int]]) -> int:
    bits = bitstring[::-1]  # qubit 0 is the rightmost character
    return sum(1 for a, b in edges if bits[a] != bits[b])


async def test_qaoa_maxcut_reports_an_optimal_cut(client, sandbox):
    payload = {"type": "qctrl.qaoa.v1", "backend": "simulator",
               "input": {"problem_type": "maxcut", "problem": _triangle_plus_leaf()}}
    job = await run(client, sandbox, payload)
    assert job["status"] == "completed", job["failure"]
    edges = [(0, 1), (1, 2), (0, 2), (2, 3)]
    bitstring = job["output"]["optimal_bitstring"]
    assert len(bitstring) == 4
    assert _cut(bitstring, edges) == 3
    assert abs(job["output"]["optimal_cost"]) == 3


async def test_hamiltonian_energy_of_a_parsable_ansatz(client, sandbox):
    # ansatz: ry(theta) on qubit 0; <Z> = cos(theta). theta = pi/3 -> energy 2 * 0.5 = 1.0 for H = 2 Z.
    import json
    import math

    ansatz = json.dumps({"qubits": 1, "gateset": "qis",
                         "circuit": [{"gate": "ry", "target": 0, "rotation": "theta0"}]})
    payload = {"type": "quantum-function", "backend": "simulator",
               "input": {"data": {"type": "hamiltonian-energy", "data": {
                   "hamiltonian": [{"pauli_string": "Z", "coefficient": 2.0}], "ansatz": {"data": ansatz}}},
                   "params": [math.pi / 3]}}
    job = await run(client, sandbox, payload)
    if job["status"] == "failed":
        assert job["failure"]["code"] == "InvalidInput"
        pytest.skip(f"ansatz format not supported by _qfunc: {job['failure']['message']}")
    assert job["output"]["energy"] == pytest.approx(1.0, abs=1e-6)


async def test_unsupported_ansatz_fails_with_invalid_input(client, sandbox):
    job = await run(client, sandbox, UNSUPPORTED_ANSATZ_JOB)
    assert job["status"] == "failed"
    assert job["failure"]["code"] == "InvalidInput" and job["failure"]["message"]
    assert job["results"] is None


async def test_api_answers_while_a_large_simulation_runs(client, sandbox):
    # a 22-qubit GHZ state built, undone and rebuilt: long enough to observe the job while it is started
    chain = [{"gate": "cnot", "control": q, "target": q + 1} for q in range(21)]
    gates = [{"gate": "h", "target": 0}, *chain, *chain[::-1], *chain, *chain[::-1], *chain]
    job_id = await submit(client, circuit_job(gates, qubits=22))
    answered_while_started = 0
    with anyio.fail_after(120):
        while True:
            body = (await client.get(f"/jobs/{job_id}")).json()
            if body["status"] == "started":
                answered_while_started += 1
            if body["status"] in ("completed", "failed"):
                break
            await anyio.sleep(0.01)
    assert body["status"] == "completed", body["failure"]
    assert answered_while_started >= 1
    probabilities = (await client.get(f"/jobs/{job_id}/results/probabilities")).json()
    assert probabilities == pytest.approx({"0": 0.5, str(2**22 - 1): 0.5}, abs=1e-6)


async def test_a_dense_result_is_truncated_to_the_most_probable_states(client, sandbox):
    from ionq_mcp.sandbox._execute import MAX_RESULT_STATES

    # 17 qubits in uniform superposition: 131072 equally likely outcomes, more than the result cap
    job = await run(client, sandbox, circuit_job([{"gate": "h", "target": q} for q in range(17)], qubits=17))
    note = job["output"]["truncated_results"]
    assert note["nonzero_states"] == 2**17 and note["kept_states"] == MAX_RESULT_STATES
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert len(probabilities) == MAX_RESULT_STATES
    assert all(p == pytest.approx(2**-17) for p in probabilities.values())


async def test_debiased_multi_circuit_children_carry_their_variants(client, sandbox):
    payload = {"type": "ionq.multi-circuit.v1", "backend": "qpu.aria-1", "shots": 800,
               "settings": {"error_mitigation": {"debiasing": True}},
               "input": {"gateset": "qis", "circuits": [{"circuit": BELL}, {"circuit": [{"gate": "x", "target": 0}]}]}}
    parent = await run(client, sandbox, payload)
    assert parent["status"] == "completed"
    for child_id in parent["child_job_ids"]:
        child = (await client.get(f"/jobs/{child_id}")).json()
        variants = child["output"]["error_mitigation"]["debiasing"]["variants"]
        assert sum(v["shots"] for v in variants) == 800
        histogram = (await client.get(variants[0]["results"]["histogram"]["url"].removeprefix("/v0.4"))).json()
        assert sum(histogram.values()) == variants[0]["shots"]
        own = (await client.get(f"/jobs/{child_id}/results/probabilities")).json()
        combined = (await client.get(f"/jobs/{parent['id']}/results/probabilities")).json()
        assert combined[child_id] == own  # the parent shows each child's aggregate, not one variant


async def test_call_when_idle_fires_once_the_last_job_settles(client, sandbox):
    calls: list[str] = []
    sandbox.runner.call_when_idle(lambda: calls.append("idle now"))
    assert calls == ["idle now"]  # nothing pending: called at once
    sandbox.config.qpu_latency_s = 0.3
    await submit(client, circuit_job(backend="qpu.aria-1"))
    sandbox.runner.call_when_idle(lambda: calls.append("after the job"))
    assert calls == ["idle now"]
    await sandbox.wait_idle()
    assert calls == ["idle now", "after the job"] and sandbox.runner.pending == 0
