"""In-place, cache-blocked kernels that apply ops (``_fusion._Op``) to state vectors.

States are C-contiguous complex arrays of shape ``(rows, 2**k)``: one row per state vector (the ideal engine
uses one row, the noisy engine one per error pattern). Index ``i`` of a row is the basis state whose bit ``q``
is qubit ``q`` (qubit 0 = least significant bit).

Method. Ops are grouped into *stages*: consecutive ops whose targets all lie in one set of :data:`CHUNK_QUBITS`
qubits (always including the lowest :data:`LOW_QUBITS`, so contiguous runs stay long). A stage walks the state
chunk by chunk (a chunk fixes the bits of the other qubits: ``2**CHUNK_QUBITS`` amplitudes, a few hundred KiB
that stay in the CPU cache) and applies every op of the stage to the chunk before moving on, so a stage costs
one pass over memory however many ops it holds. A chunk whose fixed bits include a 0 control of an op skips that
op. Within a chunk, an op on ``t`` targets splits the chunk into ``2**t`` row views (one per value of the target
bits, controls fixed to 1) and:

* a diagonal matrix multiplies each row with a non-1 entry by that scalar (z, s, t, rz, cz, zz ...: no copy);
* a monomial matrix (one non-zero per row: x, y, cnot, swap, toffoli ...) follows each cycle of its permutation
  with one saved row: index swaps, no arithmetic beyond phases;
* any other matrix saves only the rows a later row still reads, and updates each non-identity row in place
  with one multiply-add per non-zero entry.

Temporaries are row-sized buffers of a chunk (never full-size), so a 29-qubit complex64 state (4 GiB) runs with
a few MiB of scratch. :func:`probabilities_inplace` turns a state into its probabilities inside the same buffer.
"""

from __future__ import annotations

import itertools
import math
import mmap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ionq_mcp.sandbox._fusion import _Op
from ionq_mcp.sandbox._gates import PAULI

__all__ = ["CHUNK_QUBITS", "LOW_QUBITS", "MAX_QUBITS", "apply_ops", "check_size", "probabilities_inplace", "zeros"]

#: Largest state the engine simulates (IonQ's simulator limit).
MAX_QUBITS = 29

#: Qubits of one chunk (2**15 complex128 amplitudes = 512 KiB, half an L2 cache).
CHUNK_QUBITS = 15
#: The lowest qubits every chunk holds (contiguous runs of at least 2**LOW_QUBITS amplitudes).
LOW_QUBITS = 10
#: Ops whose row views would have contiguous runs shorter than 2**MIN_RUN_QUBITS work on a transposed chunk.
MIN_RUN_QUBITS = 4
#: Amplitudes per chunk when turning a state into probabilities.
PROB_CHUNK = 1 << 16

_DIAG, _PERM, _GEN = 0, 1, 2


#: States at least this large get their own mapping with transparent huge pages.
HUGE_PAGE_BYTES = 64 << 20


def zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A zero-filled C-contiguous array; large ones are backed by an anonymous mapping advised to use huge pages.

    Why: on this kind of VM a first write to a fresh 4 KiB page is expensive (a 4 GiB state took 13-17 s just to
    touch with ``np.zeros``, 3.5-4 s with huge pages). The mapping is freed with the array.
    """
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    if nbytes < HUGE_PAGE_BYTES or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.zeros(shape, dtype=dt)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buf.madvise(mmap.MADV_HUGEPAGE)
    except OSError:  # huge pages disabled: the plain mapping still works
        pass
    return np.frombuffer(buf, dtype=dt).reshape(shape)


def check_size(n: int) -> None:
    """``ValueError`` unless 1 <= ``n`` <= :data:`MAX_QUBITS`."""
    if n > MAX_QUBITS:
        raise ValueError(f"{n} qubits exceed the simulator limit of {MAX_QUBITS}")
    if n < 1:
        raise ValueError(f"a circuit needs at least one qubit, got {n}")


@dataclass(slots=True)
class _Plan:
    """How to apply one op to the chunks of one stage."""

    kind: int
    rows: list[tuple]  # index tuple of each row view (textbook row order), controls in the chunk fixed to 1
    outer_mask: int  # controls outside the chunk: skip a chunk unless all these bits are set
    scale: list[tuple[int, complex]]  # rows multiplied in place by a scalar (diagonal part)
    cycles: list[tuple[list[int], list[complex]]]  # perm: new[c[j]] = ph[j] * old[c[j+1]] (cyclically)
    saves: list[int]  # general: rows copied before they are overwritten
    terms: list[tuple[int, list[tuple[int, complex]]]]  # general: row -> [(source row, coefficient)]


def _plan(op: _Op, axis: dict[int, int], ndim: int, dtype: np.dtype) -> _Plan:
    assert op.matrix is not None
    u = op.matrix.astype(dtype, copy=False)
    t = len(op.targets)
    dim = 1 << t
    base: list = [slice(None)] * ndim
    outer_mask = 0
    for c in op.controls:
        if c in axis:
            base[axis[c]] = 1
        else:
            outer_mask |= 1 << c
    rows = []
    for r in range(dim):
        idx = list(base)
        for j, q in enumerate(op.targets):
            idx[axis[q]] = (r >> (t - 1 - j)) & 1
        rows.append(tuple(idx))
    nz = u != 0
    nnz = nz.sum(axis=1)
    plan = _Plan(_GEN, rows, outer_mask, [], [], [], [])
    if bool(np.all(nnz == 1)):
        src = [int(s) for s in np.argmax(nz, axis=1)]
        plan.kind = _DIAG if all(s == r for r, s in enumerate(src)) else _PERM
        seen = [False] * dim
        for r in range(dim):
            if seen[r]:
                continue
            if src[r] == r:
                seen[r] = True
                if u[r, r] != 1:
                    plan.scale.append((r, complex(u[r, r])))
                continue
            cycle, phases = [], []
            j = r
            while not seen[j]:
                seen[j] = True
                cycle.append(j)
                phases.append(complex(u[j, src[j]]))
                j = src[j]
            plan.cycles.append((cycle, phases))
        return plan
    active = [r for r in range(dim) if not (nnz[r] == 1 and u[r, r] == 1)]
    active_set = set(active)
    plan.saves = [s for s in active if any(r > s and nz[r, s] for r in active)]
    for r in active:
        terms = [(r, complex(u[r, r]))] if nz[r, r] else []
        terms += [(int(s), complex(u[r, s])) for s in np.flatnonzero(nz[r]) if s != r]
        plan.terms.append((r, terms))
    del active_set
    return plan


class _Scratch:
    """Row-sized scratch buffers, reused across chunks (keyed by shape)."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype
        self._buffers: dict[tuple[tuple[int, ...], int], np.ndarray] = {}

    def get(self, shape: tuple[int, ...], slot: int) -> np.ndarray:
        key = (shape, slot)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype=self.dtype)
        return buf


def _run(x: np.ndarray, plan: _Plan, scratch: _Scratch) -> None:
    """Apply one planned op to the chunk view ``x`` in place."""
    views = [x[i] for i in plan.rows]
    for r, value in plan.scale:
        v = views[r]
        np.multiply(v, value, out=v)  # np.negative is several times slower on complex arrays
    if plan.kind == _DIAG:
        return
    shape = views[0].shape
    if plan.kind == _PERM:
        tmp = scratch.get(shape, 0)
        for cycle, phases in plan.cycles:
            np.copyto(tmp, views[cycle[0]])
            last = len(cycle) - 1
            for j in range(last + 1):
                dst = views[cycle[j]]
                src = tmp if j == last else views[cycle[j + 1]]
                ph = phases[j]
                if ph == 1:
                    np.copyto(dst, src)
                else:
                    np.multiply(src, ph, out=dst)
        return
    saved: dict[int, np.ndarray] = {}
    for i, s in enumerate(plan.saves):
        buf = scratch.get(shape, 1 + i)
        np.copyto(buf, views[s])
        saved[s] = buf
    tmp = scratch.get(shape, 0)
    for r, terms in plan.terms:
        v = views[r]
        first = True
        for s, c in terms:
            src = saved[s] if (s in saved and s < r) else views[s]
            if first:
                first = False
                if s == r:
                    if c != 1:
                        np.multiply(v, c, out=v)
                elif c == 1:
                    np.copyto(v, src)
                else:
                    np.multiply(src, c, out=v)
                continue
            if c == 1:
                np.add(v, src, out=v)
            elif c == -1:
                np.subtract(v, src, out=v)
            else:
                np.multiply(src, c, out=tmp)
                np.add(v, tmp, out=v)


