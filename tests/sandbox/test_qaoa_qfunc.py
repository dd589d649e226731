"""Max-Cut against an independent brute force, and Hamiltonian energies of states whose values are known."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest

from ionq_mcp.sandbox._qaoa import solve_maxcut
from ionq_mcp.sandbox._qfunc import UnsupportedAnsatz, hamiltonian_energy

# ------------------------------------------------------------------------------------------------------------
# Max-Cut
# ------------------------------------------------------------------------------------------------------------


def adjacency_graph(n: int, edges: list[tuple[int, int, float]], ids: list[Any] | None = None) -> dict[str, Any]:
    """What networkx.adjacency_data(G) produces for an undirected weighted graph."""
    ids = ids if ids is not None else list(range(n))
    adjacency: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for a, b, w in edges:
        adjacency[a].append({"id": ids[b], "weight": w})
        adjacency[b].append({"id": ids[a], "weight": w})
    return {"directed": False, "multigraph": False, "graph": [], "nodes": [{"id": i} for i in ids],
            "adjacency": adjacency}


def brute_force_cut(n: int, edges: list[tuple[int, int, float]]) -> float:
    best = 0.0
    for sides in itertools.product((0, 1), repeat=n):
        best = max(best, sum(w for a, b, w in edges if sides[a] != sides[b]))
    return best


def cut_of(bitstring: str, edges: list[tuple[int, int, float]]) -> float:
    side = bitstring[::-1]  # qubit/node 0 is the rightmost character
    return sum(w for a, b, w in edges if side[a] != side[b])


GRAPHS = {
    "triangle": (3, [(0, 1, 1), (1, 2, 1), (0, 2, 1)]),
    "square": (4, [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 0, 1)]),
    "triangle+leaf": (4, [(0, 1, 1), (1, 2, 1), (0, 2, 1), (2, 3, 1)]),
    "weighted": (5, [(0, 1, 2.5), (1, 2, 0.5), (2, 3, 3.0), (3, 4, 1.0), (4, 0, 0.25), (1, 3, 4.0)]),
    "K5": (5, [(a, b, 1) for a in range(5) for b in range(a + 1, 5)]),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_maxcut_is_optimal(name: str) -> None:
    n, edges = GRAPHS[name]
    result = solve_maxcut(adjacency_graph(n, edges))
    best = brute_force_cut(n, edges)
    assert len(result.bitstring) == n and set(result.bitstring) <= {"0", "1"}
    assert cut_of(result.bitstring, edges) == pytest.approx(best)
    assert result.cut_value == pytest.approx(best)
    assert result.cost == pytest.approx(-best)


def test_square_optimum_alternates_and_bit_order_is_rightmost_node_zero() -> None:
    result = solve_maxcut(adjacency_graph(4, GRAPHS["square"][1]))
    assert result.bitstring in ("0101", "1010")
    assert result.optimal_solutions == 2
    # a path 0-1-2 with a heavy edge only between 0 and 1 and nothing at 2: node 0 and 1 differ
    path = solve_maxcut(adjacency_graph(3, [(0, 1, 5.0)]))
    assert path.bitstring[-1] != path.bitstring[-2]
    assert path.variables_to_bitstring_index_map == {"0": 2, "1": 1, "2": 0}


def test_string_node_ids_and_spec_example() -> None:
    spec_example = {"directed": False, "multigraph": False, "graph": [], "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
                    "adjacency": [[{"id": 1}, {"id": 2}], [{"id": 0}, {"id": 2}], [{"id": 0}, {"id": 1}]]}
    assert solve_maxcut(spec_example).cut_value == 2
    named = adjacency_graph(3, [(0, 1, 1), (1, 2, 1)], ids=["a", "b", "c"])
    result = solve_maxcut(named)
    assert result.cut_value == 2 and result.variables_to_bitstring_index_map["a"] == 2


def test_maxcut_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nodes"):
        solve_maxcut({"adjacency": []})
    with pytest.raises(ValueError, match="adjacency"):
        solve_maxcut({"nodes": [{"id": 0}], "adjacency": []})
    with pytest.raises(ValueError, match="weight"):
        solve_maxcut(adjacency_graph(2, [(0, 1, "heavy")]))  # type: ignore[list-item]
    with pytest.raises(ValueError, match="limit of 20"):
        solve_maxcut(adjacency_graph(21, [(i, i + 1, 1) for i in range(20)]))


# ------------------------------------------------------------------------------------------------------------
# Hamiltonian energy
# ------------------------------------------------------------------------------------------------------------


def energy(ansatz: str, terms: list[tuple[str, float]], params: list[float] | None = None) -> float:
    data = {"hamiltonian": [{"pauli_string": p, "coefficient": c} for p, c in terms], "ansatz": {"data": ansatz}}
    return hamiltonian_energy(data, params or [])


BELL_QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_z_on_zero_and_known_bell_correlations() -> None:
    assert energy("OPENQASM 3.0;\nqubit[1] q;\n", [("Z", 1.0)]) == pytest.approx(1.0)
    assert energy(BELL_QASM2, [("ZZ", 1.0)]) == pytest.approx(1.0)
    assert energy(BELL_QASM2, [("XX", 1.0)]) == pytest.approx(1.0)
    assert energy(BELL_QASM2, [("YY", 1.0)]) == pytest.approx(-1.0)
    assert energy(BELL_QASM2, [("ZI", 1.0), ("IZ", 1.0), ("XI", 1.0)]) == pytest.approx(0.0, abs=1e-12)
    assert energy(BELL_QASM2, [("II", 2.5), ("ZZ", -1.0)]) == pytest.approx(1.5)


def test_pauli_string_convention_rightmost_is_qubit_zero() -> None:
    one_on_qubit_0 = "OPENQASM 3.0;\nqubit[2] q;\nx q[0];\n"
    assert energy(one_on_qubit_0, [("IZ", 1.0)]) == pytest.approx(-1.0)  # rightmost letter -> qubit 0
    assert energy(one_on_qubit_0, [("ZI", 1.0)]) == pytest.approx(1.0)
    assert energy(one_on_qubit_0, [("Z0", 1.0)]) == pytest.approx(-1.0)  # explicit indices
    assert energy(one_on_qubit_0, [("Z1", 1.0)]) == pytest.approx(1.0)
    assert energy(one_on_qubit_0, [("Z0 Z1", 1.0)]) == pytest.approx(-1.0)
    assert energy(one_on_qubit_0, [("Z", 1.0)]) == pytest.approx(-1.0)  # short strings pad with I on the left
    with pytest.raises(ValueError, match="qubit 2"):
        energy(one_on_qubit_0, [("ZII", 1.0)])


@pytest.mark.parametrize("theta", [0.0, 0.4, math.pi / 3, 2.5])
def test_parameterised_ry_in_every_format(theta: float) -> None:
    expected = 2 * math.cos(theta) - 0.5 * math.sin(theta)  # <Z> = cos, <X> = sin for ry(theta)|0>
    terms = [("Z", 2.0), ("X", -0.5)]
    qasm3 = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\ninput float theta;\nqubit[1] q;\nry(theta) q[0];\n"
    unicode = "OPENQASM 3.0;\nqubit[1] q;\nry(θ) q[0];\n"
    vector = "OPENQASM 3.0;\ninput array[float[64], 1] theta;\nqubit[1] q;\nry(theta[0]) q[0];\n"
    qasm2 = "OPENQASM 2.0;\nqreg q[1];\nry(2*phi/2) q[0];\n"  # undeclared parameter, an expression
    ionq = json.dumps({"qubits": 1, "gateset": "qis", "circuit": [{"gate": "ry", "target": 0, "rotation": "theta0"}]})
    for ansatz in (qasm3, unicode, vector, qasm2, ionq):
        assert energy(ansatz, terms, [theta]) == pytest.approx(expected, abs=1e-12), ansatz


def test_parameter_binding_order() -> None:
    # declared order wins: b is bound first
    declared = "OPENQASM 3.0;\ninput float b;\ninput float a;\nqubit[2] q;\nry(a) q[0];\nry(b) q[1];\n"
    assert energy(declared, [("IZ", 1.0)], [0.0, math.pi]) == pytest.approx(-1.0)  # a = pi acts on qubit 0
    # undeclared: natural order, theta[2] before theta[10]
    vector = ("OPENQASM 2.0;\nqreg q[2];\nry(theta[10]) q[0];\nry(theta[2]) q[1];\n")
    assert energy(vector, [("ZI", 1.0), ("IZ", 10.0)], [math.pi, 0.0]) == pytest.approx(-1.0 + 10.0)
    # JSON `parameters` list gives the order
    ionq = json.dumps({"qubits": 2, "circuit": [{"gate": "rx", "target": 0, "rotation": "y"},
                                                 {"gate": "rx", "target": 1, "rotation": "x"}],
                       "parameters": ["y", "x"]})
    assert energy(ionq, [("IZ", 1.0), ("ZI", 3.0)], [math.pi, 0.0]) == pytest.approx(-1.0 + 3.0)
    with pytest.raises(ValueError, match="2 parameter"):
        energy(declared, [("Z", 1.0)], [0.1])


def test_gate_definitions_modifiers_and_broadcast() -> None:
    program = """OPENQASM 3.0;
