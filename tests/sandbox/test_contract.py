"""Property-based contract run: IonQ's OpenAPI description against the running sandbox (loopback HTTP).

For every operation, schemathesis generates requests from the spec; the sandbox must never answer 5xx (no
faults are injected here) and every response must validate against the spec's response schema. Examples are
bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from ionq_mcp.sandbox import Sandbox  # noqa: E402
from ionq_mcp.sandbox._validate import openapi, validator  # noqa: E402
from tests.sandbox._service import BELL, KEY_A, circuit_job, make_sandbox  # noqa: E402

schema = schemathesis.openapi.from_dict(openapi())


class _Server:
    """The sandbox served by uvicorn on an event loop in a background thread."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.base_url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.sandbox.serve() as url:
            self.base_url = url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> _Server:
        self._thread.start()
        assert self._ready.wait(10), "sandbox server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


SEED_JOBS = [
    circuit_job(),
    circuit_job(backend="qpu.forte-1", shots=600, settings={"error_mitigation": {"debiasing": True}}),
    circuit_job(backend="qpu.aria-1", dry_run=True),
    {"type": "ionq.multi-circuit.v1", "backend": "simulator",
     "input": {"gateset": "qis", "circuits": [{"circuit": BELL}, {"circuit": [{"gate": "x", "target": 0}]}]}},
]


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    """A sandbox holding a few jobs of every shape and a session, so list responses are not empty."""
    sandbox = make_sandbox(qpu_latency_s=0.0)
    with _Server(sandbox) as running:
        with httpx.Client(base_url=running.base_url, headers={"Authorization": f"apiKey {KEY_A.key}"}) as http:
            for payload in SEED_JOBS:
                assert http.post("/jobs", json=payload).status_code == 201
            assert http.post("/sessions", json={"backend": "qpu.aria-1"}).status_code == 201
        yield running
    sandbox.close()


def test_seeded_lists_validate(server):
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"apiKey {KEY_A.key}"}) as http:
        jobs = http.get("/jobs").json()
        validator("GetJobsResponse").validate(jobs)
        assert len(jobs["jobs"]) >= len(SEED_JOBS)
        for job in jobs["jobs"]:
            validator("GetJobResponse").validate(http.get(f"/jobs/{job['id']}").json())


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_contract(case, server):
    case.call_and_validate(base_url=server.base_url, headers={"Authorization": f"apiKey {KEY_A.key}"},
                           checks=[not_a_server_error, response_schema_conformance], timeout=30)
