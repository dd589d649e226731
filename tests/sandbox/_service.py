"""Helpers shared by the sandbox service tests (the fixtures built on them are in ``conftest.py``).

Two API keys in two projects of one organization, a short QPU latency so lifecycles finish fast, and an
``httpx.AsyncClient`` per key talking to the real ASGI app in-process.
"""

from __future__ import annotations

from typing import Any

import httpx

from ionq_mcp.sandbox import ApiKey, Sandbox, SandboxConfig

KEY_A = ApiKey.generate("key-alpha", "alpha key", project="alpha", organization="acme")
KEY_B = ApiKey.generate("key-beta", "beta key", project="beta", organization="acme")

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
#: A quantum-function job the sandbox accepts and then fails (InvalidInput): its ansatz is not a circuit.
UNSUPPORTED_ANSATZ_JOB: dict[str, Any] = {
    "type": "quantum-function.v1", "backend": "simulator",
    "input": {"data": {"type": "hamiltonian-energy", "data": {
        "hamiltonian": [{"pauli_string": "Z", "coefficient": 1.0}],
        "ansatz": {"data": "this is not a circuit"}}}, "params": [0.1]}}


def make_sandbox(**overrides: Any) -> Sandbox:
    settings: dict[str, Any] = {"api_keys": [KEY_A, KEY_B], "qpu_latency_s": 0.05, "seed": 11}
    settings.update(overrides)
    return Sandbox(SandboxConfig(**settings))


def client_for(sandbox: Sandbox, key: ApiKey | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"apiKey {key.key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox/v0.4",
                             headers=headers)


def circuit_job(circuit: list[dict[str, Any]] | None = None, *, backend: str = "simulator", qubits: int = 2,
                **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "ionq.circuit.v1", "backend": backend,
                               "input": {"qubits": qubits, "gateset": "qis", "circuit": circuit or BELL}}
    payload.update(extra)
    return payload


async def submit(client: httpx.AsyncClient, payload: dict[str, Any]) -> str:
    response = await client.post("/jobs", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def run(client: httpx.AsyncClient, sandbox: Sandbox, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit, wait for the sandbox to go idle, return the job document."""
    job_id = await submit(client, payload)
    await sandbox.wait_idle()
    response = await client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, *keys: str) -> dict[str, Any]:
    """The response is IonQ's error shape with ``status`` and names every key in ``keys``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    for key in keys:
        assert key in body["validation"]["keys"], (key, body)
    return body