def _stages(ops: Sequence[_Op], k: int, width: int) -> list[tuple[tuple[int, ...], list[_Op]]]:
    """Split ``ops`` into stages: (chunk qubits, ops whose targets lie in them); Pauli-rotation ops alone with
    ``()``."""
    if k <= width:
        out: list[tuple[tuple[int, ...], list[_Op]]] = []
        for op in ops:
            if op.pauli is not None:
                out.append(((), [op]))
            elif out and out[-1][0]:
                out[-1][1].append(op)
            else:
                out.append((tuple(range(k)), [op]))
        return out
    low = set(range(min(LOW_QUBITS, width)))
    stages: list[tuple[tuple[int, ...], list[_Op]]] = []
    chunk: set[int] = set(low)
    current: list[_Op] = []

    def close() -> None:
        if current:
            for q in range(k):
                if len(chunk) >= width:
                    break
                chunk.add(q)
            stages.append((tuple(sorted(chunk)), list(current)))
            current.clear()

    for op in ops:
        if op.pauli is not None:
            close()
            chunk = set(low)
            stages.append(((), [op]))
            continue
        targets = set(op.targets)
        if len(chunk | targets) <= width:
            chunk |= targets
            current.append(op)
            continue
        close()
        chunk = set(targets)
        for q in range(k):
            if len(chunk) >= min(width, len(targets) + len(low)):
                break
            chunk.add(q)
        current.append(op)
    close()
    return stages


def _chunk_width(dtype: np.dtype) -> int:
    return CHUNK_QUBITS + (1 if dtype.itemsize <= 8 else 0)  # about 512 KiB either way


def _chunk_order(chunk_qubits: Sequence[int], ops: Sequence[_Op]) -> list[int] | None:
    """Axis order (outermost first) for working on a transposed copy of each chunk, or None to work in place.

    Row views of an op are strided with contiguous runs of ``2**j`` amplitudes, ``j`` = the number of chunk
    qubits below its lowest target or in-chunk control; runs of 1-8 amplitudes make numpy several times slower.
    When that happens and enough chunk qubits are untouched by the stage, the chunk is copied (transposed) into
    scratch with the touched qubits outermost, processed there, and copied back: two in-cache copies per chunk
    instead of slow strided loops for every op of the stage.
    """
    touched = {q for op in ops for q in op.targets} | {q for op in ops for q in op.controls if q in chunk_qubits}
    run = 0
    for q in sorted(chunk_qubits):
        if q in touched:
            break
        run += 1
    if run >= MIN_RUN_QUBITS or len(chunk_qubits) - len(touched) < MIN_RUN_QUBITS:
        return None
    natural = sorted(chunk_qubits, reverse=True)
    return [q for q in natural if q in touched] + [q for q in natural if q not in touched]


