"""Noisy simulation with independent shots: one exact error pattern per shot, one trajectory per distinct pattern.

Noise model (``_noise``): after every gate (``nop`` excluded), with probability ``p1q`` (one-qubit gates) or
``p2q`` (gates on two or more qubits, controls included) a uniformly random non-identity Pauli acts on the
gate's qubits; every measured bit then flips with probability ``readout``.

Method (:func:`run_noisy`):

1. Every shot's error pattern is drawn independently and exactly: for each rate, the number of errors over the
   ``shots x gates`` grid is binomial and their positions are uniform without replacement (the same law as one
   Bernoulli draw per shot and gate), and each error gets a uniform non-identity Pauli.
2. Shots with equal patterns (most often: no error at all) share one trajectory; every distinct pattern is
   simulated exactly once, and no shot ever reuses another pattern's trajectory.
3. Trajectories run together as the rows of one array, so each (fused) gate is one vectorised pass over all of
   them. A trajectory equals the ideal state until its first error, so rows join the batch only there, as a copy
   of the ideal row: the work is the ideal run plus, per pattern, the gates after its first error. An error
   after a gate that fusion merged with later gates is placed exactly by a correction after the fused op
   (``A P A^-1`` with ``A`` the fused op's members after that gate, or those members undone and redone, when
   cheaper). Batches hold at most :data:`BATCH_BYTES` of states; the ideal state is checkpointed between them.
4. Each shot's outcome is drawn from its own pattern's final distribution, then readout errors flip bits per
   shot.

So shots are independent draws from the noisy distribution (as on hardware), and deterministic for a given
``rng`` state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ionq_mcp.circuits import Circuit
from ionq_mcp.sandbox._fusion import _Op, embed, fuse, gate_ops, op_cost
from ionq_mcp.sandbox._gates import PAULI
from ionq_mcp.sandbox._kernels import apply_ops, check_size, zeros
from ionq_mcp.sandbox._noise import NoiseModel
from ionq_mcp.sandbox._sampling import sample_outcomes, to_counts

__all__ = ["BATCH_BYTES", "NOISY_SINGLE_PRECISION_QUBITS", "run_noisy"]

#: From this many qubits on, trajectories run in complex64: sampling needs no double precision, and single
#: precision halves the memory traffic (so: always).
NOISY_SINGLE_PRECISION_QUBITS = 1
#: Most amplitude updates (trajectories x fused ops after their first error x 2**n) a run may need; beyond it
#: the run is refused up front instead of occupying a worker for hours (about 16x a 20-qubit, 100-gate Aria
#: circuit with 1,000 shots).
MAX_WORK = 1 << 38
#: Most bytes of trajectory states held at once.
BATCH_BYTES = 256 << 20

_LETTERS = "IXYZ"

Pattern = tuple[tuple[int, int], ...]  # ((gate index, Pauli code), ...) by gate


def _pauli_matrix(width: int, code: int) -> np.ndarray:
    """Pauli number ``code`` (base-4 digits, first qubit most significant, I=0 X=1 Y=2 Z=3) on ``width``
    qubits."""
    m = np.eye(1, dtype=np.complex128)
    for i in range(width):
        m = np.kron(m, PAULI[_LETTERS[(code >> (2 * (width - 1 - i))) & 3]])
    return m


def _sample_error_positions(total: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct integers drawn uniformly from range(total), sorted."""
    have = np.zeros(0, dtype=np.int64)
    while have.size < count:
        merged = np.sort(np.concatenate([have, rng.integers(0, total, size=count - have.size)]))
        have = merged[np.r_[True, merged[1:] != merged[:-1]]]  # drop repeats, then top up
    return have


def sample_patterns(rates: np.ndarray, widths: np.ndarray, shots: int, rng: np.random.Generator,
                    ) -> tuple[dict[Pattern, int], int]:
    """Each shot's error pattern, drawn independently: ({pattern: number of shots}, shots with no error).

    ``rates[g]`` is gate ``g``'s error probability and ``widths[g]`` its qubit count.
    """
    shot_ids: list[np.ndarray] = []
    gate_ids: list[np.ndarray] = []
    for rate in sorted(set(rates[rates > 0].tolist())):
        members = np.flatnonzero(rates == rate)
        total = shots * members.size
        count = int(rng.binomial(total, rate))
        positions = _sample_error_positions(total, count, rng)
        shot_ids.append(positions // members.size)
        gate_ids.append(members[positions % members.size])
    if not shot_ids:
        return {}, shots
    s = np.concatenate(shot_ids)
    g = np.concatenate(gate_ids)
    codes = 1 + (rng.random(g.size) * ((1 << (2 * widths[g])) - 1)).astype(np.int64)
    order = np.lexsort((g, s))
    s, g, codes = s[order], g[order], codes[order]
    starts = np.flatnonzero(np.r_[True, np.diff(s) != 0]) if s.size else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], s.size].astype(np.int64)
    patterns: dict[Pattern, int] = {}
    gl, cl = g.tolist(), codes.tolist()
    for a, b in zip(starts.tolist(), ends.tolist()):
        key = tuple(zip(gl[a:b], cl[a:b]))
        patterns[key] = patterns.get(key, 0) + 1
    return patterns, shots - int(starts.size)


