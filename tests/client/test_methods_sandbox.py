"""Every client method against the sandbox: in-process (ASGI) for the full set, loopback HTTP for a smoke set."""

from __future__ import annotations

import datetime as dt
import math
import platform
from collections.abc import Iterator

import httpx
import pytest

from ionq_mcp import __version__
from ionq_mcp.client import (
    IDEMPOTENCY_METADATA_KEY,
    AuthenticationError,
    Backend,
    ConfigurationError,
    InvalidRequestError,
    IonQClient,
    Job,
    JobsPage,
    NotFoundError,
    Probabilities,
    bitstring,
    to_bitstrings,
)
from ionq_mcp.sandbox import Sandbox, SandboxConfig

from .conftest import ASGI_BASE_URL, BELL, RecordingTransport, fast_retry

pytestmark = pytest.mark.anyio


@pytest.fixture
def slow_qpu() -> Iterator[Sandbox]:
    box = Sandbox(SandboxConfig(db_path=":memory:", qpu_latency_s=120.0))
    try:
        yield box
    finally:
        box.close()


async def _run(client: IonQClient, sandbox: Sandbox, **fields) -> Job:
    created = await client.create_job(**fields)
    await sandbox.wait_idle()
    return await client.get_job(created.id)


async def test_backends_and_characterizations(client: IonQClient) -> None:
    backends = await client.list_backends()
    assert all(isinstance(b, Backend) for b in backends)
    names = {b.backend for b in backends}
    assert {"simulator", "qpu.aria-1", "qpu.forte-1"} <= names
    aria = await client.get_backend("qpu.aria-1")
    assert aria.backend == "qpu.aria-1" and aria.qubits == 25
    page = await client.get_backend_characterizations("qpu.aria-1", limit=2, page=1)
    assert 1 <= len(page.characterizations) <= 2
    first = page.characterizations[0]
    assert first.id and first.backend == "qpu.aria-1"
    again = await client.get_backend_characterization("qpu.aria-1", first.id)
    assert again.id == first.id and again.model_dump(mode="json", by_alias=True) == first.model_dump(
        mode="json", by_alias=True
    )
    with pytest.raises(NotFoundError) as info:
        await client.get_backend_characterization("qpu.aria-1", "00000000-0000-0000-0000-000000000000")
    assert info.value.status_code == 404


async def test_job_lifecycle_and_results(client: IonQClient, sandbox: Sandbox) -> None:
    before = sandbox.store.count_jobs()
    created = await client.create_job(type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL,
                                      name="bell", metadata={"owner": "tests"})
    assert created.id and created.status in ("submitted", "ready", "started", "completed")
    assert sandbox.store.count_jobs() == before + 1
    await sandbox.wait_idle()
    job = await client.get_job(created.id)
    assert job.status == "completed" and job.is_terminal and job.name == "bell"
    assert job.metadata is not None and job.metadata["owner"] == "tests"
    assert len(job.metadata[IDEMPOTENCY_METADATA_KEY]) == 32  # the client's token travels with the job

    # Bell state by definition: |00> and |11> with probability 1/2 each.
    probs = await client.get_job_probabilities(created.id)
    assert isinstance(probs, Probabilities)
    assert set(probs) == {"0", "3"} and all(math.isclose(p, 0.5) for p in probs.values())
    sharpened = await client.get_job_probabilities(created.id, sharpen=True)
    assert math.isclose(sum(sharpened.values()), 1.0)
    assert await client.get_results(created.id) == {created.id: probs}

    cost = await client.get_job_cost(created.id)
    assert cost.cost is not None and cost.cost.value == 0  # the ideal simulator is free
    page = await client.list_jobs(limit=10)
    assert isinstance(page, JobsPage) and created.id in [j.id for j in page.jobs]
    only = await client.list_jobs(ids=[created.id])
    assert [j.id for j in only.jobs] == [created.id]
    assert (await client.list_jobs(status="completed", target="simulator")).jobs

    deleted = await client.delete_job(created.id)
    assert deleted.id == created.id and deleted.status == "deleted"
    with pytest.raises(NotFoundError):
        await client.get_job(created.id)


async def test_bit_order_matches_the_definition(client: IonQClient, sandbox: Sandbox) -> None:
    # X on qubit 0 only, 3 qubits: the state is |q2 q1 q0> = |001>, decimal key 1, qubit 0 the rightmost bit.
    circuit = {"qubits": 3, "gateset": "qis", "circuit": [{"gate": "x", "target": 0}]}
    job = await _run(client, sandbox, type="ionq.circuit.v1", backend="simulator", shots=10, input=circuit)
    probs = await client.get_job_probabilities(job.id)
    assert dict(probs.items()) == {"1": 1.0}
    assert to_bitstrings(probs.to_dict(), 3) == {"001": 1.0}
    assert bitstring("1", 3)[-1] == "1"  # rightmost character is qubit 0


