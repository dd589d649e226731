"""State-vector simulation of validated IonQ circuits, in numpy: the public entry points.

Conventions (IonQ's): the state and probability vectors have length ``2**n`` and index ``i`` is the basis state
whose bit ``q`` is qubit ``q`` (qubit 0 = least significant bit). Result keys are those indices as decimal
strings.

Method. Gates become ops (``_fusion``), consecutive ops are fused where a cost model says it pays, and the
cache-blocked in-place kernels of ``_kernels`` apply them (diagonal gates as one multiply, permutation gates as
index swaps, no full-size temporaries). Qubits no gate has touched yet are still |0>: while the ops so far act
only on qubits below ``k``, the state lives in its first ``2**k`` amplitudes and only those are processed (a
GHZ circuit that entangles qubit after qubit costs about two passes over the final state, not one per gate).
Probabilities are computed in place in the state's buffer and sparse results are extracted chunk by chunk, so
a 29-qubit run (complex64, 4 GiB) peaks at the state plus a few MiB. Noisy runs: ``_trajectories``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ionq_mcp.circuits import Circuit, Gate
from ionq_mcp.sandbox._fusion import _Op, circuit_ops, fuse
from ionq_mcp.sandbox._kernels import MAX_QUBITS, apply_ops, probabilities_inplace, zeros
from ionq_mcp.sandbox._kernels import check_size as _check_size
from ionq_mcp.sandbox._sampling import sample_outcomes as _sample_outcomes
from ionq_mcp.sandbox._sampling import to_counts as _to_counts
from ionq_mcp.sandbox._trajectories import run_noisy

__all__ = [
    "MAX_QUBITS",
    "ideal_distribution",
    "permute_qubits",
    "probabilities_to_dict",
    "run_noisy",
    "sample_counts",
    "simulate_probabilities",
    "simulate_statevector",
    "sparse_distribution",
    "unpermute_counts",
]

#: From this many qubits on, states are complex64 whatever dtype was asked for (a 29-qubit state is 4 GiB).
SINGLE_PRECISION_QUBITS = 27
#: Amplitudes per step of the chunked scans over huge vectors (used by ``_qfunc`` too).
CHUNK = 1 << 22
#: Entries per step of :func:`sparse_distribution` (bounds its candidate lists and temporaries to a few MiB).
SPARSE_CHUNK = 1 << 18


def _state_dtype(n: int, dtype: np.dtype | type) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.complex64), np.dtype(np.complex128)):
        raise ValueError(f"dtype must be complex64 or complex128, got {dt}")
    return np.dtype(np.complex64) if n >= SINGLE_PRECISION_QUBITS else dt


def _run_ops(n: int, ops: Iterable[_Op], dtype: np.dtype, *, fused: bool = True) -> np.ndarray:
    """The state after ``ops`` from |0...0> (length ``2**n``). ``fused=False`` skips gate fusion (tests)."""
    psi = zeros((1 << n,), dtype)
    psi[0] = 1
    todo = fuse(ops) if fused else list(ops)
    width = 1
    pending: list[_Op] = []
    for op in todo:
        need = max(op.qubits) + 1
        if need > width and pending:
            apply_ops(psi[:1 << width].reshape(1, -1), pending)
            pending = []
        width = max(width, need)
        pending.append(op)
    if pending:
        apply_ops(psi[:1 << width].reshape(1, -1), pending)
    return psi


def simulate_statevector(circuit: Circuit, *, dtype: np.dtype | type = np.complex128,
                         fused: bool = True) -> np.ndarray:
    """The final state of ``circuit`` started in |0...0>, length ``2**n``, qubit 0 = least significant bit.

    ``dtype`` is complex128 or complex64; circuits of :data:`SINGLE_PRECISION_QUBITS` or more qubits always run in
    complex64. ``fused=False`` applies every gate on its own (to check fusion). Raises ``ValueError`` above
    :data:`MAX_QUBITS` qubits.
    """
    _check_size(circuit.qubits)
    return _run_ops(circuit.qubits, circuit_ops(circuit), _state_dtype(circuit.qubits, dtype), fused=fused)


def simulate_probabilities(circuit: Circuit, *, dtype: np.dtype | type = np.complex128) -> np.ndarray:
    """Exact measurement probabilities of every basis state (length ``2**n``, qubit 0 = least significant bit).

    float64 for complex128 states, float32 for complex64 ones (27+ qubits). The array is a view of the state's
    buffer (computed in place), so it costs no memory beyond the state.
    """
    return probabilities_inplace(simulate_statevector(circuit, dtype=dtype))


def sparse_distribution(p: np.ndarray, *, cutoff: float, max_states: int) -> tuple[dict[str, float], dict[str, Any]]:
    """IonQ's sparse result from a probability vector, scanned chunk by chunk (no full-size temporaries).

    Entries <= ``cutoff`` are dropped (IonQ's results are sparse maps; dropping probabilities this small changes
    no reported digit that matters). When at most ``max_states`` remain they are renormalised to sum to 1 and
    the note is empty; otherwise the ``max_states`` most probable are kept unnormalised and the note says
    ``{"truncated_results": {kept_states, nonzero_states, kept_probability}}``. Keys ascend numerically.
    """
    keys: list[np.ndarray] = []
    values: list[np.ndarray] = []
    support = 0
    held = 0
    for lo in range(0, p.size, SPARSE_CHUNK):
        part = p[lo:lo + SPARSE_CHUNK]
        idx = np.flatnonzero(part > cutoff)
        if not idx.size:
            continue
        support += int(idx.size)
        keys.append(idx + lo)
        values.append(part[idx].astype(np.float64))
        held += int(idx.size)
        if held > 2 * max_states:  # keep the candidate set small: the top max_states so far
            k, v = np.concatenate(keys), np.concatenate(values)
            top = np.argpartition(v, -max_states)[-max_states:]
            keys, values, held = [k[top]], [v[top]], max_states
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    v = np.concatenate(values) if values else np.zeros(0)
    note: dict[str, Any] = {}
    if support > max_states:
        top = np.argpartition(v, -max_states)[-max_states:]
        k, v = k[top], v[top]
        note = {"truncated_results": {"kept_states": max_states, "nonzero_states": support,
                                      "kept_probability": float(v.sum())}}
    order = np.argsort(k)
    k, v = k[order], v[order]
    if not note:
        total = v.sum()
        if total > 0:
            v = v / total
    return {str(int(i)): float(x) for i, x in zip(k, v)}, note


def ideal_distribution(circuit: Circuit, *, cutoff: float, max_states: int,
                       ) -> tuple[dict[str, float], dict[str, Any]]:
    """The ideal simulator's result: :func:`sparse_distribution` of the circuit's exact probabilities.

    Peak memory is the state (complex128 below 27 qubits, complex64 from 27 on) plus a few MiB: probabilities
    are computed in the state's buffer.
    """
    return sparse_distribution(simulate_probabilities(circuit), cutoff=cutoff, max_states=max_states)


def sample_counts(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> dict[int, int]:
    """Draw ``shots`` measurements from ``probabilities``; returns {basis-state index: count} (no zero counts)."""
    return _to_counts(_sample_outcomes(np.asarray(probabilities), shots, rng))


def probabilities_to_dict(p: np.ndarray, *, cutoff: float = 1e-12) -> dict[str, float]:
    """IonQ's result shape: {decimal basis-state index: probability}, entries <= ``cutoff`` dropped, renormalised.

    Keys ascend numerically. A dense distribution on many qubits makes a huge dict: callers decide the limit.
    """
    p = np.asarray(p)
    keep = np.flatnonzero(p > cutoff)
    values = p[keep].astype(np.float64)
    total = values.sum()
    if total > 0:
        values /= total
    return {str(int(i)): float(v) for i, v in zip(keep, values)}


def permute_qubits(circuit: Circuit, qubit_map: Sequence[int]) -> Circuit:
    """The same circuit with logical qubit ``q`` moved to qubit ``qubit_map[q]`` (a permutation of 0..n-1).

    Measuring the permuted circuit gives outcome bits in permuted positions; :func:`unpermute_counts` maps them
    back.
    """
    n = circuit.qubits
    if sorted(qubit_map) != list(range(n)):
        raise ValueError(f"qubit_map must be a permutation of 0..{n - 1}, got {list(qubit_map)}")
    gates = tuple(
        Gate(g.name, g.gateset, tuple(qubit_map[q] for q in g.targets), tuple(qubit_map[q] for q in g.controls),
             g.params)
        for g in circuit.gates
    )
    return Circuit(n, circuit.gateset, gates, circuit.name)


def unpermute_counts(counts: Mapping[int, int], qubit_map: Sequence[int]) -> dict[int, int]:
    """Counts of a :func:`permute_qubits` circuit re-expressed in the original qubit order."""
    out: dict[int, int] = {}
    for key, c in counts.items():
        original = 0
        for q, physical in enumerate(qubit_map):
            if key >> physical & 1:
                original |= 1 << q
        out[original] = out.get(original, 0) + c
    return out
