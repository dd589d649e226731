"""IonQ's circuit and job rules (ionq_mcp.circuits): validation, canonical forms and billable gate counts."""

from __future__ import annotations

from typing import Any

import pytest

from ionq_mcp.circuits import (
    CircuitError,
    Gate,
    billable_gate_counts,
    parse_circuit,
    parse_job,
)


def problems_of(gates: Any, gateset: Any = "qis", qubits: Any = None, **kw: Any) -> list[str]:
    with pytest.raises(CircuitError) as info:
        parse_circuit(gates, gateset, qubits, **kw)
    assert info.value.problems
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------------------------------------------------
# Canonical gates
# ------------------------------------------------------------------------------------------------------------


def test_not_and_cnot_become_x_with_controls() -> None:
    c = parse_circuit([{"gate": "not", "target": 0}, {"gate": "cnot", "control": 0, "target": 1},
                       {"gate": "cnot", "controls": [0, 1], "target": 2}], "qis")
    assert [g.name for g in c.gates] == ["x", "x", "x"]
    assert c.gates[1].controls == (0,) and c.gates[1].targets == (1,)
    assert c.gates[2].controls == (0, 1) and c.gates[2].qubits == (0, 1, 2)


def test_qubits_default_to_one_more_than_the_largest_index() -> None:
    assert parse_circuit([{"gate": "h", "target": 4}], "qis").qubits == 5
    assert parse_circuit([{"gate": "h", "target": 0}], "qis", 7).qubits == 7


def test_indices_given_as_whole_floats_are_accepted() -> None:
    c = parse_circuit([{"gate": "cnot", "control": 0.0, "target": 1.0}], "qis")
    assert c.gates[0].qubits == (0, 1)
    assert any("whole number" in p for p in problems_of([{"gate": "h", "target": 1.5}]))
    assert any(">= 0" in p for p in problems_of([{"gate": "h", "target": -1}]))


def test_qis_zz_and_native_zz_are_told_apart() -> None:
    qis = parse_circuit([{"gate": "zz", "targets": [0, 1], "rotation": 0.5}], "qis").gates[0]
    native = parse_circuit([{"gate": "zz", "targets": [0, 1], "angle": 0.1}], "native").gates[0]
    assert (qis.gateset, qis.params) == ("qis", {"rotation": 0.5})
    assert (native.gateset, native.params) == ("native", {"angle": 0.1})


def test_ms_angle_defaults_to_fully_entangling_and_is_range_checked() -> None:
    ms = parse_circuit([{"gate": "ms", "targets": [0, 1], "phases": [0, 0.5]}], "native").gates[0]
    assert ms.params == {"phases": (0.0, 0.5), "angle": 0.25}
    assert any("(0, 0.25]" in p for p in problems_of([{"gate": "ms", "targets": [0, 1], "phases": [0, 0],
                                                        "angle": 0.3}], "native"))
    assert any("two numbers" in p for p in problems_of([{"gate": "ms", "targets": [0, 1], "phases": [0]}],
                                                       "native"))


# ------------------------------------------------------------------------------------------------------------
# Rejections name the field, the problem and what is allowed
# ------------------------------------------------------------------------------------------------------------


def test_unknown_gate_suggests_the_other_gateset() -> None:
    (problem,) = problems_of([{"gate": "gpi", "target": 0, "phase": 0}], "qis")
    assert problem.startswith("input.circuit[0].gate") and 'set gateset to "native"' in problem
    (problem,) = problems_of([{"gate": "frobnicate", "target": 0}])
    assert "allowed:" in problem and "cnot" in problem


def test_missing_and_extra_parameters() -> None:
    (problem,) = problems_of([{"gate": "rx", "target": 0}])
    assert problem.startswith("input.circuit[0].rotation") and "radians" in problem
    (problem,) = problems_of([{"gate": "h", "target": 0, "rotation": 1}])
    assert "`h` does not take `rotation`" in problem
    (problem,) = problems_of([{"gate": "rx", "target": 0, "rotation": float("nan")}])
    assert "finite" in problem