async def test_estimate_circuits_cancel_and_bulk_operations(client: IonQClient, sandbox: Sandbox) -> None:
    estimate = await client.get_job_estimate("qpu.aria-1", shots=1000, one_qubit_gates=10, two_qubit_gates=5,
                                             qubits=2, error_mitigation=False, type="ionq.circuit.v1")
    assert estimate.input_values is not None
    assert (estimate.input_values.one_qubit_gates, estimate.input_values.two_qubit_gates) == (10, 5)
    rates = estimate.rate_information
    assert rates is not None and estimate.estimated_cost is not None
    # The published gate-shot formula: max(minimum, 1q*shots*c1 + 2q*shots*c2).
    gate_cost = 10 * 1000 * rates.cost_1q_gate + 5 * 1000 * rates.cost_2q_gate
    assert estimate.estimated_cost == pytest.approx(max(rates.job_cost_minimum, gate_cost), rel=1e-6) or \
        estimate.estimated_cost == pytest.approx(rates.job_cost_minimum + gate_cost, rel=1e-6)



async def test_cancel_and_bulk_operations(slow_qpu: Sandbox) -> None:
    # QPU jobs in a sandbox with a long emulated queue stay cancelable for the whole test.
    async with IonQClient(api_key=slow_qpu.api_key, base_url=ASGI_BASE_URL,
                          transport=httpx.ASGITransport(app=slow_qpu.app), retry=fast_retry()) as client:
        queued = [await client.create_job(type="ionq.circuit.v1", backend="qpu.aria-1", shots=100, input=BELL)
                  for _ in range(3)]
        canceled = await client.cancel_job(queued[0].id)
        assert canceled.id == queued[0].id and canceled.status == "canceled"
        assert (await client.get_job(queued[0].id)).status == "canceled"
        many = await client.cancel_many_jobs([q.id for q in queued[1:]])
        assert set(many.ids) == {q.id for q in queued[1:]} and many.status == "canceled"
        removed = await client.delete_jobs([q.id for q in queued])
        assert set(removed.ids) == {q.id for q in queued} and removed.status == "deleted"
        assert (await client.list_jobs(ids=[q.id for q in queued])).jobs == []
    assert slow_qpu.store.count_jobs() == 0


async def test_compiled_circuits(client: IonQClient, sandbox: Sandbox) -> None:
    pytest.importorskip("ionq_mcp.sandbox._compile", reason="the sandbox does not compile circuits yet")
    done = await _run(client, sandbox, type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL)
    qasm = await client.get_job_circuits(done.id, "qasm3")
    assert isinstance(qasm.root, str) and "OPENQASM 3" in qasm.root
    native = await client.get_job_circuits(done.id, "native")
    assert native.root
    with pytest.raises(InvalidRequestError):
        await client.get_job_circuits(done.id, "cobol")


async def test_variants_of_a_debiased_qpu_job(client: IonQClient, sandbox: Sandbox) -> None:
    job = await _run(client, sandbox, type="ionq.circuit.v1", backend="qpu.aria-1", shots=500, input=BELL,
                     settings={"error_mitigation": {"debiasing": True}})
    assert job.status == "completed", job.failure
    assert job.variant_ids, job.output
    variant = job.variant_ids[0]
    vprobs = await client.get_variant_probabilities(job.id, variant)
    assert math.isclose(sum(vprobs.values()), 1.0, rel_tol=1e-6)
    hist = await client.get_variant_histogram(job.id, variant)
    assert all(v >= 0 for v in hist.values())
    shots = await client.get_variant_shots(job.id, variant)
    assert shots.root
    with pytest.raises(NotFoundError):
        await client.get_variant_histogram(job.id, "no-such-variant")


async def test_multi_circuit_parent_resolves_to_children(client: IonQClient, sandbox: Sandbox) -> None:
    flip = {"circuit": [{"gate": "x", "target": 1}], "qubits": 2}
    job = await _run(client, sandbox, type="ionq.multi-circuit.v1", backend="simulator", shots=100,
                     input={"gateset": "qis", "qubits": 2, "circuits": [dict(BELL), flip]})
    assert job.child_job_ids and len(job.child_job_ids) == 2
    results = await client.get_results(job.id)
    assert list(results) == job.child_job_ids
    bell, flipped = (results[c] for c in job.child_job_ids)
    assert set(bell) == {"0", "3"}
    assert dict(flipped.items()) == {"2": 1.0}  # X on qubit 1: |10> = 2


async def test_sessions(client: IonQClient, sandbox: Sandbox) -> None:
    session = await client.create_session("qpu.aria-1", settings={"job_count_limit": 5})
    assert session.backend == "qpu.aria-1" and session.settings is not None
    assert session.settings.job_count_limit == 5
    active = await client.list_sessions(active=True)
    assert session.id in [s.id for s in active.sessions]
    assert (await client.get_session(session.id)).id == session.id
    created = await client.create_job(type="ionq.circuit.v1", backend="qpu.aria-1", shots=100, input=BELL,
                                      session_id=session.id)
    assert created.session_id == session.id
    jobs = await client.list_session_jobs(session.id)
    assert [j.id for j in jobs.jobs] == [created.id]
    await sandbox.wait_idle()
    ended = await client.end_session(session.id)
    assert ended.status == "ended" and ended.active is False
    assert session.id not in [s.id for s in (await client.list_sessions(active=True)).sessions]


