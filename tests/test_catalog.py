"""The catalog: capability specs + OpenAPI -> flat, annotated operations."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from ionq_mcp import _paths, circuits
from ionq_mcp.catalog import Catalog, CatalogError, Operation, load_catalog, snake_case

# From /work/shared/ionq-spec/NOTES.md (IonQ's published mapping), not from our code.
EXPECTED_OPENAPI_IDS = {
    "listBackends": "getBackends", "getBackend": "getBackend",
    "getBackendCharacterizations": "getCharacterizationsForBackend",
    "getBackendCharacterization": "getCharacterization", "createJob": "CreateJob", "listJobs": "GetJobs",
    "deleteJobs": "DeleteJobs", "getJob": "GetJob", "deleteJob": "DeleteJob", "getJobCost": "GetJobCost",
    "getJobEstimate": "EstimateJobCost", "getJobCircuits": "GetCompiledFile", "cancelJob": "CancelJob",
    "cancelManyJobs": "CancelJobs", "getJobProbabilities": "GetJobProbabilities",
    "getVariantProbabilities": "GetVariantProbabilities", "getVariantHistogram": "GetVariantHistogram",
    "getVariantShots": "GetVariantShots", "createSession": "CreateSession", "listSessions": "GetSessions",
    "getSession": "GetSession", "endSession": "EndSession", "listSessionJobs": "GetSessionJobs",
    "whoami": "getWhoami", "getOrganizationUsage": "get-usages",
}
EXPECTED_TOOLSETS = {"backends": 4, "jobs": 14, "sessions": 5, "usage": 2}
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def api(catalog: Catalog) -> list[Operation]:
    return [op for op in catalog if op.kind == "http"]


def _walk(schema: Any):
    yield schema
    if isinstance(schema, dict):
        for value in schema.values():
            yield from _walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _walk(value)


# --------------------------------------------------------------------------------------------------------------
# Which operations, named how, bound to which wire operation
# --------------------------------------------------------------------------------------------------------------


def test_25_api_operations_one_per_capability_entry(api: list[Operation]) -> None:
    assert len(api) == 25
    assert {op.operation_id for op in api} == set(EXPECTED_OPENAPI_IDS)


def test_toolsets_come_from_capability_file_names(api: list[Operation]) -> None:
    counts: dict[str, int] = {}
    for op in api:
        counts[op.capability] = counts.get(op.capability, 0) + 1
    assert counts == EXPECTED_TOOLSETS


def test_operations_match_openapi_by_method_and_path(api: list[Operation]) -> None:
    document = yaml.safe_load(_paths.openapi_path().read_text())
    for op in api:
        assert op.openapi_operation_id == EXPECTED_OPENAPI_IDS[op.operation_id], op.name
        assert document["paths"][op.path][op.method.lower()]["operationId"] == op.openapi_operation_id


@pytest.mark.parametrize(("op_id", "tool"), [
    ("listBackends", "list_backends"), ("createJob", "create_job"), ("getJobEstimate", "get_job_estimate"),
    ("whoami", "whoami"), ("getOrganizationUsage", "get_organization_usage"), ("get-usages", "get_usages"),
    ("getHTTPJob", "get_http_job"), ("1q_gates", "one_qubit_gates"), ("2q_gates", "two_qubit_gates"),
    ("variantId", "variant_id"),
])
def test_snake_case(op_id: str, tool: str) -> None:
    assert snake_case(op_id) == tool


def test_tool_and_argument_names_are_identifiers(catalog: Catalog) -> None:
    for op in catalog:
        assert IDENTIFIER.match(op.name), op.name
        for argument in op.arguments:
            assert IDENTIFIER.match(argument.name), (op.name, argument.name)
        assert list(op.input_schema["properties"]) == [a.name for a in op.arguments]


@pytest.mark.parametrize(("tool", "name", "location", "wire"), [
    ("get_job", "job_id", "path", "UUID"),
    ("cancel_job", "job_id", "path", "UUID"),
    ("get_backend_characterization", "characterization_id", "path", "UUID"),
    ("get_variant_histogram", "variant_id", "path", "variantId"),
    ("get_variant_histogram", "job_id", "path", "UUID"),
    ("get_job_estimate", "one_qubit_gates", "query", "1q_gates"),
    ("get_job_estimate", "two_qubit_gates", "query", "2q_gates"),
    ("list_session_jobs", "session_id", "path", "session_id"),
    ("get_organization_usage", "organization_id", "path", "organization_id"),
    ("create_job", "backend", "body", "backend"),
    ("delete_jobs", "ids", "body", "ids"),
    ("list_jobs", "ids", "query", "ids"),
])
def test_argument_renames(catalog: Catalog, tool: str, name: str, location: str, wire: str) -> None:
    argument = catalog.get(tool).argument(name)
    assert argument is not None, f"{tool} has no argument {name}"
    assert (argument.location, argument.wire_name) == (location, wire)


def test_query_parameter_duplicating_a_path_parameter_is_dropped(catalog: Catalog) -> None:
    op = catalog.get("list_session_jobs")
    assert [a.location for a in op.arguments if a.name == "session_id"] == ["path"]
    assert op.split({"session_id": "s1", "limit": 5}) == ({"session_id": "s1"}, {"limit": 5}, None)


def test_bodies_are_flat_without_a_body_wrapper(catalog: Catalog) -> None:
    create = catalog.get("create_job")
    assert {"backend", "type", "input", "shots", "settings", "noise", "name", "metadata"} <= set(
        create.input_schema["properties"])
    assert set(create.input_schema["required"]) == {"backend", "type", "input"}
    for op in catalog:
        assert "body" not in op.input_schema["properties"], op.name
    path, query, body = create.split({"backend": "simulator", "type": "ionq.circuit.v1", "input": {"x": 1}})
    assert (path, query) == ({}, {})
    assert body == {"backend": "simulator", "type": "ionq.circuit.v1", "input": {"x": 1}}


def test_merged_job_payload_enumerates_every_job_type_and_backend(catalog: Catalog) -> None:
    props = catalog.get("create_job").input_schema["properties"]
    assert set(props["type"]["enum"]) == set(circuits.JOB_TYPES)
    assert "quantum-function.v1" in props["type"]["enum"]
    assert props["backend"]["enum"] == list(circuits.JOB_BACKENDS)
    assert set(props["input"]["properties"]) >= {"qubits", "gateset", "circuit", "circuits"}
    validation = catalog.get("create_job").validation_schema
    assert len(validation["x-body"]["anyOf"]) == 4  # the original branches are kept for validation


def test_schemas_are_inline_compact_and_valid(catalog: Catalog) -> None:
    for op in catalog:
        for schema in (op.input_schema, op.output_schema, op.validation_schema):
            if schema is None:
                continue
            Draft202012Validator.check_schema(schema)
            text = json.dumps(schema)
            if schema is op.input_schema:  # only references to the schema's own $defs (a repeat said once)
                refs = re.findall(r'"\$ref": "([^"]+)"', text)
                assert all(r.startswith("#/$defs/") and r[8:] in schema.get("$defs", {}) for r in refs), op.name
            else:
                assert "$ref" not in text, op.name
        assert op.input_schema["type"] == "object"
        for node in _walk(op.input_schema):
            if isinstance(node, dict):
                assert node.get("format") not in ("int32", "double"), op.name
                assert not {"example", "examples", "x-codeSamples", "nullable"} & set(node), op.name
                if op.kind == "http":  # unions are merged into one property set for the model
                    assert not {"anyOf", "oneOf", "allOf"} & set(node), op.name


def test_reconciled_constraints(catalog: Catalog) -> None:
    session = catalog.get("create_session").input_schema["properties"]["settings"]["properties"]
    assert session["job_count_limit"]["minimum"] == 1
    assert session["duration_limit_min"]["minimum"] == 1
    assert session["cost_limit"]["properties"]["value"]["minimum"] == 0
    status = catalog.get("list_jobs").input_schema["properties"]["status"]["enum"]
    assert set(status) == {"submitted", "ready", "started", "canceled", "failed", "completed"}
    assert "simulator" in catalog.get("get_backend").input_schema["properties"]["backend"]["enum"]
    estimate = catalog.get("get_job_estimate").input_schema
    assert estimate["required"] == ["backend"]
    assert estimate["properties"]["backend"]["enum"] == list(circuits.JOB_BACKENDS)


# --------------------------------------------------------------------------------------------------------------
# What the agent reads
# --------------------------------------------------------------------------------------------------------------


def test_create_job_description_documents_every_gate_units_limits_and_cost(catalog: Catalog) -> None:
    text = catalog.get("create_job").description
    for name in [*circuits.QIS_GATES, *circuits.NATIVE_GATES]:
        assert re.search(rf"\b{re.escape(name)}\b", text), name
    for fact in ("radians", "turns", str(circuits.MIN_DEBIASING_SHOTS), f"{circuits.MAX_QPU_SHOTS:,}",
                 "get_job_estimate", "cost real money", "29 qubits", "25 qubits", "36 qubits"):
        assert fact in text, fact


def test_probability_tools_state_the_bit_order(catalog: Catalog) -> None:
    assert "least significant bit" in catalog.get("get_job_probabilities").description
    for name in ("get_variant_probabilities", "get_variant_histogram"):
        assert "get_job_probabilities" in catalog.get(name).description


def test_every_tool_has_a_title_and_a_description(catalog: Catalog) -> None:
    for op in catalog:
        assert op.title.strip() and op.description.strip(), op.name


def test_model_visible_bytes_within_budget(api: list[Operation]) -> None:
    visible = sum(len(json.dumps({"name": op.name, "description": op.description, "inputSchema": op.input_schema}))
                  for op in api)
    assert visible <= 24_000, visible


# --------------------------------------------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------------------------------------------


def test_annotations_follow_method_and_meaning(api: list[Operation]) -> None:
    for op in api:
        assert op.open_world, op.name
        if op.method == "GET":
            assert (op.read_only, op.destructive, op.idempotent) == (True, False, True), op.name
        elif op.method == "DELETE":
            assert (op.read_only, op.destructive, op.idempotent) == (False, True, True), op.name
        elif op.method == "PUT":
            assert (op.read_only, op.idempotent) == (False, True), op.name
        else:
            assert (op.read_only, op.idempotent) == (False, False), op.name
    by_name = {op.name: op for op in api}
    for name in ("cancel_job", "cancel_many_jobs", "end_session", "delete_job", "delete_jobs"):
        assert by_name[name].destructive, name
    for name in ("create_job", "create_session"):
        assert not by_name[name].destructive, name


def test_public_backend_reads_need_no_key(catalog: Catalog) -> None:
    assert not catalog.get("list_backends").secured
    assert not catalog.get("get_backend").secured
    assert catalog.get("create_job").secured and catalog.get("whoami").secured


# --------------------------------------------------------------------------------------------------------------
# Output schemas: relaxed, wrapped when the response is not an object
# --------------------------------------------------------------------------------------------------------------


def _nulls_and_extras(schema: dict[str, Any]) -> dict[str, Any]:
    """A response where every declared property is null and an undeclared one is present."""
    return {**{name: None for name in schema.get("properties", {})}, "field_added_next_release": {"x": [1]}}


def test_output_schemas_accept_null_and_extra_fields(catalog: Catalog) -> None:
    for op in catalog:
        if op.output_schema is None:
            continue
        assert op.output_schema["type"] == "object", op.name
        errors = list(Draft202012Validator(op.output_schema).iter_errors(_nulls_and_extras(op.output_schema)))
        assert not errors, (op.name, [e.message for e in errors])


def test_relaxed_job_output_accepts_a_real_looking_job_with_new_status_and_fields(catalog: Catalog) -> None:
    job = {
        "id": "e1a09d90-b2ba-4ea5-9fd7-4bfc14eac524", "status": "running", "type": "ionq.circuit.v1",
        "backend": "qpu.forte-enterprise-3", "dry_run": False, "shots": 1000, "noise": None, "failure": None,
        "stats": {"qubits": 2, "gate_counts": {"1q": 1, "2q": 1}, "new_stat": "x"},
        "settings": {"error_mitigation": {"debiasing": {"phi_chi_twirling": {"p2q": None}}}},
        "results": {"probabilities": {"url": "/v0.4/jobs/x/results/probabilities"}, "new": {}},
        "child_job_ids": None, "brand_new_field": [1, 2, 3],
    }
    assert not list(Draft202012Validator(catalog.get("get_job").output_schema).iter_errors(job))


def test_non_object_responses_are_wrapped(catalog: Catalog) -> None:
    backends = json.loads((_paths.schemas_dir() / "examples" / "ionq-get-backends-example.json").read_text())
    expected = {"list_backends": "backends", "get_job_circuits": "circuit",
                "get_job_probabilities": "probabilities", "get_variant_probabilities": "probabilities",
                "get_variant_histogram": "histogram", "get_variant_shots": "shots"}
    for name, key in expected.items():
        op = catalog.get(name)
        assert op.result_key == key, name
        assert list(op.output_schema["properties"]) == [key], name
    for op in catalog:
        if op.name not in expected:
            assert op.result_key is None, op.name
    backends[0]["new_field"] = None
    backends[0]["qubits"] = None
    validator = Draft202012Validator(catalog.get("list_backends").output_schema)
    assert not list(validator.iter_errors({"backends": backends}))
    probabilities = Draft202012Validator(catalog.get("get_job_probabilities").output_schema)
    assert not list(probabilities.iter_errors({"probabilities": {"0": 0.5, "3": 0.5}, "truncated": False}))
    assert list(probabilities.iter_errors({"probabilities": {"0": "half"}}))  # still a real schema
    circuit = Draft202012Validator(catalog.get("get_job_circuits").output_schema)
    assert not list(circuit.iter_errors({"circuit": "OPENQASM 3;"}))


# --------------------------------------------------------------------------------------------------------------
# Splitting arguments and rendering paths
# --------------------------------------------------------------------------------------------------------------


def test_split_and_render_path(catalog: Catalog) -> None:
    op = catalog.get("get_variant_shots")
    path, query, body = op.split({"job_id": "j/1", "variant_id": "v 2"})
    assert (path, query, body) == ({"UUID": "j/1", "variantId": "v 2"}, {}, None)
    assert op.render_path(path) == "/jobs/j%2F1/variants/v%202/results/shots"
    assert op.render_path({"job_id": "a", "variant_id": "b"}) == "/jobs/a/variants/b/results/shots"
    with pytest.raises(KeyError, match="variant_id"):
        op.render_path({"job_id": "a"})
    estimate = catalog.get("get_job_estimate")
    assert estimate.split({"backend": "simulator", "one_qubit_gates": 3, "shots": None}) == (
        {}, {"backend": "simulator", "1q_gates": 3}, None)
    assert catalog.get("create_session").split({"backend": "qpu.aria-1"})[2] == {"backend": "qpu.aria-1"}


def test_select(catalog: Catalog) -> None:
    assert {op.capability for op in catalog.select(toolsets=["usage"])} == {"usage"}
    assert catalog.select(tools=["get_job", "whoami"]).names() == [
        n for n in catalog.names() if n in ("get_job", "whoami")]
    read_only = catalog.select(read_only=True)
    assert read_only.names() and all(op.read_only for op in read_only)
    assert "create_job" not in read_only and "get_job" in read_only
    with pytest.raises(KeyError, match="known"):
        catalog.select(toolsets=["nope"])
    with pytest.raises(KeyError, match="create_job"):
        catalog.get("create_jobs")


# --------------------------------------------------------------------------------------------------------------
# Data-driven: a new capability file yields new operations with no code change
# --------------------------------------------------------------------------------------------------------------


def _capability(name: str, operations: list[dict[str, Any]], **metadata: Any) -> str:
    return yaml.safe_dump({"apiVersion": "naftiko.dev/v1", "kind": "Capability",
                           "metadata": {"name": name, **metadata}, "spec": {"operations": operations}},
                          sort_keys=False)


def test_extra_capability_file_yields_new_operations(tmp_path: Path) -> None:
    for file in _paths.capabilities_dir().glob("quantum-cloud-*.yaml"):
        shutil.copy(file, tmp_path / file.name)
    (tmp_path / "quantum-cloud-extras.yaml").write_text(_capability("ionq-quantum-cloud-extras", [
        {"id": "peekJob", "method": "GET", "path": "/jobs/{UUID}", "summary": "Peek at a job"},
        {"id": "cancelJobNow", "method": "PUT", "path": "/jobs/{UUID}/status/cancel", "summary": "Cancel now"},
    ]))
    (tmp_path / "my-workflows.yaml").write_text(_capability("my-flows", [{
        "id": "doubleCheck", "x-handler": "workflow", "summary": "Double-check a job payload",
        "description": "Validate a payload twice.",
        "inputSchema": {"type": "object", "properties": {"backend": {"type": "string"}, "type": {"type": "string"},
                                                         "input": {"type": "object"}}, "required": ["backend"]},
        "outputSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                         "additionalProperties": False},
        "hints": {"readOnly": True, "destructive": False, "idempotent": True, "openWorld": False},
    }], toolset="flows"))
    catalog = load_catalog(tmp_path)
    assert len(catalog) == 25 + 3
    peek = catalog.get("peek_job")
    assert (peek.capability, peek.openapi_operation_id, peek.method) == ("extras", "GetJob", "GET")
    assert [a.name for a in peek.arguments] == ["job_id"] and peek.read_only
    assert peek.output_schema == catalog.get("get_job").output_schema
    cancel = catalog.get("cancel_job_now")
    assert cancel.destructive and cancel.idempotent and not cancel.read_only
    flow = catalog.get("double_check")
    assert (flow.kind, flow.capability, flow.method, flow.path) == ("workflow", "flows", None, None)
    assert flow.read_only and not flow.open_world and flow.validates_job_payload
    assert [a.name for a in flow.arguments] == ["backend", "type", "input"]
    assert not list(Draft202012Validator(flow.output_schema).iter_errors({"ok": None, "more": 1}))


def test_extra_files_argument_and_toolset_override(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(_capability("whatever", [{"id": "whoAmIAgain", "method": "GET", "path": "/whoami"}],
                                 toolset="identity"))
    catalog = load_catalog(extra_files=[extra])
    op = catalog.get("who_am_i_again")
    assert op.capability == "identity" and op.openapi_operation_id == "getWhoami"


def test_bad_capability_entries_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(_capability("ionq-quantum-cloud-bad", [
        {"id": "teleport", "method": "POST", "path": "/teleport"}]))
    with pytest.raises(CatalogError, match=r"bad.yaml.*teleport.*POST /teleport"):
        load_catalog(tmp_path)
    (tmp_path / "bad.yaml").write_text(_capability("ionq-quantum-cloud-bad", [{"id": "nothing"}]))
    with pytest.raises(CatalogError, match="nothing"):
        load_catalog(tmp_path)
    (tmp_path / "bad.yaml").write_text(_capability("ionq-quantum-cloud-bad", [
        {"id": "getJob", "method": "GET", "path": "/jobs/{UUID}"},
        {"id": "get_job", "method": "GET", "path": "/jobs/{UUID}"}]))
    with pytest.raises(CatalogError, match="already defined"):
        load_catalog(tmp_path)


def test_every_output_unit_names_a_real_output_field() -> None:
    import json

    from ionq_mcp import _catalog_text as text

    ops = {f"{op.method} {op.path}": op for op in load_catalog().operations if op.kind == "http"}
    for route, units in text.OUTPUT_UNITS.items():
        described = json.dumps(ops[route].output_schema).count('"description"')
        assert described == len(units), route
    timing = ops["GET /backends/{backend}/characterizations/{UUID}"].output_schema["properties"]["timing"]
    assert timing["properties"]["2q"]["type"] == ["number", "null"]  # seconds as floats, not the spec's integer


def test_create_job_states_its_gate_schema_once(catalog: Catalog) -> None:
    schema = catalog.get("create_job").input_schema
    text = json.dumps(schema)
    assert text.count('"pauliexp"') == 1 and text.count('"#/$defs/circuit"') == 2
    bell = {"type": "ionq.circuit.v1", "backend": "simulator", "input": {"gateset": "qis", "qubits": 2, "circuit": [
        {"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}}
    assert not list(Draft202012Validator(schema).iter_errors(bell))
    bad = {**bell, "input": {**bell["input"], "circuit": [{"gate": "nope", "target": 0}]}}
    assert list(Draft202012Validator(schema).iter_errors(bad))  # the reference resolves to the gate schema


def test_job_workflows_describe_their_fields_without_pointing_elsewhere(catalog: Catalog) -> None:
    for name in ("estimate_circuit_cost", "run_circuit", "compare_backends"):
        op = catalog.get(name)
        text = json.dumps(op.input_schema) + op.description
        assert "create_job" not in text, name
        assert all(gate in text for gate in ("cnot", "gpi2", "ms")), name  # the gate list
        assert all(model in text for model in circuits.NOISE_MODEL_QUBITS), name  # the noise models
        assert "debiasing" in text, name  # the settings
        assert op.input_schema["properties"]["backend"]["enum"] == list(circuits.JOB_BACKENDS), name


def test_backend_enums_offer_only_backends_that_exist(catalog: Catalog) -> None:
    for op in catalog:
        backend = op.input_schema.get("properties", {}).get("backend")
        if isinstance(backend, dict) and "enum" in backend:
            assert set(backend["enum"]) <= set(circuits.JOB_BACKENDS), op.name