class _Corrections:
    """The ops that put an error after gate ``g`` into a run of fused ops (cached per gate and Pauli)."""

    def __init__(self, fused: Sequence[_Op], gate_qubits: Sequence[tuple[int, ...]]):
        self.fused = fused
        self.gate_qubits = gate_qubits
        self.where: dict[int, tuple[int, int]] = {}  # gate -> (fused op index, member position)
        for f, op in enumerate(fused):
            for pos, g in enumerate(op.gates):
                self.where[g] = (f, pos)  # a gate split over several ops errs after its last one
        self._cache: dict[tuple[int, int], list[_Op]] = {}
        self._after: dict[tuple[int, int], tuple[np.ndarray, float]] = {}

    def op_index(self, gate: int) -> int:
        return self.where[gate][0]

    def ops(self, gate: int, code: int) -> list[_Op]:
        key = (gate, code)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        f, pos = self.where[gate]
        op = self.fused[f]
        qubits = self.gate_qubits[gate]
        pauli = _pauli_matrix(len(qubits), code)
        if not op.parts or pos == len(op.parts) - 1:
            block = list(op.targets) if op.parts else list(qubits)
            out = [_Op(tuple(block), (), embed(pauli, qubits, block))]
        else:
            block = list(op.targets)
            p = embed(pauli, qubits, block)
            later = op.parts[pos + 1:]
            if (f, pos) not in self._after:
                a = np.eye(1 << len(block), dtype=np.complex128)
                for part in later:
                    a = part @ a
                self._after[f, pos] = (a, sum(op_cost(m) for m in later))
            a, redo = self._after[f, pos]
            dense = a @ p @ a.conj().T
            dense[np.abs(dense) < 1e-14] = 0
            if op_cost(dense) <= 2 * redo + op_cost(p):
                out = [_Op(tuple(block), (), dense)]
            else:  # undo the later members, apply the Pauli, redo them
                out = ([_Op(tuple(block), (), m.conj().T) for m in reversed(later)] + [_Op(tuple(block), (), p)]
                       + [_Op(tuple(block), (), m) for m in later])
        self._cache[key] = out
        return out


#: Up to this many qubits, a monomial correction (a Pauli, or a Pauli moved through permutation gates) is applied
#: to its row by one gather instead of the chunked kernels (whose per-call overhead dominates on small states).
GATHER_QUBITS = 16


def _gather_apply(row: np.ndarray, op: _Op, index: np.ndarray) -> bool:
    """Apply a monomial ``op`` (no controls) to the 1-d ``row`` as ``new[j] = phase * old[source(j)]``; False
    (nothing done) when the op is not monomial."""
    m = op.matrix
    if m is None or op.controls:
        return False
    nz = m != 0
    if not bool(np.all(nz.sum(axis=1) == 1)):
        return False
    src = np.argmax(nz, axis=1)
    phase = m[np.arange(m.shape[0]), src].astype(row.dtype)
    t = len(op.targets)
    r = np.zeros(index.shape, dtype=np.int64)
    block = 0
    for j, q in enumerate(op.targets):
        r |= ((index >> q) & 1) << (t - 1 - j)
        block |= 1 << q
    sr = src[r]
    gather = index & ~block
    for j, q in enumerate(op.targets):
        gather |= ((sr >> (t - 1 - j)) & 1) << q
    row[:] = row[gather] * phase[r]
    return True


