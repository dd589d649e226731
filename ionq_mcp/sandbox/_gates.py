"""Unitary matrices of every gate IonQ accepts (QIS and native), as numpy arrays.

Matrix convention: a matrix acting on several targets is written in the textbook basis
``|t0 t1 ... t(k-1)>`` where ``targets[0]`` is the **most significant** bit of the row/column index. This is
independent of the result-key convention (qubit 0 = least significant bit of the *state* index), which the
simulator handles when it contracts a matrix onto the state.

Controls are not part of these matrices: a controlled gate applies :func:`gate_matrix` to its targets on the
part of the state where every control qubit is 1.

Units and definitions (IonQ's; confirmed against qiskit-ionq's ``ionq_gates.py`` and IonQ's native-gates guide):

* QIS rotations are in radians: ``rx(t) = exp(-i t/2 X)``, ``ry``, ``rz`` alike; ``xx(t) = exp(-i t/2 X(x)X)``,
  ``yy``, ``zz`` alike. ``s = diag(1, i)``, ``t = diag(1, e^{i pi/4})``, ``v = sqrt(X) = H S H``; ``si``, ``ti``,
  ``vi`` are their inverses.
* ``pauliexp`` = ``exp(-i time sum_k coefficients[k] P_k)`` where character j of each term acts on ``targets[j]``.
* Native gates use turns (1 turn = 2 pi). With ``sigma(phi) = cos(2 pi phi) X + sin(2 pi phi) Y``:

  - ``GPI(phi) = sigma(phi) = [[0, e^{-i2pi phi}], [e^{i2pi phi}, 0]]``;
  - ``GPI2(phi) = exp(-i pi/4 sigma(phi)) = 1/sqrt2 [[1, -i e^{-i2pi phi}], [-i e^{i2pi phi}, 1]]``;
  - ``MS(phi0, phi1, angle) = exp(-i pi angle sigma(phi0) (x) sigma(phi1))``: ``phases[0]`` (phi0) is the phase
    of ``targets[0]`` and ``phases[1]`` (phi1) of ``targets[1]``; ``angle`` 0.25 (default) is fully entangling.
    This equals qiskit-ionq's ``MSGate(phi0, phi1, theta)`` with ``q_0 = targets[0]``;
  - native ``ZZ(angle) = exp(-i pi angle Z(x)Z)``;
  - ``nop`` is the identity (an idle period).
"""

from __future__ import annotations

import cmath
import math
from functools import reduce

import numpy as np

from ionq_mcp.circuits import Gate

__all__ = [
    "PAULI",
    "gate_matrix",
    "gpi",
    "gpi2",
    "ms",
    "native_zz",
    "pauli_string_matrix",
    "pauliexp_matrix",
    "rx",
    "ry",
    "rz",
    "terms_commute",
]

#: Largest number of targets for which a pauliexp with non-commuting terms is exponentiated as a dense matrix.
MAX_DENSE_PAULIEXP_QUBITS = 10

_SQRT1_2 = 1 / math.sqrt(2)

I2 = np.eye(2, dtype=np.complex128)
X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
Z = np.array([[1, 0], [0, -1]], dtype=np.complex128)
H = np.array([[1, 1], [1, -1]], dtype=np.complex128) * _SQRT1_2
S = np.diag([1, 1j]).astype(np.complex128)
T = np.diag([1, cmath.exp(1j * math.pi / 4)]).astype(np.complex128)
V = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=np.complex128) / 2
SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)

PAULI: dict[str, np.ndarray] = {"I": I2, "X": X, "Y": Y, "Z": Z}

_FIXED: dict[str, np.ndarray] = {
    "x": X, "y": Y, "z": Z, "h": H,
    "s": S, "si": S.conj().T, "t": T, "ti": T.conj().T, "v": V, "vi": V.conj().T,
    "swap": SWAP,
}


def rx(theta: float) -> np.ndarray:
    """exp(-i theta/2 X), theta in radians."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=np.complex128)


def ry(theta: float) -> np.ndarray:
    """exp(-i theta/2 Y), theta in radians."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=np.complex128)


def rz(theta: float) -> np.ndarray:
    """exp(-i theta/2 Z), theta in radians."""
    return np.diag([cmath.exp(-0.5j * theta), cmath.exp(0.5j * theta)]).astype(np.complex128)


def _ising(pauli: np.ndarray, theta: float) -> np.ndarray:
    """exp(-i theta/2 P(x)P) for a Pauli P with P^2 = I."""
    pp = np.kron(pauli, pauli)
    return math.cos(theta / 2) * np.eye(4, dtype=np.complex128) - 1j * math.sin(theta / 2) * pp


def _sigma(phase_turns: float) -> np.ndarray:
    a = 2 * math.pi * phase_turns
    return np.array([[0, cmath.exp(-1j * a)], [cmath.exp(1j * a), 0]], dtype=np.complex128)


