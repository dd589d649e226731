"""``hamiltonian-energy`` quantum functions: <psi(params)| H |psi(params)> for a Pauli-sum Hamiltonian.

Supported ansatz formats (``ansatz.data`` is a string):

1. **OpenQASM 2.0 / 3.0** (a practical subset): ``qreg``/``qubit`` declarations (several registers are
   numbered in declaration order), ``include`` (ignored: the gates of ``qelib1.inc`` and ``stdgates.inc`` are
   built in), ``gate`` definitions, the modifiers ``ctrl @``, ``ctrl(k) @``, ``negctrl @``, ``inv @`` and
   ``pow(k) @``, register broadcasting, and ``measure``/``barrier``/``creg``/``bit`` (ignored). Built-in gates:
   id x y z h s sdg t tdg sx sxdg rx ry rz p phase u1 u2 u3 u U cx CX cy cz ch cp cphase crx cry crz cu1 cu3 cu
   swap cswap ccx rxx ryy rzz rzx, and IonQ's native gpi gpi2 ms (phases/angles in turns).
2. **IonQ circuit JSON**: ``{"qubits": n, "gateset": "qis" | "native", "circuit": [...], "parameters": [...]}``
   (or a bare gate list) whose numeric fields (rotation, phase, phases, angle, time, coefficients) may be
   parameter names or expressions such as ``"2*theta[0]"``.

Parameters: names such as ``theta``, ``θ``, ``theta_1`` or vector elements ``theta[0]``; expressions may use
``+ - * / **``, ``pi``/``π``, ``tau``, ``euler`` and sin cos tan exp ln log sqrt arcsin arccos arctan.
Binding order: the declared order when there is one (QASM 3 ``input`` declarations, array elements in index
order, or the JSON ``parameters`` list); otherwise all free names in natural order (text, then numbers
numerically: ``theta[2]`` before ``theta[10]``, ``a`` before ``b``). ``params`` must supply exactly one value per
parameter.

Hamiltonian terms: ``{"pauli_string": ..., "coefficient": c}``. A dense string such as ``"XZI"`` follows IonQ's
result and Qiskit's ``SparsePauliOp`` convention: the **rightmost character is qubit 0** (missing leading
characters are identities). A sparse string with indices, such as ``"Z0 Z1"`` or ``"X0*Y3"``, names qubits
explicitly. Linear/quadratic constraints and penalties are not supported.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox import _gates as g
from ionq_mcp.sandbox._simulator import CHUNK, _check_size, _Op, _run_ops, simulate_statevector

__all__ = ["SUPPORTED_ANSATZ", "UnsupportedAnsatz", "hamiltonian_energy", "pauli_expectation"]

SUPPORTED_ANSATZ = ("an OpenQASM 2.0/3.0 program (qelib1.inc/stdgates.inc gates, gate definitions, ctrl/inv/pow "
                    "modifiers, `input float` parameters) or an IonQ circuit JSON string "
                    "{\"qubits\", \"gateset\", \"circuit\", optional \"parameters\"} whose numeric fields "
                    "may name parameters")


#: Largest exponent of a ``pow(k) @`` modifier.
MAX_POWER = 1024


class UnsupportedAnsatz(ValueError):
    """The ansatz is in a format (or uses a feature) the sandbox cannot simulate."""

    def __init__(self, detail: str):
        super().__init__(f"input.data.data.ansatz.data: {detail}. Supported: {SUPPORTED_ANSATZ}")


# ----------------------------------------------------------------------------------------------------------------
# Expressions and parameters
# ----------------------------------------------------------------------------------------------------------------

_CONSTANTS = {"pi": math.pi, "tau": 2 * math.pi, "euler": math.e, "e": math.e}
_FUNCS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "ln": math.log, "log": math.log,
    "sqrt": math.sqrt, "arcsin": math.asin, "arccos": math.acos, "arctan": math.atan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan,
}
_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b, ast.Mod: lambda a, b: a % b,
}


def _parse_expr(text: str) -> ast.expr:
    cleaned = text.strip().replace("π", "pi").replace("τ", "tau").replace("ℇ", "euler")
    try:
        return ast.parse(cleaned, mode="eval").body
    except SyntaxError:
        raise UnsupportedAnsatz(f"cannot read the expression {text!r}") from None


def _name_of(node: ast.expr) -> str | None:
    """The parameter name a Name or ``name[int]`` node stands for."""
    if isinstance(node, ast.Name):
        return node.id
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)):
        return f"{node.value.id}[{node.slice.value}]"
    return None


def _eval(node: ast.expr, env: Mapping[str, float], free: set[str] | None = None) -> float:
    """Evaluate a whitelisted arithmetic expression; with ``free`` given, collect unbound names instead."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    name = _name_of(node)
    if name is not None:
        if name in env:
            return env[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if free is not None:
            free.add(name)
            return 0.0
        raise UnsupportedAnsatz(f"unknown name {name!r}")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env, free), _eval(node.right, env, free)
        try:
            return float(_BINOPS[type(node.op)](left, right))
        except (ZeroDivisionError, OverflowError, ValueError):
            if free is not None:  # placeholder values while collecting names
                return 0.0
            raise ValueError(f"cannot evaluate {ast.unparse(node)!r}") from None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, env, free)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
        args = [_eval(a, env, free) for a in node.args]
        return 0.0 if free is not None else float(_FUNCS[node.func.id](*args))
    raise UnsupportedAnsatz(f"unsupported expression {ast.unparse(node)!r}")


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _bind(declared: Sequence[str], free: set[str], params: Sequence[float]) -> dict[str, float]:
    order = list(declared) if declared else sorted(free, key=_natural_key)
    missing = sorted(free - set(order), key=_natural_key)
    if missing:
        raise UnsupportedAnsatz(f"parameters {missing} are used but not declared")
    if len(params) != len(order):
        raise ValueError(f"input.params: the ansatz has {len(order)} parameter(s) {order}, "
                         f"got {len(params)} value(s)")
    return {name: float(v) for name, v in zip(order, params)}


