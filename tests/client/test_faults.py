"""Fault runs with the sandbox's fault injection: safe retries of reads, exactly-once job creation."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from ionq_mcp.client import (
    IDEMPOTENCY_METADATA_KEY,
    APITimeoutError,
    IonQClient,
    Lookup,
    RateLimitError,
    ServerError,
    Timeouts,
    UncertainOutcomeError,
)
from ionq_mcp.sandbox import FaultRule, Sandbox, SandboxConfig

from .conftest import ASGI_BASE_URL, BELL, RecordingTransport, SlowNetworkTransport, fast_retry

pytestmark = pytest.mark.anyio

RETRY_AFTER = 0.05
FAST_LOOKUP = Lookup(recheck_s=0.01, settle_s=3.0)


def _client(sandbox: Sandbox, transport: httpx.AsyncBaseTransport | None = None, **options) -> IonQClient:
    options.setdefault("retry", fast_retry())
    options.setdefault("lookup", FAST_LOOKUP)
    return IonQClient(api_key=sandbox.api_key, base_url=ASGI_BASE_URL,
                      transport=transport or httpx.ASGITransport(app=sandbox.app), **options)


def _bell_job(**extra) -> dict:
    return dict(type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL, **extra)


async def test_reads_survive_30_percent_429_502_503_and_wait_for_retry_after(sandbox: Sandbox) -> None:
    async with _client(sandbox) as setup:
        job_ids = [(await setup.create_job(**_bell_job())).id for _ in range(3)]
    await sandbox.wait_idle()
    # Three seeded rules; the injector answers with the first that fires: 1 - 0.9*0.889*0.875 = 30 % faulted.
    sandbox.faults.add(FaultRule(kind="status", status=429, rate=0.1, retry_after=RETRY_AFTER, methods=("GET",),
                                 seed=1))
    sandbox.faults.add(FaultRule(kind="status", status=502, rate=0.111, methods=("GET",), seed=2))
    sandbox.faults.add(FaultRule(kind="status", status=503, rate=0.125, retry_after=RETRY_AFTER,
                                 methods=("GET",), seed=3))
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    reads = 0
    async with _client(sandbox, recorder) as client:
        for round_ in range(25):
            job_id = job_ids[round_ % 3]
            assert (await client.get_job(job_id)).status == "completed"
            assert set(await client.get_job_probabilities(job_id)) == {"0", "3"}
            assert job_id in [j.id for j in (await client.list_jobs(limit=5)).jobs]
            assert (await client.whoami()).key_id
            reads += 4
    outcomes = Counter(e.outcome for e in recorder.exchanges)
    faulted = outcomes[429] + outcomes[502] + outcomes[503]
    assert outcomes[200] == reads  # every read succeeded in the end
    assert faulted == len(recorder.exchanges) - reads
    assert 0.15 * len(recorder.exchanges) < faulted < 0.45 * len(recorder.exchanges)
    assert outcomes[429] and outcomes[502] and outcomes[503]
    # The sandbox saw the same traffic (its request log counts faulted requests too).
    assert sandbox.request_log.count(method="GET") == len(recorder.exchanges)
    # Retry-After honoured: the retry never starts before the server's Retry-After has passed.
    honoured = 0
    for before, after in zip(recorder.exchanges, recorder.exchanges[1:]):
        if before.outcome in (429, 503):
            assert after.path == before.path  # the very next request is the retry of the same read
            assert after.started - before.finished >= RETRY_AFTER
            honoured += 1
    assert honoured == outcomes[429] + outcomes[503]


async def test_exhausted_read_retries_say_how_many_attempts(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, methods=("GET",)))
    async with _client(sandbox, retry=fast_retry(max_attempts=4)) as client:
        with pytest.raises(ServerError) as info:
            await client.whoami()
    assert info.value.status_code == 503 and info.value.attempts == 4
    assert "after 4 attempts" in str(info.value)
    assert sandbox.request_log.count(method="GET", path_prefix="/whoami") == 4


async def test_retry_after_beyond_the_budget_gives_up_at_once(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=30, methods=("GET",)))
    async with _client(sandbox, retry=fast_retry(total_budget_s=1.0)) as client:
        with pytest.raises(RateLimitError) as info:
            await client.whoami()
    assert info.value.retry_after == 30 and info.value.attempts == 1


async def test_200_creates_with_half_the_responses_dropped_make_exactly_200_jobs(sandbox: Sandbox) -> None:
    project = sandbox.config.api_keys[0].project_id
    before = sandbox.store.count_jobs(project)
    sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",), rate=0.5, seed=11))
    async with _client(sandbox) as client:
        created = [await client.create_job(**_bell_job(name=f"job-{i}")) for i in range(200)]
    sandbox.faults.clear()
    assert sandbox.store.count_jobs(project) - before == 200  # none lost, none duplicated
    assert len({c.id for c in created}) == 200
    # Every dropped POST had been processed, so no job needed a resubmission: 200 POSTs, and the drops were
    # resolved by looking the token up (GET /jobs).
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 200
    assert sandbox.request_log.count(method="GET", path_prefix="/jobs") >= 50
    await sandbox.wait_idle()
    async with _client(sandbox) as client:
        names = Counter()
        tokens = set()
        async for job in client.iter_jobs(page_size=100, max_items=500):
            if job.name and job.name.startswith("job-"):
                names[job.name] += 1
                tokens.add(job.metadata[IDEMPOTENCY_METADATA_KEY])
    assert len(names) == 200 and set(names.values()) == {1}
    assert len(tokens) == 200


async def test_503_before_processing_is_resubmitted_once_proved_absent(sandbox: Sandbox) -> None:
    before = sandbox.store.count_jobs()
    sandbox.faults.add(FaultRule(kind="status", status=503, path="/jobs", methods=("POST",),
                                 schedule=[True, True, False]))
    async with _client(sandbox) as client:
        created = await client.create_job(**_bell_job())
    assert sandbox.store.count_jobs() == before + 1
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 3
    assert sandbox.request_log.count(method="GET", path_prefix="/jobs") >= 4  # two look-ups per failure
    assert created.id


async def test_429_on_create_is_retried_without_a_lookup(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=0.01, path="/jobs", methods=("POST",),
                                 schedule=[True, False]))
    async with _client(sandbox) as client:
        await client.create_job(**_bell_job())
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 2
    assert sandbox.request_log.count(method="GET") == 0
    assert sandbox.store.count_jobs() == 1


async def test_create_gives_up_when_the_service_keeps_failing(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=500, path="/jobs", methods=("POST",)))
    async with _client(sandbox, retry=fast_retry(max_attempts=3)) as client:
        with pytest.raises(ServerError) as info:
            await client.create_job(**_bell_job())
    assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)
    assert sandbox.store.count_jobs() == 0


async def test_lookup_failure_reports_an_uncertain_outcome_with_the_token(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",)))
    sandbox.faults.add(FaultRule(kind="status", status=503, path="/jobs", methods=("GET",)))
    async with _client(sandbox, retry=fast_retry(max_attempts=2)) as client:
        with pytest.raises(UncertainOutcomeError) as info:
            await client.create_job(**_bell_job(), idempotency_key="my-own-token")
    assert info.value.idempotency_key == "my-own-token" and "my-own-token" in str(info.value)
    assert sandbox.store.count_jobs() == 1  # the job exists; the client said it could not tell
    sandbox.faults.clear()
    async with _client(sandbox) as client:
        page = await client.list_jobs(limit=5)  # what the error told the caller to do
    assert page.jobs[0].metadata[IDEMPOTENCY_METADATA_KEY] == "my-own-token"


async def test_read_timeout_on_create_finds_the_job_the_server_finished_later(sandbox: Sandbox) -> None:
    # The sandbox sleeps 0.6 s before processing POST /jobs; the client stops waiting after 0.2 s while the
    # server carries on, so the job does not exist yet at the first look-up. The client must keep looking
    # (settle window) and return it, not resubmit.
    sandbox.faults.add(FaultRule(kind="latency", latency_s=0.6, path="/jobs", methods=("POST",)))
    transport = SlowNetworkTransport(sandbox.app, read_s=0.2)
    async with _client(sandbox, transport, lookup=Lookup(recheck_s=0.01, settle_s=5.0)) as client:
        created = await client.create_job(**_bell_job())
    assert sandbox.store.count_jobs() == 1
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 1
    assert sandbox.request_log.count(method="GET", path_prefix="/jobs") >= 2  # it looked more than once
    assert created.id


async def test_read_timeout_with_nothing_created_is_reported_uncertain_not_resubmitted(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="latency", latency_s=1.2, path="/jobs", methods=("POST",)))
    async with sandbox.serve() as base_url:
        async with IonQClient(api_key=sandbox.api_key, base_url=base_url, retry=fast_retry(),
                              timeout=Timeouts(connect=2.0, read=0.2, write=2.0, pool=2.0),
                              lookup=Lookup(recheck_s=0.01, settle_s=0.5)) as client:
            with pytest.raises(UncertainOutcomeError) as info:
                await client.create_job(**_bell_job())
    assert isinstance(info.value.idempotency_key, str)
    assert "may still be processing" in str(info.value)
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") <= 1  # never sent twice


async def test_200_creates_over_loopback_with_dropped_connections(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",), rate=0.5, seed=5))
    async with sandbox.serve() as base_url:
        async with IonQClient(api_key=sandbox.api_key, base_url=base_url, retry=fast_retry(),
                              lookup=FAST_LOOKUP) as client:
            created = [await client.create_job(**_bell_job(dry_run=True)) for _ in range(200)]
    assert sandbox.store.count_jobs() == 200
    assert len({c.id for c in created}) == 200


async def test_session_dropped_after_creation_is_reported_with_its_id(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="drop", path="/sessions", methods=("POST",), schedule=[True]))
    async with _client(sandbox) as client:
        with pytest.raises(UncertainOutcomeError) as info:
            await client.create_session("qpu.aria-1")
        sessions = (await client.list_sessions()).sessions
    assert len(sessions) == 1  # not created twice
    assert info.value.candidates == [sessions[0].id] and sessions[0].id in str(info.value)


async def test_session_refused_before_processing_is_resent(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=502, path="/sessions", methods=("POST",),
                                 schedule=[True, False]))
    async with _client(sandbox) as client:
        session = await client.create_session("qpu.aria-1")
        sessions = (await client.list_sessions()).sessions
    assert [s.id for s in sessions] == [session.id]


async def test_connection_refused_is_retried_then_reported(sandbox: Sandbox) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: nothing listens there
    async with IonQClient(api_key=sandbox.api_key, base_url=f"http://127.0.0.1:{port}/v0.4",
                          retry=fast_retry(max_attempts=3)) as client:
        with pytest.raises(Exception) as info:
            await client.create_job(**_bell_job())
    err = info.value
    assert type(err).__name__ == "APIConnectionError" and err.request_sent is False and err.attempts == 3
    assert not isinstance(err, APITimeoutError)


async def test_generic_request_post_jobs_is_exactly_once_too(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",), schedule=[True]))
    async with _client(sandbox) as client:
        created = await client.request("POST", "/jobs", json=_bell_job())
    assert sandbox.store.count_jobs() == 1
    assert created["id"] and sandbox.request_log.count(method="POST", path_prefix="/jobs") == 1


async def test_end_session_retried_after_a_dropped_response_returns_the_ended_session(sandbox: Sandbox) -> None:
    async with _client(sandbox) as client:
        session = await client.create_session("qpu.aria-1")
        sandbox.faults.add(FaultRule(kind="drop", path="/sessions/", methods=("POST",), schedule=[True]))
        ended = await client.end_session(session.id)
    assert ended.id == session.id and ended.status == "ended"
    assert sandbox.request_log.count(method="POST", path_prefix=f"/sessions/{session.id}/end") == 2


async def test_cancel_and_delete_retried_after_dropped_responses_report_success() -> None:
    box = Sandbox(SandboxConfig(db_path=":memory:", qpu_latency_s=120.0))
    try:
        async with _client(box) as client:
            job = await client.create_job(type="ionq.circuit.v1", backend="qpu.aria-1", shots=100, input=BELL)
            box.faults.add(FaultRule(kind="drop", path=f"/jobs/{job.id}", methods=("PUT", "DELETE"),
                                     schedule=[True, False, True]))
            assert (await client.cancel_job(job.id)).status == "canceled"
            assert (await client.delete_job(job.id)).status == "deleted"
        assert box.request_log.count(method="PUT") == 2 and box.request_log.count(method="DELETE") == 2
        assert box.store.count_jobs() == 0
    finally:
        box.close()


async def test_resubmitting_with_a_known_idempotency_key_returns_the_existing_job(sandbox: Sandbox) -> None:
    async with _client(sandbox) as client:
        first = await client.create_job(**_bell_job(), idempotency_key="caller-token-1")
        again = await client.create_job(**_bell_job(), idempotency_key="caller-token-1")
        other = await client.create_job(**_bell_job(), idempotency_key="caller-token-2")
    assert again.id == first.id and other.id != first.id
    assert sandbox.store.count_jobs() == 2


async def test_lookup_falls_back_to_the_service_page_size_when_its_limit_is_refused(sandbox: Sandbox) -> None:
    # The sandbox caps `limit` at 1000 (400 beyond); a look-up asking for more must still find the job.
    sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",), schedule=[True]))
    async with _client(sandbox, lookup=Lookup(page_size=5000, recheck_s=0.01)) as client:
        created = await client.create_job(**_bell_job())
    assert sandbox.store.count_jobs() == 1 and created.id
    statuses = [e.status for e in sandbox.request_log.entries if e.method == "GET"]
    assert statuses[:2] == [400, 200]