include "stdgates.inc";
gate bell a, b { h a; cx a, b; }
qubit[3] q;
bell q[0], q[1];
ctrl @ x q[1], q[2];      // GHZ on three qubits
inv @ s q;                // phases only: populations unchanged
"""
    assert energy(program, [("ZZI", 1.0), ("IZZ", 1.0), ("ZIZ", 1.0)]) == pytest.approx(3.0)
    assert energy(program, [("ZII", 1.0)]) == pytest.approx(0.0, abs=1e-12)
    # negctrl fires on |0>: x on q[1] conditioned on q[0] = 0
    neg = "OPENQASM 3.0;\nqubit[2] q;\nnegctrl @ x q[0], q[1];\n"
    assert energy(neg, [("ZI", 1.0)]) == pytest.approx(-1.0)
    # pow(2) @ sx = x; inv @ rx(t) = rx(-t)
    powered = "OPENQASM 3.0;\nqubit[1] q;\npow(2) @ sx q[0];\n"
    assert energy(powered, [("Z", 1.0)]) == pytest.approx(-1.0)
    inverse = "OPENQASM 3.0;\nqubit[1] q;\ninv @ rx(0.3) q[0];\nrx(0.3) q[0];\n"
    assert energy(inverse, [("Z", 1.0)]) == pytest.approx(1.0)


def test_native_gates_in_qasm_use_turns() -> None:
    # gpi2(0) is rx(pi/2): <Y> = -1. ms(0, 0)|00> = (|00> - i|11>)/sqrt2: <ZZ> = 1, <XY> = -1
    assert energy("OPENQASM 3.0;\nqubit[1] q;\ngpi2(0) q[0];\n", [("Y", 1.0)]) == pytest.approx(-1.0)
    ms = "OPENQASM 3.0;\nqubit[2] q;\nms(0, 0) q[0], q[1];\n"
    assert energy(ms, [("ZZ", 1.0)]) == pytest.approx(1.0)
    assert energy(ms, [("XY", 1.0)]) == pytest.approx(-1.0)


def test_qaoa_p1_energy_matches_the_closed_form() -> None:
    """p=1 QAOA on one edge, |++> -> rzz(g) -> rx(2b) on both: <Z0 Z1> = sin(4b) sin(g).

    Heisenberg picture: rx(2b) maps Z to cos(2b) Z + sin(2b) Y; on rzz(g)|++> the ZZ and YY parts average to 0
    and ZY, YZ (anticommuting with ZZ) each give sin(g), so <ZZ> = 2 cos(2b) sin(2b) sin(g)."""
    gamma, beta = 0.7, 0.3
    program = """OPENQASM 3.0;
