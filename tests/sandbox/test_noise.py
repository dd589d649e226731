"""Noisy, shot-based simulation against what the depolarizing + readout definitions predict."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._noise import (
    NOISE_MODELS,
    NoiseModel,
    expected_bell_fidelity,
    noise_for_backend,
    noise_model,
)
from ionq_mcp.sandbox._simulator import run_noisy

BELL = parse_circuit([{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}], "qis")
PAULIS = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
          "Z": np.diag([1.0, -1.0])}


def _within(observed: float, expected: float, shots: int, sigmas: float = 5.0) -> bool:
    return abs(observed - expected) <= sigmas * math.sqrt(max(expected * (1 - expected), 1e-4) / shots)


def _bell_fidelity_by_density_matrix(m: NoiseModel) -> float:
    """The same quantity as expected_bell_fidelity, computed by brute force on a 4x4 density matrix."""
    def depolarize(rho: np.ndarray, p: float, ops: list[np.ndarray]) -> np.ndarray:
        return (1 - p) * rho + p / len(ops) * sum(o @ rho @ o.conj().T for o in ops)

    h = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
    # basis |q1 q0> (q0 least significant); cnot control q0 target q1
    cnot = np.zeros((4, 4))
    for j in range(4):
        cnot[j ^ 2 if j & 1 else j, j] = 1
    rho = np.zeros((4, 4), dtype=complex)
    rho[0, 0] = 1
    u = np.kron(np.eye(2), h)
    rho = u @ rho @ u.conj().T
    rho = depolarize(rho, m.p1q, [np.kron(np.eye(2), PAULIS[a]) for a in "XYZ"])
    rho = cnot @ rho @ cnot.T
    rho = depolarize(rho, m.p2q, [np.kron(PAULIS[a], PAULIS[b]) for a, b in product("IXYZ", repeat=2)
                                  if a + b != "II"])
    pops = np.real(np.diag(rho))
    r = m.readout
    flip = np.array([[1 - r, r], [r, 1 - r]])
    pops = np.kron(flip, flip) @ pops
    return float(pops[0] + pops[3])


@pytest.mark.parametrize("name", ["aria-1", "forte-1", "harmony"])
def test_expected_bell_fidelity_matches_a_density_matrix_calculation(name: str) -> None:
    m = NOISE_MODELS[name]
    assert expected_bell_fidelity(m) == pytest.approx(_bell_fidelity_by_density_matrix(m), abs=1e-12)


@pytest.mark.parametrize("name", ["aria-1", "forte-1"])
def test_noisy_bell_fidelity_is_in_the_predicted_range(name: str) -> None:
    m = NOISE_MODELS[name]
    shots = 40_000
    counts = run_noisy(BELL, shots=shots, noise=m, rng=np.random.default_rng(11))
    assert sum(counts.values()) == shots
    fidelity = (counts.get(0, 0) + counts.get(3, 0)) / shots
    expected = expected_bell_fidelity(m)
    assert expected < 0.995  # the noise is visible at this many shots
    assert _within(fidelity, expected, shots), (fidelity, expected)
    # the even outcomes stay balanced
    assert abs(counts[0] - counts[3]) / shots < 0.03


def test_aria_is_noisier_than_forte() -> None:
    assert expected_bell_fidelity(NOISE_MODELS["aria-1"]) < expected_bell_fidelity(NOISE_MODELS["forte-1"]) < 1


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    m = NOISE_MODELS["aria-1"]
    a = run_noisy(BELL, shots=5000, noise=m, rng=np.random.default_rng(5))
    b = run_noisy(BELL, shots=5000, noise=m, rng=np.random.default_rng(5))
    c = run_noisy(BELL, shots=5000, noise=m, rng=np.random.default_rng(6))
    assert a == b
    assert a != c


def test_ideal_model_gives_only_bell_outcomes() -> None:
    counts = run_noisy(BELL, shots=3000, noise=NOISE_MODELS["ideal"], rng=np.random.default_rng(0))
    assert set(counts) <= {0, 3} and sum(counts.values()) == 3000


def test_one_qubit_depolarizing_rate() -> None:
    # x on |0>, then with prob p one of X, Y, Z: X and Y flip back to |0> -> P(0) = 2p/3
    p, shots = 0.3, 30_000
    circuit = parse_circuit([{"gate": "x", "target": 0}], "qis")
    counts = run_noisy(circuit, shots=shots, noise=NoiseModel("t", p, 0.0, 0.0), rng=np.random.default_rng(2))
    assert _within(counts.get(0, 0) / shots, 2 * p / 3, shots)


def test_two_qubit_depolarizing_rate() -> None:
    # cnot on |00> then one of 15 Paulis with prob p: 12 of them flip at least one bit
    p, shots = 0.3, 30_000
    circuit = parse_circuit([{"gate": "cnot", "control": 0, "target": 1}], "qis")
    counts = run_noisy(circuit, shots=shots, noise=NoiseModel("t", 0.0, p, 0.0), rng=np.random.default_rng(3))
    assert _within(1 - counts.get(0, 0) / shots, p * 12 / 15, shots)
    # each of the three wrong outcomes gets 4 of the 15 Paulis
    for k in (1, 2, 3):
        assert _within(counts.get(k, 0) / shots, p * 4 / 15, shots)


def test_readout_error_flips_each_bit_independently() -> None:
    r, shots = 0.1, 30_000
    circuit = parse_circuit([{"gate": "x", "target": 1}], "qis", 3)  # state index 2
    counts = run_noisy(circuit, shots=shots, noise=NoiseModel("t", 0.0, 0.0, r), rng=np.random.default_rng(4))
    assert _within(counts.get(2, 0) / shots, (1 - r) ** 3, shots)
    assert _within(counts.get(0, 0) / shots, r * (1 - r) ** 2, shots)
    assert _within(counts.get(5, 0) / shots, r**3, shots)


def test_many_error_patterns_keep_the_right_marginals() -> None:
    # 14 qubits, 8 x gates each: every error flips its qubit with prob 2/3, so a final 1 on a qubit has
    # probability (1 - (1 - 4p/3)^8) / 2. So many distinct patterns exceed the trajectory budget.
    n, m, p, shots = 14, 8, 0.05, 4000
    circuit = parse_circuit([{"gate": "x", "target": q} for _ in range(m) for q in range(n)], "qis", n)
    counts = run_noisy(circuit, shots=shots, noise=NoiseModel("t", p, 0.0, 0.0), rng=np.random.default_rng(9))
    assert sum(counts.values()) == shots
    ones = sum(c * k.bit_count() for k, c in counts.items()) / (shots * n)
    expected = (1 - (1 - 4 * p / 3) ** m) / 2
    assert abs(ones - expected) < 0.08, (ones, expected)


def test_noise_model_lookup() -> None:
    assert noise_for_backend("qpu.aria-1") is NOISE_MODELS["aria-1"]
    assert noise_for_backend("qpu.aria-2").p2q == NOISE_MODELS["aria-1"].p2q
    assert noise_for_backend("qpu.forte-enterprise-1").p2q == NOISE_MODELS["forte-1"].p2q == 0.00495
    assert noise_for_backend("simulator").is_ideal
    assert NOISE_MODELS["aria-1"].p1q == 0.0005 and NOISE_MODELS["aria-1"].p2q == 0.0133
    assert NOISE_MODELS["forte-1"].p1q == 0.000267
    with pytest.raises(ValueError, match="qpu.nope"):
        noise_for_backend("qpu.nope")
    with pytest.raises(ValueError, match="allowed"):
        noise_model("aria-9")