def gpi(phase: float) -> np.ndarray:
    """IonQ GPI(phase), phase in turns: [[0, e^{-i2pi phase}], [e^{i2pi phase}, 0]]."""
    return _sigma(phase)


def gpi2(phase: float) -> np.ndarray:
    """IonQ GPI2(phase), phase in turns: 1/sqrt2 [[1, -i e^{-i2pi phase}], [-i e^{i2pi phase}, 1]]."""
    return (np.eye(2, dtype=np.complex128) - 1j * _sigma(phase)) * _SQRT1_2


def ms(phi0: float, phi1: float, angle: float = 0.25) -> np.ndarray:
    """IonQ MS(phi0, phi1, angle) = exp(-i pi angle sigma(phi0) (x) sigma(phi1)); all in turns.

    ``phi0`` belongs to ``targets[0]`` (the most significant bit of this matrix), ``phi1`` to ``targets[1]``.
    """
    a = math.pi * angle
    return (math.cos(a) * np.eye(4, dtype=np.complex128)
            - 1j * math.sin(a) * np.kron(_sigma(phi0), _sigma(phi1)))


def native_zz(angle: float) -> np.ndarray:
    """IonQ native ZZ(angle) = exp(-i pi angle Z(x)Z), angle in turns."""
    a = math.pi * angle
    return np.diag([cmath.exp(-1j * a), cmath.exp(1j * a), cmath.exp(1j * a), cmath.exp(-1j * a)])


def pauli_string_matrix(term: str) -> np.ndarray:
    """Kronecker product of the letters of ``term``; the first letter is the most significant factor."""
    return reduce(np.kron, (PAULI[c] for c in term.upper()))


def terms_commute(terms: tuple[str, ...] | list[str]) -> bool:
    """True when all pairs of Pauli strings commute (even count of positions with different non-I letters)."""
    for i, a in enumerate(terms):
        for b in terms[i + 1:]:
            clashes = sum(1 for p, q in zip(a, b) if p != "I" and q != "I" and p != q)
            if clashes % 2:
                return False
    return True


def pauliexp_matrix(terms: tuple[str, ...], coefficients: tuple[float, ...], time: float) -> np.ndarray:
    """exp(-i time sum_k coefficients[k] terms[k]) as a dense matrix on ``len(terms[0])`` qubits.

    Commuting terms are multiplied as exact single-term exponentials; otherwise the Hermitian sum is
    diagonalised (limited to :data:`MAX_DENSE_PAULIEXP_QUBITS` qubits).
    """
    k = len(terms[0])
    if k > MAX_DENSE_PAULIEXP_QUBITS:
        raise ValueError(f"pauliexp on {k} qubits is too large for a dense matrix "
                         f"(at most {MAX_DENSE_PAULIEXP_QUBITS})")
    dim = 1 << k
    if terms_commute(terms):
        out = np.eye(dim, dtype=np.complex128)
        for term, c in zip(terms, coefficients):
            a = time * c
            out = (math.cos(a) * np.eye(dim) - 1j * math.sin(a) * pauli_string_matrix(term)) @ out
        return out
    ham = sum(c * pauli_string_matrix(term) for term, c in zip(terms, coefficients))
    w, v = np.linalg.eigh(ham)
    return (v * np.exp(-1j * time * w)) @ v.conj().T


def gate_matrix(gate: Gate) -> np.ndarray:
    """The unitary a gate applies to its ``targets`` (controls excluded), shape (2**k, 2**k).

    Raises ``ValueError`` for a pauliexp too large to write densely (the simulator applies those term by term).
    """
    name, p = gate.name, gate.params
    if gate.gateset == "native":
        if name == "gpi":
            return gpi(p["phase"])
        if name == "gpi2":
            return gpi2(p["phase"])
        if name == "ms":
            phi0, phi1 = p["phases"]
            return ms(phi0, phi1, p.get("angle", 0.25))
        if name == "zz":
            return native_zz(p["angle"])
        if name == "nop":
            return np.eye(1 << len(gate.targets), dtype=np.complex128)
        raise ValueError(f"unknown native gate {name!r}")
    if name in _FIXED:
        return _FIXED[name]
    if name == "rx":
        return rx(p["rotation"])
    if name == "ry":
        return ry(p["rotation"])
    if name == "rz":
        return rz(p["rotation"])
    if name == "xx":
        return _ising(X, p["rotation"])
    if name == "yy":
        return _ising(Y, p["rotation"])
    if name == "zz":
        return _ising(Z, p["rotation"])
    if name == "pauliexp":
        return pauliexp_matrix(p["terms"], p["coefficients"], p["time"])
    raise ValueError(f"unknown QIS gate {name!r}")
