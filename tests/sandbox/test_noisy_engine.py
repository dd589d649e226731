"""The noisy engine against a density-matrix reference written here from the definitions (goodness of fit at
fixed seeds), and the independence of its shots (the spread of a frequency over many seeds is binomial)."""

from __future__ import annotations

from functools import reduce
from itertools import product
from typing import Any

import numpy as np
import pytest
from scipy import stats

from ionq_mcp.circuits import Circuit, parse_circuit
from ionq_mcp.sandbox import _trajectories
from ionq_mcp.sandbox._fusion import fuse, gate_ops
from ionq_mcp.sandbox._gates import gate_matrix
from ionq_mcp.sandbox._noise import NoiseModel
from ionq_mcp.sandbox._simulator import run_noisy

_P = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
      "Z": np.diag([1.0, -1.0])}
NOISY = NoiseModel("test", p1q=0.03, p2q=0.12, readout=0.04)

GATES: list[dict[str, Any]] = [
    {"gate": "h", "target": 0},
    {"gate": "cnot", "control": 0, "target": 1},
    {"gate": "ry", "target": 2, "rotation": 0.7},
    {"gate": "cnot", "control": 1, "target": 2},
    {"gate": "rz", "target": 2, "rotation": 0.9},
    {"gate": "cnot", "control": 1, "target": 2},
    {"gate": "xx", "targets": [0, 2], "rotation": 0.4},
    {"gate": "x", "controls": [0, 1], "target": 2},
    {"gate": "s", "target": 1},
    {"gate": "h", "target": 2},
    {"gate": "swap", "targets": [0, 1]},
    {"gate": "t", "target": 0},
]


