"""Response models accept what the published spec and the live service send, and dump back the wire JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ionq_mcp._paths import schemas_dir
from ionq_mcp.client import (
    Backend,
    Characterization,
    Histogram,
    Job,
    JobEstimate,
    JobsPage,
    Probabilities,
    Session,
    Usages,
)

#: IonQ's published sample responses (copied from the shared spec folder, so the test never depends on it).
SPEC_DIR = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return yaml.safe_load((schemas_dir() / "ionq-quantum-cloud-openapi.yml").read_text())


def _example(openapi: dict[str, Any], path: str, method: str) -> Any:
    content = openapi["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return next(iter(content["examples"].values()))["value"]


def test_spec_job_examples_round_trip(openapi: dict[str, Any]) -> None:
    job_wire = _example(openapi, "/jobs/{UUID}", "get")
    job = Job.model_validate(job_wire)
    assert job.stats is not None and job.stats.gate_counts == {"1q": 1028, "2q": 110}
    assert job.variant_ids == ["069ce8f8-f437-7d75-8000-9f5f8c3d7897"]
    assert job.model_dump(mode="json", by_alias=True) == job_wire
    page_wire = _example(openapi, "/jobs", "get")
    page = JobsPage.model_validate(page_wire)
    assert page.model_dump(mode="json", by_alias=True) == page_wire


def test_backends_example_round_trips() -> None:
    path = SPEC_DIR / "ionq-get-backends-example.json"
    wire = json.loads(path.read_text())
    backends = [Backend.model_validate(b) for b in wire]
    assert [b.model_dump(mode="json", by_alias=True) for b in backends] == wire


def test_unknown_fields_nulls_and_running_status_never_fail() -> None:
    wire = {
        "id": "j1",
        "status": "running",  # the job JSON Schema's word; OpenAPI says "started"
        "type": None,
        "backend": None,
        "stats": {"gate_counts": {"1q": 2, "2q": 1, "3q": 4}, "new_stat": [1, 2]},
        "results": None,
        "child_job_ids": None,
        "brand_new_field": {"nested": True},
    }
    job = Job.model_validate(wire)
    assert job.status == "running" and not job.is_terminal
    assert job.model_extra == {"brand_new_field": {"nested": True}}
    assert job.model_dump(mode="json", by_alias=True) == wire
    assert Job.model_validate({"id": "j2", "status": "started"}).model_dump(mode="json", by_alias=True) == {
        "id": "j2",
        "status": "started",
    }


def test_wire_aliases_come_back() -> None:
    timing = {"t1": 10, "t2": 1, "1q": 0.00001, "2q": 0.0006, "readout": 0.0003, "reset": 0.00002}
    char_wire = {"id": "c", "backend": "qpu.aria-1", "fidelity": {"spam": {"median": 0.99}, "1q": {"median": 0.9998}},
                 "timing": timing, "connectivity": [[0, 1], [1, 2]]}
    char = Characterization.model_validate(char_wire)
    assert char.timing is not None and char.timing.two_q == 0.0006
    assert char.model_dump(mode="json", by_alias=True) == char_wire

    usage_wire = {"amount_total": 1.5, "usage_data": [{"from": "2025-01-01", "job_count": 2, "amount": 1.5,
                                                       "time_us": 10, "group_usages": []}]}
    usages = Usages.model_validate(usage_wire)
    assert usages.usage_data is not None and usages.usage_data[0].from_ == "2025-01-01"
    assert usages.model_dump(mode="json", by_alias=True) == usage_wire

    estimate_wire = {"input_values": {"backend": "qpu.aria-1", "1q_gates": 10, "2q_gates": 5}, "estimated_cost": 19.5}
    estimate = JobEstimate.model_validate(estimate_wire)
    assert estimate.input_values is not None and estimate.input_values.one_qubit_gates == 10
    assert estimate.model_dump(mode="json", by_alias=True) == estimate_wire


def test_result_maps_keep_numbers_and_shapes() -> None:
    probs = Probabilities.model_validate({"0": 0.5, "3": 0.5})
    assert probs["3"] == 0.5 and len(probs) == 2 and set(probs) == {"0", "3"}
    assert probs.model_dump(mode="json") == {"0": 0.5, "3": 0.5}
    nested = {"child-a": {"0": 1.0}, "child-b": {"1": 0.25, "2": 0.75}}
    assert Probabilities.model_validate(nested).model_dump(mode="json") == nested
    hist = Histogram.model_validate({"0": 512, "3": 488})
    assert hist.model_dump_json() == '{"0":512,"3":488}'  # counts stay integers


def test_session_tolerates_nulls() -> None:
    wire = {"id": "s", "created_at": None, "organization_id": None, "backend": None, "settings": None,
            "active": None, "status": "started", "extra": 1}
    assert Session.model_validate(wire).model_dump(mode="json", by_alias=True) == wire