# ----------------------------------------------------------------------------------------------------------------
# IonQ JSON ansatz
# ----------------------------------------------------------------------------------------------------------------

_NUMERIC_FIELDS = ("rotation", "phase", "angle", "time")
_LIST_FIELDS = ("phases", "coefficients")


def _json_state(text: str, params: Sequence[float]) -> np.ndarray:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnsupportedAnsatz(f"not valid JSON ({error.msg} at character {error.pos})") from None
    if isinstance(doc, list):
        doc = {"circuit": doc}
    if not isinstance(doc, Mapping) or not isinstance(doc.get("circuit"), list):
        raise UnsupportedAnsatz("a JSON ansatz needs a `circuit` list of IonQ gates")
    declared = [str(p) for p in doc.get("parameters") or []]
    gates = doc["circuit"]

    def walk(env: Mapping[str, float], free: set[str] | None) -> list[Any]:
        out = []
        for gate in gates:
            if not isinstance(gate, Mapping):
                out.append(gate)
                continue
            gate = dict(gate)
            for key in _NUMERIC_FIELDS:
                if isinstance(gate.get(key), str):
                    gate[key] = _eval(_parse_expr(gate[key]), env, free)
            for key in _LIST_FIELDS:
                if isinstance(gate.get(key), list):
                    gate[key] = [_eval(_parse_expr(v), env, free) if isinstance(v, str) else v for v in gate[key]]
            out.append(gate)
        return out

    free: set[str] = set()
    walk({}, free)
    env = _bind(declared, free, params)
    circuit = parse_circuit(walk(env, None), doc.get("gateset", "qis"), doc.get("qubits"),
                            path="input.data.data.ansatz.data")
    _check_size(circuit.qubits)
    return simulate_statevector(circuit)


