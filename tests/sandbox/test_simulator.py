"""The state-vector engine against definitions: Bell/GHZ distributions, IonQ's bit order, dense-matrix references
for random circuits, sampling, result dicts and qubit permutation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ionq_mcp.circuits import Circuit, Gate, parse_circuit
from ionq_mcp.sandbox._simulator import (
    permute_qubits,
    probabilities_to_dict,
    sample_counts,
    simulate_probabilities,
    simulate_statevector,
    unpermute_counts,
)
from tests.sandbox.test_gates import ONE_QUBIT, SWAP, X, Y, Z, full_matrix, rot


def probs(gates: list[dict[str, Any]], n: int | None = None, gateset: str = "qis") -> dict[str, float]:
    return probabilities_to_dict(simulate_probabilities(parse_circuit(gates, gateset, n)))


def test_bell_state() -> None:
    d = probs([{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}])
    assert d.keys() == {"0", "3"}
    assert d["0"] == pytest.approx(0.5, abs=1e-12) and d["3"] == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 12])
def test_ghz(n: int) -> None:
    gates = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)]
    d = probs(gates)
    assert d == pytest.approx({"0": 0.5, str(2**n - 1): 0.5}, abs=1e-12)


def test_bit_order_qubit_zero_is_least_significant() -> None:
    assert probs([{"gate": "x", "target": 0}], 3) == {"1": 1.0}
    assert probs([{"gate": "x", "target": 2}], 3) == {"4": 1.0}
    assert probs([{"gate": "x", "target": 1}, {"gate": "x", "target": 2}], 3) == {"6": 1.0}


def test_unused_qubits_stay_zero_and_count() -> None:
    assert simulate_probabilities(parse_circuit([{"gate": "h", "target": 0}], "qis", 4)).shape == (16,)


def _random_gates(rng: np.random.Generator, n: int, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(count):
        a, b, c = (int(v) for v in rng.choice(n, size=3, replace=False))
        kind = int(rng.integers(0, 6))
        name, params, _ = ONE_QUBIT[int(rng.integers(0, len(ONE_QUBIT)))]
        if kind == 0:
            out.append({"gate": name, "target": a, **params})
        elif kind == 1:
            out.append({"gate": name, "control": b, "target": a, **params})
        elif kind == 2:
            out.append({"gate": name, "controls": [b, c], "target": a, **params})
        elif kind == 3:
            out.append({"gate": "swap", "targets": [a, b]})
        else:
            g = ("xx", "yy", "zz")[int(rng.integers(0, 3))]
            out.append({"gate": g, "targets": [a, b], "rotation": float(rng.uniform(-3, 3))})
    return out


def _reference_state(gates: list[dict[str, Any]], n: int) -> np.ndarray:
    """Dense 2**n matrices multiplied together: slow, simple, independent of the engine."""
    table = {name: m for name, _, m in ONE_QUBIT}
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for g in gates:
        name = g["gate"]
        if name in ("xx", "yy", "zz"):
            p = {"xx": X, "yy": Y, "zz": Z}[name]
            m = full_matrix(rot(g["rotation"], np.kron(p, p)), g["targets"], n)
        elif name == "swap":
            m = full_matrix(SWAP, g["targets"], n)
        else:
            controls = tuple(g.get("controls", [g["control"]] if "control" in g else []))
            base = table[name]
            if name in ("rx", "ry", "rz"):
                base = rot(g["rotation"], {"rx": X, "ry": Y, "rz": Z}[name])
            m = full_matrix(base, [g["target"]], n, controls)
        psi = m @ psi
    return psi


@pytest.mark.parametrize("seed", range(6))
def test_random_circuits_match_dense_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    gates = _random_gates(rng, n, 40)
    for g in gates:
        if g["gate"] in ("rx", "ry", "rz"):
            g["rotation"] = float(rng.uniform(-3, 3))
    circuit = parse_circuit(gates, "qis", n)
    np.testing.assert_allclose(simulate_statevector(circuit), _reference_state(gates, n), atol=1e-10)
    single = simulate_statevector(circuit, dtype=np.complex64)
    assert single.dtype == np.complex64
    np.testing.assert_allclose(single, _reference_state(gates, n), atol=1e-5)


def test_chunked_kernels_on_a_state_larger_than_one_chunk() -> None:
    # 23 qubits = 2**23 amplitudes, more than one in-place chunk: GHZ, then undo the chain except the top pair
    n = 23
    gates = [{"gate": "h", "target": n - 1}] + [{"gate": "cnot", "control": n - 1, "target": q}
                                                 for q in range(n - 1)]
    gates += [{"gate": "cnot", "control": n - 1, "target": q} for q in range(1, n - 1)]
    gates += [{"gate": "ry", "controls": [0, n - 1], "target": 5, "rotation": math.pi}]
    d = probs(gates, n)
    # before the ry: (|0...0> + |1 0...0 1>)/sqrt2 with qubits n-1 and 0 set; ry(pi) on 5 flips it there
    assert d == pytest.approx({"0": 0.5, str(2 ** (n - 1) + 1 + 2**5): 0.5}, abs=1e-9)


def test_more_than_29_qubits_is_a_clear_error() -> None:
    circuit = Circuit(30, "qis", (Gate("h", "qis", (0,)),))
    with pytest.raises(ValueError, match="30 qubits exceed the simulator limit of 29"):
        simulate_probabilities(circuit)


def test_probabilities_to_dict_drops_tiny_entries_and_renormalises() -> None:
    p = np.array([0.5, 1e-15, 0.0, 0.25, 0.25 - 1e-9])
    d = probabilities_to_dict(p, cutoff=1e-12)
    assert list(d) == ["0", "3", "4"]
    assert sum(d.values()) == pytest.approx(1.0, abs=1e-15)
    assert probabilities_to_dict(np.array([0.0, 1.0])) == {"1": 1.0}


def test_sample_counts_is_seeded_and_follows_the_distribution() -> None:
    p = np.array([0.1, 0.0, 0.6, 0.3])
    a = sample_counts(p, 20_000, np.random.default_rng(7))
    b = sample_counts(p, 20_000, np.random.default_rng(7))
    assert a == b
    assert sum(a.values()) == 20_000 and 1 not in a
    for k, pk in ((0, 0.1), (2, 0.6), (3, 0.3)):
        sigma = math.sqrt(pk * (1 - pk) / 20_000)
        assert abs(a[k] / 20_000 - pk) < 5 * sigma


def test_sample_counts_across_chunks_of_a_large_vector() -> None:
    p = np.zeros(2**23, dtype=np.float32)
    p[(1 << 22) - 1] = 0.5  # last entry of the first chunk
    p[1 << 22] = 0.25  # first entry of the second
    p[-1] = 0.25
    counts = sample_counts(p, 4000, np.random.default_rng(1))
    assert set(counts) == {(1 << 22) - 1, 1 << 22, 2**23 - 1}
    assert abs(counts[(1 << 22) - 1] / 4000 - 0.5) < 0.05


def test_permute_qubits_and_unpermute_counts_round_trip() -> None:
    gates = [{"gate": "x", "target": 0}, {"gate": "h", "target": 1}, {"gate": "cnot", "control": 1, "target": 2}]
    circuit = parse_circuit(gates, "qis", 4)
    qubit_map = [2, 0, 3, 1]
    moved = permute_qubits(circuit, qubit_map)
    d = probabilities_to_dict(simulate_probabilities(moved))
    # logical qubit 0 sits on physical 2: x alone gives key 4; the Bell pair on logical (1, 2) = physical (0, 3)
    assert d == pytest.approx({str(4): 0.5, str(4 + 1 + 8): 0.5})
    counts = sample_counts(simulate_probabilities(moved), 1000, np.random.default_rng(3))
    back = unpermute_counts(counts, qubit_map)
    assert set(back) == {1, 7} and sum(back.values()) == 1000
    with pytest.raises(ValueError, match="permutation"):
        permute_qubits(circuit, [0, 0, 1, 2])
