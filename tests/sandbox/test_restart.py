"""Persistence: jobs, results and sessions in a database file survive closing and reopening the sandbox, and
jobs left unfinished are run after the restart."""

from __future__ import annotations

import pytest

from tests.sandbox._service import KEY_A, circuit_job, client_for, make_sandbox, submit

pytestmark = pytest.mark.anyio


async def test_jobs_results_and_sessions_survive_a_restart(tmp_path):
    db = str(tmp_path / "sandbox.sqlite3")
    first = make_sandbox(db_path=db)
    async with client_for(first, KEY_A) as http:
        done = await submit(http, circuit_job())
        session = (await http.post("/sessions", json={"backend": "qpu.aria-1"})).json()
        await first.wait_idle()
        before = (await http.get(f"/jobs/{done}")).json()
    first.close()

    second = make_sandbox(db_path=db)
    try:
        async with client_for(second, KEY_A) as http:
            assert (await http.get(f"/jobs/{done}")).json() == before
            probabilities = (await http.get(f"/jobs/{done}/results/probabilities")).json()
            assert probabilities == pytest.approx({"0": 0.5, "3": 0.5})
            assert (await http.get(f"/sessions/{session['id']}")).json()["id"] == session["id"]
            assert [j["id"] for j in (await http.get("/jobs")).json()["jobs"]] == [done]
    finally:
        second.close()


async def test_unfinished_jobs_resume_after_a_restart(tmp_path):
    db = str(tmp_path / "sandbox.sqlite3")
    first = make_sandbox(db_path=db, qpu_latency_s=30.0)
    async with client_for(first, KEY_A) as http:
        job_id = await submit(http, circuit_job(backend="qpu.aria-1"))
    first.close()  # the job is still queued

    second = make_sandbox(db_path=db, qpu_latency_s=0.01)
    try:
        await second.wait_idle()
        async with client_for(second, KEY_A) as http:
            job = (await http.get(f"/jobs/{job_id}")).json()
            assert job["status"] == "completed"
            assert (await http.get(f"/jobs/{job_id}/results/probabilities")).status_code == 200
    finally:
        second.close()
