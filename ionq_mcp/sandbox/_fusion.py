"""Operations the state-vector kernels apply, and the gate fusion that merges them.

An :class:`_Op` is a small matrix on ``targets`` (textbook order: ``targets[0]`` is the most significant bit of
the row index) applied where every ``controls`` qubit is 1, or a Pauli rotation ``exp(-i angle P)`` on many
qubits (``pauli`` set) for pauliexp gates too wide to write densely.

Fusion (:func:`fuse`) merges consecutive ops into one matrix on at most ``width`` qubits when a cost model says
that is cheaper than applying them one by one. The cost model knows what the kernels in ``_kernels`` do: rows of
a matrix that are identity are skipped, diagonal matrices are one scalar multiply per non-trivial entry,
monomial matrices (one non-zero per row: x, cnot, swap, toffoli and their products with phases) are index
swaps, and only the remaining rows pay for a multiply-add per non-zero entry. So a CNOT chain fuses into one
permutation and phase gates fold into whatever they touch, while two unrelated single-qubit rotations stay
apart (a dense two-qubit block costs more than both). Fusion never reorders ops that share a qubit, so it is
exact up to rounding (a product's entries below :data:`ZERO` are set to 0).

Each fused op records its members (``gates``: the circuit gate index of each member, and ``parts``: each
member's matrix on the fused op's qubits) so the noisy engine can place an error that happens after a member
inside a fused op (see ``_trajectories``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ionq_mcp.circuits import Circuit, Gate
from ionq_mcp.sandbox._gates import MAX_DENSE_PAULIEXP_QUBITS, gate_matrix, terms_commute

__all__ = ["FUSE_QUBITS", "ZERO", "circuit_ops", "fuse", "gate_ops", "op_cost"]

#: Widest block consecutive gates are fused into.
FUSE_QUBITS = 4
#: Entries of a fused matrix smaller than this in magnitude are set to exactly 0 (H.H = I leaves 1e-17 behind).
ZERO = 1e-14
#: Relative cost of one numpy call in a kernel, in passes over a whole chunk (a call costs about 1 us, a pass
#: over a 2**15-amplitude chunk about 15 us).
CALL_COST = 0.07


@dataclass(frozen=True, slots=True, eq=False)
class _Op:
    """``matrix`` on ``targets`` (textbook order, targets[0] most significant) where all ``controls`` are 1.

    ``pauli`` set instead of ``matrix`` means exp(-i angle P) for a Pauli string P on ``targets``. ``gates`` are
    the circuit gate indices this op implements (several after fusion; empty when unknown) and ``parts`` the
    matching member matrices on ``targets`` (filled only for fused ops).
    """

    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    matrix: np.ndarray | None = None
    pauli: str | None = None
    angle: float = 0.0
    gates: tuple[int, ...] = ()
    parts: tuple[np.ndarray, ...] = field(default=())

    @property
    def qubits(self) -> tuple[int, ...]:
        return self.controls + self.targets


def gate_ops(gate: Gate, index: int = -1) -> list[_Op]:
    """The ops of one circuit gate (``index`` = its position in the circuit, recorded on each op)."""
    tag = (index,) if index >= 0 else ()
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
                ops.append(_Op(support, pauli=letters, angle=gate.params["time"] * c, gates=tag))
        return ops
    return [_Op(gate.targets, gate.controls, gate_matrix(gate), gates=tag)]


def circuit_ops(circuit: Circuit) -> list[_Op]:
    return [op for i, gate in enumerate(circuit.gates) for op in gate_ops(gate, i)]


def controlled_dense(op: _Op) -> np.ndarray:
    """The op as a dense matrix on ``controls + targets`` (controls most significant)."""
    assert op.matrix is not None
    if not op.controls:
        return op.matrix
    k = op.matrix.shape[0]
    dim = k << len(op.controls)
    out = np.eye(dim, dtype=np.complex128)
    out[dim - k:, dim - k:] = op.matrix
    return out


def embed(matrix: np.ndarray, sub: Sequence[int], full: Sequence[int]) -> np.ndarray:
    """``matrix`` on qubits ``sub`` written as a matrix on the qubit list ``full`` (a superset of ``sub``)."""
    if list(sub) == list(full):
        return matrix
    rest = [q for q in full if q not in sub]
    m, k = len(sub), len(full)
    big = np.kron(matrix, np.eye(1 << (k - m), dtype=np.complex128)).reshape((2,) * (2 * k))
    order = list(sub) + rest  # current axis order of ``big`` (rows, then the same for columns)
    perm = [order.index(q) for q in full]
    return big.transpose(perm + [k + p for p in perm]).reshape(1 << k, 1 << k)


def op_cost(matrix: np.ndarray, controls: int = 0) -> float:
    """Cost of applying ``matrix`` with the ``_kernels`` in passes over a chunk (see the module docstring)."""
    dim = matrix.shape[0]
    nz = matrix != 0
    nnz = nz.sum(axis=1)
    diag = np.diagonal(matrix)
    identity_rows = (nnz == 1) & (diag == 1)
    work = calls = 0.0
    if bool(np.all(nnz == 1)):
        src = np.argmax(nz, axis=1)
        moved = int(np.count_nonzero(src != np.arange(dim)))
        scaled = int(np.count_nonzero((src == np.arange(dim)) & ~identity_rows))
        cycles = 0 if moved == 0 else max(1, moved // 2)  # one saved row per cycle; swaps are the common case
        calls = moved + scaled + cycles
        work = calls
    else:
        active = ~identity_rows
        calls = float(np.sum(2 * nnz[active] - 1)) + float(np.count_nonzero(np.tril(nz, -1).any(axis=0)))
        work = calls * (1.5 if dim >= 8 else 1.0)  # measured: many narrow row views cost more per element
    scale = 1.0 / (dim << controls)
    return work * scale + CALL_COST * calls


def _clean(m: np.ndarray) -> np.ndarray:
    m[np.abs(m) < ZERO] = 0
    return m


@dataclass(slots=True)
class _Block:
    """Consecutive ops fused into one matrix on ``qubits``; ``members`` are the original ops in order."""

    qubits: list[int]
    matrix: np.ndarray
    members: list[_Op]
    parts: list[np.ndarray]  # each member's matrix on ``qubits`` (kept only when asked for)
    cost: float  # of applying ``matrix`` (or the single member)

    def emit(self) -> list[_Op]:
        if len(self.members) == 1:
            return list(self.members)
        gates = tuple(g for op in self.members for g in op.gates)
        if len(gates) != len(self.members) or len(self.parts) != len(self.members):
            return [_Op(tuple(self.qubits), (), self.matrix, gates=gates)]
        return [_Op(tuple(self.qubits), (), self.matrix, gates=gates, parts=tuple(self.parts))]


def _single(op: _Op) -> _Block:
    m = controlled_dense(op)
    return _Block(list(op.qubits), m, [op], [m], op_cost(op.matrix, len(op.controls)))  # type: ignore[arg-type]


def fuse(ops: Iterable[_Op], width: int = FUSE_QUBITS, *, keep_parts: bool = False) -> list[_Op]:
    """Greedy, cost-aware fusion of consecutive ops into blocks of at most ``width`` qubits; exact.

    Each qubit has at most one open block. An op merges with the open blocks on its qubits when their union
    stays within ``width`` and the merged matrix is no costlier (:func:`op_cost`) than the blocks and the op
    applied separately; otherwise those blocks are emitted and the op opens a new block. Blocks on disjoint
    qubits commute, so emitting them in any order is exact. ``keep_parts`` records each fused op's member
    matrices (``_Op.parts``, for the noisy engine).
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
        single = _single(op)
        block = single
        union = [q for b in touching for q in b.qubits]
        union += [q for q in qubits if q not in union]
        if touching and len(union) <= width:
            merged = np.eye(1, dtype=np.complex128)
            merged_qubits: list[int] = []
            for b in touching:
                merged = np.kron(merged, b.matrix)
                merged_qubits += b.qubits
            merged = embed(merged, merged_qubits, union)
            mine = embed(single.matrix, list(qubits), union)
            product = _clean(mine @ merged)
            cost = op_cost(product)
            if cost <= sum(b.cost for b in touching) + single.cost:
                parts = ([embed(p, b.qubits, union) for b in touching for p in b.parts] + [mine]
                         if keep_parts else [])
                members = [m for b in touching for m in b.members] + [op]
                block = _Block(union, product, members, parts, cost)
                touching = []
        for b in touching:
            flush(b)
        for q in block.qubits:
            open_blocks[q] = block
    remaining: list[_Block] = []
    for b in open_blocks.values():
        if all(b is not r for r in remaining):
            remaining.append(b)
    for b in remaining:
        flush(b)
    return out