# ----------------------------------------------------------------------------------------------------------------
# OpenQASM ansatz
# ----------------------------------------------------------------------------------------------------------------


def _p(lam: float) -> np.ndarray:
    return np.diag([1, np.exp(1j * lam)])


def _u3(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


def _pp(a: np.ndarray, b: np.ndarray, theta: float) -> np.ndarray:
    return math.cos(theta / 2) * np.eye(4) - 1j * math.sin(theta / 2) * np.kron(a, b)


# name -> (parameter count, qubit count, of which controls, matrix on the remaining targets)
_BUILTIN: dict[str, tuple[int, int, int, Callable[..., np.ndarray]]] = {
    "id": (0, 1, 0, lambda: g.I2), "i": (0, 1, 0, lambda: g.I2),
    "x": (0, 1, 0, lambda: g.X), "y": (0, 1, 0, lambda: g.Y), "z": (0, 1, 0, lambda: g.Z),
    "h": (0, 1, 0, lambda: g.H), "s": (0, 1, 0, lambda: g.S), "sdg": (0, 1, 0, lambda: g.S.conj().T),
    "t": (0, 1, 0, lambda: g.T), "tdg": (0, 1, 0, lambda: g.T.conj().T),
    "sx": (0, 1, 0, lambda: g.V), "sxdg": (0, 1, 0, lambda: g.V.conj().T),
    "rx": (1, 1, 0, g.rx), "ry": (1, 1, 0, g.ry), "rz": (1, 1, 0, g.rz),
    "p": (1, 1, 0, _p), "phase": (1, 1, 0, _p), "u1": (1, 1, 0, _p),
    "u2": (2, 1, 0, lambda phi, lam: _u3(math.pi / 2, phi, lam)),
    "u3": (3, 1, 0, _u3), "u": (3, 1, 0, _u3), "U": (3, 1, 0, _u3),
    "cx": (0, 2, 1, lambda: g.X), "CX": (0, 2, 1, lambda: g.X), "cy": (0, 2, 1, lambda: g.Y),
    "cz": (0, 2, 1, lambda: g.Z), "ch": (0, 2, 1, lambda: g.H),
    "cp": (1, 2, 1, _p), "cphase": (1, 2, 1, _p), "cu1": (1, 2, 1, _p),
    "crx": (1, 2, 1, g.rx), "cry": (1, 2, 1, g.ry), "crz": (1, 2, 1, g.rz),
    "cu3": (3, 2, 1, _u3), "cu": (4, 2, 1, lambda th, ph, la, ga: np.exp(1j * ga) * _u3(th, ph, la)),
    "swap": (0, 2, 0, lambda: g.SWAP), "cswap": (0, 3, 1, lambda: g.SWAP), "ccx": (0, 3, 2, lambda: g.X),
    "rxx": (1, 2, 0, lambda t: _pp(g.X, g.X, t)), "ryy": (1, 2, 0, lambda t: _pp(g.Y, g.Y, t)),
    "rzz": (1, 2, 0, lambda t: _pp(g.Z, g.Z, t)), "rzx": (1, 2, 0, lambda t: _pp(g.Z, g.X, t)),
    "gpi": (1, 1, 0, g.gpi), "gpi2": (1, 1, 0, g.gpi2),
}


@dataclass
class _GateDef:
    params: list[str]
    qubits: list[str]
    body: list[str]


_IGNORED = re.compile(r"^(OPENQASM\b|include\b|creg\b|bit\b|bit\[|barrier\b|measure\b|output\b|"
                      r"[A-Za-z_][\w\[\]]*\s*=\s*measure\b)")
_QREG2 = re.compile(r"^qreg\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]$")
_QUBIT3 = re.compile(r"^qubit\s*(?:\[\s*(\d+)\s*\])?\s+([A-Za-z_]\w*)$")
_INPUT = re.compile(r"^input\s+(?:float|angle|float\s*\[\s*\d+\s*\]|angle\s*\[\s*\d+\s*\])\s+([^\s;]+)$")
_INPUT_ARRAY = re.compile(r"^input\s+array\s*\[\s*(?:float|angle)(?:\s*\[\s*\d+\s*\])?\s*,\s*(\d+)\s*\]\s+(\S+)$")
_GATE_DEF = re.compile(r"^gate\s+([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*([^{]*)\{(.*)\}$", re.DOTALL)
_MODIFIER = re.compile(r"^(ctrl|negctrl|inv|pow)\s*(?:\(([^)]*)\))?\s*@\s*")
_CALL = re.compile(r"^([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*(.*)$", re.DOTALL)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", text)


def _statements(text: str) -> list[str]:
    """Split a program into statements; a ``gate`` definition (with its braces) is one statement."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n;":
            i += 1
        if i >= n:
            break
        if re.match(r"gate\s", text[i:]):
            open_at = text.find("{", i)
            close_at = text.find("}", open_at)
            if open_at < 0 or close_at < 0:
                raise UnsupportedAnsatz("unterminated gate definition")
            out.append(text[i:close_at + 1].strip())
            i = close_at + 1
            continue
        if text[i] == "{" or re.match(r"(if|for|while|def|defcal|cal|box|let|const|reset)\b", text[i:]):
            word = re.match(r"\S+", text[i:])
            raise UnsupportedAnsatz(f"`{word.group(0) if word else text[i]}` statements are not supported")
        end = text.find(";", i)
        if end < 0:
            raise UnsupportedAnsatz(f"statement without `;`: {text[i:i + 40]!r}")
        out.append(text[i:end].strip())
        i = end + 1
    return out


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += ch in "([" and 1 or 0
        depth -= ch in ")]" and 1 or 0
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _invert(ops: list[_Op]) -> list[_Op]:
    return [_Op(op.targets, op.controls, op.matrix.conj().T) for op in reversed(ops) if op.matrix is not None]


class _QasmProgram:
    """Parses once (collecting free parameter names), then expands gate calls with bound parameters."""

    def __init__(self, text: str):
        self.registers: dict[str, list[int]] = {}
        self.qubits = 0
        self.declared: list[str] = []
        self.defs: dict[str, _GateDef] = {}
        self.calls: list[str] = []
        self._expanding: set[str] = set()
        for stmt in _statements(_strip_comments(text)):
            self._statement(stmt)

    def _statement(self, stmt: str) -> None:
        if _IGNORED.match(stmt) or stmt.startswith("opaque"):
            return
        if m := _QREG2.match(stmt):
            self._register(m.group(1), int(m.group(2)))
        elif m := _QUBIT3.match(stmt):
            self._register(m.group(2), int(m.group(1) or 1))
        elif m := _INPUT_ARRAY.match(stmt):
            self.declared += [f"{m.group(2)}[{i}]" for i in range(int(m.group(1)))]
        elif m := _INPUT.match(stmt):
            self.declared.append(m.group(1).replace("π", "pi"))
        elif stmt.startswith("input"):
            raise UnsupportedAnsatz(f"unsupported input declaration {stmt!r} (use `input float name;`)")
        elif m := _GATE_DEF.match(stmt):
            params = [p.strip() for p in (m.group(2) or "").split(",") if p.strip()]
            qubits = [q.strip() for q in m.group(3).split(",") if q.strip()]
            self.defs[m.group(1)] = _GateDef(params, qubits, _statements(m.group(4)))
        else:
            self.calls.append(stmt)

    def _register(self, name: str, size: int) -> None:
        self.registers[name] = list(range(self.qubits, self.qubits + size))
        self.qubits += size

    # -- expansion ------------------------------------------------------------------------------------------

    def free_names(self) -> set[str]:
        free: set[str] = set()
        for call in self.calls:
            self._call(call, {}, None, free)
        return free

    def ops(self, env: Mapping[str, float]) -> list[_Op]:
        out: list[_Op] = []
        for call in self.calls:
            out += self._call(call, env, None, None)
        return out

    def _operand(self, text: str, local: Mapping[str, int] | None) -> list[int]:
        text = text.strip()
        if local is not None:
            if text not in local:
                raise UnsupportedAnsatz(f"unknown qubit {text!r} in a gate body")
            return [local[text]]
        if m := re.fullmatch(r"\$(\d+)", text):
            q = int(m.group(1))
            self.qubits = max(self.qubits, q + 1)
            return [q]
        if m := re.fullmatch(r"([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]", text):
            reg = self.registers.get(m.group(1))
            if reg is None or int(m.group(2)) >= len(reg):
                raise UnsupportedAnsatz(f"unknown qubit {text!r}")
            return [reg[int(m.group(2))]]
        if text in self.registers:
            return list(self.registers[text])
        raise UnsupportedAnsatz(f"unknown qubit operand {text!r}")

    def _call(self, stmt: str, env: Mapping[str, float], local: Mapping[str, int] | None,
              free: set[str] | None) -> list[_Op]:
        modifiers: list[tuple[str, str | None]] = []
        rest = stmt.strip()
        while m := _MODIFIER.match(rest):
            modifiers.append((m.group(1), m.group(2)))
            rest = rest[m.end():]
        if rest.startswith("gphase"):
            return []
        m = _CALL.match(rest)
        if not m:
            raise UnsupportedAnsatz(f"cannot read the statement {stmt!r}")
        name, arg_text, operand_text = m.group(1), m.group(2), m.group(3)
        args = [_eval(_parse_expr(a), env, free) for a in _split_args(arg_text or "")]
        operands = [self._operand(o, local) for o in _split_args(operand_text)]
        if not operands:
            raise UnsupportedAnsatz(f"`{name}` has no qubit operands")
        width = max(len(o) for o in operands)
        if any(len(o) not in (1, width) for o in operands):
            raise UnsupportedAnsatz(f"registers of different sizes in {stmt!r}")
        out: list[_Op] = []
        for i in range(width):
            qubits = [o[0] if len(o) == 1 else o[i] for o in operands]
            out += self._apply(name, args, qubits, modifiers, env, free, stmt)
        return out

    def _apply(self, name: str, args: list[float], qubits: list[int], modifiers: list[tuple[str, str | None]],
               env: Mapping[str, float], free: set[str] | None, stmt: str) -> list[_Op]:
        n_controls = 0
        negated: list[int] = []
        for kind, arg in modifiers:
            if kind in ("ctrl", "negctrl"):
                k = int(_eval(_parse_expr(arg), env)) if arg else 1
                if k < 1:
                    raise UnsupportedAnsatz(f"{kind}({arg}) needs at least one control: {stmt!r}")
                if kind == "negctrl":
                    negated += list(range(n_controls, n_controls + k))
                n_controls += k
        controls, body_qubits = qubits[:n_controls], qubits[n_controls:]
        ops = self._base(name, args, body_qubits, free, stmt)
        for kind, arg in reversed([m for m in modifiers if m[0] in ("inv", "pow")]):
            if kind == "inv":
                ops = _invert(ops)
            else:
                power = _eval(_parse_expr(arg or "1"), env, free)
                if abs(power) > MAX_POWER:
                    raise UnsupportedAnsatz(f"pow({arg}) @ exceeds the limit of {MAX_POWER}: {stmt!r}")
                if float(power).is_integer():
                    ops = (ops if power >= 0 else _invert(ops)) * int(abs(power))
                elif len(ops) == 1 and ops[0].matrix is not None:
                    w, v = np.linalg.eig(ops[0].matrix)
                    root = (v * w.astype(complex) ** power) @ np.linalg.inv(v)
                    ops = [_Op(ops[0].targets, ops[0].controls, root)]
                else:
                    raise UnsupportedAnsatz(f"fractional pow @ of a composite gate in {stmt!r}")
        if controls:
            ops = [_Op(op.targets, tuple(controls) + op.controls, op.matrix) for op in ops]
            flips = [_Op((controls[i],), (), g.X) for i in negated]
            ops = flips + ops + flips
        return ops

    def _base(self, name: str, args: list[float], qubits: list[int], free: set[str] | None,
              stmt: str) -> list[_Op]:
        if name in self.defs:
            d = self.defs[name]
            if len(args) != len(d.params) or len(qubits) != len(d.qubits):
                raise UnsupportedAnsatz(f"`{name}` takes {len(d.params)} parameter(s) and {len(d.qubits)} "
                                        f"qubit(s): {stmt!r}")
            if name in self._expanding:
                raise UnsupportedAnsatz(f"gate `{name}` is defined in terms of itself")
            env = dict(zip(d.params, args))
            local = dict(zip(d.qubits, qubits))
            out: list[_Op] = []
            self._expanding.add(name)
            try:
                for inner in d.body:
                    out += self._call(inner, env, local, None if free is None else set())
            finally:
                self._expanding.discard(name)
            return out
        if name == "ms":
            if len(args) not in (2, 3) or len(qubits) != 2:
                raise UnsupportedAnsatz(f"ms takes (phi0, phi1[, angle]) in turns and two qubits: {stmt!r}")
            return [_Op(tuple(qubits), (), g.ms(*args))]
        if name not in _BUILTIN:
            raise UnsupportedAnsatz(f"unknown gate `{name}`")
        n_params, n_qubits, n_controls, make = _BUILTIN[name]
        if len(args) != n_params or len(qubits) != n_qubits:
            raise UnsupportedAnsatz(f"`{name}` takes {n_params} parameter(s) and {n_qubits} qubit(s): {stmt!r}")
        if len(set(qubits)) != len(qubits):
            raise UnsupportedAnsatz(f"`{name}` uses a qubit twice: {stmt!r}")
        return [_Op(tuple(qubits[n_controls:]), tuple(qubits[:n_controls]),
                    np.asarray(make(*args), dtype=np.complex128))]


def _qasm_state(text: str, params: Sequence[float]) -> np.ndarray:
    program = _QasmProgram(text)
    env = _bind(program.declared, program.free_names(), params)
    ops = program.ops(env)
    n = program.qubits
    if n == 0:
        raise UnsupportedAnsatz("the program declares no qubits")
    _check_size(n)
    return _run_ops(n, ops, np.dtype(np.complex128))


def ansatz_state(text: str, params: Sequence[float]) -> np.ndarray:
    """The state the ansatz prepares from |0...0> with ``params`` bound (qubit 0 = least significant bit)."""
    if not isinstance(text, str) or not text.strip():
        raise UnsupportedAnsatz("the ansatz data must be a non-empty string")
    stripped = _strip_comments(text).lstrip()
    if stripped.startswith(("{", "[")):
        return _json_state(text, params)
    if re.match(r"(OPENQASM|include|qreg|qubit|input|gate)\b", stripped):
        return _qasm_state(text, params)
    raise UnsupportedAnsatz("unrecognised format (neither OpenQASM nor IonQ circuit JSON)")


# ----------------------------------------------------------------------------------------------------------------
# Hamiltonian
# ----------------------------------------------------------------------------------------------------------------


def _pauli_letters(pauli_string: str, n: int) -> dict[int, str]:
    """{qubit: letter} for a dense (rightmost = qubit 0) or indexed (``"Z0 Z1"``) Pauli string."""
    s = pauli_string.strip().upper()
    if re.search(r"\d", s):
        tokens = re.findall(r"([IXYZ])\s*(\d+)", s)
        if not tokens or re.sub(r"[IXYZ]\s*\d+|[\s*]", "", s):
            raise ValueError(f"pauli_string {pauli_string!r}: expected letters with qubit indices like \"Z0 Z1\"")
        letters: dict[int, str] = {}
        for letter, index in tokens:
            q = int(index)
            if q in letters:
                raise ValueError(f"pauli_string {pauli_string!r} names qubit {q} twice")
            letters[q] = letter
    else:
        s = s.replace(" ", "")
        if not s or set(s) - set("IXYZ"):
            raise ValueError(f"pauli_string {pauli_string!r} must use only I, X, Y, Z")
        letters = {q: letter for q, letter in enumerate(reversed(s))}
    letters = {q: letter for q, letter in letters.items() if letter != "I"}
    if letters and max(letters) >= n:
        raise ValueError(f"pauli_string {pauli_string!r} acts on qubit {max(letters)} "
                         f"but the ansatz has {n} qubits")
    return letters


def pauli_expectation(psi: np.ndarray, n: int, letters: Mapping[int, str]) -> float:
    """<psi| P |psi> for the Pauli string ``{qubit: letter}`` on ``psi`` (qubit 0 = least significant bit)."""
    if not letters:
        return float(np.vdot(psi, psi).real)
    flip = sum(1 << q for q, a in letters.items() if a in "XY")
    signs = sum(1 << q for q, a in letters.items() if a in "YZ")
    n_y = sum(1 for a in letters.values() if a == "Y")
    # P|j> = i^{n_Y} (-1)^{popcount(j & (Y|Z))} |j xor flip>; summed in chunks to bound temporaries
    total = 0j
    for lo in range(0, psi.size, CHUNK):
        idx = np.arange(lo, min(lo + CHUNK, psi.size), dtype=np.int64)
        sign = 1.0 - 2.0 * (np.bitwise_count(idx & signs) & 1)
        total += np.sum(np.conj(psi[idx ^ flip]) * sign * psi[lo:lo + idx.size])
    return float(((1j**n_y) * total).real)


def hamiltonian_energy(data: Mapping[str, Any], params: Sequence[float]) -> float:
    """<psi(params)| H |psi(params)> for ``data`` = ``{"hamiltonian": [{"pauli_string", "coefficient"}, ...],
    "ansatz": {"data": "<OpenQASM or IonQ JSON>"}}`` (the ``HamiltonianEnergyData`` of IonQ's spec).

    Raises :class:`UnsupportedAnsatz` for an ansatz the sandbox cannot read and ``ValueError`` for other bad input.
    """
    if not isinstance(data, Mapping):
        raise ValueError("hamiltonian-energy data needs `hamiltonian` and `ansatz`")  # noqa: TRY004
    for key in ("linear_constraints", "quadratic_constraints"):
        if data.get(key):
            raise ValueError(f"{key} are not supported by the sandbox")
    if data.get("penalty"):
        raise ValueError("penalty is not supported by the sandbox")
    terms = data.get("hamiltonian")
    if not isinstance(terms, list) or not terms:
        raise ValueError("hamiltonian must be a non-empty list of {\"pauli_string\", \"coefficient\"} terms")
    ansatz = data.get("ansatz")
    if not isinstance(ansatz, Mapping) or "data" not in ansatz:
        raise ValueError("ansatz must be an object with a `data` string")
    psi = ansatz_state(ansatz["data"], list(params))
    n = int(psi.size).bit_length() - 1
    energy = 0.0
    for i, term in enumerate(terms):
        if not isinstance(term, Mapping) or not isinstance(term.get("pauli_string"), str):
            raise ValueError(f"hamiltonian[{i}] must have a `pauli_string` string")  # noqa: TRY004
        c = term.get("coefficient")
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
            raise ValueError(f"hamiltonian[{i}].coefficient must be a finite number, got {c!r}")
        energy += c * pauli_expectation(psi, n, _pauli_letters(term["pauli_string"], n))
    return energy
