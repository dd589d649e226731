"""State-vector simulation of validated IonQ circuits, in numpy.

Conventions (IonQ's): the state and probability vectors have length ``2**n`` and index ``i`` is the basis state
whose bit ``q`` is qubit ``q`` (qubit 0 = least significant bit). Result keys are those indices as decimal
strings.

Method. The state is kept as one contiguous array viewed as an ``(2,)*n`` tensor (axis ``n-1-q`` is qubit
``q``). Gates are applied in place by contracting their small matrix onto the target axes of a *view*; a
controlled gate only touches the view where every control is 1. No ``2**n x 2**n`` matrix is ever built.
Consecutive gates are fused greedily into dense blocks of up to :data:`FUSE_QUBITS` qubits (gates on disjoint
qubits keep separate open blocks, so fusion never reorders gates that share a qubit); a block is applied as one
matrix only when a cost model says that beats applying its gates one by one (cheap diagonal and X-like gates,
such as a CNOT chain, stay unfused). Large states are processed in sub-blocks of at most :data:`CHUNK` amplitudes so that
temporaries stay small: a 29-qubit state runs in complex64 (4 GiB) with well under 1 GiB of scratch.

Noise (:func:`run_noisy`) is shot-based Monte-Carlo: after each gate a uniformly random non-identity Pauli on
that gate's qubits is applied with the model's 1q/2q error probability (gates on 3+ qubits use the 2q rate), and
each measured bit is flipped with the model's readout probability. Error patterns are sampled exactly per shot;
shots with the same pattern share one simulation (most shots have none at low error rates). When a circuit
produces more distinct error patterns than the work budget allows, the error shots are spread over a random
sample of those patterns: every shot still follows the exact noisy distribution, only shots become
correlated. See :func:`run_noisy`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ionq_mcp.circuits import Circuit, Gate
from ionq_mcp.sandbox._gates import (
    MAX_DENSE_PAULIEXP_QUBITS,
    PAULI,
    gate_matrix,
    terms_commute,
)
from ionq_mcp.sandbox._noise import NoiseModel

__all__ = [
    "MAX_QUBITS",
    "permute_qubits",
    "probabilities_to_dict",
    "run_noisy",
    "sample_counts",
    "simulate_probabilities",
    "simulate_statevector",
    "unpermute_counts",
]

#: Largest circuit the engine simulates (IonQ's simulator limit).
MAX_QUBITS = 29
#: From this many qubits on, states are complex64 whatever dtype was asked for (a 29-qubit state is 4 GiB).
SINGLE_PRECISION_QUBITS = 27
#: From this many qubits on, noisy trajectories run in complex64.
NOISY_SINGLE_PRECISION_QUBITS = 20
#: Most amplitudes one in-place kernel touches at once (bounds temporaries).
CHUNK = 1 << 22
#: Largest block of qubits consecutive gates are fused into.
FUSE_QUBITS = 4
#: Work budget for noisy runs: trajectories * gates * (2**n + _OP_OVERHEAD) stays around this (a few seconds).
_NOISE_WORK = 1 << 26
#: Python overhead of one gate in a trajectory (fusion, dispatch), in amplitude updates.
_OP_OVERHEAD = 1 << 13
_MIN_TRAJECTORIES = 16
_MAX_TRAJECTORIES = 4096


# ----------------------------------------------------------------------------------------------------------------
# Operations: what the kernels apply
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Op:
    """``matrix`` on ``targets`` (textbook order, targets[0] most significant) where all ``controls`` are 1.

    ``pauli`` set instead of ``matrix`` means exp(-i angle P) for a Pauli string P on ``targets`` (used for
    pauliexp gates too wide for a dense matrix).
    """

    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    matrix: np.ndarray | None = None
    pauli: str | None = None
    angle: float = 0.0

    @property
    def qubits(self) -> tuple[int, ...]:
        return self.controls + self.targets


def _gate_ops(gate: Gate) -> list[_Op]:
    if gate.name == "nop":
        return []
    if gate.name == "pauliexp" and len(gate.targets) > MAX_DENSE_PAULIEXP_QUBITS:
        terms = gate.params["terms"]
        if not terms_commute(terms):
            raise ValueError(f"pauliexp on {len(gate.targets)} qubits with non-commuting terms is not supported "
                             f"(commuting terms on any number of qubits, or at most "
                             f"{MAX_DENSE_PAULIEXP_QUBITS} qubits)")
        ops = []
        for term, c in zip(terms, gate.params["coefficients"]):
            support = tuple(q for q, letter in zip(gate.targets, term) if letter != "I")
            if support:
                letters = "".join(letter for letter in term if letter != "I")
                ops.append(_Op(support, pauli=letters, angle=gate.params["time"] * c))
        return ops
    return [_Op(gate.targets, gate.controls, gate_matrix(gate))]


def _circuit_ops(circuit: Circuit) -> list[_Op]:
    return [op for gate in circuit.gates for op in _gate_ops(gate)]


def _controlled_dense(op: _Op) -> np.ndarray:
    """The op as a dense matrix on ``controls + targets`` (controls most significant)."""
    assert op.matrix is not None
    if not op.controls:
        return op.matrix
    k = op.matrix.shape[0]
    dim = k << len(op.controls)
    out = np.eye(dim, dtype=np.complex128)
    out[dim - k:, dim - k:] = op.matrix
    return out


def _embed(matrix: np.ndarray, sub: Sequence[int], full: Sequence[int]) -> np.ndarray:
    """``matrix`` on qubits ``sub`` written as a matrix on the qubit list ``full`` (a superset of ``sub``)."""
    if list(sub) == list(full):
        return matrix
    rest = [q for q in full if q not in sub]
    m, k = len(sub), len(full)
    big = np.kron(matrix, np.eye(1 << (k - m), dtype=np.complex128)).reshape((2,) * (2 * k))
    order = list(sub) + rest  # current axis order of ``big`` (rows, then the same for columns)
    perm = [order.index(q) for q in full]
    return big.transpose(perm + [k + p for p in perm]).reshape(1 << k, 1 << k)


#: Rough cost of applying an op, in passes of a diagonal gate over the state (measured at 23-26 qubits): the
#: fused dense block pays off only when it replaces more work than this.
_DENSE_COST = 14.0


def _is_diagonal(m: np.ndarray) -> bool:
    return not np.any(m - np.diag(np.diag(m)))


def _cost(op: _Op) -> float:
    """Relative cost of applying ``op`` with the in-place kernels."""
    if op.matrix is None:
        return 3 * _DENSE_COST
    m = op.matrix
    if _is_diagonal(m):
        base = 1.0
    elif m.shape[0] == 2:
        base = 3.0 if m[0, 0] == 0 and m[1, 1] == 0 else 6.0
    else:
        base = _DENSE_COST
    return base * (0.8 if op.controls else 1.0)


@dataclass(slots=True)
class _Block:
    """Consecutive ops on at most ``width`` qubits, with their product as one matrix on ``qubits``."""

    qubits: list[int]
    matrix: np.ndarray
    members: list[_Op]

    def emit(self) -> list[_Op]:
        """The dense block, or the original ops when applying them one by one is cheaper."""
        dense = 1.0 if _is_diagonal(self.matrix) else _DENSE_COST
        if len(self.members) == 1 or sum(_cost(op) for op in self.members) <= dense:
            return list(self.members)
        return [_Op(tuple(self.qubits), (), self.matrix)]


def _fuse(ops: Iterable[_Op], width: int = FUSE_QUBITS) -> list[_Op]:
    """Greedy gate fusion into dense blocks of at most ``width`` qubits; keeps the circuit's meaning exactly.

    Each qubit has at most one open block; a gate joins (and merges) the open blocks of its qubits while their
    union stays within ``width``, otherwise those blocks are emitted first. Blocks on disjoint qubits commute,
    so emitting them in any order is exact.
    """
    out: list[_Op] = []
    open_blocks: dict[int, _Block] = {}

    def flush(block: _Block) -> None:
        out.extend(block.emit())
        for q in block.qubits:
            if open_blocks.get(q) is block:
                del open_blocks[q]

    for op in ops:
        qubits = op.qubits
        if op.matrix is None or len(qubits) > width:
            for q in qubits:
                if q in open_blocks:
                    flush(open_blocks[q])
            out.append(op)
            continue
        touching: list[_Block] = []
        for q in qubits:
            b = open_blocks.get(q)
            if b is not None and all(b is not t for t in touching):
                touching.append(b)
        union = [q for b in touching for q in b.qubits]
        union += [q for q in qubits if q not in union]
        if len(union) <= width:
            merged = np.eye(1, dtype=np.complex128)
            merged_qubits: list[int] = []
            members: list[_Op] = []
            for b in touching:
                merged = np.kron(merged, b.matrix)
                merged_qubits += b.qubits
                members += b.members
            merged = _embed(merged, merged_qubits, union) if merged_qubits else np.eye(1 << len(union))
            block = _Block(union, _embed(_controlled_dense(op), qubits, union) @ merged, members + [op])
        else:
            for b in touching:
                flush(b)
            block = _Block(list(qubits), _controlled_dense(op), [op])
        for q in block.qubits:
            open_blocks[q] = block
    remaining: list[_Block] = []
    for b in open_blocks.values():
        if all(b is not r for r in remaining):
            remaining.append(b)
    for b in remaining:
        flush(b)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------------------------


def _apply_sub(sub: np.ndarray, tpos: Sequence[int], u: np.ndarray) -> None:
    """Apply ``u`` (2**k square, textbook order) in place to axes ``tpos`` of the tensor view ``sub``."""
    k = len(tpos)
    if k == 1:
        t = tpos[0]
        i0: list = [slice(None)] * sub.ndim
        i1 = list(i0)
        i0[t], i1[t] = slice(0, 1), slice(1, 2)  # slices keep views even on a 1-d sub-state
        s0, s1 = sub[tuple(i0)], sub[tuple(i1)]
        u00, u01, u10, u11 = u[0, 0], u[0, 1], u[1, 0], u[1, 1]
        if u01 == 0 and u10 == 0:
            if u00 != 1:
                s0 *= u00
            if u11 != 1:
                s1 *= u11
        elif u00 == 0 and u11 == 0:
            old = s0.copy()
            np.multiply(s1, u01, out=s0)
            np.multiply(old, u10, out=s1)
        else:
            old = s0.copy()
            s0 *= u00
            s0 += u01 * s1
            s1 *= u11
            s1 += u10 * old
        return
    if _is_diagonal(u):
        shape = [1] * sub.ndim
        for t in tpos:
            shape[t] = 2
        # diag as a (2,)*k tensor in target order, then reorder its axes to ascending view positions
        d = np.diag(u).reshape((2,) * k)
        order = sorted(range(k), key=lambda i: tpos[i])
        sub *= d.transpose(order).reshape(shape)
        return
    new = np.tensordot(u.reshape((2,) * (2 * k)), sub, axes=(list(range(k, 2 * k)), list(tpos)))
    sub[...] = np.moveaxis(new, list(range(k)), list(tpos))


def _apply_op(psi: np.ndarray, n: int, op: _Op) -> None:
    """Apply one op in place to the flat state ``psi`` of ``n`` qubits."""
    if op.pauli is not None:
        _apply_pauli_rotation(psi, n, op.targets, op.pauli, op.angle)
        return
    assert op.matrix is not None
    u = op.matrix.astype(psi.dtype, copy=False)
    view = psi.reshape((2,) * n)
    tax = [n - 1 - q for q in op.targets]
    fixed = {n - 1 - c: 1 for c in op.controls}
    free = [a for a in range(n) if a not in fixed and a not in tax]
    size = 1 << (n - len(fixed))
    chunk_axes: list[int] = []
    while size > CHUNK and len(chunk_axes) < len(free):
        chunk_axes.append(free[len(chunk_axes)])
        size >>= 1
    remaining = [a for a in range(n) if a not in fixed and a not in chunk_axes]
    tpos = [remaining.index(a) for a in tax]
    for values in itertools.product((0, 1), repeat=len(chunk_axes)):
        idx: list = [slice(None)] * n
        for a, v in fixed.items():
            idx[a] = v
        for a, v in zip(chunk_axes, values):
            idx[a] = v
        _apply_sub(view[tuple(idx)], tpos, u)


def _apply_pauli_rotation(psi: np.ndarray, n: int, qubits: Sequence[int], letters: str, angle: float) -> None:
    """exp(-i angle P) for the Pauli string ``letters`` on ``qubits``: basis change to Z, parity phase, back."""
    h = PAULI["X"] + PAULI["Z"]
    h = h / math.sqrt(2)
    sdg = np.diag([1, -1j])
    for q, letter in zip(qubits, letters):
        if letter == "X":
            _apply_op(psi, n, _Op((q,), (), h))
        elif letter == "Y":
            _apply_op(psi, n, _Op((q,), (), h @ sdg))
    mask = 0
    for q in qubits:
        mask |= 1 << q
    plus, minus = np.exp(-1j * angle), np.exp(1j * angle)
    for lo in range(0, psi.size, CHUNK):
        idx = np.arange(lo, min(lo + CHUNK, psi.size), dtype=np.int64) & mask
        parity = np.zeros(idx.shape, dtype=bool)
        for q in qubits:
            parity ^= ((idx >> q) & 1).astype(bool)
        psi[lo:lo + idx.size] *= np.where(parity, minus, plus).astype(psi.dtype)
    for q, letter in zip(qubits, letters):
        if letter == "X":
            _apply_op(psi, n, _Op((q,), (), h))
        elif letter == "Y":
            _apply_op(psi, n, _Op((q,), (), sdg.conj().T @ h))


# ----------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------


def _check_size(n: int) -> None:
    if n > MAX_QUBITS:
        raise ValueError(f"{n} qubits exceed the simulator limit of {MAX_QUBITS}")
    if n < 1:
        raise ValueError(f"a circuit needs at least one qubit, got {n}")


def _state_dtype(n: int, dtype: np.dtype | type) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.complex64), np.dtype(np.complex128)):
        raise ValueError(f"dtype must be complex64 or complex128, got {dt}")
    return np.dtype(np.complex64) if n >= SINGLE_PRECISION_QUBITS else dt


def _run_ops(n: int, ops: Iterable[_Op], dtype: np.dtype) -> np.ndarray:
    psi = np.zeros(1 << n, dtype=dtype)
    psi[0] = 1
    for op in _fuse(ops):
        _apply_op(psi, n, op)
    return psi


def simulate_statevector(circuit: Circuit, *, dtype: np.dtype | type = np.complex128) -> np.ndarray:
    """The final state of ``circuit`` started in |0...0>, length ``2**n``, qubit 0 = least significant bit.

    ``dtype`` is complex128 or complex64; circuits of :data:`SINGLE_PRECISION_QUBITS` or more qubits always run in
    complex64. Raises ``ValueError`` above :data:`MAX_QUBITS` qubits.
    """
    _check_size(circuit.qubits)
    return _run_ops(circuit.qubits, _circuit_ops(circuit), _state_dtype(circuit.qubits, dtype))


def _probabilities(psi: np.ndarray) -> np.ndarray:
    real = np.float32 if psi.dtype == np.complex64 else np.float64
    out = np.empty(psi.size, dtype=real)
    for lo in range(0, psi.size, CHUNK):
        part = psi[lo:lo + CHUNK]
        np.add(part.real ** 2, part.imag ** 2, out=out[lo:lo + part.size])
    return out


def simulate_probabilities(circuit: Circuit, *, dtype: np.dtype | type = np.complex128) -> np.ndarray:
    """Exact measurement probabilities of every basis state (length ``2**n``, qubit 0 = least significant bit).

    float64 for complex128 states, float32 for complex64 ones (27+ qubits).
    """
    return _probabilities(simulate_statevector(circuit, dtype=dtype))


def _sample_outcomes(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` basis-state indices drawn from ``probabilities`` (sorted). Works chunk-wise on huge vectors."""
    if shots <= 0:
        return np.zeros(0, dtype=np.int64)
    total = float(np.sum(probabilities, dtype=np.float64))
    if not total > 0:
        raise ValueError("probabilities sum to zero")
    u = np.sort(rng.random(shots)) * total
    out = np.empty(shots, dtype=np.int64)
    offset = 0.0
    done = 0
    size = probabilities.size
    for lo in range(0, size, CHUNK):
        cdf = np.cumsum(probabilities[lo:lo + CHUNK], dtype=np.float64) + offset
        last = lo + CHUNK >= size
        hi_value = np.inf if last else cdf[-1]
        end = shots if last else int(np.searchsorted(u, hi_value, side="left"))
        if end > done:
            pos = np.searchsorted(cdf, u[done:end], side="right")
            np.minimum(pos, cdf.size - 1, out=pos)
            out[done:end] = lo + pos
            done = end
        offset = cdf[-1]
        if done >= shots:
            break
    return out


