"""Job routes of the sandbox over its ASGI app: create, get, list, delete, cancel, cost, estimate, results."""

from __future__ import annotations

import json

import pytest

from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import BELL, KEY_A, UNSUPPORTED_ANSATZ_JOB, assert_error, circuit_job, run, submit

pytestmark = pytest.mark.anyio


async def test_create_returns_201_with_id_status_and_session(client, sandbox):
    response = await client.post("/jobs", json=circuit_job(name="bell", metadata={"team": "qa"}))
    assert response.status_code == 201
    body = response.json()
    validator("JobCreationResponse").validate(body)
    assert body["status"] == "submitted" and body["session_id"] is None
    await sandbox.wait_idle()
    job = (await client.get(f"/jobs/{body['id']}")).json()
    validator("GetJobResponse").validate(job)
    assert job["status"] == "completed"
    assert job["name"] == "bell" and job["metadata"] == {"team": "qa"}
    assert job["project_id"] == KEY_A.project_id and job["submitter_id"] == KEY_A.user_id
    assert job["noise"] == {"model": "ideal"}
    assert job["stats"]["gate_counts"] == {"1q": 1, "2q": 1} and job["stats"]["qubits"] == 2
    assert job["results"]["probabilities"]["url"] == f"/v0.4/jobs/{job['id']}/results/probabilities"


