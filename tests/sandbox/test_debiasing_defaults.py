"""IonQ's debiasing defaults, applied at submission (NOTES.md, "Debiasing DEFAULTS"): on a QPU a job in QIS gates
with >= 500 shots is debiased unless the payload turns it off; native-gate jobs are not unless turned on; under 500
shots never; simulators never. The default decides the variants and the price (the 97.50 minimum on Aria)."""

from __future__ import annotations

from typing import Any

import pytest

from ionq_mcp import circuits
from tests.sandbox._service import circuit_job, run

pytestmark = pytest.mark.anyio

#: IonQ's published Aria rates (NOTES.md): cost = m + 0.000220 * N1q * shots + 0.000975 * N2q * shots.
ARIA_1Q, ARIA_2Q, ARIA_MIN, ARIA_MIN_DEBIASED = 0.000220, 0.000975, 12.4166, 97.50

NATIVE_BELL = [{"gate": "gpi2", "target": 0, "phase": 0.25}, {"gate": "ms", "targets": [0, 1], "phases": [0, 0]}]


def aria_cost(shots: int, one_q: int, two_q: int, debiased: bool) -> float:
    return (ARIA_MIN_DEBIASED if debiased else ARIA_MIN) + ARIA_1Q * one_q * shots + ARIA_2Q * two_q * shots


def native_job(**extra: Any) -> dict[str, Any]:
    payload = circuit_job(NATIVE_BELL, **extra)
    payload["input"]["gateset"] = "native"
    return payload


async def _check(client, sandbox, payload: dict[str, Any], debiased: bool) -> dict[str, Any]:
    """Run ``payload``; its document, variants and billed cost must say ``debiased``."""
    job = await run(client, sandbox, payload)
    assert job["status"] == "completed", job["failure"]
    assert job["settings"]["error_mitigation"] == {"debiasing": debiased}
    variants = job["output"].get("error_mitigation", {}).get("debiasing", {}).get("variants", [])
    assert len(variants) == (4 if debiased else 0)
    assert sum(v["shots"] for v in variants) == (payload["shots"] if debiased else 0)
    for variant in variants:
        url = variant["results"]["histogram"]["url"].removeprefix("/v0.4")
        assert sum((await client.get(url)).json().values()) == variant["shots"]
    cost = (await client.get(f"/jobs/{job['id']}/cost")).json()
    if payload["backend"] == "simulator":
        assert cost["cost"]["value"] == cost["estimated_cost"]["value"] == 0
    else:
        counts = job["stats"]["gate_counts"]
        expected = aria_cost(payload["shots"], counts["1q"], counts["2q"], debiased)
        assert cost["cost"]["value"] == pytest.approx(expected)
        assert cost["estimated_cost"]["value"] == pytest.approx(expected)
    return job


async def test_qis_qpu_job_with_500_shots_or_more_is_debiased_by_default(client, sandbox):
    for shots in (500, 1000):
        await _check(client, sandbox, circuit_job(backend="qpu.aria-1", shots=shots), debiased=True)


async def test_the_issue_example_a_default_1000_shot_bell_on_aria_costs_the_debiased_minimum(client, sandbox):
    job = await _check(client, sandbox, circuit_job(backend="qpu.aria-1", shots=1000), debiased=True)
    cost = (await client.get(f"/jobs/{job['id']}/cost")).json()["cost"]["value"]
    assert cost == pytest.approx(97.50 + 0.22 + 0.975) and cost >= 97.50


async def test_qis_qpu_job_may_turn_debiasing_off(client, sandbox):
    payload = circuit_job(backend="qpu.aria-1", shots=1000, settings={"error_mitigation": {"debiasing": False}})
    await _check(client, sandbox, payload, debiased=False)


async def test_native_gate_job_is_not_debiased_unless_asked(client, sandbox):
    await _check(client, sandbox, native_job(backend="qpu.aria-1", shots=1000), debiased=False)
    asked = native_job(backend="qpu.aria-1", shots=1000, settings={"error_mitigation": {"debiasing": True}})
    await _check(client, sandbox, asked, debiased=True)