def test_arity_controls_and_repeated_qubits() -> None:
    assert any("exactly 2" in p for p in problems_of([{"gate": "swap", "targets": [0]}]))
    assert any("needs a `control`" in p for p in problems_of([{"gate": "cnot", "target": 1}]))
    assert any("does not take `control`" in p
               for p in problems_of([{"gate": "xx", "targets": [0, 1], "control": 2, "rotation": 1}]))
    assert any("uses a qubit twice" in p for p in problems_of([{"gate": "cnot", "control": 1, "target": 1}]))
    assert any("either `target` or `targets`" in p
               for p in problems_of([{"gate": "h", "target": 0, "targets": [1]}]))


def test_pauliexp_shape_rules() -> None:
    base = {"gate": "pauliexp", "targets": [0, 1], "time": 1.0}
    assert any("one coefficient per term" in p
               for p in problems_of([{**base, "terms": ["XX", "ZZ"], "coefficients": [1.0]}]))
    assert any("one Pauli letter per target" in p
               for p in problems_of([{**base, "terms": ["XXX"], "coefficients": [1.0]}]))
    assert any("Pauli strings" in p for p in problems_of([{**base, "terms": ["AB"], "coefficients": [1.0]}]))
    gate = parse_circuit([{**base, "terms": ["xz"], "coefficients": [2]}], "qis").gates[0]
    assert gate.params["terms"] == ("XZ",) and gate.params["coefficients"] == (2.0,)


def test_qubit_limits_and_every_problem_is_listed() -> None:
    problems = problems_of([{"gate": "h", "target": 3}, {"gate": "rx", "target": 0}], "qis", 2)
    assert len(problems) == 2
    assert any("uses qubit 3 but the circuit has 2 qubits" in p for p in problems)
    assert any("exceed the limit of 29" in p for p in problems_of([{"gate": "h", "target": 29}], max_qubits=29))
    assert "must be a list" in problems_of("h q[0]")[0]
    assert "unknown gateset" in problems_of([], "fancy")[0]


# ------------------------------------------------------------------------------------------------------------
# Billing
# ------------------------------------------------------------------------------------------------------------


def counts(gates: list[dict[str, Any]], gateset: str = "qis") -> tuple[int, int]:
    return billable_gate_counts(parse_circuit(gates, gateset).gates)


def test_billable_counts_for_one_and_two_qubit_gates() -> None:
    assert counts([{"gate": "h", "target": 0}, {"gate": "rz", "target": 1, "rotation": 1}]) == (2, 0)
    assert counts([{"gate": "cnot", "control": 0, "target": 1}, {"gate": "swap", "targets": [0, 1]},
                   {"gate": "xx", "targets": [0, 1], "rotation": 1}]) == (0, 3)
    assert counts([{"gate": "gpi", "target": 0, "phase": 0}, {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
                   {"gate": "zz", "targets": [0, 1], "angle": 0.1}, {"gate": "nop", "targets": [0]}],
                  "native") == (1, 2)


@pytest.mark.parametrize("controls", [2, 3, 5])
def test_multi_controlled_gates_bill_six_per_extra_qubit(controls: int) -> None:
    gate = {"gate": "x", "controls": list(range(controls)), "target": controls}
    n = controls + 1
    assert counts([gate]) == (0, 6 * (n - 2))


def test_controlled_swap_bills_as_a_three_qubit_gate() -> None:
    assert counts([{"gate": "swap", "control": 0, "targets": [1, 2]}]) == (0, 6)


def test_pauliexp_bills_per_term_weight() -> None:
    gate = {"gate": "pauliexp", "targets": [0, 1, 2], "terms": ["ZII", "ZZI", "XYZ", "III"],
            "coefficients": [1, 1, 1, 1], "time": 1}
    assert counts([gate]) == (1, 2 * 1 + 2 * 2)


def test_billable_counts_accept_plain_gate_objects() -> None:
    assert billable_gate_counts([Gate("x", "qis", (2,), (0, 1))]) == (0, 6)


# ------------------------------------------------------------------------------------------------------------
# Job payloads
# ------------------------------------------------------------------------------------------------------------

BELL = {"gateset": "qis", "qubits": 2, "circuit": [{"gate": "h", "target": 0},
                                                   {"gate": "cnot", "control": 0, "target": 1}]}


def job(**fields: Any) -> dict[str, Any]:
    return {"type": "ionq.circuit.v1", "backend": "simulator", "input": BELL, **fields}


def job_problems(payload: Any) -> list[str]:
    with pytest.raises(CircuitError) as info:
        parse_job(payload)
    return [str(p) for p in info.value.problems]


def test_a_valid_circuit_job() -> None:
    plan = parse_job(job(shots=500, noise={"model": "aria-1", "seed": 3}))
    assert (plan.backend, plan.shots, plan.noise_model, plan.noise_seed) == ("simulator", 500, "aria-1", 3)
    assert plan.gate_counts() == (1, 1) and plan.qubits == 2 and not plan.debiasing


def test_shot_limits() -> None:
    assert any("1 to 1,000,000" in p for p in job_problems(job(shots=0)))
    assert any("QPU limit of 10,000" in p for p in job_problems(job(backend="qpu.aria-1", shots=20_000)))
    assert parse_job(job(shots=1_000_000)).shots == 1_000_000
    assert parse_job(job()).shots == 100


def test_debiasing_is_a_qpu_feature_with_a_shot_floor() -> None:
    mitigation = {"error_mitigation": {"debiasing": True}}
    assert any("QPU feature" in p for p in job_problems(job(settings=mitigation, shots=1000)))
    assert any("at least 500 shots" in p
               for p in job_problems(job(backend="qpu.aria-1", settings=mitigation, shots=100)))
    assert parse_job(job(backend="qpu.aria-1", settings=mitigation, shots=500)).debiasing


def test_an_inferred_size_over_the_limit_names_the_gate_not_an_absent_qubits_key() -> None:
    gates = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 40, "target": 1}, {"gate": "x", "target": 3}]
    with pytest.raises(CircuitError) as info:
        parse_circuit(gates, "qis", max_qubits=29)
    [problem] = info.value.problems
    assert problem.path == "input.circuit[1].control" and "41 qubits exceed the limit of 29" in str(problem)
    with pytest.raises(CircuitError) as info:  # given explicitly, `qubits` is the key at fault
        parse_circuit([{"gate": "h", "target": 0}], "qis", 30, max_qubits=29)
    assert [p.path for p in info.value.problems] == ["input.qubits"]


