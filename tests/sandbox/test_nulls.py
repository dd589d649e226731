"""A null is accepted wherever a field is optional, in every request body of every operation (IonQ does; qiskit-ionq
sends ``"noise": {"model": "ideal", "seed": null}`` on every simulator job), and reads as "not given".

The optional fields are found by walking the spec's own component schema next to a complete example body, so a
field the spec adds later is covered without editing this file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ionq_mcp.sandbox._validate import _components
from tests.sandbox._service import assert_error, circuit_job, run

pytestmark = pytest.mark.anyio

ANSATZ = json.dumps({"qubits": 1, "gateset": "qis", "circuit": [{"gate": "ry", "target": 0, "rotation": "theta0"}]})

#: (component schema, a complete example body using every optional field it can, how it is sent)
BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "circuit": ("CircuitJobCreationPayload", {
        "type": "ionq.circuit.v1", "backend": "simulator", "name": "bell", "shots": 200, "dry_run": False,
        "metadata": {"team": "qa"}, "noise": {"model": "aria-1", "seed": 3}, "lang": "json",
        "settings": {"error_mitigation": {"debiasing": False}, "compilation": {"opt": 1, "precision": "1E-3"}},
        "input": {"qubits": 2, "gateset": "qis", "circuit": [{"gate": "h", "target": 0},
                                                              {"gate": "cnot", "control": 0, "target": 1}]}}),
    "multi-circuit": ("MultiCircuitJobCreationPayload", {
        "type": "ionq.multi-circuit.v1", "backend": "simulator", "name": "two", "shots": 100,
        "metadata": {"k": "v"}, "noise": {"model": "ideal", "seed": 1},
        "settings": {"error_mitigation": {"debiasing": False}, "compilation": {"opt": 0}},
        "input": {"gateset": "qis", "qubits": 2, "circuits": [
            {"name": "a", "qubits": 2, "gateset": "qis", "circuit": [{"gate": "h", "target": 0}]},
            {"name": "b", "circuit": [{"gate": "x", "target": 1}]}]}}),
    "qaoa": ("QctrlQaoaJobCreationPayload", {
        "type": "qctrl.qaoa.v1", "backend": "simulator", "name": "cut", "shots": 100, "metadata": {"k": "v"},
        "settings": {"error_mitigation": {"debiasing": False}}, "noise": {"model": "ideal"},
        "external_settings": {"api_credentials": "unused", "external_organization": "org"},
        "input": {"problem_type": "maxcut", "problem": {
            "directed": False, "multigraph": False, "graph": {}, "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
            "adjacency": [[{"id": 1}], [{"id": 0}, {"id": 2}], [{"id": 1}]]}}}),
    "quantum-function": ("QuantumFunctionJobCreationPayload", {
        "type": "quantum-function", "backend": "simulator", "name": "energy", "shots": 100, "metadata": {"k": "v"},
        "settings": {"error_mitigation": {"debiasing": False}}, "noise": {"model": "ideal"},
        "input": {"data": {"type": "hamiltonian-energy", "data": {
            "hamiltonian": [{"pauli_string": "Z", "coefficient": 2.0}], "ansatz": {"data": ANSATZ}}},
            "params": [0.5]}}),
}

SESSION = {"backend": "qpu.aria-1", "settings": {"job_count_limit": 5, "duration_limit_min": 60,
                                                 "cost_limit": {"unit": "usd", "value": 100}}}


def _resolve(schema: dict[str, Any], body: Any) -> dict[str, Any]:
    """The object schema ``body`` is checked against: ``$ref`` followed, ``allOf`` merged, and of ``anyOf``/``oneOf``
    the branch naming most of the body's keys (a nullable ``$ref`` became ``anyOf [ref, null]``)."""
    while "$ref" in schema:
        schema = _components()[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _resolve(part, body)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    branches = [_resolve(b, body) for b in schema.get("anyOf", schema.get("oneOf", ()))]
    branches = [b for b in branches if "properties" in b or "items" in b]
    if branches:
        keys = set(body) if isinstance(body, dict) else set()
        return max(branches, key=lambda b: len(keys & set(b.get("properties", {}))))
    return schema


def optional_paths(schema: dict[str, Any], body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every optional property of every object in ``body`` (by its schema), as a path from the top."""
    schema = _resolve(schema, body)
    if isinstance(body, dict) and "properties" in schema:
        required = set(schema.get("required", ()))
        for key, sub in schema["properties"].items():
            if key not in required:
                yield (*path, key)
            if key in body:
                yield from optional_paths(sub, body[key], (*path, key))
    elif isinstance(body, list) and "items" in schema:
        for index, item in enumerate(body):
            yield from optional_paths(schema["items"], item, (*path, index))


def with_null(body: dict[str, Any], path: tuple[Any, ...], *, drop: bool = False) -> dict[str, Any]:
    """A copy of ``body`` with the member at ``path`` set to null (``drop``: removed)."""
    out = copy.deepcopy(body)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    if drop:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = None
    return out


def _cases() -> list[tuple[str, tuple[Any, ...]]]:
    cases = [(name, path) for name, (component, body) in BODIES.items()
             for path in optional_paths({"$ref": f"#/components/schemas/{component}"}, body)]
    cases += [("session", path) for path in optional_paths(
        {"$ref": "#/components/schemas/CreateSessionRequest"}, SESSION)]
    return cases


def test_the_walk_finds_the_optional_fields_of_every_body():
    found = {(name, ".".join(map(str, path))) for name, path in _cases()}
    for expected in [("circuit", "noise.seed"), ("circuit", "settings.error_mitigation.debiasing"),
                     ("circuit", "input.gateset"), ("multi-circuit", "input.circuits.1.name"),
                     ("qaoa", "external_settings"), ("quantum-function", "input.params"),
                     ("session", "settings.cost_limit"), ("session", "settings.job_count_limit")]:
        assert expected in found
    assert not any(path[-1] in ("backend", "type") for _, path in _cases())  # required: never nulled


@pytest.mark.parametrize(("name", "path"), _cases(), ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple)
                         else v)
async def test_a_null_optional_field_is_accepted(client, sandbox, name, path):
    if name == "session":
        response = await client.post("/sessions", json=with_null(SESSION, path))
        assert response.status_code == 201, response.text
        return
    body = BODIES[name][1]
    assert (await run(client, sandbox, body))["status"] == "completed"
    # accepted, and it behaves exactly as if the member were left out
    job = await run(client, sandbox, with_null(body, path))
    absent = await run(client, sandbox, with_null(body, path, drop=True))
    assert (job["status"], job["failure"]) == (absent["status"], absent["failure"])
    assert (job["settings"], job.get("noise"), job["shots"]) == (absent["settings"], absent.get("noise"),
                                                                  absent["shots"])


async def test_qiskit_ionq_simulator_payload_runs(client, sandbox):
    # what qiskit-ionq 1.x posts for a default simulator job: explicit nulls for the seed and error mitigation
    payload = circuit_job(shots=1024, noise={"model": "ideal", "seed": None},
                          metadata={"shots": "1024", "sampler_seed": "None"}, settings={"error_mitigation": None})
    job = await run(client, sandbox, payload)
    assert job["status"] == "completed" and job["noise"] == {"model": "ideal"}
    probabilities = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
    assert probabilities == pytest.approx({"0": 0.5, "3": 0.5})


async def test_null_reads_as_absent_so_defaults_apply(client, sandbox):
    job = await run(client, sandbox, circuit_job(shots=None, noise=None, name=None))
    assert job["shots"] == 100 and job["noise"] == {"model": "ideal"}
    qpu = await run(client, sandbox, circuit_job(backend="qpu.aria-1", shots=1000,
                                                 settings={"error_mitigation": {"debiasing": None}}))
    assert qpu["settings"]["error_mitigation"]["debiasing"] is True  # IonQ's default, as if the key were absent


@pytest.mark.parametrize(("route", "body", "key"), [
    ("/jobs", {"type": "ionq.circuit.v1", "backend": None, "input": {"circuit": []}}, "backend"),
    ("/jobs", {"type": "ionq.circuit.v1", "backend": "simulator", "input": None}, "input"),
    ("/jobs", {"type": "ionq.circuit.v1", "backend": "simulator", "input": {"circuit": None}}, "input.circuit"),
    ("/sessions", {"backend": None}, "backend"),
])
async def test_a_null_required_field_is_a_400_naming_it(client, sandbox, route, body, key):
    assert_error(await client.post(route, json=body), 400, key)
    assert sandbox.store.count_jobs() == 0


async def test_bulk_bodies_with_null_ids_are_400(client):
    assert_error(await client.request("DELETE", "/jobs", json={"ids": None}), 400, "ids")
    assert_error(await client.put("/jobs/status/cancel", json={"ids": None}), 400, "ids")
