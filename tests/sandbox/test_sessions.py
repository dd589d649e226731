"""Sessions: create, list with the active filter, get, end, list jobs, and the limits that refuse jobs."""

from __future__ import annotations

import pytest

from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import KEY_A, assert_error, circuit_job, submit

pytestmark = pytest.mark.anyio


async def _session(client, backend: str = "qpu.aria-1", **settings) -> dict:
    response = await client.post("/sessions", json={"backend": backend, "settings": settings})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_get_list_end(client):
    created = await _session(client, job_count_limit=5, duration_limit_min=30,
                             cost_limit={"unit": "usd", "value": 100.0})
    validator("Session").validate(created)
    assert created["status"] == "created" and created["active"] is True
    assert created["project_id"] == KEY_A.project_id and created["organization_id"] == KEY_A.organization_id
    assert created["settings"]["job_count_limit"] == 5 and "expires_at" in created["settings"]
    fetched = (await client.get(f"/sessions/{created['id']}")).json()
    assert fetched == created
    listing = (await client.get("/sessions")).json()
    validator("SessionsResponse").validate(listing)
    assert [s["id"] for s in listing["sessions"]] == [created["id"]]
    ended = (await client.post(f"/sessions/{created['id']}/end")).json()
    assert ended["status"] == "ended" and ended["active"] is False and ended["ender_id"] == KEY_A.user_id
    assert ended["ended_at"] is not None


async def test_active_filter(client):
    a = await _session(client)
    b = await _session(client)
    await client.post(f"/sessions/{a['id']}/end")
    active = (await client.get("/sessions", params={"active": "true"})).json()["sessions"]
    inactive = (await client.get("/sessions", params={"active": "false"})).json()["sessions"]
    assert [s["id"] for s in active] == [b["id"]] and [s["id"] for s in inactive] == [a["id"]]


async def test_jobs_in_a_session_start_it_and_are_listed(client, sandbox):
    session = await _session(client)
    inside = await submit(client, circuit_job(backend="qpu.aria-1", session_id=session["id"]))
    await submit(client, circuit_job(backend="qpu.aria-1"))  # outside
    await sandbox.wait_idle()
    assert (await client.get(f"/sessions/{session['id']}")).json()["status"] == "started"
    jobs = (await client.get(f"/sessions/{session['id']}/jobs")).json()
    validator("GetJobsResponse").validate(jobs)
    assert [j["id"] for j in jobs["jobs"]] == [inside]
    assert jobs["jobs"][0]["session_id"] == session["id"]


async def test_job_count_limit_refuses_the_extra_job_and_ends_the_session(client, sandbox):
    session = await _session(client, job_count_limit=2)
    for _ in range(2):
        await submit(client, circuit_job(backend="qpu.aria-1", session_id=session["id"]))
    before = sandbox.store.count_jobs()
    assert_error(await client.post("/jobs", json=circuit_job(backend="qpu.aria-1", session_id=session["id"])),
                 409, "session_id")
    assert sandbox.store.count_jobs() == before
    assert (await client.get(f"/sessions/{session['id']}")).json()["status"] == "ended"


async def test_cost_limit_refuses_with_402_and_ends_the_session(client, sandbox):
    # each job costs 12.4166 + 0.000220*1*100 + 0.000975*1*100 = 12.53635 on Aria
    session = await _session(client, cost_limit={"unit": "usd", "value": 30.0})
    for _ in range(2):
        await submit(client, circuit_job(backend="qpu.aria-1", shots=100, session_id=session["id"]))
    before = sandbox.store.count_jobs()
    body = assert_error(await client.post(
        "/jobs", json=circuit_job(backend="qpu.aria-1", shots=100, session_id=session["id"])), 402, "session_id")
    assert "cost_limit" in body["message"]
    assert sandbox.store.count_jobs() == before
    assert (await client.get(f"/sessions/{session['id']}")).json()["active"] is False


async def test_ended_session_refuses_jobs(client, sandbox):
    session = await _session(client)
    await client.post(f"/sessions/{session['id']}/end")
    assert_error(await client.post("/jobs", json=circuit_job(backend="qpu.aria-1", session_id=session["id"])),
                 409, "session_id")
    assert sandbox.store.count_jobs() == 0


async def test_session_on_another_backend_is_400(client, sandbox):
    session = await _session(client, backend="qpu.forte-1")
    assert_error(await client.post("/jobs", json=circuit_job(backend="qpu.aria-1", session_id=session["id"])),
                 400, "session_id", "backend")
    assert sandbox.store.count_jobs() == 0
    assert (await client.get(f"/sessions/{session['id']}")).json()["active"] is True


async def test_expired_session_ends_itself(client, sandbox):
    session = await _session(client, duration_limit_min=1)
    # move the expiry into the past, as if a minute had gone by
    sandbox.store.update_session(session["id"], {"settings": {**session["settings"],
                                                              "expires_at": "2000-01-01T00:00:00.000Z"}})
    assert (await client.get(f"/sessions/{session['id']}")).json()["status"] == "ended"
    assert_error(await client.post("/jobs", json=circuit_job(backend="qpu.aria-1", session_id=session["id"])),
                 409, "session_id")
