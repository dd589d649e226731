"""IonQ's official low-level client, ``ionq-core``, unchanged against the sandbox on loopback."""

from __future__ import annotations

import warnings

import pytest

ionq_core = pytest.importorskip("ionq_core")

from ionq_core.api.default import create_job, get_job_probabilities
from ionq_core.api.whoami import get_whoami
from ionq_core.models.circuit_job_creation_payload import CircuitJobCreationPayload

pytestmark = pytest.mark.interop


@pytest.fixture
def client(server):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # plain http on loopback
        client = ionq_core.IonQClient(api_key=server.sandbox.api_key, base_url=server.base_url, max_retries=0)
    with client as c:
        yield c


def _bell(backend: str) -> CircuitJobCreationPayload:
    return CircuitJobCreationPayload.from_dict({
        "type": "ionq.circuit.v1", "backend": backend, "shots": 1000, "name": "bell from ionq-core",
        "input": {"qubits": 2, "gateset": "qis", "circuit": [
            {"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]},
    })


def test_bell_on_the_simulator(client):
    created = create_job.sync(client=client, body=_bell("simulator"))
    job = ionq_core.wait_for_job(client, created.id, poll_interval=0.05, timeout=30)
    assert job.status == "completed"
    probabilities = get_job_probabilities.sync(client=client, uuid=created.id).to_dict()
    assert probabilities == pytest.approx({"0": 0.5, "3": 0.5})


def test_bell_on_an_emulated_qpu(client):
    created = create_job.sync(client=client, body=_bell("qpu.forte-1"))
    job = ionq_core.wait_for_job(client, created.id, poll_interval=0.05, timeout=30)
    assert job.status == "completed"
    probabilities = get_job_probabilities.sync(client=client, uuid=created.id).to_dict()
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities.get("0", 0) + probabilities.get("3", 0) > 0.9


def test_whoami(client, server):
    me = get_whoami.sync(client=client)
    assert str(me.key_id) == server.sandbox.config.api_keys[0].key_id


def test_iter_jobs_follows_the_next_cursor(client):
    created = [create_job.sync(client=client, body=_bell("simulator")).id for _ in range(5)]
    seen = [job.id for job in ionq_core.iter_jobs(client, limit=2)]
    assert len(seen) == len(set(seen))  # no page repeated
    assert set(created) <= set(seen)