async def test_identity_usage_and_generic_request(client: IonQClient, sandbox: Sandbox) -> None:
    me = sandbox.config.api_keys[0]
    who = await client.whoami()
    assert (who.key_id, who.key_name, who.project_id) == (me.key_id, me.name, me.project_id)
    await _run(client, sandbox, type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL)
    today = dt.date.today()
    usage = await client.get_organization_usage(me.organization_id, start_date=today - dt.timedelta(days=31),
                                                end_date=today + dt.timedelta(days=1), group_by="project",
                                                modality="monthly")
    assert usage.group_type == "project" and usage.modality == "monthly"
    assert usage.job_count == 1
    raw = await client.request("GET", "/whoami")
    assert raw["key_id"] == me.key_id
    with pytest.raises(ConfigurationError, match="path"):
        await client.request("GET", "https://elsewhere.example/whoami")
    with pytest.raises(ConfigurationError, match="path"):
        await client.request("GET", "//elsewhere.example/whoami")


async def test_bad_requests_map_to_typed_errors(client: IonQClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await client.create_job(type="ionq.circuit.v1", backend="simulator", shots=0, input=BELL)
    assert info.value.status_code == 400 and "shots" in info.value.validation_keys
    with pytest.raises(ConfigurationError, match="metadata"):
        await client.create_job(backend="simulator", input=BELL, metadata={"n": 1})
    with pytest.raises(ConfigurationError, match="backend"):
        await client.create_job(input=BELL)
    with pytest.raises(ConfigurationError, match="job_id"):
        await client.get_job("../backends")
    async with IonQClient(api_key="wrong-key", base_url=ASGI_BASE_URL,
                          transport=httpx.ASGITransport(app=sandbox.app)) as stranger:
        with pytest.raises(AuthenticationError) as auth:
            await stranger.whoami()
    assert auth.value.status_code == 401 and auth.value.attempts == 1  # a 401 is never retried


async def test_headers_sent(sandbox: Sandbox) -> None:
    recorder = RecordingTransport(httpx.ASGITransport(app=sandbox.app))
    async with IonQClient(api_key=sandbox.api_key, base_url=ASGI_BASE_URL, transport=recorder) as client:
        await client.whoami()
    headers = recorder.exchanges[0].headers
    assert headers["authorization"] == f"apiKey {sandbox.api_key}"
    assert headers["user-agent"] == (
        f"ionq-mcp/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"
    )


async def test_pagination_follows_tokens_and_respects_caps(client: IonQClient, sandbox: Sandbox) -> None:
    ids = [(await client.create_job(type="ionq.circuit.v1", backend="simulator", shots=10, input=BELL,
                                    dry_run=True)).id for _ in range(7)]
    seen = [job.id async for job in client.iter_jobs(page_size=3)]
    assert seen == list(reversed(ids))  # newest first, every job once, across three pages
    capped = [job.id async for job in client.iter_jobs(page_size=3, max_items=4)]
    assert capped == list(reversed(ids))[:4]
    assert [job async for job in client.iter_jobs(max_items=0)] == []
    with pytest.raises(ConfigurationError, match="max_items"):
        [job async for job in client.iter_jobs(max_items=-1)]

    session = await client.create_session("qpu.aria-1")
    in_session = [(await client.create_job(type="ionq.circuit.v1", backend="qpu.aria-1", shots=10, input=BELL,
                                           session_id=session.id, dry_run=True)).id for _ in range(3)]
    got = [job.id async for job in client.iter_session_jobs(session.id, page_size=2)]
    assert sorted(got) == sorted(in_session)
    assert len([j async for j in client.iter_session_jobs(session.id, page_size=2, max_items=1)]) == 1

    everything = [c.id async for c in client.iter_characterizations("qpu.aria-1", page_size=3)]
    first_page = await client.get_backend_characterizations("qpu.aria-1", limit=3, page=1)
    remaining_pages = first_page.pages or 0
    assert len(everything) > 3 or remaining_pages == 0
    assert len(everything) == len(set(everything))  # no page read twice
    capped_chars = [c.id async for c in client.iter_characterizations("qpu.aria-1", page_size=3, max_items=5)]
    assert capped_chars == everything[:5]


async def test_loopback_http_smoke(sandbox: Sandbox) -> None:
    async with sandbox.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        async with IonQClient(api_key=sandbox.api_key, base_url=base_url, retry=fast_retry()) as client:
            assert any(b.backend == "simulator" for b in await client.list_backends())
            assert (await client.whoami()).key_id == sandbox.config.api_keys[0].key_id
            created = await client.create_job(type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL)
            await sandbox.wait_idle()
            job = await client.get_job(created.id)
            assert job.status == "completed"
            probs = await client.get_job_probabilities(created.id)
            assert set(probs) == {"0", "3"}
            page = await client.list_jobs(limit=5)
            assert created.id in [j.id for j in page.jobs]
            with pytest.raises(NotFoundError):
                await client.get_job("does-not-exist")
            session = await client.create_session("qpu.forte-1")
            assert (await client.end_session(session.id)).status == "ended"
