"""The fast engine against simple references: fusion vs no fusion, every kernel path (diagonal, permutation,
general, controls inside and outside a chunk, transposed chunks, prefix states) vs dense matrices, in-place
probabilities, chunked sparse results, and the memory a run needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._fusion import _Op, fuse
from ionq_mcp.sandbox._kernels import apply_ops, probabilities_inplace
from ionq_mcp.sandbox._simulator import (
    ideal_distribution,
    probabilities_to_dict,
    simulate_probabilities,
    simulate_statevector,
    sparse_distribution,
)
from tests.sandbox.test_gates import ONE_QUBIT

_NATIVE_TWO = ("ms", "zz")


def _random_gates(rng: np.random.Generator, n: int, count: int) -> list[dict[str, Any]]:
    """A mix of every QIS gate kind, with controls (up to 3) and two-qubit gates, on random qubits."""
    out: list[dict[str, Any]] = []
    for _ in range(count):
        qubits = [int(v) for v in rng.choice(n, size=min(n, 4), replace=False)]
        a, b, c, d = (qubits + qubits)[:4]
        kind = int(rng.integers(0, 8))
        name, params, _ = ONE_QUBIT[int(rng.integers(0, len(ONE_QUBIT)))]
        if name in ("rx", "ry", "rz"):
            params = {"rotation": float(rng.uniform(-3.2, 3.2))}
        if kind <= 1:
            out.append({"gate": name, "target": a, **params})
        elif kind == 2:
            out.append({"gate": name, "control": b, "target": a, **params})
        elif kind == 3 and n >= 4:
            out.append({"gate": name, "controls": [b, c, d], "target": a, **params})
        elif kind == 4:
            out.append({"gate": "cnot", "control": b, "target": a})
        elif kind == 5:
            out.append({"gate": "swap", "targets": [a, b]})
        else:
            g = ("xx", "yy", "zz")[int(rng.integers(0, 3))]
            out.append({"gate": g, "targets": [a, b], "rotation": float(rng.uniform(-3, 3))})
    return out


def _dense_apply(psi: np.ndarray, n: int, op: _Op) -> np.ndarray:
    """Reference: the op as a full 2**n matrix built from the definition (controls all 1 -> matrix on targets)."""
    assert op.matrix is not None
    dim = 1 << n
    out = np.zeros_like(psi)
    t = len(op.targets)
    for i in range(dim):
        if any(not (i >> c) & 1 for c in op.controls):
            out[i] += psi[i]
            continue
        row = 0
        for j, q in enumerate(op.targets):
            row |= ((i >> q) & 1) << (t - 1 - j)
        for col in range(1 << t):
            src = i
            for j, q in enumerate(op.targets):
                bit = (col >> (t - 1 - j)) & 1
                src = (src & ~(1 << q)) | (bit << q)
            out[i] += op.matrix[row, col] * psi[src]
    return out


def _random_unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    m = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    q, r = np.linalg.qr(m)
    return q * (np.diag(r) / np.abs(np.diag(r)))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [3, 7, 12])
def test_fused_equals_unfused_on_random_circuits(seed: int, n: int) -> None:
    rng = np.random.default_rng(1000 * n + seed)
    circuit = parse_circuit(_random_gates(rng, n, 80), "qis", n)
    fused = simulate_statevector(circuit)
    plain = simulate_statevector(circuit, fused=False)
    np.testing.assert_allclose(fused, plain, atol=1e-12)
    assert abs(np.linalg.norm(fused) - 1) < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_fused_equals_unfused_on_states_larger_than_a_chunk(seed: int) -> None:
    # 18 qubits > the 15/16-qubit chunks: stages, outer chunks, controls outside the chunk, transposed chunks
    rng = np.random.default_rng(seed)
    n = 18
    circuit = parse_circuit(_random_gates(rng, n, 60), "qis", n)
    np.testing.assert_allclose(simulate_statevector(circuit), simulate_statevector(circuit, fused=False),
                               atol=1e-12)


def test_fusion_merges_permutations_and_keeps_unrelated_rotations_apart() -> None:
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    chain = [_Op((q + 1,), (q,), x, gates=(q,)) for q in range(2)]  # cnot chain on 3 qubits
    fused = fuse(chain)
    assert len(fused) == 1 and set(fused[0].targets) == {0, 1, 2} and fused[0].gates == (0, 1)
    z, s = np.diag([1, -1]).astype(complex), np.diag([1, 1j])
    assert len(fuse([_Op((0,), (), z), _Op((1,), (), s), _Op((1,), (0,), z)])) == 1  # diagonals fold together
    ry = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]], dtype=complex)
    apart = fuse([_Op((0,), (), ry), _Op((1,), (), ry)])
    assert len(apart) == 2  # a dense two-qubit block would cost more than both rotations


@pytest.mark.parametrize("n", [5, 17])
def test_every_kernel_path_matches_the_dense_definition(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    high, low = n - 1, 0
    ops = [
        _Op((low,), (), np.diag([1, np.exp(0.7j)])),                      # diagonal on the lowest qubit
        _Op((high, 2), (), np.diag(np.exp(1j * rng.uniform(0, 6, 4)))),   # diagonal on two qubits
        _Op((high,), (), x),                                              # permutation
        _Op((1,), (high,), x),                                            # control above the chunk
        _Op((2, high), (), np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, -1]])),  # monomial
        _Op((low,), (), _random_unitary(rng, 1)),                         # general, lowest qubit
        _Op((3,), (high, 1), _random_unitary(rng, 1)),                    # general, two controls
        _Op((high, low, 3), (), _random_unitary(rng, 3)),                 # general, three qubits
        _Op((high - 1, 2), (), _random_unitary(rng, 2)),
    ]
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    psi /= np.linalg.norm(psi)
    if n > 10:  # the dense reference is slow: check a few ops at a time on the big state
        ops = ops[::2] + [ops[3], ops[6]]
    expected = psi.copy()
    for op in ops:
        expected = _dense_apply(expected, n, op)
    state = psi.copy().reshape(1, -1)
    apply_ops(state, ops)
    np.testing.assert_allclose(state[0], expected, atol=1e-12)
    rows = np.stack([psi, psi[::-1].copy()])
    apply_ops(rows, ops)  # several rows at once (the noisy engine's batches)
    np.testing.assert_allclose(rows[0], expected, atol=1e-12)


def test_single_precision_kernels() -> None:
    rng = np.random.default_rng(5)
    n = 6
    circuit = parse_circuit(_random_gates(rng, n, 60), "qis", n)
    np.testing.assert_allclose(simulate_statevector(circuit, dtype=np.complex64), simulate_statevector(circuit),
                               atol=2e-5)


def test_ghz_prefix_states_and_untouched_high_qubits() -> None:
    # qubits are touched in increasing order (the prefix path), then a gate reaches back to qubit 0
    n = 9
    gates = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 2)]
    gates.append({"gate": "ry", "target": 0, "rotation": 0.4})
    d = probabilities_to_dict(simulate_probabilities(parse_circuit(gates, "qis", n)))
    a, b = np.cos(0.2) ** 2 / 2, np.sin(0.2) ** 2 / 2
    top = 2 ** (n - 1) - 1  # qubit n-1 is never touched
    assert d == pytest.approx({"0": a, "1": b, str(top - 1): b, str(top): a}, abs=1e-12)


def test_probabilities_in_place_are_the_squared_magnitudes() -> None:
    rng = np.random.default_rng(3)
    for dtype in (np.complex128, np.complex64):
        psi = (rng.normal(size=(1 << 17) + 3) + 1j * rng.normal(size=(1 << 17) + 3)).astype(dtype)
        expected = np.abs(psi.astype(np.complex128)) ** 2
        p = probabilities_inplace(psi)
        assert p.dtype == (np.float64 if dtype == np.complex128 else np.float32)
        assert np.shares_memory(p, psi)
        np.testing.assert_allclose(p, expected, rtol=1e-5 if dtype == np.complex64 else 1e-12)


def test_sparse_distribution_matches_the_dense_dict_and_truncates_to_the_most_probable() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(1 << 12) ** 8
    p[rng.random(p.size) < 0.5] = 0
    p /= p.sum()
    d, note = sparse_distribution(p, cutoff=1e-12, max_states=1 << 12)
    assert note == {} and d == pytest.approx(probabilities_to_dict(p, cutoff=1e-12), rel=1e-12)
    assert list(d) == sorted(d, key=int)
    top, note = sparse_distribution(p, cutoff=1e-12, max_states=10)
    best = np.argsort(p)[-10:]
    assert set(top) == {str(int(i)) for i in best}
    info = note["truncated_results"]
    assert info["kept_states"] == 10 and info["nonzero_states"] == int(np.count_nonzero(p > 1e-12))
    assert info["kept_probability"] == pytest.approx(float(p[best].sum()), rel=1e-12)


def test_ideal_distribution_of_a_uniform_state_is_truncated() -> None:
    n = 12
    circuit = parse_circuit([{"gate": "h", "target": q} for q in range(n)], "qis", n)
    d, note = ideal_distribution(circuit, cutoff=1e-12, max_states=100)
    assert len(d) == 100 and note["truncated_results"]["nonzero_states"] == 2**n
    assert note["truncated_results"]["kept_probability"] == pytest.approx(100 / 2**n, rel=1e-9)


_PEAK_CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from ionq_mcp.circuits import parse_circuit
    from ionq_mcp.sandbox._simulator import ideal_distribution
    n = int(sys.argv[1])
    gates = [{"gate": "h", "target": q} for q in range(n)] + [{"gate": "rz", "target": 3, "rotation": 0.5}]
    gates += [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
    c = parse_circuit(gates, "qis", n)
    ideal_distribution(parse_circuit([{"gate": "h", "target": 0}], "qis", 2), cutoff=1e-12, max_states=4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    d, note = ideal_distribution(c, cutoff=1e-12, max_states=1 << 16)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(before, after, len(d), note["truncated_results"]["nonzero_states"])
""")


@pytest.mark.slow
def test_an_ideal_run_needs_the_state_and_little_more() -> None:
    n = 23  # complex128: 128 MiB of state
    out = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(n)], capture_output=True, text=True, check=True)
    before, after, kept, support = (int(v) for v in out.stdout.split())
    state_kib = (16 << n) >> 10
    assert kept == 1 << 16 and support == 2**n
    assert after - before < state_kib + 48 * 1024, (before, after, state_kib)
