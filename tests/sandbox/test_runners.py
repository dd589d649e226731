"""Several runners on one database never run the same job twice; a dead runner's jobs are claimed again; a
detached sandbox hands its jobs to a real background worker process; the memory budget queues and refuses."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from ionq_mcp.sandbox import Sandbox, SandboxConfig, _runner
from ionq_mcp.sandbox._memory import MIB, job_bytes, state_bytes
from ionq_mcp.sandbox._worker import worker_alive
from tests.sandbox._service import KEY_A, circuit_job, client_for, make_sandbox, run, submit

pytestmark = pytest.mark.anyio


def ghz(n: int) -> list[dict[str, Any]]:
    return [{"gate": "h", "target": 0}, *({"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1))]


async def _wait_status(client, job_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = (await client.get(f"/jobs/{job_id}")).json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


@pytest.fixture
def executions(monkeypatch) -> Counter[str]:
    """How many times each job id was simulated in this process (every runner calls ``_runner.execute``)."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    real = _runner.execute

    def counting(job_id: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            seen[job_id] += 1
        return real(job_id, *args, **kwargs)

    monkeypatch.setattr(_runner, "execute", counting)
    return seen


async def test_two_runners_sharing_a_database_never_run_a_job_twice(tmp_path, executions):
    db = str(tmp_path / "shared.sqlite3")
    # A detached sandbox stores jobs and runs none (no worker: its launcher is told nothing can start one here).
    front = Sandbox(SandboxConfig(db_path=db, api_keys=[KEY_A], detached=True, worker_idle_s=0))
    front.runner.ensure_worker = lambda: None  # type: ignore[method-assign]  # the two runners below take over
    runners = [Sandbox(SandboxConfig(db_path=db, api_keys=[KEY_A], poll_s=0.005)) for _ in range(2)]
    async with client_for(front, KEY_A) as client:
        # both runners poll while the jobs arrive, so they race for every one of them
        ids = [await submit(client, circuit_job(ghz(8), qubits=8)) for _ in range(40)]
        try:
            for job_id in ids:
                job = await _wait_status(client, job_id, {"completed", "failed"})
                assert job["status"] == "completed", job["failure"]
        finally:
            for box in runners:
                box.close()
    front.close()
    assert set(executions) == set(ids) and set(executions.values()) == {1}


async def test_a_job_whose_runner_died_is_claimed_again_after_its_lease(tmp_path, executions):
    db = str(tmp_path / "shared.sqlite3")
    front = Sandbox(SandboxConfig(db_path=db, api_keys=[KEY_A], detached=True))
    front.runner.ensure_worker = lambda: None  # type: ignore[method-assign]
    async with client_for(front, KEY_A) as client:
        job_id = await submit(client, circuit_job())
        # a runner claims it with a 0.3 s lease and dies before running it
        assert front.store.claim_job(job_id, "dead-runner", 0.3, time.time())
        live = Sandbox(SandboxConfig(db_path=db, api_keys=[KEY_A], poll_s=0.05))
        try:
            time.sleep(0.15)
            assert (await client.get(f"/jobs/{job_id}")).json()["status"] == "submitted"  # the lease still holds
            job = await _wait_status(client, job_id, {"completed"}, timeout=10)
            assert job["status"] == "completed"
        finally:
            live.close()
    front.close()
    assert executions[job_id] == 1


@pytest.mark.slow
async def test_a_detached_sandbox_hands_jobs_to_a_worker_that_exits_when_idle(tmp_path, monkeypatch):
    db = str(tmp_path / "detached.sqlite3")
    box = Sandbox(SandboxConfig(db_path=db, api_keys=[KEY_A], detached=True, worker_idle_s=1.0))
    try:
        async with client_for(box, KEY_A) as client:
            long_id = await submit(client, circuit_job(ghz(23) * 6, qubits=23))
            started = time.monotonic()
            bell_id = await submit(client, circuit_job())
            assert time.monotonic() - started < 2  # storing a job never waits for a simulation
            deadline = time.monotonic() + 60
            while not worker_alive(db) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert worker_alive(db)
            job = await _wait_status(client, long_id, {"started", "completed"})
            assert box.runner.pending == 0  # this process runs nothing
            began = time.monotonic()
            response = await client.put(f"/jobs/{long_id}/status/cancel")
            assert response.status_code == 200 and time.monotonic() - began < 1  # cancel returns at once
            assert (await _wait_status(client, bell_id, {"completed"}))["status"] == "completed"
            probabilities = (await client.get(f"/jobs/{bell_id}/results/probabilities")).json()
            assert probabilities == pytest.approx({"0": 0.5, "3": 0.5})
            deadline = time.monotonic() + 60
            while worker_alive(db) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not worker_alive(db)  # idle for a second: the worker exited
            job = (await client.get(f"/jobs/{long_id}")).json()
            assert job["status"] == "canceled" and job["results"] is None and job["started_at"] is not None
            assert box.store.get_result(long_id, "probabilities") is None  # its late result was dropped
    finally:
        box.close()


# ------------------------------------------------------------------------------------------------ memory budget


def test_memory_estimates_follow_the_state_size():
    from ionq_mcp import circuits

    def plan(n: int, **extra: Any) -> Any:
        return circuits.parse_job(circuit_job([{"gate": "h", "target": n - 1}], qubits=n, **extra))

    assert state_bytes(29) == 4 << 30 and state_bytes(26) == 1 << 30  # complex64 from 27 qubits, else complex128
    assert job_bytes(plan(29)) == int((4 << 30) * 1.15) + 64 * MIB
    assert job_bytes(plan(25, noise={"model": "aria-1"})) > 3 * state_bytes(25, sampled=True)


async def test_a_job_larger_than_the_budget_fails_and_the_sandbox_carries_on():
    box = make_sandbox(memory_budget_bytes=100 * MIB)
    try:
        async with client_for(box, KEY_A) as client:
            job = await run(client, box, circuit_job(ghz(23), qubits=23))
            assert job["status"] == "failed" and job["results"] is None
            assert set(job["failure"]) == {"code", "message"} and job["failure"]["code"] == "SimulationError"
            assert "GiB" in job["failure"]["message"] and "IONQ_MCP_SANDBOX_MEMORY_GB" in job["failure"]["message"]
            assert (await client.get(f"/jobs/{job['id']}/cost")).json()["cost"]["value"] == 0
            small = await run(client, box, circuit_job())
            assert small["status"] == "completed"
            assert box.runner.memory.used == 0
    finally:
        box.close()


async def test_a_job_that_does_not_fit_next_to_a_running_one_waits_ready(monkeypatch):
    # Room for exactly one 20-qubit simulation at a time; the first one is held until released.
    need = job_bytes(__import__("ionq_mcp").circuits.parse_job(circuit_job(ghz(20), qubits=20)))
    box = make_sandbox(memory_budget_bytes=need + need // 2, max_workers=2)
    gate = threading.Event()
    real = _runner.execute

    def held(job_id: str, *args: Any, **kwargs: Any) -> Any:
        gate.wait(30)
        return real(job_id, *args, **kwargs)

    monkeypatch.setattr(_runner, "execute", held)
    try:
        async with client_for(box, KEY_A) as client:
            first = await submit(client, circuit_job(ghz(20), qubits=20))
            second = await submit(client, circuit_job(ghz(20), qubits=20))
            assert (await _wait_status(client, first, {"started"}))["status"] == "started"
            time.sleep(0.2)
            assert (await client.get(f"/jobs/{second}")).json()["status"] == "ready"  # queued, not running
            assert box.runner.memory.waiting == 1 and box.runner.memory.used == need
            released = _runner.now_iso()
            gate.set()
            await box.wait_idle()
            jobs = [(await client.get(f"/jobs/{i}")).json() for i in (first, second)]
            assert [j["status"] for j in jobs] == ["completed", "completed"]
            assert jobs[0]["started_at"] < released <= jobs[1]["started_at"]  # it started once the first was done
            assert box.runner.memory.used == 0
    finally:
        gate.set()
        box.close()


def test_budget_from_the_environment(monkeypatch):
    from ionq_mcp.sandbox._memory import default_budget_bytes

    monkeypatch.setenv("IONQ_MCP_SANDBOX_MEMORY_GB", "1.5")
    assert default_budget_bytes() == int(1.5 * (1 << 30))
    monkeypatch.setenv("IONQ_MCP_SANDBOX_MEMORY_GB", "lots")
    with pytest.raises(ValueError, match="IONQ_MCP_SANDBOX_MEMORY_GB"):
        default_budget_bytes()
    monkeypatch.delenv("IONQ_MCP_SANDBOX_MEMORY_GB")
    assert default_budget_bytes() > 0