def test_noise_rules() -> None:
    assert any("simulator only" in p for p in job_problems(job(backend="qpu.forte-1", noise={"model": "aria-1"})))
    assert any("unknown noise model" in p for p in job_problems(job(noise={"model": "aria-9"})))
    wide = {"gateset": "qis", "qubits": 26, "circuit": [{"gate": "h", "target": 25}]}
    assert any("exceed the limit of 25" in p for p in job_problems(job(input=wide, noise={"model": "aria-1"})))
    assert parse_job(job(input=wide)).qubits == 26  # the ideal simulator takes 29


def test_backend_and_type_are_checked() -> None:
    assert any("unknown backend" in p for p in job_problems(job(backend="qpu.nope")))
    assert any("unknown job type" in p for p in job_problems(job(type="ionq.magic.v9")))
    for kind in ("quantum-function", "quantum-function.v1"):
        assert parse_job({"type": kind, "backend": "simulator", "input": {"data": {}}}).circuits == ()


def test_multi_circuit_jobs_inherit_the_gateset_and_keep_names() -> None:
    payload = {"type": "ionq.multi-circuit.v1", "backend": "simulator",
               "input": {"gateset": "native", "qubits": 2, "circuits": [
                   {"name": "a", "circuit": [{"gate": "gpi", "target": 0, "phase": 0}]},
                   {"circuit": [{"gate": "ms", "targets": [0, 1], "phases": [0, 0]}]}]}}
    plan = parse_job(payload)
    assert [c.gateset for c in plan.circuits] == ["native", "native"]
    assert plan.circuits[0].name == "a" and plan.gate_counts() == (1, 1)
    bad = {**payload, "input": {"circuits": [{"circuit": [{"gate": "h", "target": 0}]}, "oops"]}}
    assert any(p.startswith("input.circuits[1]") for p in job_problems(bad))


def test_qaoa_node_count_against_the_backend() -> None:
    nodes = [{"id": i} for i in range(30)]
    payload = {"type": "qctrl.qaoa.v1", "backend": "simulator",
               "input": {"problem_type": "maxcut", "problem": {"nodes": nodes, "adjacency": [[]] * 30}}}
    assert any("30 nodes need 30 qubits" in p for p in job_problems(payload))
