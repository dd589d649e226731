"""IonQ's rules for circuits and job payloads: one table shared by every layer.

The sandbox rejects what IonQ rejects, the MCP server rejects the same things before anything leaves the
process, and cost estimates count gates the way IonQ bills them. All three read this module, so they cannot
drift apart. It imports nothing from the rest of the package.

Units and conventions (IonQ's, see ``docs/reference/ionq-notes.md``):

* QIS ``rotation`` (rx, ry, rz, xx, yy, zz) is in **radians**.
* Native gates use **turns** (1 turn = 2*pi): gpi/gpi2 ``phase``, ms ``phases`` [phi0, phi1] and ``angle``
  (0 < angle <= 0.25, default 0.25 = fully entangling), native zz ``angle``.
* Result keys are decimal integers with qubit 0 as the **least significant bit**.
* ``pauliexp`` is exp(-i * time * sum_k coefficients[k] * terms[k]), where character j of each term acts on
  ``targets[j]``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

Gateset = Literal["qis", "native"]

# --------------------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------------------

SIMULATOR = "simulator"
#: Qubits per backend. All-to-all connectivity on every trapped-ion QPU.
BACKEND_QUBITS: dict[str, int] = {
    "simulator": 29,
    "qpu.aria-1": 25,
    "qpu.aria-2": 25,
    "qpu.forte-1": 36,
    "qpu.forte-enterprise-1": 36,
}
JOB_BACKENDS: tuple[str, ...] = tuple(BACKEND_QUBITS)

#: Noise models of the simulator and the largest circuit each may simulate (the modelled QPU's size).
NOISE_MODEL_QUBITS: dict[str, int] = {
    "ideal": 29,
    "harmony": 11,
    "harmony-1": 11,
    "harmony-2": 11,
    "aria-1": 25,
    "aria-2": 25,
    "forte-1": 29,
    "forte-enterprise-1": 29,
}

MIN_SHOTS = 1
MAX_SHOTS = 1_000_000
#: IonQ's SDKs cap QPU jobs at 10,000 shots; we enforce the same so an agent cannot order a million paid shots.
MAX_QPU_SHOTS = 10_000
DEFAULT_SHOTS = 100
MIN_DEBIASING_SHOTS = 500

CIRCUIT_JOB = "ionq.circuit.v1"
MULTI_CIRCUIT_JOB = "ionq.multi-circuit.v1"
QAOA_JOB = "qctrl.qaoa.v1"
#: OpenAPI says ``quantum-function``, the job JSON Schema says ``quantum-function.v1``: both are accepted.
QUANTUM_FUNCTION_JOBS: tuple[str, ...] = ("quantum-function", "quantum-function.v1")
JOB_TYPES: tuple[str, ...] = (CIRCUIT_JOB, MULTI_CIRCUIT_JOB, QAOA_JOB, *QUANTUM_FUNCTION_JOBS)
#: Job statuses after which nothing changes (results, failure or cancellation are final).
TERMINAL_JOB_STATUSES: frozenset[str] = frozenset({"completed", "failed", "canceled"})


def is_qpu(backend: str) -> bool:
    """True for a backend that runs on real hardware and costs money."""
    return backend.startswith("qpu.")


def is_uuid(value: str) -> bool:
    """True for a UUID: how IonQ names jobs, sessions, projects and users (a filter naming one by anything else is
    a 400)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateSpec:
    """What one gate name accepts.

    ``targets`` is the exact number of target qubits, or ``None`` for "one or more" (pauliexp, nop).
    ``params`` maps each parameter key to whether it is required. ``controllable`` says whether
    ``control``/``controls`` may be given; ``needs_control`` whether at least one must be.
    """

    name: str
    gateset: Gateset
    targets: int | None
    params: Mapping[str, bool] = field(default_factory=dict)
    controllable: bool = False
    needs_control: bool = False
    summary: str = ""


