"""Every gate's unitary, read back from the simulator, against textbook matrices written out here.

The unitary is extracted by preparing each computational basis state with x gates, applying the gate and reading
the final state vector (one column per basis state). The expected full-register matrix is built here from the
textbook matrix with an explicit index map (qubit q = bit q of the state index; the gate's textbook basis is
|targets[0] targets[1] ...> with targets[0] the most significant), independently of the engine's code.
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import numpy as np
import pytest

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._simulator import simulate_statevector

S2 = 1 / math.sqrt(2)
E = cmath.exp
PI = math.pi


def extracted_unitary(gate: dict[str, Any], n: int, gateset: str = "qis") -> np.ndarray:
    cols = []
    for j in range(2**n):
        prep = [{"gate": "x", "target": q} for q in range(n) if j >> q & 1]
        if gateset == "native":  # native circuits cannot use x: GPI(0) is exactly X
            prep = [{"gate": "gpi", "target": q, "phase": 0.0} for q in range(n) if j >> q & 1]
        circuit = parse_circuit(prep + [gate], gateset, n)
        cols.append(simulate_statevector(circuit))
    return np.array(cols).T


def full_matrix(m: np.ndarray, targets: list[int], n: int, controls: tuple[int, ...] = ()) -> np.ndarray:
    """Textbook ``m`` on ``targets`` (targets[0] = most significant), identity elsewhere, applied where all
    ``controls`` are 1; written as a 2**n matrix over state indices (qubit q = bit q)."""
    k = len(targets)
    out = np.zeros((2**n, 2**n), dtype=complex)
    for j in range(2**n):
        if not all(j >> c & 1 for c in controls):
            out[j, j] = 1
            continue
        t_in = sum((j >> q & 1) << (k - 1 - i) for i, q in enumerate(targets))
        rest = j & ~sum(1 << q for q in targets)
        for t_out in range(2**k):
            i_state = rest | sum((t_out >> (k - 1 - i) & 1) << q for i, q in enumerate(targets))
            out[i_state, j] += m[t_out, t_in]
    return out


X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.array([[1, 0], [0, -1]])
I4 = np.eye(4)


def rot(theta: float, p: np.ndarray) -> np.ndarray:
    return math.cos(theta / 2) * np.eye(p.shape[0]) - 1j * math.sin(theta / 2) * p


TH = 0.7319  # an angle with no special symmetry

ONE_QUBIT: list[tuple[str, dict[str, Any], np.ndarray]] = [
    ("x", {}, np.array([[0, 1], [1, 0]])),
    ("y", {}, np.array([[0, -1j], [1j, 0]])),
    ("z", {}, np.array([[1, 0], [0, -1]])),
    ("h", {}, S2 * np.array([[1, 1], [1, -1]])),
    ("s", {}, np.array([[1, 0], [0, 1j]])),
    ("si", {}, np.array([[1, 0], [0, -1j]])),
    ("t", {}, np.array([[1, 0], [0, E(1j * PI / 4)]])),
    ("ti", {}, np.array([[1, 0], [0, E(-1j * PI / 4)]])),
    ("v", {}, 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])),
    ("vi", {}, 0.5 * np.array([[1 - 1j, 1 + 1j], [1 + 1j, 1 - 1j]])),
    ("rx", {"rotation": TH}, np.array([[math.cos(TH / 2), -1j * math.sin(TH / 2)],
                                        [-1j * math.sin(TH / 2), math.cos(TH / 2)]])),
    ("ry", {"rotation": TH}, np.array([[math.cos(TH / 2), -math.sin(TH / 2)],
                                        [math.sin(TH / 2), math.cos(TH / 2)]])),
    ("rz", {"rotation": TH}, np.array([[E(-0.5j * TH), 0], [0, E(0.5j * TH)]])),
    ("not", {}, np.array([[0, 1], [1, 0]])),
]


@pytest.mark.parametrize(("name", "params", "matrix"), ONE_QUBIT, ids=[g[0] for g in ONE_QUBIT])
@pytest.mark.parametrize("target", [0, 2])
def test_single_qubit_gates(name: str, params: dict[str, Any], matrix: np.ndarray, target: int) -> None:
    got = extracted_unitary({"gate": name, "target": target, **params}, 3)
    np.testing.assert_allclose(got, full_matrix(matrix, [target], 3), atol=1e-12)


@pytest.mark.parametrize(("name", "params", "matrix"), ONE_QUBIT[:-1], ids=[g[0] for g in ONE_QUBIT[:-1]])
def test_controlled_single_qubit_gates(name: str, params: dict[str, Any], matrix: np.ndarray) -> None:
    got = extracted_unitary({"gate": name, "control": 2, "target": 0, **params}, 3)
    np.testing.assert_allclose(got, full_matrix(matrix, [0], 3, controls=(2,)), atol=1e-12)


def test_cnot_truth_table() -> None:
    # control 0, target 1: |c t> -> |c, t xor c>; state index = t*2 + c
    got = extracted_unitary({"gate": "cnot", "control": 0, "target": 1}, 2)
    expected = np.zeros((4, 4))
    for c in (0, 1):
        for t in (0, 1):
            expected[(t ^ c) * 2 + c, t * 2 + c] = 1
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_toffoli_and_multi_controlled_truth_tables() -> None:
    got = extracted_unitary({"gate": "x", "controls": [0, 1], "target": 2}, 3)
    for j in range(8):
        flipped = j ^ 4 if (j & 3) == 3 else j
        assert abs(got[flipped, j] - 1) < 1e-12
    got = extracted_unitary({"gate": "cnot", "controls": [1, 2, 3], "target": 0}, 4)
    for j in range(16):
        flipped = j ^ 1 if (j >> 1) == 7 else j
        expected = np.zeros(16)
        expected[flipped] = 1
        np.testing.assert_allclose(got[:, j], expected, atol=1e-12)


def test_multi_controlled_rotation() -> None:
    m = rot(TH, Y)
    got = extracted_unitary({"gate": "ry", "controls": [0, 3], "target": 1, "rotation": TH}, 4)
    np.testing.assert_allclose(got, full_matrix(m, [1], 4, controls=(0, 3)), atol=1e-12)


SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize("targets", [[0, 1], [2, 0]])
def test_two_qubit_qis_gates(targets: list[int]) -> None:
    cases = [
        ({"gate": "swap"}, SWAP),
        ({"gate": "xx", "rotation": TH}, rot(TH, np.kron(X, X))),
        ({"gate": "yy", "rotation": TH}, rot(TH, np.kron(Y, Y))),
        ({"gate": "zz", "rotation": TH}, rot(TH, np.kron(Z, Z))),
    ]
    for gate, matrix in cases:
        got = extracted_unitary({**gate, "targets": targets}, 3)
        np.testing.assert_allclose(got, full_matrix(matrix, targets, 3), atol=1e-12, err_msg=gate["gate"])


def test_controlled_swap() -> None:
    got = extracted_unitary({"gate": "swap", "control": 1, "targets": [0, 2]}, 3)
    np.testing.assert_allclose(got, full_matrix(SWAP, [0, 2], 3, controls=(1,)), atol=1e-12)


def test_pauliexp_single_term_and_non_commuting_terms() -> None:
    # exp(-i t c X(x)Z) with character 0 on targets[0]
    t, c = 0.4, 1.3
    got = extracted_unitary({"gate": "pauliexp", "targets": [2, 0], "terms": ["XZ"], "coefficients": [c],
                             "time": t}, 3)
    expected = math.cos(t * c) * I4 - 1j * math.sin(t * c) * np.kron(X, Z)
    np.testing.assert_allclose(got, full_matrix(expected, [2, 0], 3), atol=1e-12)
    # non-commuting: exp(-i t (a X + b Z)) = cos(t r) I - i sin(t r) (a X + b Z)/r, r = sqrt(a^2 + b^2)
    a, b = 0.3, -0.8
    r = math.hypot(a, b)
    got = extracted_unitary({"gate": "pauliexp", "targets": [1], "terms": ["X", "Z"], "coefficients": [a, b],
                             "time": t}, 2)
    expected1 = math.cos(t * r) * np.eye(2) - 1j * math.sin(t * r) * (a * X + b * Z) / r
    np.testing.assert_allclose(got, full_matrix(expected1, [1], 2), atol=1e-12)


def test_wide_commuting_pauliexp_uses_the_term_by_term_path() -> None:
    # 12 targets exceeds the dense limit; exp(-i t ZZZ...Z) is diagonal with phase e^{-/+ i t} by parity
    n, t = 12, 0.37
    circuit = parse_circuit(
        [{"gate": "h", "target": q} for q in range(n)]
        + [{"gate": "pauliexp", "targets": list(range(n)), "terms": ["Z" * n, "X" * n], "coefficients": [1.0, 0.5],
            "time": t}],
        "qis", n)
    psi = simulate_statevector(circuit)
    # |+>^n is an eigenstate of X...X (+1); Z...Z multiplies by e^{-i t (-1)^parity}
    parity = np.array([j.bit_count() % 2 for j in range(2**n)])
    expected = np.exp(-1j * t * np.where(parity, -1.0, 1.0)) * np.exp(-1j * t * 0.5) / math.sqrt(2**n)
    np.testing.assert_allclose(psi, expected, atol=1e-10)


# ------------------------------------------------------------------------------------------------------------
# Native gates (turns)
# ------------------------------------------------------------------------------------------------------------

PHI, PHI0, PHI1, ANG = 0.137, 0.21, -0.43, 0.17


def gpi_textbook(phi: float) -> np.ndarray:
    return np.array([[0, E(-2j * PI * phi)], [E(2j * PI * phi), 0]])


def gpi2_textbook(phi: float) -> np.ndarray:
    return S2 * np.array([[1, -1j * E(-2j * PI * phi)], [-1j * E(2j * PI * phi), 1]])


def ms_textbook(phi0: float, phi1: float, theta: float) -> np.ndarray:
    """IonQ's MS matrix in the basis |targets[0] targets[1]> (targets[0] most significant)."""
    c, s = math.cos(PI * theta), math.sin(PI * theta)
    return np.array([
        [c, 0, 0, -1j * s * E(-2j * PI * (phi0 + phi1))],
        [0, c, -1j * s * E(-2j * PI * (phi0 - phi1)), 0],
        [0, -1j * s * E(2j * PI * (phi0 - phi1)), c, 0],
        [-1j * s * E(2j * PI * (phi0 + phi1)), 0, 0, c],
    ])


