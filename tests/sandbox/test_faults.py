"""Fault injection: status codes with Retry-After, scripted schedules, seeded rates, method/path filters,
latency, and dropping the connection after the request took effect (in-process and over loopback HTTP)."""

from __future__ import annotations

import httpx
import pytest

from ionq_mcp.sandbox import FaultInjector, FaultRule
from tests.sandbox._service import KEY_A, circuit_job

pytestmark = pytest.mark.anyio


async def test_status_fault_with_retry_after_and_ionq_body(client, sandbox):
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=3, methods=("POST",), path="/jobs"))
    response = await client.post("/jobs", json=circuit_job())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert body["statusCode"] == 429 and body["error"] and body["message"]
    assert sandbox.store.count_jobs() == 0  # a status fault answers before the request is processed


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_faults(client, sandbox, status):
    sandbox.faults.add(FaultRule(kind="status", status=status))
    assert (await client.get("/jobs")).status_code == status
    sandbox.faults.clear()
    assert (await client.get("/jobs")).status_code == 200


async def test_scripted_schedule(client, sandbox):
    sandbox.faults.add(FaultRule(kind="status", status=503, schedule=[True, False, True], path="/whoami"))
    codes = [(await client.get("/whoami")).status_code for _ in range(5)]
    assert codes == [503, 200, 503, 200, 200]


async def test_method_and_path_filters(client, sandbox):
    sandbox.faults.add(FaultRule(kind="status", status=500, methods=("POST",), path="/jobs"))
    assert (await client.get("/jobs")).status_code == 200
    assert (await client.get("/backends")).status_code == 200
    assert (await client.post("/jobs", json=circuit_job())).status_code == 500
    assert (await client.post("/sessions", json={"backend": "qpu.aria-1"})).status_code == 201


def test_seeded_rate_is_reproducible_and_near_the_rate():
    def pattern(seed: int) -> list[bool]:
        injector = FaultInjector([FaultRule(kind="status", rate=0.3, seed=seed)])
        return [injector.decide("GET", "/v0.4/jobs")[1] is not None for _ in range(2000)]

    first, again, other = pattern(5), pattern(5), pattern(6)
    assert first == again and first != other
    assert 0.25 < sum(first) / len(first) < 0.35


def test_latency_rules_add_up_and_do_not_change_the_answer():
    injector = FaultInjector([FaultRule(kind="latency", latency_s=0.2), FaultRule(kind="latency", latency_s=0.1,
                                                                                   path="/jobs")])
    assert injector.decide("GET", "/v0.4/jobs")[0] == pytest.approx(0.3)
    assert injector.decide("GET", "/v0.4/backends") == (pytest.approx(0.2), None)


async def test_latency_fault_still_answers(client, sandbox):
    sandbox.faults.add(FaultRule(kind="latency", latency_s=0.05))
    assert (await client.get("/whoami")).status_code == 200


async def test_drop_in_process_raises_after_the_job_was_created(client, sandbox):
    sandbox.faults.add(FaultRule(kind="drop", methods=("POST",), path="/jobs", schedule=[True]))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/jobs", json=circuit_job())
    assert sandbox.store.count_jobs(KEY_A.project_id) == 1  # the ambiguous failure: it DID happen
    assert (await client.post("/jobs", json=circuit_job())).status_code == 201


async def test_drop_over_loopback_http_closes_mid_response(sandbox):
    sandbox.faults.add(FaultRule(kind="drop", methods=("POST",), path="/jobs", schedule=[True]))
    headers = {"Authorization": f"apiKey {KEY_A.key}"}
    async with sandbox.serve() as base_url, httpx.AsyncClient(base_url=base_url, headers=headers) as http:
        with pytest.raises(httpx.TransportError):
            await http.post("/jobs", json=circuit_job())
        assert sandbox.store.count_jobs() == 1
        ok = await http.post("/jobs", json=circuit_job())
        assert ok.status_code == 201
    assert sandbox.store.count_jobs() == 2


async def test_request_log_counts_every_request_including_faulted_ones(client, sandbox):
    sandbox.faults.add(FaultRule(kind="status", status=503, schedule=[True, True]))
    for _ in range(3):
        await client.get("/jobs")
    await client.post("/jobs", json=circuit_job())
    assert sandbox.request_log.count(method="GET", path_prefix="/jobs") == 3
    assert sandbox.request_log.count(method="POST", path_prefix="/v0.4/jobs") == 1
    assert sandbox.request_log.count() == 4
    assert [e.status for e in sandbox.request_log.entries] == [503, 503, 200, 201]


def test_parse_cli_syntax():
    rule = FaultRule.parse("kind=status,status=429,rate=0.25,methods=GET|POST,path=/jobs,retry_after=2,seed=3")
    assert (rule.kind, rule.status, rule.rate, rule.methods, rule.path, rule.retry_after, rule.seed) == (
        "status", 429, 0.25, ("GET", "POST"), "/jobs", 2.0, 3)
    assert FaultRule.parse("kind=drop,schedule=1|0|1").schedule == [True, False, True]
    for bad in ("status=503", "kind=explode", "kind=status,colour=red", "kind=status,rate=2"):
        with pytest.raises(ValueError):
            FaultRule.parse(bad)
