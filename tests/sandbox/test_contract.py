"""Property-based contract run: IonQ's OpenAPI description against the running sandbox (loopback HTTP).

For every operation, schemathesis generates requests from the spec; the sandbox must never answer 5xx (no
faults are injected here) and every response must validate against the spec's response schema. Examples are
bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ionq_mcp import openapi
from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import BELL, KEY_A, circuit_job, make_sandbox

schema = schemathesis.openapi.from_dict(openapi.load().patched_document())


SEED_JOBS = [
    circuit_job(),
    circuit_job(backend="qpu.forte-1", shots=600, settings={"error_mitigation": {"debiasing": True}}),
    circuit_job(backend="qpu.aria-1", dry_run=True),
    {"type": "ionq.multi-circuit.v1", "backend": "simulator",
     "input": {"gateset": "qis", "circuits": [{"circuit": BELL}, {"circuit": [{"gate": "x", "target": 0}]}]}},
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a sandbox holding jobs of every shape and a session, so list responses are not empty."""
    sandbox = make_sandbox(qpu_latency_s=0.0)
    with sandbox.serve_in_thread() as base_url:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"apiKey {KEY_A.key}"}) as http:
            for payload in SEED_JOBS:
                assert http.post("/jobs", json=payload).status_code == 201
            assert http.post("/sessions", json={"backend": "qpu.aria-1"}).status_code == 201
        yield base_url
    sandbox.close()


def test_seeded_lists_validate(server):
    with httpx.Client(base_url=server, headers={"Authorization": f"apiKey {KEY_A.key}"}) as http:
        jobs = http.get("/jobs").json()
        validator("GetJobsResponse").validate(jobs)
        assert len(jobs["jobs"]) >= len(SEED_JOBS)
        for listed in jobs["jobs"]:
            job = http.get(f"/jobs/{listed['id']}").json()
            validator("GetJobResponse").validate(job)
            validator("GetJobCostResponse").validate(http.get(f"/jobs/{job['id']}/cost").json())
            if job["results"] and not job["child_job_ids"]:  # a parent's results are keyed by child (a deviation)
                validator("GetResultsResponse").validate(http.get(f"/jobs/{job['id']}/results/probabilities").json())
            variants = job["output"].get("error_mitigation", {}).get("debiasing", {}).get("variants", [])
            for variant in variants:
                for link in variant["results"].values():
                    body = http.get(link["url"].removeprefix("/v0.4")).json()
                    validator("GetVariantResultsResponse").validate(body)
        sessions = http.get("/sessions").json()
        validator("SessionsResponse").validate(sessions)
        assert sessions["sessions"]


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_contract(case, server):
    case.call_and_validate(base_url=server, headers={"Authorization": f"apiKey {KEY_A.key}"},
                           checks=[not_a_server_error, response_schema_conformance], timeout=30)
