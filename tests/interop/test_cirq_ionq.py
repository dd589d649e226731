"""``cirq-ionq`` unchanged against the sandbox: ``Service(remote_host=...)`` builds ``<origin>/v0.4`` itself, sends
``"shots"`` as a string and a top-level ``"lang": "json"``; the sandbox accepts both (docs/spec-deviations.md)."""

from __future__ import annotations

import pytest

cirq = pytest.importorskip("cirq")
cirq_ionq = pytest.importorskip("cirq_ionq")

pytestmark = pytest.mark.interop


@pytest.fixture
def service(server):
    return cirq_ionq.Service(remote_host=server.origin, api_key=server.sandbox.api_key, default_target="simulator",
                             max_retry_seconds=5)


def _bell() -> cirq.Circuit:
    a, b = cirq.LineQubit.range(2)
    return cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))


def test_bell_on_the_simulator_gives_only_correlated_counts(service):
    result = service.run(_bell(), repetitions=200, target="simulator")
    counts = result.histogram(key="m")
    assert sum(counts.values()) == 200
    assert set(counts) <= {0, 3} and counts[0] > 50 and counts[3] > 50


def test_x_on_the_second_qubit_reads_back_in_cirq_order(service):
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.X(b), cirq.measure(a, b, key="m"))
    counts = service.run(circuit, repetitions=50, target="simulator").histogram(key="m")
    # cirq's big-endian integer for (a=0, b=1) is 0b01 = 1
    assert counts == {1: 50}


def test_bell_on_an_emulated_qpu(service, server):
    job = service.create_job(_bell(), repetitions=500, target="qpu.aria-1")
    result = job.results(timeout_seconds=30, polling_seconds=0.05).to_cirq_result()
    counts = result.histogram(key="m")
    assert sum(counts.values()) == 500
    assert counts.get(0, 0) + counts.get(3, 0) > 450
    stored = server.sandbox.store.get_job(job.job_id())
    assert stored is not None and stored.doc["shots"] == 500 and stored.doc["status"] == "completed"


def test_run_batch_reads_each_circuit_from_the_multi_circuit_job(service):
    a, b = cirq.LineQubit.range(2)
    circuits = [_bell(), cirq.Circuit(cirq.X(a), cirq.measure(a, b, key="m"))]
    results = service.run_batch(circuits, repetitions=100, target="simulator")
    bell, flip = (r.histogram(key="m") for r in results)
    assert set(bell) <= {0, 3} and sum(bell.values()) == 100
    assert flip == {2: 100}  # (a=1, b=0) is 0b10 in cirq's big-endian order