def _row_outcomes(row: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    p = row.real.astype(np.float64) ** 2
    p += row.imag.astype(np.float64) ** 2
    return sample_outcomes(p, count, rng)


def _readout_flips(outcomes: np.ndarray, n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    if p <= 0:
        return outcomes
    mask = np.zeros(outcomes.shape, dtype=np.int64)
    for q in range(n):
        mask |= (rng.random(outcomes.size) < p).astype(np.int64) << q
    return outcomes ^ mask


def run_noisy(circuit: Circuit, *, shots: int, noise: NoiseModel, rng: np.random.Generator) -> dict[int, int]:
    """Shot counts {basis-state index: count} of ``circuit`` under the depolarizing + readout ``noise`` model,
    every shot an independent draw (module docstring). Deterministic for a given ``rng`` state.

    Cost: the ideal run plus, for each distinct error pattern, the gates after its first error (about
    ``shots * (1 - exp(-sum of the gates' error rates))`` patterns).
    """
    n = circuit.qubits
    check_size(n)
    if shots < 1:
        raise ValueError(f"shots must be >= 1, got {shots}")
    dtype = np.dtype(np.complex64 if n >= NOISY_SINGLE_PRECISION_QUBITS else np.complex128)
    fused = fuse([op for i, gate in enumerate(circuit.gates) for op in gate_ops(gate, i)], keep_parts=True)
    gate_qubits = [g.qubits for g in circuit.gates]
    corrections = _Corrections(fused, gate_qubits)
    # a gate with no op (nop, an all-identity pauliexp) is an identity: no error after it
    rates = np.array([0.0 if i not in corrections.where else (noise.p1q if len(q) == 1 else noise.p2q)
                      for i, q in enumerate(gate_qubits)])
    widths = np.array([len(q) for q in gate_qubits], dtype=np.int64)
    patterns, clean = sample_patterns(rates, widths, shots, rng)

    # rows in the order their trajectories leave the ideal one
    rows = sorted(patterns, key=lambda key: (corrections.op_index(key[0][0]), key))
    first = [corrections.op_index(key[0][0]) for key in rows]
    work = (len(fused) + sum(len(fused) - f for f in first)) << n
    if work > MAX_WORK:
        raise ValueError(f"{shots} noisy shots of this circuit draw {len(rows)} distinct error patterns, each "
                         f"simulated on its own (about {work:.2e} amplitude updates, the sandbox allows "
                         f"{MAX_WORK:.2e}); use fewer shots, gates or qubits")
    # one generator per trajectory (and one for the error-free shots): results do not depend on batching
    streams = rng.spawn(len(rows) + 1)
    outcomes: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * (len(rows) + 1)  # error-free shots last
    per_row = max(1, BATCH_BYTES // ((1 << n) * dtype.itemsize) - 1)
    ideal = np.zeros(1 << n, dtype=dtype)
    ideal[0] = 1
    start = 0  # ``ideal`` is the state before fused op ``start``
    index = np.arange(1 << n, dtype=np.int64) if n <= GATHER_QUBITS else None
    batches = [rows[i:i + per_row] for i in range(0, len(rows), per_row)] or [[]]
    for b, batch in enumerate(batches):
        base = b * per_row
        last_batch = b == len(batches) - 1
        f_next = len(fused) if last_batch else first[base + len(batch)]  # where the next batch starts
        keep_until = len(fused) if last_batch else max(f_next, first[base + len(batch) - 1] + 1)
        next_ideal = ideal.copy() if f_next == start else ideal
        joins: dict[int, int] = {}
        events: dict[int, list[tuple[int, int, list[_Op]]]] = {}
        for i, key in enumerate(batch):
            joins[first[base + i]] = joins.get(first[base + i], 0) + 1
            for gate, code in key:
                f, pos = corrections.where[gate]
                events.setdefault(f, []).append((1 + i, pos, corrections.ops(gate, code)))
        state = zeros((1 + len(batch), 1 << n), dtype)
        state[0] = ideal
        active, lo = 1, 0
        pending: list[_Op] = []

        def flush() -> None:
            if pending and lo < active:
                apply_ops(state[lo:active], pending)
            pending.clear()

        for f in range(start, len(fused)):
            if (0 if f < keep_until else 1) != lo:
                flush()
                lo = 1 - lo
            pending.append(fused[f])
            checkpoint = not last_batch and f + 1 == f_next
            if f in joins or f in events or checkpoint:
                flush()
                if checkpoint:
                    next_ideal = state[0].copy()
                count = joins.get(f, 0)
                if count:
                    state[active:active + count] = state[0]
                    active += count
                for row, _, ops in sorted(events.get(f, ()), key=lambda e: (e[0], e[1])):
                    if index is None or len(ops) > 1 or not _gather_apply(state[row], ops[0], index):
                        apply_ops(state[row:row + 1], ops)
        flush()
        if last_batch and clean:
            outcomes[-1] = _row_outcomes(state[0], clean, streams[-1])
        for i, key in enumerate(batch):
            outcomes[base + i] = _row_outcomes(state[1 + i], patterns[key], streams[base + i])
        ideal, start = next_ideal, f_next
    result = np.concatenate(outcomes)
    return to_counts(_readout_flips(result, n, noise.readout, rng))