def _full(u: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    """``u`` (qubits[0] = most significant bit of its index) as a 2**n matrix; state bit q = qubit q."""
    dim = 1 << n
    k = len(qubits)
    out = np.zeros((dim, dim), dtype=complex)
    for col in range(dim):
        sub = sum(((col >> q) & 1) << (k - 1 - j) for j, q in enumerate(qubits))
        for r in range(1 << k):
            amp = u[r, sub]
            if amp == 0:
                continue
            row = col
            for j, q in enumerate(qubits):
                row = (row & ~(1 << q)) | (((r >> (k - 1 - j)) & 1) << q)
            out[row, col] += amp
    return out


def _gate_unitary(gate: Any, n: int) -> np.ndarray:
    m = gate_matrix(gate)
    c = len(gate.controls)
    if c:  # controlled: identity unless every control is 1 (controls are the most significant bits here)
        big = np.eye(m.shape[0] << c, dtype=complex)
        big[-m.shape[0]:, -m.shape[0]:] = m
        m = big
    return _full(m, gate.controls + gate.targets, n)


def reference_distribution(circuit: Circuit, noise: NoiseModel) -> np.ndarray:
    """Outcome probabilities from the density matrix: U rho U^dag per gate, then the depolarizing channel
    (1-p) rho + p/(4^k-1) sum_{P != I} P rho P, then each measured bit flipped with probability ``readout``."""
    n = circuit.qubits
    rho = np.zeros((1 << n, 1 << n), dtype=complex)
    rho[0, 0] = 1
    for gate in circuit.gates:
        u = _gate_unitary(gate, n)
        rho = u @ rho @ u.conj().T
        qubits = gate.controls + gate.targets
        p = noise.p1q if len(qubits) == 1 else noise.p2q
        paulis = [_full(reduce(np.kron, [_P[c] for c in word]), qubits, n)
                  for word in product("IXYZ", repeat=len(qubits)) if set(word) != {"I"}]
        rho = (1 - p) * rho + p / len(paulis) * sum(e @ rho @ e.conj().T for e in paulis)
    probs = np.real(np.diag(rho)).copy()
    r = noise.readout
    for q in range(n):
        flipped = probs[np.arange(1 << n) ^ (1 << q)]
        probs = (1 - r) * probs + r * flipped
    return probs


def _counts_vector(counts: dict[int, int], n: int) -> np.ndarray:
    v = np.zeros(1 << n)
    for k, c in counts.items():
        v[k] += c
    return v


def test_reference_channel_sanity() -> None:
    # the reference itself: no noise = |U|0>|^2, and probabilities sum to 1 under noise
    circuit = parse_circuit(GATES, "qis", 3)
    ideal = reference_distribution(circuit, NoiseModel("ideal", 0, 0, 0))
    psi = np.zeros(8, dtype=complex)
    psi[0] = 1
    for g in circuit.gates:
        psi = _gate_unitary(g, 3) @ psi
    np.testing.assert_allclose(ideal, np.abs(psi) ** 2, atol=1e-12)
    assert reference_distribution(circuit, NOISY).sum() == pytest.approx(1, abs=1e-12)


def test_errors_inside_fused_ops_are_exercised() -> None:
    circuit = parse_circuit(GATES, "qis", 3)
    fused = fuse([op for i, g in enumerate(circuit.gates) for op in gate_ops(g, i)], keep_parts=True)
    assert any(len(op.gates) > 1 for op in fused)


@pytest.mark.parametrize("seed", [11, 12])
def test_noisy_counts_fit_the_density_matrix_reference(seed: int) -> None:
    circuit = parse_circuit(GATES, "qis", 3)
    expected = reference_distribution(circuit, NOISY)
    shots = 20_000
    observed = _counts_vector(run_noisy(circuit, shots=shots, noise=NOISY, rng=np.random.default_rng(seed)), 3)
    assert observed.sum() == shots
    result = stats.chisquare(observed, expected * shots)
    assert result.pvalue > 1e-3, (observed / shots, expected)


def test_noisy_counts_fit_with_aria_rates_on_five_qubits() -> None:
    gates = GATES + [{"gate": "cnot", "control": 2, "target": 3}, {"gate": "ry", "target": 4, "rotation": 1.1},
                     {"gate": "zz", "targets": [3, 4], "rotation": 0.8}, {"gate": "h", "target": 3}]
    circuit = parse_circuit(gates, "qis", 5)
    aria = NoiseModel("aria-like x10", p1q=0.005, p2q=0.133, readout=0.039)
    expected = reference_distribution(circuit, aria)
    shots = 30_000
    observed = _counts_vector(run_noisy(circuit, shots=shots, noise=aria, rng=np.random.default_rng(5)), 5)
    keep = expected * shots >= 5  # chi-square needs expected counts of at least 5: pool the rest
    obs, exp = observed[keep], expected[keep] * shots
    if not keep.all():
        obs, exp = np.r_[obs, observed[~keep].sum()], np.r_[exp, expected[~keep].sum() * shots]
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_results_do_not_depend_on_batching(monkeypatch: pytest.MonkeyPatch) -> None:
    circuit = parse_circuit(GATES, "qis", 3)
    first = run_noisy(circuit, shots=3000, noise=NOISY, rng=np.random.default_rng(3))
    monkeypatch.setattr(_trajectories, "BATCH_BYTES", 3 * 8 * 16)  # two trajectories per batch: many checkpoints
    assert run_noisy(circuit, shots=3000, noise=NOISY, rng=np.random.default_rng(3)) == first


def test_error_patterns_are_drawn_per_shot_and_gate() -> None:
    # each (shot, gate) errs independently with its rate: per gate, the number of erring shots is binomial
    rates = np.array([0.2, 0.05, 0.2, 0.0])
    widths = np.array([1, 2, 1, 1])
    shots = 4000
    patterns, clean = _trajectories.sample_patterns(rates, widths, shots, np.random.default_rng(8))
    per_gate = np.zeros(4)
    codes = {0: set(), 1: set(), 2: set()}
    for key, count in patterns.items():
        for gate, code in key:
            per_gate[gate] += count
            codes[gate].add(code)
    for g in range(3):
        sd = np.sqrt(shots * rates[g] * (1 - rates[g]))
        assert abs(per_gate[g] - shots * rates[g]) < 5 * sd
    assert per_gate[3] == 0
    assert codes[0] == {1, 2, 3} and codes[1] == set(range(1, 16))
    p_clean = (1 - 0.2) ** 2 * (1 - 0.05)
    assert abs(clean - shots * p_clean) < 5 * np.sqrt(shots * p_clean * (1 - p_clean))
    assert clean + sum(patterns.values()) == shots


#: A circuit of permutation gates: every error pattern leads to one definite outcome, so trajectories shared
#: between shots would make an outcome's count jump between seeds far more than a binomial does.
PERMUTATIONS: list[dict[str, Any]] = [
    {"gate": "x", "target": 0}, {"gate": "cnot", "control": 0, "target": 1},
    {"gate": "cnot", "control": 1, "target": 2}, {"gate": "x", "target": 2}, {"gate": "swap", "targets": [0, 2]},
    {"gate": "cnot", "control": 2, "target": 0}, {"gate": "x", "target": 1},
    {"gate": "cnot", "control": 0, "target": 1},
]


@pytest.mark.slow
def test_shots_are_independent_across_seeds() -> None:
    """Count of the ideal outcome over many seeds: independent shots give Binomial(shots, p) counts, so
    sum (c - shots p)^2 / (shots p (1-p)) is chi-square with one degree of freedom per seed. Shots sharing a
    few trajectories (the engine before issue 11 capped them at 16+) give several times that."""
    circuit = parse_circuit(PERMUTATIONS, "qis", 3)
    expected = reference_distribution(circuit, NOISY)
    outcome = int(np.argmax(expected))
    p = expected[outcome]
    shots, seeds = 500, 100
    counts = np.array([run_noisy(circuit, shots=shots, noise=NOISY, rng=np.random.default_rng(s)).get(outcome, 0)
                       for s in range(seeds)])
    statistic = float(np.sum((counts - shots * p) ** 2) / (shots * p * (1 - p)))
    low, high = stats.chi2.ppf([0.0005, 0.9995], seeds)
    assert low < statistic < high, (statistic, low, high, counts.var() / (shots * p * (1 - p)))


def test_a_run_beyond_the_work_limit_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    circuit = parse_circuit(GATES, "qis", 3)
    monkeypatch.setattr(_trajectories, "MAX_WORK", 1000)
    with pytest.raises(ValueError, match="distinct error patterns"):
        run_noisy(circuit, shots=5000, noise=NOISY, rng=np.random.default_rng(1))