input float g;
input float b;
qubit[2] q;
h q;
rzz(g) q[0], q[1];
rx(2*b) q;
"""
    got = energy(program, [("ZZ", 1.0)], [gamma, beta])
    assert got == pytest.approx(math.sin(4 * beta) * math.sin(gamma), abs=1e-12)


@pytest.mark.parametrize("ansatz", [
    "this is not a circuit",
    "OPENQASM 3.0;\nqubit[1] q;\nfoo q[0];\n",
    "OPENQASM 3.0;\nqubit[1] q;\nreset q[0];\n",
    "{\"circuit\": 3}",
    "{not json",
    "OPENQASM 3.0;\ngate loop a { loop a; }\nqubit[1] q;\nloop q[0];\n",
    "OPENQASM 3.0;\nqubit[1] q;\npow(100000) @ x q[0];\n",
    "OPENQASM 3.0;\nqubit[2] q;\nctrl(0) @ x q[0], q[1];\n",
])
def test_unsupported_ansatz_says_what_is_supported(ansatz: str) -> None:
    with pytest.raises(UnsupportedAnsatz, match="Supported: an OpenQASM"):
        energy(ansatz, [("Z", 1.0)])


def test_bad_hamiltonian_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="I, X, Y, Z"):
        energy(BELL_QASM2, [("ZQ", 1.0)])
    with pytest.raises(ValueError, match="coefficient"):
        hamiltonian_energy({"hamiltonian": [{"pauli_string": "Z"}], "ansatz": {"data": BELL_QASM2}}, [])
    with pytest.raises(ValueError, match="linear_constraints"):
        hamiltonian_energy({"hamiltonian": [{"pauli_string": "Z", "coefficient": 1}], "ansatz": {"data": BELL_QASM2},
                            "linear_constraints": [{"coeffs": [1], "rhs": 1}]}, [])


def test_expectations_on_a_state_larger_than_one_chunk() -> None:
    # 23-qubit GHZ: X...X flips across the whole index range, so the pairs it couples sit in different chunks
    n = 23
    program = "OPENQASM 3.0;\nqubit[23] q;\nh q[0];\n" + "".join(f"cx q[0], q[{i}];\n" for i in range(1, n))
    assert energy(program, [("X" * n, 1.0), ("Z0 Z22", 0.5), ("Z5", 2.0)]) == pytest.approx(1.5, abs=1e-9)