def apply_ops(state: np.ndarray, ops: Sequence[_Op]) -> None:
    """Apply ``ops`` in order, in place, to every row of ``state`` (shape ``(rows, 2**k)``, C-contiguous)."""
    rows, size = state.shape
    k = size.bit_length() - 1
    if not ops or not rows:
        return
    width = _chunk_width(state.dtype)
    scratch = _Scratch(state.dtype)
    tensor = state.reshape((rows,) + (2,) * k)
    for chunk_qubits, stage_ops in _stages(ops, k, width):
        if not chunk_qubits:
            op = stage_ops[0]
            for r in range(rows):
                _pauli_rotation(state[r:r + 1], op.targets, op.pauli or "", op.angle)
            continue
        natural = sorted(chunk_qubits, reverse=True)
        order = _chunk_order(chunk_qubits, stage_ops)
        axis = {q: 1 + i for i, q in enumerate(order or natural)}
        plans = [_plan(op, axis, 1 + len(natural), state.dtype) for op in stage_ops]
        perm = inverse = None
        if order is not None:
            perm = [0] + [1 + natural.index(q) for q in order]
            inverse = [int(i) for i in np.argsort(perm)]

        def run(x: np.ndarray, value: int) -> None:
            if perm is not None:
                work = scratch.get(tuple(x.shape[i] for i in perm), -1)
                np.copyto(work, x.transpose(perm))
            else:
                work = x
            for plan in plans:
                if plan.outer_mask & value == plan.outer_mask:
                    _run(work, plan, scratch)
            if inverse is not None:
                np.copyto(x, work.transpose(inverse))

        outer = [q for q in range(k - 1, -1, -1) if q not in axis]
        if not outer:
            block = max(1, (1 << width) >> k)
            for r0 in range(0, rows, block):
                run(tensor[r0:r0 + block], 0)
            continue
        positions = [1 + (k - 1 - q) for q in outer]
        for r in range(rows):
            row = tensor[r:r + 1]
            for bits in itertools.product((0, 1), repeat=len(outer)):
                value = 0
                idx: list = [slice(None)] * (k + 1)
                for q, pos, b in zip(outer, positions, bits):
                    idx[pos] = b
                    value |= b << q
                run(row[tuple(idx)], value)


def _pauli_rotation(state: np.ndarray, qubits: Sequence[int], letters: str, angle: float) -> None:
    """exp(-i angle P) for the Pauli string ``letters`` on ``qubits`` of a one-row state: basis change to Z,
    parity phase, back."""
    h = (PAULI["X"] + PAULI["Z"]) / math.sqrt(2)
    sdg = np.diag([1, -1j])
    before, after = [], []
    for q, letter in zip(qubits, letters):
        if letter == "X":
            before.append(_Op((q,), (), h))
            after.append(_Op((q,), (), h))
        elif letter == "Y":
            before.append(_Op((q,), (), h @ sdg))
            after.append(_Op((q,), (), sdg.conj().T @ h))
    apply_ops(state, before)
    psi = state.reshape(-1)
    mask = 0
    for q in qubits:
        mask |= 1 << q
    phases = np.array([np.exp(-1j * angle), np.exp(1j * angle)], dtype=psi.dtype)
    step = PROB_CHUNK
    for lo in range(0, psi.size, step):
        idx = np.arange(lo, min(lo + step, psi.size), dtype=np.int64) & mask
        parity = np.zeros(idx.shape, dtype=np.int64)
        for q in qubits:
            parity ^= (idx >> q) & 1
        psi[lo:lo + idx.size] *= phases[parity]
    apply_ops(state, after)


def probabilities_inplace(psi: np.ndarray) -> np.ndarray:
    """Overwrite the 1-d state ``psi`` with its probabilities; returns them as a float view of the same buffer
    (float32 for complex64, float64 for complex128). ``psi`` is destroyed.

    Chunk ``[lo, hi)`` of probabilities is written over the float offsets ``[lo, hi)`` after the amplitudes at
    float offsets ``[2 lo, 2 hi)`` were read: everything it overwrites was read before, so one pass and a
    chunk of scratch suffice.
    """
    n = psi.size
    real = psi.view(np.float32 if psi.dtype == np.complex64 else np.float64)
    out = real[:n]
    step = PROB_CHUNK
    t1 = np.empty(min(step, n), dtype=real.dtype)
    t2 = np.empty_like(t1)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        a, b = t1[:hi - lo], t2[:hi - lo]
        re = real[2 * lo:2 * hi:2]
        im = real[2 * lo + 1:2 * hi:2]
        np.multiply(re, re, out=a)
        np.multiply(im, im, out=b)
        np.add(a, b, out=out[lo:hi])
    return out