def _qis(name: str, targets: int | None, summary: str, params: Mapping[str, bool] | None = None,
         controllable: bool = True, needs_control: bool = False) -> GateSpec:
    return GateSpec(name, "qis", targets, dict(params or {}), controllable, needs_control, summary)


def _native(name: str, targets: int | None, summary: str, params: Mapping[str, bool]) -> GateSpec:
    return GateSpec(name, "native", targets, dict(params), False, False, summary)


QIS_GATES: dict[str, GateSpec] = {
    g.name: g
    for g in (
        _qis("x", 1, "Pauli X"),
        _qis("y", 1, "Pauli Y"),
        _qis("z", 1, "Pauli Z"),
        _qis("rx", 1, "X rotation by `rotation` radians", {"rotation": True}),
        _qis("ry", 1, "Y rotation by `rotation` radians", {"rotation": True}),
        _qis("rz", 1, "Z rotation by `rotation` radians", {"rotation": True}),
        _qis("h", 1, "Hadamard"),
        _qis("s", 1, "S = sqrt(Z)"),
        _qis("si", 1, "S inverse"),
        _qis("v", 1, "V = sqrt(X)"),
        _qis("vi", 1, "V inverse"),
        _qis("t", 1, "T = fourth root of Z"),
        _qis("ti", 1, "T inverse"),
        _qis("not", 1, "NOT (same as x)"),
        _qis("cnot", 1, "controlled NOT: needs control(s) and a target", needs_control=True),
        _qis("swap", 2, "swap two qubits"),
        _qis("xx", 2, "Ising XX: exp(-i rotation/2 X(x)X), radians", {"rotation": True}, controllable=False),
        _qis("yy", 2, "Ising YY: exp(-i rotation/2 Y(x)Y), radians", {"rotation": True}, controllable=False),
        _qis("zz", 2, "Ising ZZ: exp(-i rotation/2 Z(x)Z), radians", {"rotation": True}, controllable=False),
        _qis("pauliexp", None, "exp(-i time sum_k coefficients[k] terms[k]); term character j acts on targets[j]",
             {"terms": True, "coefficients": True, "time": True}, controllable=False),
    )
}

NATIVE_GATES: dict[str, GateSpec] = {
    g.name: g
    for g in (
        _native("gpi", 1, "GPI(phase), phase in turns", {"phase": True}),
        _native("gpi2", 1, "GPI2(phase): pi/2 rotation about an equatorial axis, phase in turns", {"phase": True}),
        _native("ms", 2, "Molmer-Sorensen: phases [phi0, phi1] in turns, angle in turns (0, 0.25], default 0.25",
                {"phases": True, "angle": False}),
        _native("zz", 2, "native ZZ: exp(-i pi angle Z(x)Z), angle in turns", {"angle": True}),
        _native("nop", None, "no operation (idle)", {"time": False}),
    )
}

GATESETS: dict[str, dict[str, GateSpec]] = {"qis": QIS_GATES, "native": NATIVE_GATES}


