"""Native compilation keeps the measurement distribution; OpenQASM 3 output keeps the state."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._compile import MAX_COMPILE_CONTROLS, compile_to_native, to_qasm3
from ionq_mcp.sandbox._qfunc import ansatz_state
from ionq_mcp.sandbox._simulator import simulate_probabilities, simulate_statevector
from tests.sandbox.test_simulator import _random_gates


def _distribution_preserved(gates: list[dict[str, Any]], n: int, gateset: str = "qis") -> list[dict[str, Any]]:
    circuit = parse_circuit(gates, gateset, n)
    native = compile_to_native(circuit)
    assert {g["gate"] for g in native} <= {"gpi", "gpi2", "ms"}
    compiled = parse_circuit(native, "native", n)  # IonQ's own rules accept the output (ms angle in (0, 0.25])
    np.testing.assert_allclose(simulate_probabilities(compiled), simulate_probabilities(circuit), atol=1e-10)
    return native


@pytest.mark.parametrize("seed", range(8))
def test_random_qis_circuits_keep_their_distribution(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = 4
    gates = _random_gates(rng, n, 25)
    for g in gates:
        if g["gate"] in ("rx", "ry", "rz"):
            g["rotation"] = float(rng.uniform(-4, 4))
    _distribution_preserved(gates, n)


def test_every_gate_kind_compiles() -> None:
    rotations = [-3.0, -2.0, -0.4, 0.0, 0.9, math.pi / 2, 2.5, 6.0]
    gates: list[dict[str, Any]] = [{"gate": "h", "target": q} for q in range(4)]
    gates += [{"gate": "ry", "target": q, "rotation": 0.3 * (q + 1)} for q in range(4)]
    for i, r in enumerate(rotations):
        gates.append({"gate": ("xx", "yy", "zz")[i % 3], "targets": [i % 4, (i + 1) % 4], "rotation": r})
    gates += [
        {"gate": "x", "controls": [0, 1, 2], "target": 3},
        {"gate": "rz", "controls": [3, 1], "target": 0, "rotation": 1.1},
        {"gate": "v", "control": 2, "target": 1},
        {"gate": "swap", "targets": [0, 3]},
        {"gate": "swap", "control": 1, "targets": [0, 2]},
        {"gate": "pauliexp", "targets": [0, 2, 3], "terms": ["XYZ", "ZYX", "IYI"], "coefficients": [0.3, -0.7, 1.2],
         "time": 0.9},
        {"gate": "pauliexp", "targets": [1], "terms": ["Y"], "coefficients": [2.0], "time": 0.25},
    ]
    _distribution_preserved(gates, 4)


def test_native_input_including_forte_zz_compiles_to_gpi_gpi2_ms() -> None:
    gates = [{"gate": "gpi2", "target": 0, "phase": 0.1}, {"gate": "gpi", "target": 1, "phase": 0.33},
             {"gate": "ms", "targets": [1, 0], "phases": [0.2, 0.7], "angle": 0.11},
             {"gate": "zz", "targets": [0, 1], "angle": 0.21}, {"gate": "gpi2", "target": 1, "phase": 0.6},
             {"gate": "nop", "targets": [0]}]
    _distribution_preserved(gates, 2, "native")


def test_a_cnot_costs_one_fully_entangling_ms() -> None:
    native = _distribution_preserved([{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}], 2)
    ms = [g for g in native if g["gate"] == "ms"]
    assert len(ms) == 1 and "angle" not in ms[0]  # default 0.25


def test_z_rotations_are_virtual() -> None:
    assert compile_to_native(parse_circuit([{"gate": "rz", "target": 0, "rotation": 0.3},
                                            {"gate": "s", "target": 0}, {"gate": "t", "target": 0}], "qis")) == []


def test_what_cannot_be_compiled_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="non-commuting"):
        compile_to_native(parse_circuit([{"gate": "pauliexp", "targets": [0], "terms": ["X", "Z"],
                                          "coefficients": [1, 1], "time": 1}], "qis"))
    too_many = MAX_COMPILE_CONTROLS + 1
    gate = {"gate": "x", "controls": list(range(too_many)), "target": too_many}
    with pytest.raises(ValueError, match=f"at most {MAX_COMPILE_CONTROLS} controls"):
        compile_to_native(parse_circuit([gate], "qis"))


# ------------------------------------------------------------------------------------------------------------
# OpenQASM 3
# ------------------------------------------------------------------------------------------------------------


def _same_state(a: np.ndarray, b: np.ndarray) -> bool:
    return abs(abs(np.vdot(a, b)) - 1) < 1e-10


def test_qasm3_text_uses_stdgates_names_and_measures_everything() -> None:
    circuit = parse_circuit([{"gate": "si", "target": 0}, {"gate": "v", "target": 1},
                             {"gate": "cnot", "control": 0, "target": 2},
                             {"gate": "x", "controls": [0, 1], "target": 2},
                             {"gate": "rz", "control": 1, "target": 0, "rotation": 0.5},
                             {"gate": "zz", "targets": [0, 1], "rotation": 0.25}], "qis")
    text = to_qasm3(circuit)
    lines = text.splitlines()
    assert lines[0] == "OPENQASM 3.0;" and lines[1] == 'include "stdgates.inc";'
    for expected in ("sdg q[0];", "sx q[1];", "cx q[0], q[2];", "ctrl(2) @ x q[0], q[1], q[2];",
                     "ctrl @ rz(0.5) q[1], q[0];", "rzz(0.25) q[0], q[1];", "qubit[3] q;", "bit[3] c;",
                     "c = measure q;"):
        assert expected in lines, expected
    assert any(line.startswith("gate rzz(theta) a, b") for line in lines)
    assert not any(line.startswith("gate gpi") for line in lines)  # only what is used is defined


@pytest.mark.parametrize("seed", range(4))
def test_qasm3_round_trip_keeps_the_state(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    gates = _random_gates(rng, 4, 20)
    for g in gates:
        if g["gate"] in ("rx", "ry", "rz"):
            g["rotation"] = float(rng.uniform(-4, 4))
    gates.append({"gate": "pauliexp", "targets": [3, 1], "terms": ["XY", "ZZ"], "coefficients": [0.4, 0.2],
                  "time": 1.3})
    circuit = parse_circuit(gates, "qis", 4)
    assert _same_state(ansatz_state(to_qasm3(circuit), []), simulate_statevector(circuit))


def test_qasm3_native_gate_definitions_match_ionq_definitions() -> None:
    gates = [{"gate": "gpi2", "target": 0, "phase": 0.15}, {"gate": "gpi", "target": 1, "phase": 0.4},
             {"gate": "ms", "targets": [0, 1], "phases": [0.1, 0.3], "angle": 0.2},
             {"gate": "gpi2", "target": 1, "phase": 0.9}, {"gate": "zz", "targets": [1, 0], "angle": 0.13}]
    circuit = parse_circuit(gates, "native", 2)
    text = to_qasm3(circuit)
    assert "ms(0.1, 0.3, 0.2) q[0], q[1];" in text
    assert _same_state(ansatz_state(text, []), simulate_statevector(circuit))