@pytest.mark.parametrize("target", [0, 1])
def test_gpi_and_gpi2(target: int) -> None:
    got = extracted_unitary({"gate": "gpi", "target": target, "phase": PHI}, 2, "native")
    np.testing.assert_allclose(got, full_matrix(gpi_textbook(PHI), [target], 2), atol=1e-12)
    got = extracted_unitary({"gate": "gpi2", "target": target, "phase": PHI}, 2, "native")
    np.testing.assert_allclose(got, full_matrix(gpi2_textbook(PHI), [target], 2), atol=1e-12)


@pytest.mark.parametrize("targets", [[0, 1], [1, 0], [2, 0]])
@pytest.mark.parametrize("angle", [0.25, ANG])
def test_ms_phase_belongs_to_listed_target(targets: list[int], angle: float) -> None:
    got = extracted_unitary({"gate": "ms", "targets": targets, "phases": [PHI0, PHI1], "angle": angle}, 3,
                            "native")
    np.testing.assert_allclose(got, full_matrix(ms_textbook(PHI0, PHI1, angle), targets, 3), atol=1e-12)


def test_ms_default_angle_is_fully_entangling() -> None:
    circuit = parse_circuit([{"gate": "ms", "targets": [0, 1], "phases": [0, 0]}], "native", 2)
    psi = simulate_statevector(circuit)
    np.testing.assert_allclose(psi, [S2, 0, 0, -1j * S2], atol=1e-12)  # (|00> - i|11>)/sqrt2