async def test_ideal_bell_probabilities_are_exact(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert probabilities == pytest.approx({"0": 0.5, "3": 0.5})


async def test_result_keys_put_qubit_zero_in_the_least_significant_bit(client, sandbox):
    job = await run(client, sandbox, circuit_job([{"gate": "x", "target": 0}], qubits=3))
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert probabilities == pytest.approx({"1": 1.0})


async def test_native_gateset_job_runs(client, sandbox):
    # gpi2(0) then gpi2(0) is a pi rotation about X (two quarter turns): |0> -> |1>.
    payload = circuit_job([{"gate": "gpi2", "target": 0, "phase": 0}, {"gate": "gpi2", "target": 0, "phase": 0}],
                          qubits=1)
    payload["input"]["gateset"] = "native"
    job = await run(client, sandbox, payload)
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert probabilities == pytest.approx({"1": 1.0})


async def test_list_jobs_newest_first_with_next_cursor(client, sandbox):
    ids = [await submit(client, circuit_job(name=f"job{i}")) for i in range(5)]
    await sandbox.wait_idle()
    first = (await client.get("/jobs", params={"limit": 2})).json()
    validator("GetJobsResponse").validate(first)
    assert [j["id"] for j in first["jobs"]] == ids[::-1][:2]
    second = (await client.get("/jobs", params={"limit": 2, "next": first["next"]})).json()
    third = (await client.get("/jobs", params={"limit": 2, "next": second["next"]})).json()
    assert [j["id"] for j in second["jobs"] + third["jobs"]] == ids[::-1][2:]
    assert third["next"] is None


async def test_list_jobs_filters(client, sandbox):
    sim = await submit(client, circuit_job())
    qpu = await submit(client, circuit_job(backend="qpu.aria-1"))
    await sandbox.wait_idle()
    by_target = (await client.get("/jobs", params={"target": "qpu.aria-1"})).json()["jobs"]
    assert [j["id"] for j in by_target] == [qpu]
    by_ids = (await client.get("/jobs", params={"ids": [sim]})).json()["jobs"]
    assert [j["id"] for j in by_ids] == [sim]
    both = (await client.get("/jobs", params={"target": "simulator,qpu.aria-1", "status": "completed"})).json()
    assert {j["id"] for j in both["jobs"]} == {sim, qpu}
    none = (await client.get("/jobs", params={"status": "canceled"})).json()
    assert none["jobs"] == []


async def test_delete_job_removes_it_and_its_results(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    response = await client.delete(f"/jobs/{job['id']}")
    assert response.json() == {"id": job["id"], "status": "deleted"}
    assert_error(await client.get(f"/jobs/{job['id']}"), 404, "UUID")
    assert_error(await client.get(f"/jobs/{job['id']}/results/probabilities"), 404, "UUID")
    assert sandbox.store.get_result(job["id"], "probabilities") is None


async def test_bulk_delete(client, sandbox):
    ids = [await submit(client, circuit_job()) for _ in range(3)]
    await sandbox.wait_idle()
    response = await client.request("DELETE", "/jobs", json={"ids": ids[:2]})
    assert response.json() == {"ids": ids[:2], "status": "deleted"}
    remaining = (await client.get("/jobs")).json()["jobs"]
    assert [j["id"] for j in remaining] == [ids[2]]


async def test_bulk_delete_with_an_unknown_id_changes_nothing(client, sandbox):
    ids = [await submit(client, circuit_job()) for _ in range(2)]
    response = await client.request("DELETE", "/jobs", json={"ids": [ids[0], "no-such-job"]})
    assert_error(response, 404, "ids[1]")
    assert sandbox.store.count_jobs(KEY_A.project_id) == 2


async def test_cancel_a_queued_qpu_job(client, sandbox):
    sandbox.config.qpu_latency_s = 5.0
    job_id = await submit(client, circuit_job(backend="qpu.forte-1"))
    response = await client.put(f"/jobs/{job_id}/status/cancel")
    assert response.json() == {"id": job_id, "status": "canceled"}
    await sandbox.wait_idle()
    job = (await client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "canceled" and job["results"] is None
    cost = (await client.get(f"/jobs/{job_id}/cost")).json()
    assert cost["cost"]["value"] == 0


async def test_cancel_after_completion_is_a_no_op(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    before = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    response = await client.put(f"/jobs/{job['id']}/status/cancel")
    assert response.status_code == 200
    validator("JobCanceledResponse").validate(response.json())
    after = (await client.get(f"/jobs/{job['id']}")).json()
    assert after == job  # unchanged: still completed, same results link, same timestamps
    assert (await client.get(f"/jobs/{job['id']}/results/probabilities")).json() == before


async def test_cancel_after_failure_is_a_no_op(client, sandbox):
    job = await run(client, sandbox, UNSUPPORTED_ANSATZ_JOB)
    assert job["status"] == "failed"
    assert (await client.put(f"/jobs/{job['id']}/status/cancel")).status_code == 200
    assert (await client.get(f"/jobs/{job['id']}")).json() == job


async def test_bulk_cancel(client, sandbox):
    sandbox.config.qpu_latency_s = 5.0
    ids = [await submit(client, circuit_job(backend="qpu.aria-2")) for _ in range(2)]
    response = await client.put("/jobs/status/cancel", json={"ids": ids})
    assert response.json() == {"ids": ids, "status": "canceled"}
    await sandbox.wait_idle()
    statuses = {j["status"] for j in (await client.get("/jobs")).json()["jobs"]}
    assert statuses == {"canceled"}


async def test_cost_of_a_qpu_job_follows_the_gate_shot_formula(client, sandbox):
    # NOTES.md: cost = m + 0.000220 * N1q * shots + 0.000975 * N2q * shots on Aria, m = 12.4166 without mitigation.
    job = await run(client, sandbox, circuit_job(backend="qpu.aria-1", shots=1000,
                                                 settings={"error_mitigation": {"debiasing": False}}))
    body = (await client.get(f"/jobs/{job['id']}/cost")).json()
    validator("GetJobCostResponse").validate(body)
    expected = 12.4166 + 0.000220 * 1 * 1000 + 0.000975 * 1 * 1000
    assert body["cost"]["value"] == pytest.approx(expected)
    assert body["estimated_cost"]["value"] == pytest.approx(expected)
    assert body["dry_run"] is False


async def test_simulator_jobs_are_free(client, sandbox):
    job = await run(client, sandbox, circuit_job(shots=1000))
    body = (await client.get(f"/jobs/{job['id']}/cost")).json()
    assert body["cost"]["value"] == 0 and body["estimated_cost"]["value"] == 0


async def test_estimate_uses_the_published_rates(client):
    response = await client.get("/jobs/estimate", params={
        "backend": "qpu.aria-1", "shots": 500, "1q_gates": 10, "2q_gates": 4, "error_mitigation": "true"})
    body = response.json()
    validator("GetJobEstimateResponse").validate(body)
    assert body["estimated_cost"] == pytest.approx(97.50 + 0.000220 * 10 * 500 + 0.000975 * 4 * 500)
    assert body["rate_information"]["job_cost_minimum"] == 97.50
    assert body["input_values"]["2q_gates"] == 4 and body["input_values"]["error_mitigation"] is True


async def test_estimate_on_the_simulator_is_zero(client):
    body = (await client.get("/jobs/estimate", params={"backend": "simulator", "1q_gates": 100})).json()
    assert body["estimated_cost"] == 0


async def test_compiled_circuits_native_and_qasm3(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    native = await client.get(f"/jobs/{job['id']}/circuits/native")
    assert native.status_code == 200
    compiled = json.loads(native.json())
    assert compiled["gateset"] == "native"
    assert {g["gate"] for g in compiled["circuit"]} <= {"gpi", "gpi2", "ms", "zz"}
    # the compiled circuit, run as a native job, gives the Bell distribution
    rerun = await run(client, sandbox, {"type": "ionq.circuit.v1", "backend": "simulator", "input": compiled})
    probabilities = (await client.get(f"/jobs/{rerun['id']}/results/probabilities")).json()
    assert {k: v for k, v in probabilities.items() if v > 1e-9} == pytest.approx({"0": 0.5, "3": 0.5})
    qasm = (await client.get(f"/jobs/{job['id']}/circuits/qasm3")).json()
    assert isinstance(qasm, str) and qasm.startswith("OPENQASM 3")


async def test_dry_run_is_estimated_never_executed(client, sandbox):
    job = await run(client, sandbox, circuit_job(backend="qpu.aria-1", dry_run=True))
    assert job["dry_run"] is True and job["results"] is None and job["started_at"] is None
    cost = (await client.get(f"/jobs/{job['id']}/cost")).json()
    assert cost["dry_run"] is True and cost["estimated_cost"]["value"] > 0 and cost["cost"]["value"] == 0
    assert_error(await client.get(f"/jobs/{job['id']}/results/probabilities"), 404, "UUID")


async def test_qpu_job_is_shot_sampled_with_noise(client, sandbox):
    job = await run(client, sandbox, circuit_job(backend="qpu.aria-1", shots=2000))
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert sum(probabilities.values()) == pytest.approx(1.0)
    # every probability is a multiple of 1/shots (sampled), and the Bell outcomes dominate
    assert all(abs(p * 2000 - round(p * 2000)) < 1e-6 for p in probabilities.values())
    assert probabilities.get("0", 0) + probabilities.get("3", 0) > 0.9
    assert job["stats"]["billed_quantum_compute_time_us"] > 0


async def test_noise_seed_reproduces_a_noisy_simulation(client, sandbox):
    payload = circuit_job(shots=500, noise={"model": "aria-1", "seed": 42})
    first = await run(client, sandbox, payload)
    second = await run(client, sandbox, payload)
    p1 = (await client.get(f"/jobs/{first['id']}/results/probabilities")).json()
    p2 = (await client.get(f"/jobs/{second['id']}/results/probabilities")).json()
    assert p1 == p2
    assert first["noise"] == {"model": "aria-1", "seed": 42}


async def test_a_negative_noise_seed_runs_and_reproduces(client, sandbox):
    # the spec types noise.seed as int32; a negative seed used to fail the job (numpy takes only seeds >= 0)
    payload = circuit_job(shots=500, noise={"model": "aria-1", "seed": -42})
    first = await run(client, sandbox, payload)
    second = await run(client, sandbox, payload)
    assert first["status"] == second["status"] == "completed", first["failure"]
    p1 = (await client.get(f"/jobs/{first['id']}/results/probabilities")).json()
    assert p1 == (await client.get(f"/jobs/{second['id']}/results/probabilities")).json()
    assert p1.get("0", 0) + p1.get("3", 0) > 0.9


async def test_debiased_qpu_job_has_variants_served_by_the_variant_routes(client, sandbox):
    job = await run(client, sandbox, circuit_job(backend="qpu.forte-1", shots=1000,
                                                 settings={"error_mitigation": {"debiasing": True}}))
    variants = job["output"]["error_mitigation"]["debiasing"]["variants"]
    assert len(variants) >= 2
    assert sum(v["shots"] for v in variants) == 1000
    for variant in variants:
        assert sorted(variant["qubit_map"]) == [0, 1]
        probs = (await client.get(variant["results"]["probabilities"]["url"].removeprefix("/v0.4"))).json()
        hist = (await client.get(variant["results"]["histogram"]["url"].removeprefix("/v0.4"))).json()
        shots = (await client.get(variant["results"]["shots"]["url"].removeprefix("/v0.4"))).json()
        for body in (probs, hist, shots):
            validator("GetVariantResultsResponse").validate(body)
        assert sum(hist.values()) == variant["shots"] == len(shots)
        assert probs == pytest.approx({k: v / variant["shots"] for k, v in hist.items()})
        # the shot list and the histogram describe the same measurements
        tally: dict[str, int] = {}
        for state in shots.values():
            tally[str(int(state))] = tally.get(str(int(state)), 0) + 1
        assert tally == hist
    aggregated = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    sharpened = (await client.get(f"/jobs/{job['id']}/results/probabilities", params={"sharpen": "true"})).json()
    assert sum(aggregated.values()) == pytest.approx(1.0) and sum(sharpened.values()) == pytest.approx(1.0)
    assert set(sharpened) <= {"0", "3"}  # plurality vote keeps only each variant's most likely outcome


async def test_unknown_variant_is_404(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    assert_error(await client.get(f"/jobs/{job['id']}/variants/nope/results/histogram"), 404, "variantId")


async def test_estimated_cost_of_debiased_and_multi_circuit_jobs(client, sandbox):
    # NOTES.md: m = 97.50 with error mitigation on Aria; a multi-circuit job bills every circuit's gates
    debiased = await submit(client, circuit_job(backend="qpu.aria-1", shots=1000, dry_run=True,
                                                settings={"error_mitigation": {"debiasing": True}}))
    body = (await client.get(f"/jobs/{debiased}/cost")).json()
    assert body["estimated_cost"]["value"] == pytest.approx(97.50 + 0.000220 * 1000 + 0.000975 * 1000)
    ghz3 = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1},
            {"gate": "cnot", "control": 1, "target": 2}]
    multi = await submit(client, {"type": "ionq.multi-circuit.v1", "backend": "qpu.aria-1", "shots": 100,
                                  "dry_run": True, "input": {"gateset": "qis", "qubits": 3, "circuits": [
                                      {"circuit": BELL}, {"circuit": ghz3}]}})
    body = (await client.get(f"/jobs/{multi}/cost")).json()
    assert body["estimated_cost"]["value"] == pytest.approx(12.4166 + 0.000220 * 2 * 100 + 0.000975 * 3 * 100)
    children = (await client.get(f"/jobs/{multi}")).json()["child_job_ids"]
    child_costs = [(await client.get(f"/jobs/{c}/cost")).json()["estimated_cost"]["value"] for c in children]
    assert child_costs == pytest.approx([12.4166 + 0.000220 * 100 + 0.000975 * 100,
                                         12.4166 + 0.000220 * 100 + 0.000975 * 2 * 100])