class Gate(NamedTuple):
    """A validated gate in canonical form.

    ``name`` is canonical: ``not`` becomes ``x`` and ``cnot`` becomes ``x`` with its controls; ``gateset`` tells
    QIS ``zz`` (radians) from native ``zz`` (turns). ``params`` holds floats (and, for pauliexp, the term
    strings and coefficient list); ms ``angle`` is filled with its default 0.25. (A NamedTuple rather than a
    frozen dataclass: circuits of thousands of gates are parsed on every validated call, and a tuple is
    several times cheaper to build.)
    """

    name: str
    gateset: Gateset
    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    params: Mapping[str, Any] = MappingProxyType({})

    @property
    def qubits(self) -> tuple[int, ...]:
        return self.controls + self.targets


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (a dotted path such as ``input.circuit[3].target``), what, and what
    is allowed instead. ``str()`` gives a sentence an agent can act on."""

    path: str
    message: str
    allowed: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} (allowed: {self.allowed})" if self.allowed else text


class CircuitError(ValueError):
    """A circuit or job payload breaks IonQ's rules. ``problems`` lists every problem found (at least one)."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _join(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def _is_number(value: Any) -> bool:
    """A finite JSON number. An integer too large for a double (JSON allows 400 digits) is not one: IonQ's
    service reads numbers as doubles, and ``math.isfinite`` would raise ``OverflowError`` on it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return -MAX_DOUBLE_INT <= value <= MAX_DOUBLE_INT
    return math.isfinite(value)


#: The largest integer a double holds without overflowing (about 1.8e308).
MAX_DOUBLE_INT = int(float("1.7976931348623157e308"))


def show(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 400-digit number stays readable in an error)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _qubit_index(value: Any, path: str, problems: list[Problem]) -> int | None:
    # The spec types targets/controls as doubles; they are indices, so 1.0 is accepted and 1.5 is not.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not value.is_integer()
    ):
        problems.append(Problem(path, f"must be a qubit index (a whole number >= 0), got {show(value)}"))
        return None
    index = int(value)
    if index < 0:
        problems.append(Problem(path, f"qubit index must be >= 0, got {show(index)}"))
        return None
    return index


def _qubit_list(gate: Mapping[str, Any], one: str, many: str, path: str,
                problems: list[Problem]) -> tuple[int, ...] | None:
    """Read ``one`` (a single index) or ``many`` (a list); None when neither is present."""
    if one in gate and many in gate:
        problems.append(Problem(_join(path, many), f"give either `{one}` or `{many}`, not both"))
        return ()
    if one in gate:
        index = _qubit_index(gate[one], _join(path, one), problems)
        return () if index is None else (index,)
    if many in gate:
        raw = gate[many]
        if not isinstance(raw, list) or not raw:
            problems.append(Problem(_join(path, many), "must be a non-empty list of qubit indices"))
            return ()
        out = []
        for i, v in enumerate(raw):
            index = _qubit_index(v, _join(_join(path, many), i), problems)
            if index is not None:
                out.append(index)
        return tuple(out)
    return None


_MISSING = object()


def _parse_simple_gate(gate: Any, table: Mapping[str, GateSpec]) -> Gate | None:
    """The common shapes (one integer ``target``, at most one integer ``control``, plain numeric parameters)
    without building any error text. Returns None for anything else, which then takes the full check; both
    paths accept exactly the same gates, this one is only faster (large circuits are mostly such gates)."""
    if type(gate) is not dict:
        return None
    name = gate.get("gate")
    spec = table.get(name) if type(name) is str else None
    if spec is None or spec.targets != 1:
        return None
    target = gate.get("target")
    if type(target) is not int or target < 0:
        return None
    unread = len(gate) - 2
    controls: tuple[int, ...] = ()
    control = gate.get("control", _MISSING)
    if control is not _MISSING:
        if not spec.controllable or type(control) is not int or control < 0 or control == target:
            return None
        controls = (control,)
        unread -= 1
    elif spec.needs_control:
        return None
    params: dict[str, Any] = {}
    for key in spec.params:  # single-target gates have only required scalar parameters (rotation, phase)
        value = gate.get(key, _MISSING)
        if type(value) is float:
            if not math.isfinite(value):
                return None
        elif type(value) is not int or not -MAX_DOUBLE_INT <= value <= MAX_DOUBLE_INT:
            return None
        params[key] = float(value)
        unread -= 1
    if unread:  # unknown keys, or list forms such as `targets`/`controls`
        return None
    return Gate("x" if name in ("not", "cnot") else name, spec.gateset, (target,), controls, params)


def parse_gate(gate: Any, gateset: Gateset, path: str, problems: list[Problem]) -> Gate | None:
    """Validate one gate object; append what is wrong to ``problems`` and return the canonical gate or None.

    Qubit indices are checked against the circuit size by :func:`parse_circuit`, not here.
    """
    simple = _parse_simple_gate(gate, GATESETS[gateset])
    if simple is not None:
        return simple
    if not isinstance(gate, Mapping):
        problems.append(Problem(path, f"each gate must be an object like {{\"gate\": \"h\", \"target\": 0}}, "
                                      f"got {type(gate).__name__}"))
        return None
    table = GATESETS[gateset]
    name = gate.get("gate")
    if not isinstance(name, str) or name not in table:
        other = "native" if gateset == "qis" else "qis"
        hint = ""
        if isinstance(name, str) and name in GATESETS[other]:
            hint = f" (`{name}` is a {other} gate: set gateset to \"{other}\")"
        problems.append(Problem(_join(path, "gate"), f"unknown {gateset} gate {show(name)}{hint}",
                                ", ".join(sorted(table))))
        return None
    spec = table[name]
    before = len(problems)

    allowed_keys = {"gate", "target", "targets", *spec.params}
    if spec.controllable:
        allowed_keys |= {"control", "controls"}
    for key in gate:
        if key not in allowed_keys:
            problems.append(Problem(_join(path, key), f"`{name}` does not take `{key}`",
                                    ", ".join(sorted(allowed_keys))))

    targets = _qubit_list(gate, "target", "targets", path, problems)
    controls = _qubit_list(gate, "control", "controls", path, problems) if spec.controllable else ()
    if targets is None:
        if spec.targets is None and name == "nop":
            targets = ()
        else:
            problems.append(Problem(_join(path, "target" if spec.targets == 1 else "targets"),
                                    f"`{name}` needs " + ("a `target`" if spec.targets == 1 else
                                                         f"`targets` ({spec.targets or 'one or more'} qubits)")))
            targets = ()
    elif spec.targets is not None and targets and len(targets) != spec.targets:
        problems.append(Problem(_join(path, "targets"),
                                f"`{name}` acts on exactly {spec.targets} qubit(s), got {len(targets)}"))
    controls = controls or ()
    if spec.needs_control and not controls:
        problems.append(Problem(_join(path, "control"), f"`{name}` needs a `control` (or `controls`) qubit"))
    qubits = controls + targets
    if len(set(qubits)) != len(qubits):
        problems.append(Problem(path, f"`{name}` uses a qubit twice (controls {list(controls)}, "
                                      f"targets {list(targets)}): control and target qubits must all differ"))

    params: dict[str, Any] = {}
    for key, required in spec.params.items():
        if key not in gate:
            if required:
                problems.append(Problem(_join(path, key), f"`{name}` needs `{key}`", _PARAM_HELP.get(key)))
            continue
        value = _check_param(name, key, gate[key], _join(path, key), problems)
        if value is not None:
            params[key] = value
    if name == "ms":
        params.setdefault("angle", 0.25)
    if name == "pauliexp" and "terms" in params and "coefficients" in params:
        if len(params["terms"]) != len(params["coefficients"]):
            problems.append(Problem(_join(path, "coefficients"),
                                    f"needs one coefficient per term ({len(params['terms'])}), "
                                    f"got {len(params['coefficients'])}"))
        for i, term in enumerate(params["terms"]):
            if len(term) != len(targets):
                problems.append(Problem(_join(_join(path, "terms"), i),
                                        f"term {term!r} must have one Pauli letter per target ({len(targets)})"))
    if len(problems) > before:
        return None
    canonical = "x" if name in ("not", "cnot") else name
    return Gate(canonical, gateset, targets, controls, params)


_PARAM_HELP = {
    "rotation": "a finite number of radians",
    "phase": "a finite number of turns (1 turn = 2*pi)",
    "phases": "a list of two numbers of turns [phi0, phi1]",
    "angle": "a number of turns",
    "terms": "a list of Pauli strings over I, X, Y, Z",
    "coefficients": "a list of real numbers, one per term",
    "time": "a finite number",
}


def _check_param(gate: str, key: str, value: Any, path: str, problems: list[Problem]) -> Any:
    if key in ("rotation", "phase", "time"):
        if not _is_number(value):
            problems.append(Problem(path, f"must be a finite number, got {show(value)}", _PARAM_HELP[key]))
            return None
        return float(value)
    if key == "angle":
        if not _is_number(value):
            problems.append(Problem(path, f"must be a finite number of turns, got {show(value)}"))
            return None
        if gate == "ms" and not 0 < value <= 0.25:
            problems.append(Problem(path, f"ms angle must be in (0, 0.25] turns, got {value}",
                                    "0 < angle <= 0.25; 0.25 (the default) is fully entangling"))
            return None
        return float(value)
    if key == "phases":
        if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
            problems.append(Problem(path, f"must be two numbers of turns [phi0, phi1], got {show(value, 80)}"))
            return None
        return (float(value[0]), float(value[1]))
    if key == "terms":
        if (not isinstance(value, list) or not value
                or not all(isinstance(t, str) and t and set(t.upper()) <= set("IXYZ") for t in value)):
            problems.append(Problem(path, f"must be a non-empty list of Pauli strings over I, X, Y, Z, got {show(value, 80)}"))
            return None
        return tuple(t.upper() for t in value)
    if key == "coefficients":
        if not isinstance(value, list) or not value or not all(_is_number(v) for v in value):
            problems.append(Problem(path, f"must be a non-empty list of real numbers, got {show(value, 80)}"))
            return None
        return tuple(float(v) for v in value)
    raise AssertionError(f"no rule for parameter {key}")  # pragma: no cover - table and rules agree


@dataclass(frozen=True, slots=True)
class Circuit:
    """A validated circuit: its size, its gateset and its gates in order."""

    qubits: int
    gateset: Gateset
    gates: tuple[Gate, ...]
    name: str | None = None


def parse_circuit(gates: Any, gateset: Any, qubits: Any = None, *, path: str = "input",
                  max_qubits: int | None = None) -> Circuit:
    """Validate a circuit given as IonQ JSON (``input.circuit``, ``input.gateset``, ``input.qubits``).

    ``qubits`` may be omitted, in which case it is one more than the largest index used. Raises
    :class:`CircuitError` listing every problem, with paths under ``path``.
    """
    problems: list[Problem] = []
    if not isinstance(gateset, str) or gateset not in GATESETS:
        raise CircuitError([Problem(_join(path, "gateset"), f"unknown gateset {show(gateset)}", "qis, native")])
    if qubits is not None and (isinstance(qubits, bool) or not isinstance(qubits, int) or qubits < 1):
        problems.append(Problem(_join(path, "qubits"), f"must be a whole number >= 1, got {show(qubits)}"))
        qubits = None
    circuit_path = _join(path, "circuit")
    if not isinstance(gates, list):
        raise CircuitError([*problems, Problem(circuit_path, "must be a list of gate objects")])
    parsed: list[Gate] = []
    table = GATESETS[gateset]
    widest, widest_at = -1, 0  # the largest index used and the gate using it (when `qubits` is not given)
    for i, raw in enumerate(gates):
        # The path string is built only for a gate that needs the full check.
        gate = _parse_simple_gate(raw, table) or parse_gate(raw, gateset, _join(circuit_path, i), problems)
        if gate is not None:
            parsed.append(gate)
            if qubits is not None:
                for q in gate.controls + gate.targets:
                    if q >= qubits:
                        problems.append(Problem(_qubit_path(raw, q, _join(circuit_path, i)),
                                                f"uses qubit {show(q)} but the circuit has {qubits} qubits",
                                                f"indices 0..{qubits - 1}, or raise `qubits`"))
            else:
                for q in gate.controls + gate.targets:
                    if q > widest:
                        widest, widest_at = q, i
    where = _join(path, "qubits")
    if qubits is None:  # the size comes from the indices: a size over the limit is the widest gate's fault
        qubits = max(widest, 0) + 1
        where = _qubit_path(gates[widest_at], widest, _join(circuit_path, widest_at)) if widest >= 0 else where
    if max_qubits is not None and qubits > max_qubits:
        problems.append(Problem(where, f"{show(qubits)} qubits exceed the limit of {max_qubits}",
                                f"at most {max_qubits} (qubit indices 0..{max_qubits - 1})"))
    if problems:
        raise CircuitError(problems)
    return Circuit(qubits, gateset, tuple(parsed))


def _qubit_path(gate: Any, qubit: int, path: str) -> str:
    """The exact key of ``gate`` that names ``qubit`` (``...circuit[3].controls[1]``); ``path`` if none does."""
    if isinstance(gate, Mapping):
        for key in ("target", "control"):
            if gate.get(key) == qubit and not isinstance(gate.get(key), bool):
                return _join(path, key)
        for key in ("targets", "controls"):
            values = gate.get(key)
            if isinstance(values, list):
                for j, value in enumerate(values):
                    if value == qubit and not isinstance(value, bool):
                        return _join(_join(path, key), j)
    return path


# --------------------------------------------------------------------------------------------------------------
# Billing
# --------------------------------------------------------------------------------------------------------------


def billable_gate_counts(gates: Sequence[Gate]) -> tuple[int, int]:
    """(single-qubit, two-qubit) gate counts the way IonQ bills them.

    * a gate on one qubit with no controls: one 1q gate;
    * a gate on two qubits (one control and one target, swap, xx/yy/zz, ms, native zz): one 2q gate;
    * a gate on N >= 3 qubits (multi-controlled): 6*(N-2) 2q gates;
    * pauliexp: per term of weight w (non-identity letters): w == 1 -> one 1q gate, w >= 2 -> 2*(w-1) 2q gates;
    * nop: nothing.
    """
    n1 = n2 = 0
    for gate in gates:
        if gate.name == "nop":
            continue
        if gate.name == "pauliexp":
            for term in gate.params["terms"]:
                weight = sum(1 for c in term if c != "I")
                if weight == 1:
                    n1 += 1
                elif weight >= 2:
                    n2 += 2 * (weight - 1)
            continue
        n = len(gate.qubits)
        if n <= 1:
            n1 += 1
        elif n == 2:
            n2 += 1
        else:
            n2 += 6 * (n - 2)
    return n1, n2


# --------------------------------------------------------------------------------------------------------------
# Job payloads
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobPlan:
    """A validated job payload reduced to what execution and billing need.

    ``circuits`` is empty for QAOA and quantum-function jobs (their work is described by ``payload``).
    """

    type: str
    backend: str
    shots: int
    circuits: tuple[Circuit, ...]
    #: The effective setting: what the payload asked for, else IonQ's default (:func:`default_debiasing`).
    debiasing: bool
    noise_model: str
    noise_seed: int | None
    dry_run: bool
    payload: Mapping[str, Any]
    #: ``settings.error_mitigation.debiasing`` as the payload gave it (None: it says nothing).
    debiasing_requested: bool | None = None

    @property
    def qubits(self) -> int:
        return max((c.qubits for c in self.circuits), default=_payload_qubits(self.payload))

    def debiasing_on(self, backend: str) -> bool:
        """Whether this job would be debiased on ``backend`` (its own, or another one a comparison prices it on):
        the payload's explicit setting, else IonQ's default for that backend."""
        if self.debiasing_requested is not None:
            return self.debiasing_requested and is_qpu(backend)
        return default_debiasing(backend, self.shots, (c.gateset for c in self.circuits))

    def gate_counts(self) -> tuple[int, int]:
        """Billable (1q, 2q) gate counts summed over every circuit."""
        n1 = n2 = 0
        for circuit in self.circuits:
            a, b = billable_gate_counts(circuit.gates)
            n1, n2 = n1 + a, n2 + b
        return n1, n2


def default_debiasing(backend: str, shots: int, gatesets: Iterable[str]) -> bool:
    """IonQ's debiasing default for a payload that does not set ``settings.error_mitigation.debiasing``.

    On a QPU, a job with at least :data:`MIN_DEBIASING_SHOTS` shots whose circuits are in QIS gates is debiased;
    a native-gate job is not; under 500 shots never; simulators (noisy ones too) never. Debiasing raises the
    per-job minimum (97.50 USD on Aria instead of 12.4166), so this rule decides the price of a default job. A
    multi-circuit job with any QIS circuit counts as QIS (IonQ does not say; the higher price is the safe guess).
    Jobs without gate circuits (QAOA, quantum functions) are not debiased.
    """
    return is_qpu(backend) and shots >= MIN_DEBIASING_SHOTS and any(g == "qis" for g in gatesets)


def _payload_qubits(payload: Mapping[str, Any]) -> int:
    data = payload.get("input")
    if isinstance(data, Mapping):
        if isinstance(data.get("qubits"), int):
            return int(data["qubits"])
        problem = data.get("problem")
        if isinstance(problem, Mapping) and isinstance(problem.get("nodes"), list):
            return len(problem["nodes"])
    return 1


def parse_job(payload: Any) -> JobPlan:
    """Check a job-creation payload against IonQ's semantic rules (beyond its JSON Schema).

    Covers: job type, backend, shots (1..1,000,000; at most 10,000 on a QPU), circuits (gates, arity,
    parameters, qubit indices), backend and noise-model qubit limits, multi-circuit gateset inheritance, and
    debiasing (a QPU feature needing at least 500 shots; when the payload does not set it, IonQ's default from
    :func:`default_debiasing`). A null reads as absent. Raises :class:`CircuitError` listing every problem.
    The shape of QAOA and quantum-function inputs is left to the JSON Schema and to the executor.
    """
    if not isinstance(payload, Mapping):
        raise CircuitError([Problem("", "the job payload must be a JSON object")])
    problems: list[Problem] = []
    job_type = payload.get("type", CIRCUIT_JOB)
    if not isinstance(job_type, str) or job_type not in JOB_TYPES:
        problems.append(Problem("type", f"unknown job type {show(job_type)}", ", ".join(JOB_TYPES)))
    backend = payload.get("backend")
    if not isinstance(backend, str) or backend not in BACKEND_QUBITS:
        problems.append(Problem("backend", f"unknown backend {show(backend)}", ", ".join(JOB_BACKENDS)))
        backend = backend if isinstance(backend, str) else SIMULATOR
    # A null reads as absent everywhere an optional field is read (IonQ accepts nulls; qiskit-ionq sends them).
    shots = _given(payload, "shots", DEFAULT_SHOTS)
    if isinstance(shots, bool) or not isinstance(shots, int) or not MIN_SHOTS <= shots <= MAX_SHOTS:
        problems.append(Problem("shots", f"must be a whole number from {MIN_SHOTS} to {MAX_SHOTS:,}, got {show(shots)}"))
        shots = DEFAULT_SHOTS
    elif is_qpu(backend) and shots > MAX_QPU_SHOTS:
        problems.append(Problem("shots", f"{shots:,} shots exceed the QPU limit of {MAX_QPU_SHOTS:,}",
                                f"1..{MAX_QPU_SHOTS:,} on {backend}"))

    noise = _given(payload, "noise", {})
    noise_model = "ideal"
    noise_seed = None
    if not isinstance(noise, Mapping):
        problems.append(Problem("noise", "must be an object like {\"model\": \"aria-1\", \"seed\": 7}"))
    else:
        noise_model = _given(noise, "model", "ideal")
        if not isinstance(noise_model, str) or noise_model not in NOISE_MODEL_QUBITS:
            problems.append(Problem("noise.model", f"unknown noise model {show(noise_model)}",
                                    ", ".join(NOISE_MODEL_QUBITS)))
            noise_model = "ideal"
        noise_seed = noise.get("seed")
        if noise_seed is not None and (isinstance(noise_seed, bool) or not isinstance(noise_seed, int)):
            problems.append(Problem("noise.seed", f"must be an integer, got {show(noise_seed)}"))
            noise_seed = None
        if any(v is not None for v in noise.values()) and is_qpu(backend):
            problems.append(Problem("noise", "noise models apply to the simulator only; a QPU has real noise",
                                    "omit `noise`, or use backend \"simulator\""))

    settings = payload.get("settings") or {}
    requested: bool | None = None
    if isinstance(settings, Mapping):
        mitigation = settings.get("error_mitigation") or {}
        if isinstance(mitigation, Mapping):
            raw = mitigation.get("debiasing")
            requested = None if raw is None else (bool(raw) if isinstance(raw, (bool, Mapping)) else False)
    if requested:
        if not is_qpu(backend):
            problems.append(Problem("settings.error_mitigation.debiasing",
                                    "debiasing is a QPU feature and is not available on the simulator",
                                    "false on the simulator, or a qpu.* backend"))
        elif shots < MIN_DEBIASING_SHOTS:
            problems.append(Problem("settings.error_mitigation.debiasing",
                                    f"debiasing needs at least {MIN_DEBIASING_SHOTS} shots, got {shots}",
                                    f"shots >= {MIN_DEBIASING_SHOTS}, or debiasing false"))

    limit = BACKEND_QUBITS.get(backend, 29)
    if backend == SIMULATOR and noise_model != "ideal":
        limit = NOISE_MODEL_QUBITS[noise_model]
    circuits: list[Circuit] = []
    data = payload.get("input")
    if not isinstance(data, Mapping):
        problems.append(Problem("input", "must be an object describing the circuit(s) or function"))
    elif job_type == CIRCUIT_JOB:
        _collect(problems, circuits, lambda: parse_circuit(data.get("circuit"), _given(data, "gateset", "qis"),
                                                            data.get("qubits"), path="input", max_qubits=limit))
    elif job_type == MULTI_CIRCUIT_JOB:
        parent_gateset = _given(data, "gateset", "qis")
        entries = data.get("circuits")
        if not isinstance(entries, list) or not entries:
            problems.append(Problem("input.circuits", "must be a non-empty list of circuits"))
        else:
            for i, entry in enumerate(entries):
                path = f"input.circuits[{i}]"
                if not isinstance(entry, Mapping):
                    problems.append(Problem(path, "each circuit must be an object with a `circuit` list"))
                    continue
                qubits = _given(entry, "qubits", data.get("qubits"))
                before = len(circuits)
                _collect(problems, circuits, lambda e=entry, p=path, q=qubits: parse_circuit(
                    e.get("circuit"), _given(e, "gateset", parent_gateset), q, path=p, max_qubits=limit))
                if len(circuits) > before and isinstance(entry.get("name"), str):
                    c = circuits[-1]
                    circuits[-1] = Circuit(c.qubits, c.gateset, c.gates, entry["name"])
    elif job_type == QAOA_JOB:
        n = _payload_qubits(payload)
        if n > limit:
            problems.append(Problem("input.problem.nodes", f"{n} nodes need {n} qubits; {backend} has {limit}"))
    if problems:
        raise CircuitError(problems)
    debiasing = requested if requested is not None else default_debiasing(backend, shots,
                                                                          (c.gateset for c in circuits))
    return JobPlan(
        type=job_type, backend=backend, shots=shots, circuits=tuple(circuits), debiasing=debiasing,
        noise_model=noise_model, noise_seed=noise_seed, dry_run=bool(payload.get("dry_run", False)),
        payload=payload, debiasing_requested=requested,
    )


def _given(data: Mapping[str, Any], key: str, default: Any) -> Any:
    """``data[key]``, or ``default`` when it is absent or null."""
    value = data.get(key)
    return default if value is None else value


def _collect(problems: list[Problem], circuits: list[Circuit], parse: Any) -> None:
    try:
        circuits.append(parse())
    except CircuitError as error:
        problems.extend(error.problems)