def test_native_zz_and_nop() -> None:
    a = PI * ANG
    expected = np.diag([E(-1j * a), E(1j * a), E(1j * a), E(-1j * a)])
    got = extracted_unitary({"gate": "zz", "targets": [0, 1], "angle": ANG}, 2, "native")
    np.testing.assert_allclose(got, full_matrix(expected, [0, 1], 2), atol=1e-12)
    got = extracted_unitary({"gate": "nop", "targets": [0, 1]}, 2, "native")
    np.testing.assert_allclose(got, np.eye(4), atol=1e-12)


def test_native_gates_agree_with_cirq_ionq() -> None:
    """cirq-ionq (IonQ's Cirq integration, big-endian: first qubit most significant) as a second reference."""
    cirq_ionq = pytest.importorskip("cirq_ionq")
    import cirq

    np.testing.assert_allclose(cirq.unitary(cirq_ionq.GPIGate(phi=PHI)), gpi_textbook(PHI), atol=1e-12)
    np.testing.assert_allclose(cirq.unitary(cirq_ionq.GPI2Gate(phi=PHI)), gpi2_textbook(PHI), atol=1e-12)
    ref = cirq.unitary(cirq_ionq.MSGate(phi0=PHI0, phi1=PHI1, theta=ANG))
    got = extracted_unitary({"gate": "ms", "targets": [1, 0], "phases": [PHI0, PHI1], "angle": ANG}, 2, "native")
    # targets [1, 0]: targets[0] = qubit 1 = the most significant bit of a 2-qubit state index, as in cirq
    np.testing.assert_allclose(got, ref, atol=1e-12)
