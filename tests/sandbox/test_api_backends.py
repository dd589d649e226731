"""Backend and characterization routes: public lists, pagination, fidelities consistent with the noise models."""

from __future__ import annotations

import datetime as dt

import pytest

from ionq_mcp.sandbox._noise import noise_for_backend
from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import assert_error

pytestmark = pytest.mark.anyio

QUBITS = {"simulator": 29, "qpu.aria-1": 25, "qpu.aria-2": 25, "qpu.forte-1": 36, "qpu.forte-enterprise-1": 36}


async def test_list_backends(anonymous):
    body = (await anonymous.get("/backends")).json()
    assert {b["backend"]: b["qubits"] for b in body} == QUBITS
    for backend in body:
        validator("Backend").validate(backend)
        assert backend["status"] == "available" and backend["degraded"] is False
        assert ("characterization_id" in backend) == backend["backend"].startswith("qpu.")


@pytest.mark.parametrize("name", list(QUBITS))
async def test_get_each_backend_including_the_simulator(anonymous, name):
    body = (await anonymous.get(f"/backends/{name}")).json()
    assert body["backend"] == name and body["qubits"] == QUBITS[name]


async def test_current_characterization_matches_the_noise_model(anonymous, client):
    for name in ("qpu.aria-1", "qpu.forte-1"):
        backend = (await anonymous.get(f"/backends/{name}")).json()
        found = (await client.get(f"/backends/{name}/characterizations/{backend['characterization_id']}")).json()
        validator("Characterization").validate(found)
        noise = noise_for_backend(name)
        assert found["fidelity"]["1q"]["median"] == pytest.approx(1 - noise.p1q)
        assert found["fidelity"]["2q"]["median"] == pytest.approx(1 - noise.p2q)
        assert found["fidelity"]["spam"]["median"] == pytest.approx(1 - noise.readout)
        n = QUBITS[name]
        pairs = {tuple(sorted(p)) for p in found["connectivity"]}
        assert len(pairs) == n * (n - 1) // 2  # all-to-all
        assert found["timing"]["2q"] > found["timing"]["1q"] > 0


async def test_characterizations_paginate(anonymous):
    first = (await anonymous.get("/backends/qpu.aria-2/characterizations", params={"limit": 4})).json()
    second = (await anonymous.get("/backends/qpu.aria-2/characterizations",
                                  params={"limit": 4, "page": 2})).json()
    assert len(first["characterizations"]) == 4 and len(second["characterizations"]) == 4
    ids = [c["id"] for c in first["characterizations"] + second["characterizations"]]
    assert len(set(ids)) == 8
    dates = [c["date"] for c in first["characterizations"] + second["characterizations"]]
    assert dates == sorted(dates, reverse=True)
    assert first["pages"] == second["pages"] + 1


async def test_characterizations_filter_by_date_range(anonymous):
    today = dt.datetime.now(dt.UTC).date()
    start, end = (today - dt.timedelta(days=3)).isoformat(), today.isoformat()
    body = (await anonymous.get("/backends/qpu.forte-1/characterizations", params={"start": start, "end": end})
            ).json()
    dates = [c["date"][:10] for c in body["characterizations"]]
    assert dates and all(start <= d < end for d in dates)
    assert len(dates) == 3


async def test_simulator_has_no_characterizations(anonymous):
    body = (await anonymous.get("/backends/simulator/characterizations")).json()
    assert body["characterizations"] == []


async def test_characterization_of_another_backend_is_404(anonymous, client):
    aria = (await anonymous.get("/backends/qpu.aria-1")).json()["characterization_id"]
    assert_error(await client.get(f"/backends/qpu.forte-1/characterizations/{aria}"), 404, "UUID")


@pytest.mark.parametrize("name", ["qpu.aria-1", "qpu.forte-1"])
async def test_timings_are_seconds_and_predict_the_compute_time(anonymous, client, name):
    # The spec describes timing as seconds; a trapped-ion gate takes microseconds, T1/T2 take seconds.
    backend = (await anonymous.get(f"/backends/{name}")).json()
    timing = (await client.get(f"/backends/{name}/characterizations/{backend['characterization_id']}")).json()[
        "timing"]
    assert all(isinstance(v, float) for v in timing.values())
    assert 1e-6 < timing["1q"] < timing["2q"] < 1e-3 and 1e-6 < timing["reset"] < timing["readout"] < 1e-3
    assert timing["t1"] >= timing["t2"] >= 0.1
    # the job's predicted compute time (microseconds) is the same timings summed over every shot
    job = (await client.post("/jobs", json={"type": "ionq.circuit.v1", "backend": name, "shots": 200,
                                            "dry_run": True, "input": {
        "qubits": 2, "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}})).json()
    stats = (await client.get(f"/jobs/{job['id']}")).json()["stats"]
    seconds = 200 * (timing["1q"] + timing["2q"] + timing["readout"] + timing["reset"])
    assert stats["predicted_quantum_compute_time_us"] == pytest.approx(seconds * 1e6, abs=1)