def _to_counts(outcomes: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(outcomes, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


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


# ----------------------------------------------------------------------------------------------------------------
# Noise
# ----------------------------------------------------------------------------------------------------------------

_PAULI_LETTERS = "IXYZ"


def _pauli_ops(qubits: Sequence[int], code: int) -> list[_Op]:
    """The Pauli number ``code`` (1 .. 4**k - 1, base-4 digits, qubits[0] most significant) as 1q ops."""
    ops = []
    k = len(qubits)
    for i, q in enumerate(qubits):
        letter = _PAULI_LETTERS[(code >> (2 * (k - 1 - i))) & 3]
        if letter != "I":
            ops.append(_Op((q,), (), PAULI[letter]))
    return ops


def _sample_error_positions(total: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct integers drawn uniformly from range(total), sorted."""
    have = np.zeros(0, dtype=np.int64)
    while have.size < count:
        merged = np.sort(np.concatenate([have, rng.integers(0, total, size=count - have.size)]))
        have = merged[np.r_[True, merged[1:] != merged[:-1]]]  # drop repeats, then top up
    return have


def _readout_flips(outcomes: np.ndarray, n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    if p <= 0:
        return outcomes
    mask = np.zeros(outcomes.shape, dtype=np.int64)
    for q in range(n):
        mask |= (rng.random(outcomes.size) < p).astype(np.int64) << q
    return outcomes ^ mask


def run_noisy(circuit: Circuit, *, shots: int, noise: NoiseModel, rng: np.random.Generator) -> dict[int, int]:
    """Shot counts {basis-state index: count} of ``circuit`` under the depolarizing + readout ``noise`` model.

    Noise: after every gate (``nop`` excluded), with probability ``noise.p1q`` (one-qubit gates) or
    ``noise.p2q`` (gates on two or more qubits, controls included) a uniformly random non-identity Pauli acts on
    the gate's qubits; then every measured bit flips with probability ``noise.readout``.

    Method: each shot's error pattern is drawn exactly (error positions over the shots x gates grid, then a
    Pauli per error). Shots with no error share the ideal distribution; shots with equal patterns share one
    simulation. If the error shots or their distinct patterns exceed the work budget (about
    ``2**26 / ((2**n + 2**13) * gates)`` trajectories, at least 16), the error shots are spread uniformly over the patterns
    of that many randomly drawn error shots, so each shot still follows the exact noisy distribution (shots
    become correlated). Deterministic for a given ``rng`` state.
    """
    n = circuit.qubits
    _check_size(n)
    if shots < 1:
        raise ValueError(f"shots must be >= 1, got {shots}")
    # Sampling needs no double precision; single precision halves the memory traffic of wide trajectories.
    dtype = _state_dtype(n, np.complex64 if n >= NOISY_SINGLE_PRECISION_QUBITS else np.complex128)
    gate_ops = [_gate_ops(g) for g in circuit.gates]
    gate_qubits = [() if g.name == "nop" else g.qubits for g in circuit.gates]
    rates = np.array([0.0 if not q else (noise.p1q if len(q) == 1 else noise.p2q) for q in gate_qubits])

    # Sample the errors: (shot, gate, pauli code), grouped by rate so each group is one binomial draw.
    shot_ids: list[np.ndarray] = []
    gate_ids: list[np.ndarray] = []
    for rate in sorted(set(rates[rates > 0].tolist())):
        members = np.flatnonzero(rates == rate)
        total = shots * members.size
        count = int(rng.binomial(total, rate))
        positions = _sample_error_positions(total, count, rng)
        shot_ids.append(positions // members.size)
        gate_ids.append(members[positions % members.size])
    budget = _NOISE_WORK // (((1 << n) + _OP_OVERHEAD) * max(1, len(circuit.gates)))
    budget = max(_MIN_TRAJECTORIES, min(_MAX_TRAJECTORIES, budget))
    patterns: dict[tuple, int] = {}
    error_shots = 0
    if shot_ids:
        s = np.concatenate(shot_ids)
        g = np.concatenate(gate_ids)
        widths = np.array([len(q) for q in gate_qubits], dtype=np.int64)[g]
        codes = 1 + (rng.random(g.size) * ((1 << (2 * widths)) - 1)).astype(np.int64)
        order = np.lexsort((g, s))
        s, g, codes = s[order], g[order], codes[order]
        starts = np.flatnonzero(np.r_[True, np.diff(s) != 0])  # first error of each error shot
        ends = np.r_[starts[1:], s.size]
        error_shots = int(starts.size)

        def pattern(i: int) -> tuple:
            return tuple(zip(g[starts[i]:ends[i]].tolist(), codes[starts[i]:ends[i]].tolist()))

        if error_shots <= 4 * budget:
            for i in range(error_shots):
                key = pattern(i)
                patterns[key] = patterns.get(key, 0) + 1
        if len(patterns) > budget or error_shots > 4 * budget:
            # Too many distinct patterns: take the patterns of `budget` error shots drawn uniformly, and spread
            # the error shots evenly over them (each shot's pattern is still an exact draw).
            chosen = rng.integers(0, error_shots, size=budget)
            spread = rng.multinomial(error_shots, np.full(budget, 1 / budget))
            patterns = {}
            for i, c in zip(chosen.tolist(), spread.tolist()):
                if c:
                    key = pattern(i)
                    patterns[key] = patterns.get(key, 0) + c

    outcomes: list[np.ndarray] = []
    clean = shots - error_shots
    if clean:
        ideal = _probabilities(_run_ops(n, (op for ops in gate_ops for op in ops), dtype))
        outcomes.append(_sample_outcomes(ideal, clean, rng))
    for key in sorted(patterns):
        errors = dict(key)
        ops: list[_Op] = []
        for i, ops_i in enumerate(gate_ops):
            ops += ops_i
            if i in errors:
                ops += _pauli_ops(gate_qubits[i], errors[i])
        probs = _probabilities(_run_ops(n, ops, dtype))
        outcomes.append(_sample_outcomes(probs, patterns[key], rng))
    result = np.concatenate(outcomes) if outcomes else np.zeros(0, dtype=np.int64)
    return _to_counts(_readout_flips(result, n, noise.readout, rng))