async def test_under_500_shots_is_not_debiased(client, sandbox):
    await _check(client, sandbox, circuit_job(backend="qpu.aria-1", shots=499), debiased=False)
    refused = await client.post("/jobs", json=circuit_job(backend="qpu.aria-1", shots=499,
                                                          settings={"error_mitigation": {"debiasing": True}}))
    assert refused.status_code == 400 and "settings.error_mitigation.debiasing" in refused.json()["validation"]["keys"]


@pytest.mark.parametrize("noise", [None, {"model": "aria-1", "seed": 5}])
async def test_simulator_is_never_debiased(client, sandbox, noise):
    payload = circuit_job(shots=1000) if noise is None else circuit_job(shots=1000, noise=noise)
    await _check(client, sandbox, payload, debiased=False)


async def test_multi_circuit_qis_job_is_debiased_per_child(client, sandbox):
    payload = {"type": "ionq.multi-circuit.v1", "backend": "qpu.aria-1", "shots": 600,
               "input": {"gateset": "qis", "qubits": 2, "circuits": [
                   {"circuit": [{"gate": "h", "target": 0}]}, {"circuit": [{"gate": "x", "target": 1}]}]}}
    job = await run(client, sandbox, payload)
    assert job["settings"]["error_mitigation"] == {"debiasing": True}
    for child_id in job["child_job_ids"]:
        child = (await client.get(f"/jobs/{child_id}")).json()
        assert child["settings"]["error_mitigation"] == {"debiasing": True}
        assert len(child["output"]["error_mitigation"]["debiasing"]["variants"]) == 4
    cost = (await client.get(f"/jobs/{job['id']}/cost")).json()["cost"]["value"]
    assert cost == pytest.approx(aria_cost(600, 2, 0, debiased=True))


@pytest.mark.parametrize(("params", "debiased"), [
    ({"backend": "qpu.aria-1", "shots": 1000}, True),
    ({"backend": "qpu.aria-1", "shots": 500}, True),
    ({"backend": "qpu.aria-1", "shots": 499}, False),
    ({"backend": "qpu.aria-1", "shots": 1000, "error_mitigation": "false"}, False),
    ({"backend": "qpu.aria-1", "shots": 100, "error_mitigation": "true"}, True),
    ({"backend": "simulator", "shots": 1000}, False),
])
async def test_estimate_applies_the_same_default_when_error_mitigation_is_not_given(client, params, debiased):
    body = (await client.get("/jobs/estimate", params={**params, "1q_gates": 1, "2q_gates": 1})).json()
    assert body["input_values"]["error_mitigation"] is debiased
    if params["backend"] == "simulator":
        assert body["estimated_cost"] == 0
    else:
        assert body["estimated_cost"] == pytest.approx(aria_cost(params["shots"], 1, 1, debiased))
        assert body["rate_information"]["job_cost_minimum"] == (ARIA_MIN_DEBIASED if debiased else ARIA_MIN)


def test_the_rule_lives_in_the_shared_table():
    assert circuits.default_debiasing("qpu.forte-1", 500, ["qis"]) is True
    assert circuits.default_debiasing("qpu.forte-1", 500, ["native"]) is False
    assert circuits.default_debiasing("qpu.forte-1", 499, ["qis"]) is False
    assert circuits.default_debiasing("simulator", 5000, ["qis"]) is False
    assert circuits.default_debiasing("qpu.aria-1", 1000, []) is False  # QAOA, quantum functions
    plan = circuits.parse_job(circuit_job(shots=1000))  # a simulator job priced on other backends
    assert plan.debiasing is False
    assert plan.debiasing_on("qpu.aria-1") is True and plan.debiasing_on("simulator") is False
    off = circuits.parse_job(circuit_job(shots=1000, settings={"error_mitigation": {"debiasing": False}}))
    assert off.debiasing_on("qpu.aria-1") is False
