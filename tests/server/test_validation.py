"""Argument validation before anything is sent: names, JSON Schema with discriminated unions, IonQ's rules.

Expected problems come from IonQ's documented rules (docs/reference/ionq-notes.md), not from our messages:
each test checks the path the agent must fix and a fact of the rule (the limit, the unit, the allowed names).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionq_mcp import circuits
from ionq_mcp.catalog import Catalog, Operation, load_catalog
from ionq_mcp.circuits import Problem
from ionq_mcp.server._validation import format_problems, validate_call

CATALOG: Catalog = load_catalog()
OPERATIONS: list[Operation] = list(CATALOG)
JOB_OPS: list[Operation] = [op for op in OPERATIONS if op.validates_job_payload]
ANY_OF_NOISE = "is not valid under any of the given schemas"

UUIDS = {name: f"00000000-0000-4000-8000-00000000000{i}" for i, name in enumerate(
    ("job_id", "variant_id", "session_id", "characterization_id", "organization_id"))}
BELL_INPUT = {"qubits": 2, "gateset": "qis",
              "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}
SAMPLES: dict[str, Any] = {
    **UUIDS, "backend": "simulator", "type": "ionq.circuit.v1", "input": BELL_INPUT, "lang": "qasm3",
    "start_date": "2026-01-01", "end_date": "2026-02-01", "ids": [UUIDS["job_id"]],
}
WRONG_TYPE = {"string": 12345, "integer": "many", "number": "lots", "boolean": "yes", "array": "not-a-list",
              "object": "not-an-object"}


def _sample(schema: dict[str, Any], name: str) -> Any:
    if name in SAMPLES:
        return copy.deepcopy(SAMPLES[name])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}[kind]


def valid_arguments(op: Operation) -> dict[str, Any]:
    props = op.input_schema["properties"]
    return {a.name: _sample(props[a.name], a.name) for a in op.arguments if a.required}


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def find(problems: list[Problem], path: str) -> Problem:
    for problem in problems:
        if problem.path == path:
            return problem
    raise AssertionError(f"no problem at {path!r}; got {[str(p) for p in problems]}")


def check(op: Operation, arguments: Any) -> list[Problem]:
    problems = validate_call(op, arguments)
    text = format_problems(op, problems)
    assert ANY_OF_NOISE not in text
    return problems


def job(**changes: Any) -> dict[str, Any]:
    payload = {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 100, "input": copy.deepcopy(BELL_INPUT)}
    payload.update(changes)
    return payload


def circuit_job(gates: list[dict[str, Any]], *, gateset: str = "qis", qubits: int = 2, **changes: Any) -> dict:
    return job(input={"qubits": qubits, "gateset": gateset, "circuit": gates}, **changes)


# --------------------------------------------------------------------------------------------------------------
# Every operation: valid arguments pass, malformed ones name the field
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_valid_minimal_arguments_pass(op: Operation) -> None:
    assert check(op, valid_arguments(op)) == []


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_unknown_argument_is_named_with_the_allowed_names(op: Operation) -> None:
    problems = check(op, {**valid_arguments(op), "frobnicate": 1})
    problem = find(problems, "frobnicate")
    assert "unknown argument" in problem.message
    for argument in op.arguments:
        assert argument.name in (problem.allowed or "")


@pytest.mark.parametrize("op", [op for op in OPERATIONS if any(a.required for a in op.arguments)],
                         ids=lambda op: op.name)
def test_missing_required_argument_is_named(op: Operation) -> None:
    for argument in op.arguments:
        if argument.required:
            arguments = valid_arguments(op)
            del arguments[argument.name]
            problems = check(op, arguments)
            assert argument.name in paths(problems), (argument.name, [str(p) for p in problems])
            assert "required" in find(problems, argument.name).message


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_wrong_type_names_the_argument(op: Operation) -> None:
    tested = 0
    for argument in op.arguments:
        kind = op.input_schema["properties"][argument.name].get("type")
        if not isinstance(kind, str):
            continue
        problems = check(op, {**valid_arguments(op), argument.name: WRONG_TYPE[kind]})
        assert any(p.path == argument.name or p.path.startswith(argument.name + ".") for p in problems), (
            argument.name, [str(p) for p in problems])
        tested += 1
    assert tested == sum(1 for a in op.arguments if isinstance(op.input_schema["properties"][a.name].get("type"), str))


def test_wire_names_point_to_the_tool_names() -> None:
    problems = check(CATALOG.get("get_job_estimate"), {"backend": "simulator", "1q_gates": 4})
    assert "one_qubit_gates" in find(problems, "1q_gates").message
    problems = check(CATALOG.get("get_job"), {"UUID": UUIDS["job_id"]})
    assert "job_id" in find(problems, "UUID").message


def test_typo_gets_the_closest_name() -> None:
    problems = check(CATALOG.get("create_job"), {**job(), "shot": 10})
    assert "`shots`" in find(problems, "shot").message


def test_enum_and_range_problems_list_what_is_allowed() -> None:
    problems = check(CATALOG.get("get_backend"), {"backend": "qpu.harmony-9"})
    assert "qpu.aria-1" in (find(problems, "backend").allowed or "")
    problems = check(CATALOG.get("get_backend_characterizations"), {"backend": "qpu.aria-1", "limit": 11})
    assert "10" in (find(problems, "limit").allowed or "")
    problems = check(CATALOG.get("create_session"), {"backend": "qpu.aria-1",
                                                     "settings": {"job_count_limit": 0, "cost_limit": {"value": -1}}})
    assert "1" in (find(problems, "settings.job_count_limit").allowed or "")
    assert "0" in (find(problems, "settings.cost_limit.value").allowed or "")
    assert "required" in find(problems, "settings.cost_limit.unit").message


def test_path_argument_values_are_checked() -> None:
    problems = check(CATALOG.get("get_job_circuits"), {"job_id": UUIDS["job_id"], "lang": "pdf"})
    assert find(problems, "lang").allowed == "native, qasm3"
    problems = check(CATALOG.get("get_job"), {"job_id": 42})
    assert "string" in find(problems, "job_id").message


def test_non_object_arguments_are_a_problem_not_a_crash() -> None:
    for value in ([], "x", 3):
        problems = check(CATALOG.get("get_job"), value)
        assert problems and "JSON object" in problems[0].message


# --------------------------------------------------------------------------------------------------------------
# Job payloads: IonQ's rules, for create_job and every workflow that takes a job payload
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(params=JOB_OPS, ids=lambda op: op.name)
def job_op(request: pytest.FixtureRequest) -> Operation:
    return request.param


def _job_args(op: Operation, payload: dict[str, Any]) -> dict[str, Any]:
    names = {a.name for a in op.arguments}
    return {k: v for k, v in payload.items() if k in names}


def test_job_ops_include_create_job_and_the_job_workflows() -> None:
    names = {op.name for op in JOB_OPS}
    assert "create_job" in names
    assert not {op.name for op in OPERATIONS if op.method == "GET"} & names


def test_bell_job_is_valid(job_op: Operation) -> None:
    assert check(job_op, _job_args(job_op, job())) == []


def test_unknown_gate(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "h", "target": 0}, {"gate": "hadamard", "target": 1}])))
    problem = find(problems, "input.circuit[1].gate")
    assert "hadamard" in problem.message and "cnot" in (problem.allowed or "")


def test_native_gate_in_a_qis_circuit_says_which_gateset(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "gpi2", "target": 0, "phase": 0.25}])))
    assert "native" in find(problems, "input.circuit[0].gate").message


def test_qubit_out_of_range(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "x", "target": 2}], qubits=2)))
    problem = find(problems, "input.circuit[0].target")
    assert "2" in problem.message and "0..1" in (problem.allowed or "")


def test_qubit_out_of_range_names_the_exact_key(job_op: Operation) -> None:
    gates = [{"gate": "h", "target": 0}, {"gate": "x", "controls": [0, 5], "target": 1},
             {"gate": "swap", "targets": [1, 9]}]
    problems = check(job_op, _job_args(job_op, circuit_job(gates, qubits=2)))
    assert "qubit 5" in find(problems, "input.circuit[1].controls[1]").message
    assert "qubit 9" in find(problems, "input.circuit[2].targets[1]").message


def test_control_equals_target(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "cnot", "control": 1, "target": 1}])))
    assert "differ" in find(problems, "input.circuit[0]").message


def test_wrong_arity(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "swap", "targets": [0]}])))
    assert "2" in find(problems, "input.circuit[0].targets").message


def test_missing_rotation_says_radians(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, circuit_job([{"gate": "ry", "target": 0}])))
    assert "radians" in (find(problems, "input.circuit[0].rotation").allowed or "")


def test_native_phase_in_turns(job_op: Operation) -> None:
    gates = [{"gate": "gpi2", "target": 0}, {"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.5},
             {"gate": "gpi", "target": 1, "phase": "quarter"}]
    problems = check(job_op, _job_args(job_op, circuit_job(gates, gateset="native")))
    assert "turns" in (find(problems, "input.circuit[0].phase").allowed or "")
    assert "0.25" in find(problems, "input.circuit[1].angle").message
    assert "input.circuit[2].phase" in paths(problems)


def test_debiasing_needs_500_shots(job_op: Operation) -> None:
    payload = job(backend="qpu.aria-1", shots=499, settings={"error_mitigation": {"debiasing": True}})
    problems = check(job_op, _job_args(job_op, payload))
    assert "500" in find(problems, "settings.error_mitigation.debiasing").message
    payload["shots"] = 500
    assert check(job_op, _job_args(job_op, payload)) == []


def test_qpu_shots_capped_at_10000(job_op: Operation) -> None:
    problems = check(job_op, _job_args(job_op, job(backend="qpu.forte-1", shots=10_001)))
    assert "10,000" in find(problems, "shots").message
    assert check(job_op, _job_args(job_op, job(backend="simulator", shots=10_001))) == []


def test_backend_qubit_limit(job_op: Operation) -> None:
    gates = [{"gate": "h", "target": q} for q in range(26)]
    problems = check(job_op, _job_args(job_op, circuit_job(gates, qubits=26, backend="qpu.aria-1")))
    assert "25" in find(problems, "input.qubits").message
    assert check(job_op, _job_args(job_op, circuit_job(gates, qubits=26, backend="qpu.forte-1"))) == []


def test_noise_model_caps_simulator_qubits(job_op: Operation) -> None:
    gates = [{"gate": "h", "target": q} for q in range(12)]
    payload = circuit_job(gates, qubits=12, noise={"model": "harmony"})
    assert "11" in find(check(job_op, _job_args(job_op, payload)), "input.qubits").message


# --------------------------------------------------------------------------------------------------------------
# Unions: the branch named by the discriminator is the one reported
# --------------------------------------------------------------------------------------------------------------


CREATE = CATALOG.get("create_job")


def test_multi_circuit_gateset_inheritance_and_override() -> None:
    payload = {"type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 100, "input": {
        "gateset": "native", "qubits": 2, "circuits": [
            {"name": "override", "gateset": "qis", "circuit": [{"gate": "h", "target": 0}]},
            {"name": "inherits", "circuit": [{"gate": "ms", "targets": [0, 1], "phases": [0, 0.25]}]},
        ]}}
    assert check(CREATE, payload) == []
    payload["input"]["circuits"][1]["circuit"].append({"gate": "h", "target": 0})
    problem = find(check(CREATE, payload), "input.circuits[1].circuit[1].gate")
    assert "native" in problem.message and "gpi2" in (problem.allowed or "")


def test_unknown_job_type_lists_the_job_types() -> None:
    problems = check(CREATE, job(type="ionq.circuit.v2"))
    problem = find(problems, "type")
    for job_type in circuits.JOB_TYPES:
        assert job_type in (problem.allowed or "")
    assert len(problems) == 1  # the rest of the payload fits the circuit branch


def test_missing_type_is_required_and_the_rest_is_still_checked() -> None:
    payload = circuit_job([{"gate": "rx", "target": 0}])
    del payload["type"]
    problems = check(CREATE, payload)
    assert "required" in find(problems, "type").message
    assert "input.circuit[0].rotation" in paths(problems)


def test_circuit_branch_chosen_by_gateset() -> None:
    payload = job(input={"gateset": "native", "qubits": 1, "circuit": [], "registers": {}})
    problem = find(check(CREATE, payload), "input.registers")
    assert "unknown field" in problem.message and "circuit" in (problem.allowed or "")
    problem = find(check(CREATE, job(input={"gateset": "cirq", "circuit": []})), "input.gateset")
    assert "qis" in (problem.allowed or "") and "native" in (problem.allowed or "")


def test_qaoa_branch_reports_its_own_fields() -> None:
    payload = {"type": "qctrl.qaoa.v1", "backend": "simulator",
               "input": {"problem_type": "maxcut", "problem": {"nodes": [{"id": 0}, {"id": 1}]}}}
    problems = check(CREATE, payload)
    assert paths(problems) == ["external_settings"]
    payload["external_settings"] = {"api_credentials": "qctrl-key"}
    assert check(CREATE, payload) == []
    payload["input"]["problem_type"] = "maxflow"
    assert "maxcut" in (find(check(CREATE, payload), "input.problem_type").allowed or "")


def test_multi_circuit_branch_requires_circuits() -> None:
    problems = check(CREATE, {"type": "ionq.multi-circuit.v1", "backend": "simulator",
                              "input": {"gateset": "qis", "circuit": []}})
    assert "input.circuits" in paths(problems)


def test_quantum_function_both_spellings_accepted() -> None:
    for job_type in circuits.QUANTUM_FUNCTION_JOBS:
        payload = {"type": job_type, "backend": "simulator",
                   "input": {"type": "my-function", "data": {"k": 1}, "params": [0.1]}}
        assert check(CREATE, payload) == []


def test_format_problems_names_paths_and_that_nothing_was_sent() -> None:
    problems = check(CREATE, circuit_job([{"gate": "cnot", "control": 0, "target": 5}]))
    text = format_problems(CREATE, problems)
    assert "input.circuit[0]" in text and "Nothing was sent" in text and "create_job" in text
    many = check(CREATE, circuit_job([{"gate": "nope", "target": 0}] * 30))
    assert len(many) == 30 and "10 more" in format_problems(CREATE, many)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
field_names = st.sampled_from(["type", "backend", "shots", "input", "settings", "noise", "name", "metadata",
                               "gateset", "circuit", "circuits", "qubits", "gate", "target", "bogus"])
payloads = st.dictionaries(field_names, json_values | st.dictionaries(field_names, json_values, max_size=4),
                           max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads)
def test_arbitrary_json_never_crashes_validation(payload: dict[str, Any]) -> None:
    for op in JOB_OPS:
        problems = validate_call(op, payload)
        assert all(isinstance(p, Problem) for p in problems)
        format_problems(op, problems)


def test_null_where_a_value_is_needed_says_null_once() -> None:
    from ionq_mcp.catalog import load_catalog
    from ionq_mcp.server._validation import validate_call

    op = load_catalog().get("get_job_estimate")
    problems = validate_call(op, {"backend": "simulator", "shots": None})
    texts = [str(p) for p in problems]
    assert any(t.startswith("shots: must be an integer, got null") for t in texts), texts
    assert not any("null null" in t for t in texts), texts


def test_numbers_too_big_for_a_double_name_their_field() -> None:
    huge = 10**400
    rotation = check(CATALOG.get("create_job"), circuit_job([{"gate": "rx", "target": 0, "rotation": huge}]))
    assert "finite" in find(rotation, "input.circuit[0].rotation").message
    timeout = check(CATALOG.get("run_circuit"), {**{k: v for k, v in job().items() if k != "type"},
                                                 "timeout_s": huge})
    assert "too large" in find(timeout, "timeout_s").message
    session = check(CATALOG.get("create_session"), {"backend": "qpu.aria-1", "settings": {
        "cost_limit": {"unit": "usd", "value": -huge}}})
    assert "too large" in find(session, "settings.cost_limit.value").message
    nan = check(CATALOG.get("get_job_estimate"), {"backend": "qpu.aria-1", "shots": float("nan")})
    assert find(nan, "shots")


@pytest.mark.parametrize(("arguments", "path"), [
    ({"parent_job_id": "x"}, "parent_job_id"),
    ({"session_id": "not-a-uuid"}, "session_id"),
    ({"ids": ["0b8f5b0e-9c6a-4c55-9d47-6f1e0e1f6c2a", "job-2"]}, "ids[1]"),
])
def test_query_filters_that_name_a_job_session_or_user_must_be_uuids(arguments: dict, path: str) -> None:
    # IonQ answers 400 to a non-UUID filter: refuse it before sending, naming the exact item
    problem = find(check(CATALOG.get("list_jobs"), arguments), path)
    assert "UUID" in problem.message


def test_a_uuid_filter_passes() -> None:
    assert check(CATALOG.get("list_jobs"), {"parent_job_id": "0b8f5b0e-9c6a-4c55-9d47-6f1e0e1f6c2a"}) == []
