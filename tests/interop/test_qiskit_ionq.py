"""``qiskit-ionq`` unchanged against ``ionq-mcp sandbox`` (the real CLI, a subprocess on loopback).

qiskit-ionq reads ``IONQ_API_URL`` (a base URL ending in ``/v0.4``, as ``ionq-mcp sandbox`` prints it) and builds
``<url>/jobs/...`` itself. It sends explicit nulls (``"noise": {"model": "ideal", "seed": null}`` on every
simulator job), relies on IonQ's debiasing default on a QPU, and treats cancelling a finished job as a no-op.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

qiskit = pytest.importorskip("qiskit")
qiskit_ionq = pytest.importorskip("qiskit_ionq")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit_ionq import GPI2Gate, IonQProvider, MSGate  # noqa: E402

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    """``(IONQ_API_URL, IONQ_API_KEY, database)`` of an ``ionq-mcp sandbox`` subprocess."""
    state = tmp_path_factory.mktemp("qiskit-ionq")
    db = state / "sandbox.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", "0", "--db", str(db), "--qpu-latency", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found: dict[str, str] = {}
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while len(found) < 2 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            name, _, value = line.strip().partition("=")
            if name in ("IONQ_API_URL", "IONQ_API_KEY"):
                found[name] = value
        assert len(found) == 2, process.stderr.read() if process.poll() is not None else "no URL printed"
        yield found["IONQ_API_URL"], found["IONQ_API_KEY"], db
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def provider(sandbox_url, monkeypatch) -> IonQProvider:
    url, key, _ = sandbox_url
    # exactly as a user would point it elsewhere: the environment variables qiskit-ionq documents
    monkeypatch.setenv("IONQ_API_URL", url)
    monkeypatch.setenv("IONQ_API_KEY", key)
    return IonQProvider()


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def _stored(db: Path, job_id: str) -> dict:
    from ionq_mcp.sandbox import Store

    store = Store(str(db))
    try:
        row = store.get_job(job_id)
        assert row is not None
        return row.doc
    finally:
        store.close()


def test_ideal_simulator_with_default_options(provider):
    backend = provider.get_backend("simulator")
    job = backend.run(_bell(), shots=1000)  # default options: noise_model "ideal", sampler_seed None
    counts = job.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    assert abs(counts["00"] - 500) < 80  # qiskit-ionq samples counts from the exact probabilities (5 sigma)
    probabilities = job.get_probabilities()
    assert {k: v for k, v in probabilities.items() if v} == pytest.approx({"00": 0.5, "11": 0.5})


def test_noisy_simulator_with_default_options(provider, sandbox_url):
    backend = provider.get_backend("simulator")
    job = backend.run(_bell(), shots=2000, noise_model="aria-1")
    counts = job.get_counts()
    assert sum(counts.values()) == pytest.approx(2000, abs=2)
    correlated = counts.get("00", 0) + counts.get("11", 0)
    assert 0.9 * 2000 < correlated < 2000  # aria-1 noise: mostly correlated, some errors
    stored = _stored(sandbox_url[2], job.job_id())
    assert stored["noise"] == {"model": "aria-1"}


def test_native_gates(provider):
    backend = provider.get_backend("simulator", gateset="native")
    circuit = QuantumCircuit(2, 2)
    circuit.append(MSGate(0, 0), [0, 1])  # fully entangling MS: |00> -> (|00> - i|11>)/sqrt(2)
    circuit.measure([0, 1], [0, 1])
    counts = backend.run(circuit, shots=1000).get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    flip = QuantumCircuit(1, 1)
    flip.append(GPI2Gate(0), [0])
    flip.append(GPI2Gate(0), [0])  # two quarter turns about X: |0> -> |1>
    flip.measure(0, 0)
    assert backend.run(flip, shots=100).get_counts() == {"1": 100}


def test_multi_circuit_job(provider):
    backend = provider.get_backend("simulator")
    x_on_1 = QuantumCircuit(2, 2, name="x1")
    x_on_1.x(1)
    x_on_1.measure([0, 1], [0, 1])
    job = backend.run([_bell(), x_on_1], shots=400)
    first, second = job.result().get_counts()
    assert set(first) <= {"00", "11"} and sum(first.values()) == 400
    assert second == {"10": 400}  # qubit 1 set: qiskit's bitstrings put qubit 0 rightmost


def test_qpu_job_is_debiased_by_default_and_billed_so(provider, sandbox_url):
    backend = provider.get_backend("qpu.aria-1")
    job = backend.run(_bell(), shots=1000)
    counts = job.get_counts()
    assert sum(counts.values()) == pytest.approx(1000, abs=2)
    stored = _stored(sandbox_url[2], job.job_id())
    assert stored["settings"]["error_mitigation"] == {"debiasing": True}
    assert len(stored["output"]["error_mitigation"]["debiasing"]["variants"]) == 4
    import httpx

    url, key, _ = sandbox_url
    cost = httpx.get(f"{url}/jobs/{job.job_id()}/cost", headers={"Authorization": f"apiKey {key}"}).json()
    assert cost["cost"]["value"] >= 97.50


def test_cancel_after_completion_is_a_no_op_and_retrieve_reads_the_job(provider):
    backend = provider.get_backend("simulator")
    job = backend.run(_bell(), shots=200)
    probabilities = job.get_probabilities()
    job.cancel()  # raised IonQAPIError on our 409 before; IonQ treats it as a no-op
    again = backend.retrieve_job(job.job_id())
    assert again.status().name == "DONE"
    assert again.get_probabilities() == probabilities  # counts are resampled client-side; probabilities are not
    assert sum(again.get_counts().values()) == 200
