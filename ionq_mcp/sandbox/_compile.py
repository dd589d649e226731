"""What ``GET /jobs/{id}/circuits`` shows: a circuit compiled to IonQ's native gates, or written as OpenQASM 3.

:func:`compile_to_native` lowers any validated circuit to ``gpi``, ``gpi2`` and ``ms`` (IonQ native JSON, phases
and angles in turns) with the same measurement distribution; global phase and a final layer of Z rotations are
dropped (they do not change probabilities). Steps:

1. QIS gates become one-qubit unitaries, CNOTs and XX rotations: ``yy``/``zz`` by basis change; ``swap`` as three
   CNOTs; ``pauliexp`` term by term as exact Pauli-rotation gadgets (basis change, CNOT ladder, rz), which needs
   commuting terms; a singly controlled one-qubit gate by the ``A X B X C`` construction; a multi-controlled
   gate by Barenco et al.'s recursion (Lemma 7.5, C^k U from C^{k-1} X and controlled sqrt(U)), at most
   :data:`MAX_COMPILE_CONTROLS` controls because the gate count grows about 3^k.
2. ``CNOT(c, t) ~ Rz_c(pi/2) Rx_t(pi/2) H_c exp(i pi/4 X_c X_t) H_c`` (from ``CNOT = exp(i pi/4 (1-Z_c)(1-X_t))``),
   and ``exp(i pi/4 XX) = MS(0.5, 0)``. An XX rotation by theta radians is ``MS(0, 0, theta / 2pi)`` (or with phase
   0.5 for negative angles, plus X(x)X beyond pi/2).
3. Every one-qubit unitary is written ``Rz(b) Ry(g) Rz(d)`` with ``Ry(g) = GPI2(0.5) Rz(g) GPI2(0)``; Z rotations
   are virtual: they are tracked per qubit and absorbed into the phases of the following gpi2/ms gates
   (``G(phi) Rz(theta) = Rz(theta) G(phi - theta)``).

:func:`to_qasm3` writes OpenQASM 3 with ``stdgates.inc`` names (``si`` -> ``sdg``, ``v`` -> ``sx``, controls as
``cx``/``ctrl @``/``ctrl(k) @``); gates outside stdgates.inc (rxx, ryy, rzz and IonQ's native gpi, gpi2, ms, zz,
in turns) are defined at the top with ``gate`` definitions; every qubit is measured.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import numpy as np

from ionq_mcp.circuits import Circuit, Gate
from ionq_mcp.sandbox import _gates as g

__all__ = ["MAX_COMPILE_CONTROLS", "compile_to_native", "to_qasm3"]

#: Most controls a gate may have for native compilation (Barenco's recursion grows about 3**k).
MAX_COMPILE_CONTROLS = 8

_TWO_PI = 2 * math.pi

# Primitive operations of step 1: ("u", q, 2x2) | ("cx", c, t) | ("xx", a, b, radians) | ("ms", a, b, p0, p1, ang)
Prim = tuple


def _zyz(u: np.ndarray) -> tuple[float, float, float]:
    """(beta, gamma, delta) with u = e^{i alpha} Rz(beta) Ry(gamma) Rz(delta)."""
    det = np.linalg.det(u)
    v = u / cmath.sqrt(det)  # special unitary
    gamma = 2 * math.atan2(abs(v[1, 0]), abs(v[0, 0]))
    if abs(v[0, 0]) < 1e-12:  # gamma = pi: only beta - delta is defined
        plus, minus = 0.0, 2 * cmath.phase(v[1, 0])
    elif abs(v[1, 0]) < 1e-12:  # gamma = 0: only beta + delta is defined
        plus, minus = -2 * cmath.phase(v[0, 0]), 0.0
    else:
        plus, minus = -2 * cmath.phase(v[0, 0]), 2 * cmath.phase(v[1, 0])
    return (plus + minus) / 2, gamma, (plus - minus) / 2


def _sqrt_unitary(u: np.ndarray) -> np.ndarray:
    """A unitary V with V @ V = u (principal branch)."""
    w, vecs = np.linalg.eig(u)
    vecs, _ = np.linalg.qr(vecs) if abs(w[0] - w[1]) < 1e-9 else (vecs, None)
    return vecs @ np.diag(np.sqrt(w.astype(complex))) @ np.linalg.inv(vecs)


def _controlled_1q(control: int, target: int, u: np.ndarray) -> Iterator[Prim]:
    """C-U as A X B X C on the target plus a phase on the control (Nielsen & Chuang, Corollary 4.2)."""
    beta, gamma, delta = _zyz(u)
    alpha = cmath.phase(u[0, 0] / (cmath.exp(-0.5j * (beta + delta)) * math.cos(gamma / 2))) \
        if abs(math.cos(gamma / 2)) > 1e-9 else cmath.phase(u[1, 0] / (cmath.exp(0.5j * (beta - delta)) *
                                                                        math.sin(gamma / 2)))
    yield "u", target, g.rz((delta - beta) / 2)
    yield "cx", control, target
    yield "u", target, g.ry(-gamma / 2) @ g.rz(-(delta + beta) / 2)
    yield "cx", control, target
    yield "u", target, g.rz(beta) @ g.ry(gamma / 2)
    yield "u", control, np.diag([1, cmath.exp(1j * alpha)])


def _multi_controlled(controls: tuple[int, ...], target: int, u: np.ndarray) -> Iterator[Prim]:
    if len(controls) == 1:
        if np.allclose(u, g.X):
            yield "cx", controls[0], target
        else:
            yield from _controlled_1q(controls[0], target, u)
        return
    v = _sqrt_unitary(u)
    *rest, last = controls
    yield from _controlled_1q(last, target, v)
    yield from _multi_controlled(tuple(rest), last, g.X)
    yield from _controlled_1q(last, target, v.conj().T)
    yield from _multi_controlled(tuple(rest), last, g.X)
    yield from _multi_controlled(tuple(rest), target, v)


def _pauli_rotation(qubits: tuple[int, ...], letters: str, angle: float) -> Iterator[tuple[str, Any, ...]]:
    """exp(-i angle P) as (name, qubits, radians) steps over h, s, sdg, cx, rz."""
    support = [(q, a) for q, a in zip(qubits, letters) if a != "I"]
    if not support:
        return
    for q, a in support:  # rotate X -> Z with h, Y -> Z with sdg then h
        if a == "Y":
            yield "sdg", (q,), None
        if a in "XY":
            yield "h", (q,), None
    chain = [q for q, _ in support]
    for a, b in pairwise(chain):
        yield "cx", (a, b), None
    yield "rz", (chain[-1],), 2 * angle
    for a, b in reversed(list(pairwise(chain))):
        yield "cx", (a, b), None
    for q, a in support:
        if a in "XY":
            yield "h", (q,), None
        if a == "Y":
            yield "s", (q,), None


def _pauliexp_steps(gate: Gate) -> Iterator[tuple[str, Any, ...]]:
    terms = gate.params["terms"]
    if not g.terms_commute(terms):
        raise ValueError(f"pauliexp with non-commuting terms {list(terms)} has no exact gate decomposition here "
                         f"(split it into pauliexp gates whose terms commute)")
    for term, c in zip(terms, gate.params["coefficients"]):
        yield from _pauli_rotation(gate.targets, term, gate.params["time"] * c)


_STEP_MATRIX = {"h": g.H, "s": g.S, "sdg": g.S.conj().T}


def _lower(gate: Gate) -> Iterator[Prim]:
    """Step 1: one gate as primitives."""
    name = gate.name
    if name == "nop":
        return
    if gate.gateset == "native":
        if name == "ms":
            p0, p1 = gate.params["phases"]
            yield "ms", *gate.targets, p0, p1, gate.params.get("angle", 0.25)
        elif name == "zz":  # exp(-i pi angle ZZ) = (H x H) XX(2 pi angle) (H x H)
            a, b = gate.targets
            yield "u", a, g.H
            yield "u", b, g.H
            yield "xx", a, b, _TWO_PI * gate.params["angle"]
            yield "u", a, g.H
            yield "u", b, g.H
        else:
            yield "u", gate.targets[0], g.gate_matrix(gate)
        return
    if name == "pauliexp":
        for step, qubits, angle in _pauliexp_steps(gate):
            if step == "cx":
                yield "cx", *qubits
            elif step == "rz":
                yield "u", qubits[0], g.rz(angle)
            else:
                yield "u", qubits[0], _STEP_MATRIX[step]
        return
    if name in ("xx", "yy", "zz"):
        a, b = gate.targets
        basis = {"xx": g.I2, "yy": g.S, "zz": g.H}[name]  # basis X basis^dagger = the Pauli
        yield "u", a, basis.conj().T
        yield "u", b, basis.conj().T
        yield "xx", a, b, gate.params["rotation"]
        yield "u", a, basis
        yield "u", b, basis
        return
    if len(gate.controls) > MAX_COMPILE_CONTROLS:
        raise ValueError(f"`{name}` with {len(gate.controls)} controls is too large to compile to native gates "
                         f"(at most {MAX_COMPILE_CONTROLS} controls)")
    if name == "swap":
        a, b = gate.targets
        if not gate.controls:
            yield "cx", a, b
            yield "cx", b, a
            yield "cx", a, b
            return
        yield "cx", b, a
        yield from _multi_controlled(gate.controls + (a,), b, g.X)
        yield "cx", b, a
        return
    u = g.gate_matrix(gate)
    if gate.controls:
        yield from _multi_controlled(gate.controls, gate.targets[0], u)
    else:
        yield "u", gate.targets[0], u


def _turns(radians: float) -> float:
    return radians / _TWO_PI


def _norm(turns: float) -> float:
    value = turns % 1.0
    return 0.0 if math.isclose(value, 1.0, abs_tol=1e-12) or abs(value) < 1e-12 else value


class _NativeWriter:
    """Steps 2 and 3: primitives to gpi2/ms with virtual Z rotations tracked per qubit (in turns)."""

    def __init__(self) -> None:
        self.frame: dict[int, float] = {}
        self.out: list[dict[str, Any]] = []

    def rz(self, q: int, radians: float) -> None:
        self.frame[q] = self.frame.get(q, 0.0) + _turns(radians)

    def gpi2(self, q: int, phase: float) -> None:
        self.out.append({"gate": "gpi2", "target": q, "phase": _norm(phase - self.frame.get(q, 0.0))})

    def ms(self, a: int, b: int, p0: float, p1: float, angle: float) -> None:
        gate = {"gate": "ms", "targets": [a, b],
                "phases": [_norm(p0 - self.frame.get(a, 0.0)), _norm(p1 - self.frame.get(b, 0.0))]}
        if not math.isclose(angle, 0.25):
            gate["angle"] = angle
        self.out.append(gate)

    def unitary(self, q: int, u: np.ndarray) -> None:
        beta, gamma, delta = _zyz(u)
        self.rz(q, delta)
        if abs(gamma) > 1e-12:
            self.gpi2(q, 0.0)
            self.rz(q, gamma)
            self.gpi2(q, 0.5)
        self.rz(q, beta)

    def xx(self, a: int, b: int, theta: float) -> None:
        """exp(-i theta/2 X(x)X)."""
        theta = math.remainder(theta, _TWO_PI)  # (-pi, pi]
        if abs(theta) > math.pi / 2:  # exp(-i pi/2 XX) = -i X(x)X
            self.unitary(a, g.X)
            self.unitary(b, g.X)
            theta -= math.copysign(math.pi, theta)
        if abs(theta) < 1e-12:
            return
        self.ms(a, b, 0.0 if theta > 0 else 0.5, 0.0, abs(theta) / _TWO_PI)

    def cx(self, c: int, t: int) -> None:
        self.unitary(c, g.H)
        self.ms(c, t, 0.5, 0.0, 0.25)  # exp(+i pi/4 X_c X_t)
        self.unitary(c, g.H)
        self.unitary(t, g.rx(math.pi / 2))
        self.rz(c, math.pi / 2)

    def add(self, prim: Prim) -> None:
        kind = prim[0]
        if kind == "u":
            self.unitary(prim[1], prim[2])
        elif kind == "cx":
            self.cx(prim[1], prim[2])
        elif kind == "xx":
            self.xx(prim[1], prim[2], prim[3])
        else:
            self.ms(*prim[1:])


def compile_to_native(circuit: Circuit) -> list[dict[str, Any]]:
    """IonQ native JSON gates (gpi2 and ms; phases and angles in turns) with the same measurement distribution.

    Raises ``ValueError`` for a pauliexp with non-commuting terms or a gate with more than
    :data:`MAX_COMPILE_CONTROLS` controls.
    """
    writer = _NativeWriter()
    for gate in circuit.gates:
        for prim in _lower(gate):
            writer.add(prim)
    return writer.out


# ----------------------------------------------------------------------------------------------------------------
# OpenQASM 3
# ----------------------------------------------------------------------------------------------------------------

_QASM_NAMES = {"x": "x", "y": "y", "z": "z", "h": "h", "s": "s", "si": "sdg", "t": "t", "ti": "tdg", "v": "sx",
               "vi": "sxdg", "rx": "rx", "ry": "ry", "rz": "rz", "swap": "swap"}

_DEFINITIONS = {
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": "gate ryy(theta) a, b { sdg a; sdg b; rxx(theta) a, b; s a; s b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "gpi": "gate gpi(phi) q { U(pi, 2*pi*phi, pi - 2*pi*phi) q; }",
    "gpi2": "gate gpi2(phi) q { U(pi/2, 2*pi*phi - pi/2, pi/2 - 2*pi*phi) q; }",
    "ms": ("gate ms(phi0, phi1, theta) a, b { rz(-2*pi*phi0) a; rz(-2*pi*phi1) b; rxx(2*pi*theta) a, b; "
           "rz(2*pi*phi0) a; rz(2*pi*phi1) b; }"),
    "zz": "gate zz(theta) a, b { rzz(2*pi*theta) a, b; }",
}
_NEEDS = {"ryy": ("rxx",), "ms": ("rxx",), "zz": ("rzz",)}


def _num(x: float) -> str:
    return repr(float(x))


def _q(qubits: tuple[int, ...] | list[int]) -> str:
    return ", ".join(f"q[{q}]" for q in qubits)


def _qasm_lines(gate: Gate, used: set[str]) -> Iterator[str]:
    p = gate.params
    if gate.name == "nop":
        return
    if gate.gateset == "native":
        used.add(gate.name)
        if gate.name in ("gpi", "gpi2"):
            yield f"{gate.name}({_num(p['phase'])}) {_q(gate.targets)};"
        elif gate.name == "ms":
            phi0, phi1 = p["phases"]
            yield f"ms({_num(phi0)}, {_num(phi1)}, {_num(p.get('angle', 0.25))}) {_q(gate.targets)};"
        else:
            yield f"zz({_num(p['angle'])}) {_q(gate.targets)};"
        return
    if gate.name == "pauliexp":
        for step, qubits, angle in _pauliexp_steps(gate):
            yield f"rz({_num(angle)}) {_q(qubits)};" if step == "rz" else f"{step} {_q(qubits)};"
        return
    if gate.name in ("xx", "yy", "zz"):
        name = "r" + gate.name
        used.add(name)
        yield f"{name}({_num(p['rotation'])}) {_q(gate.targets)};"
        return
    name = _QASM_NAMES[gate.name]
    args = f"({_num(p['rotation'])})" if "rotation" in p else ""
    k = len(gate.controls)
    if k == 1 and name == "x":
        prefix = "c"
    elif k == 1:
        prefix = "ctrl @ "
    elif k > 1:
        prefix = f"ctrl({k}) @ "
    else:
        prefix = ""
    yield f"{prefix}{name}{args} {_q(gate.controls + gate.targets)};"


def to_qasm3(circuit: Circuit) -> str:
    """The circuit as an OpenQASM 3 program over ``qubit[n] q`` (qubit i = IonQ qubit i), measuring every qubit.

    Raises ``ValueError`` for a pauliexp with non-commuting terms.
    """
    used: set[str] = set()
    body = [line for gate in circuit.gates for line in _qasm_lines(gate, used)]
    for name in list(used):
        used.update(_NEEDS.get(name, ()))
    defs = [_DEFINITIONS[name] for name in _DEFINITIONS if name in used]  # dependency order
    n = circuit.qubits
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    if defs:
        lines += ["// gates outside stdgates.inc; IonQ native gates take turns (1 turn = 2*pi)", *defs]
    lines += [f"qubit[{n}] q;", f"bit[{n}] c;", *body, "c = measure q;"]
    return "\n".join(lines) + "\n"
