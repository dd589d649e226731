"""Compiled circuits of a job: a circuit the compiler cannot handle is a clear 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest

from ionq_mcp.sandbox import Sandbox
from tests.sandbox._service import assert_error, circuit_job, run

pytestmark = pytest.mark.anyio

#: exp(-i t (X0 + Z0)): the two terms do not commute, which the native compiler does not decompose.
NON_COMMUTING_PAULIEXP = [{"gate": "pauliexp", "targets": [0], "terms": ["X", "Z"], "coefficients": [0.5, 0.5],
                           "time": 0.3}]


async def test_uncompilable_circuit_is_422_naming_lang(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    job = await run(client, sandbox, circuit_job(NON_COMMUTING_PAULIEXP, qubits=1))
    assert job["status"] == "completed"  # it simulates fine; only compilation is unsupported
    for lang in ("native", "qasm3"):
        body = assert_error(await client.get(f"/jobs/{job['id']}/circuits/{lang}"), 422, "lang")
        assert "cannot be compiled" in body["message"]
    # the sandbox keeps serving
    assert (await client.get(f"/jobs/{job['id']}")).status_code == 200
