"""What the agent reads: tool descriptions, argument notes and spec reconciliations for the catalog.

The OpenAPI description is the wire contract but says little an agent needs (units, bit order, cost) and is
wrong in places (see ``docs/spec-deviations.md``). This module holds the overlay the catalog applies on top of
it, keyed by ``"METHOD /path"`` so that any capability operation bound to the same wire operation gets the
same text. Gate documentation is generated from :mod:`ionq_mcp.circuits`, never retyped. Each fact is said
once: in the tool where the agent needs it.
"""

from __future__ import annotations

from typing import Any

from . import circuits

# --------------------------------------------------------------------------------------------------------------
# Reconciliation of the spec's component schemas with schemas/*.json and IonQ's published rules
# --------------------------------------------------------------------------------------------------------------

_INDEX = {"type": "integer", "minimum": 0}
_NUMBERS = {"type": "array", "items": {"type": "number"}}

#: component name -> property path (dotted, "" = the component itself) -> keys to set (None deletes the key).
SCHEMA_PATCHES: dict[str, dict[str, dict[str, Any]]] = {
    # The spec gives no enum; the job JSON Schema and circuits.JOB_BACKENDS list the five job backends.
    "JobBackends": {"": {"enum": list(circuits.JOB_BACKENDS), "description": None}},
    "NoiseModel": {"": {"enum": list(circuits.NOISE_MODEL_QUBITS)}},
    # Qubit indices are integers (the spec types targets/controls as doubles); pauliexp and nop parameters
    # are missing from the spec's gate objects although IonQ accepts them.
    "Gate_QisGate": {
        "target": _INDEX, "control": _INDEX,
        "targets": {"type": "array", "items": _INDEX, "description": None},
        "controls": {"type": "array", "items": _INDEX, "description": None},
        "rotation": {"description": None},
        "terms": {"type": "array", "items": {"type": "string"}},
        "coefficients": _NUMBERS,
        "time": {"type": "number"},
    },
    "Gate_NativeGate": {
        "target": _INDEX,
        "targets": {"type": "array", "items": _INDEX, "description": None},
        "controls": {"type": "array", "items": _INDEX, "description": None},
        "phase": {"description": None}, "phases": {"description": None}, "angle": {"description": None},
        "rotation": {"description": None},
        "time": {"type": "number"},
    },
    # OpenAPI says quantum-function, the job JSON Schema quantum-function.v1: both are accepted.
    "QuantumFunctionJobCreationPayload": {
        "type": {"enum": list(circuits.QUANTUM_FUNCTION_JOBS)},
        "shots": {"minimum": circuits.MIN_SHOTS},
    },
    "QctrlQaoaJobCreationPayload": {"shots": {"minimum": circuits.MIN_SHOTS}},
    # Minimums from schemas/ionq-session-schema.json.
    "SessionSettingsRequest": {"job_count_limit": {"minimum": 1}, "duration_limit_min": {"minimum": 1}},
    "SessionCostLimit": {"value": {"minimum": 0}},
    "CreateSessionRequest": {"backend": {"enum": list(circuits.JOB_BACKENDS)}},
    # Timings are seconds (the spec's own description) and so fractions: the spec's `integer` cannot hold them.
    "Characterization": {f"timing.{k}": {"type": "number"} for k in ("1q", "2q", "readout", "reset", "t1", "t2")},
}

#: The ``{backend}`` path parameter: the spec's enum omits ``simulator`` (which GET /backends lists) and adds
#: two enterprise systems; we accept the union so every backend list_backends returns can be inspected.
PATH_BACKENDS: tuple[str, ...] = (*circuits.JOB_BACKENDS, "qpu.forte-enterprise-2", "qpu.forte-enterprise-3")

# --------------------------------------------------------------------------------------------------------------
# Gate documentation, generated from the circuits tables
# --------------------------------------------------------------------------------------------------------------


def _gate_group_key(spec: circuits.GateSpec) -> tuple[Any, ...]:
    return (spec.targets, tuple(spec.params.items()), spec.needs_control)


def _describe_group(names: list[str], spec: circuits.GateSpec) -> str:
    parts = []
    if spec.needs_control:
        parts.append("control(s)+target")
    elif spec.targets is None:
        parts.append("targets")
    elif spec.targets > 1:
        parts.append(f"targets[{spec.targets}]")
    parts += [key if required else f"{key}?" for key, required in spec.params.items()]
    return " ".join(names) + (f" ({', '.join(parts)})" if parts else "")


def gate_documentation(gateset: circuits.Gateset) -> str:
    """One line per group of gates that take the same qubits and parameters, e.g. ``rx ry rz (rotation)``."""
    groups: dict[tuple[Any, ...], list[circuits.GateSpec]] = {}
    for spec in circuits.GATESETS[gateset].values():
        groups.setdefault(_gate_group_key(spec), []).append(spec)
    return "; ".join(_describe_group([s.name for s in specs], specs[0]) for specs in groups.values())


def _backends_fact() -> str:
    """Each backend's qubit count from :data:`circuits.BACKEND_QUBITS`, QPUs of the same size grouped."""
    by_size: dict[int, list[str]] = {}
    for name, qubits in circuits.BACKEND_QUBITS.items():
        if circuits.is_qpu(name):
            by_size.setdefault(qubits, []).append(name)
    qpus = "; ".join(f"{', '.join(names)}: {size} qubits" for size, names in by_size.items())
    return (f"{circuits.SIMULATOR}: free, ideal or with a noise model, up to "
            f"{circuits.BACKEND_QUBITS[circuits.SIMULATOR]} qubits; {qpus} (all-to-all connectivity).")


_BACKENDS_FACT = _backends_fact()
_COST_FACT = (
    "QPU jobs cost real money: call get_job_estimate (or the estimate_circuit_cost workflow) first."
)
_BIT_ORDER = (
    "Keys are decimal basis states with qubit 0 the least significant bit: "
    "format(int(k), f'0{n}b') is a bitstring whose rightmost character is qubit 0."
)

_CREATE_JOB = (
    "Submit a job to the simulator or a QPU. " + _COST_FACT + " Returns the job id; poll get_job until "
    "completed, then get_job_probabilities. Backends: " + _BACKENDS_FACT + f" Shots {circuits.MIN_SHOTS}.."
    f"{circuits.MAX_SHOTS:,}, at most {circuits.MAX_QPU_SHOTS:,} on a QPU; settings.error_mitigation.debiasing "
    f"needs >= {circuits.MIN_DEBIASING_SHOTS} shots (QPU only) and is ON by default for QIS-gate QPU jobs with >= "
    f"{circuits.MIN_DEBIASING_SHOTS} shots (billed at the error-mitigation minimum; set false to avoid). "
    "input by type: ionq.circuit.v1 {gateset, qubits, circuit:[gate]}; ionq.multi-circuit.v1 {gateset, "
    "qubits, circuits:[{name, circuit, gateset?}]} (each circuit inherits input.gateset); qctrl.qaoa.v1 "
    "{problem_type: maxcut, problem} + external_settings; quantum-function {data, params}. "
    "A gate is {gate, target|targets, control|controls, parameters}. QIS gates (rotation in radians; any "
    "1-target gate takes control(s)): " + gate_documentation("qis") + ". Native gates (angles in turns, "
    "1 turn = 2*pi; no controls): " + gate_documentation("native") + "."
)

_JOB_ID = "Job id (UUID)."
_JOB_FILTERS = {"ids": "Only these job ids.", "target": "Backend name(s), comma-separated.",
                "next": "Cursor from the previous page's `next`.", "submitter_id": "Another project member's jobs."}
_BACKEND_NAME = {"backend": "Backend name, as list_backends returns it."}
_VARIANT_ID = "Debiasing variant id, from get_job output.error_mitigation.debiasing.variants."

#: "METHOD /path" -> overlay. Keys: description, args (argument name -> description), result_key (wrapper key
#: for responses that are not objects), visible (dotted property path -> replacement schema in the
#: model-visible input schema only; validation keeps the full spec schema). Presentation (fields of
#: :class:`~ionq_mcp.catalog.Operation`): result_kind (distribution | samples; default object), role (submit |
#: estimate | status | results: the server's instructions name the tool), describes_upstream (the result says
#: where calls go), lister ("METHOD /path" of the tool that lists this operation's ids; default GET of the
#: path's first segment), completed_first (results exist only once the job completed).
OVERLAY: dict[str, dict[str, Any]] = {
    "GET /whoami": {
        "description": "Identify the API key in use: key id, key name and project id. Also tells whether "
                       "results come from the local sandbox (simulated) or the IonQ cloud.",
        "describes_upstream": True,
    },
    "GET /backends": {
        "description": "List IonQ backends with status, qubits, queue time and degraded flag. " + _BACKENDS_FACT,
        "result_key": "backends",
    },
    "GET /backends/{backend}": {
        "description": "Get one backend's status, qubit count, average queue time and current "
                       "characterization id.",
        "args": _BACKEND_NAME,
    },
    "GET /backends/{backend}/characterizations": {
        "description": "List a backend's calibration snapshots (gate fidelities, timings in seconds, "
                       "connectivity), newest first, paginated.",
        "args": {**_BACKEND_NAME, "start": "Only snapshots from this date/time (ISO 8601).",
                 "end": "Only snapshots before this date/time (ISO 8601).",
                 "page": "Page number, from 1."},
    },
    "GET /backends/{backend}/characterizations/{UUID}": {
        "description": "Get one calibration snapshot: 1q/2q/SPAM fidelities, T1/T2 and gate times (seconds).",
        "args": {**_BACKEND_NAME,
                 "characterization_id": "Characterization id (UUID), e.g. get_backend's characterization_id."},
    },
    "POST /jobs": {
        "role": "submit",
        "description": _CREATE_JOB,
        "args": {
            "type": "Job type; selects the shape of input.",
            "input": "Circuit(s) or function; shape per type, see above.",
            "shots": None, "session_id": "Run inside this session (create_session).",
            "dry_run": "Validate and estimate without running.",
            "noise": "Simulator only: {model, seed?}; the model caps qubits at the modelled QPU's size.",
            "metadata": "String key/values stored with the job.",
        },
        "visible": {
            "input.problem": {"type": "object", "description": "NetworkX adjacency_graph (QAOA)."},
            "input.data": {"type": "object", "description": "Quantum-function data."},
            "input.type": None,
        },
    },
    "GET /jobs": {
        "description": "List your jobs, newest first, with status, backend and timing. Page with `next`.",
        "args": _JOB_FILTERS,
    },
    "DELETE /jobs": {
        "description": "Delete many jobs and their results permanently. Running jobs are canceled first.",
        "args": {"ids": "Job ids to delete."},
    },
    "GET /jobs/{UUID}": {
        "role": "status",
        "description": "Get a job: status (submitted, ready, started, completed, failed, canceled), failure "
                       "code and message, stats (qubits, gate counts), child job ids and debiasing variants.",
    },
    "DELETE /jobs/{UUID}": {"description": "Delete one job and its results permanently."},
    "GET /jobs/{UUID}/cost": {
        "description": "Get a job's estimated and final cost in USD (0 on the simulator).",
    },
    "GET /jobs/estimate": {
        "role": "estimate",
        "description": "Estimate a job's cost in USD and its execution and queue time before submitting it. "
                       "Count gates as IonQ bills them: a multi-controlled gate on N qubits is 6*(N-2) "
                       "two-qubit gates.",
        "args": {"type": "Job type.", "qubits": "Qubits used.", "shots": None,
                 "one_qubit_gates": "Single-qubit gate count.", "two_qubit_gates": "Two-qubit gate count.",
                 "error_mitigation": "Debiasing on (raises the per-job minimum). IonQ debiases a QIS-gate "
                                     f"QPU job with >= {circuits.MIN_DEBIASING_SHOTS} shots by default: set true "
                                     "for one unless it turns debiasing off."},
    },
    "GET /jobs/{UUID}/circuits/{lang}": {
        "description": "Get the circuit a job was compiled to, as native-gate JSON or OpenQASM 3.",
        "args": {"lang": "native (IonQ native-gate JSON) or qasm3."},
        "result_key": "circuit",
    },
    "PUT /jobs/{UUID}/status/cancel": {
        "description": "Cancel one job that has not finished. A canceled job cannot be resumed.",
    },
    "PUT /jobs/status/cancel": {
        "description": "Cancel many unfinished jobs at once.",
        "args": {"ids": "Job ids to cancel."},
    },
    "GET /jobs/{UUID}/results/probabilities": {
        "description": "Get a completed job's probability distribution (aggregated over debiasing variants). "
                       + _BIT_ORDER,
        "args": {"sharpen": "Debiased jobs: plurality vote across variants instead of averaging."},
        "result_key": "probabilities",
        "result_kind": "distribution", "completed_first": True, "role": "results",
    },
    "GET /jobs/{UUID}/variants/{variantId}/results/probabilities": {
        "description": "Get one debiasing variant's probabilities (keys as in get_job_probabilities).",
        "args": {"variant_id": _VARIANT_ID},
        "result_key": "probabilities",
        "result_kind": "distribution", "completed_first": True,
    },
    "GET /jobs/{UUID}/variants/{variantId}/results/histogram": {
        "description": "Get one debiasing variant's raw counts per basis state (keys as in "
                       "get_job_probabilities).",
        "args": {"variant_id": _VARIANT_ID},
        "result_key": "histogram",
        "result_kind": "distribution", "completed_first": True,
    },
    "GET /jobs/{UUID}/variants/{variantId}/results/shots": {
        "description": "Get one debiasing variant's shot-by-shot outcomes.",
        "args": {"variant_id": _VARIANT_ID},
        "result_key": "shots",
        "result_schema": {},
        "result_kind": "samples", "completed_first": True,
    },
    "POST /sessions": {
        "description": "Reserve a QPU for a batch of jobs (beta). Jobs join with create_job(session_id=...). "
                       "Limits cap the session's job count, minutes and USD; end it with end_session.",
    },
    "GET /sessions": {"description": "List your organization's sessions.",
                      "args": {"active": "Only active (true) or ended (false) sessions."}},
    "GET /sessions/{session_id}": {"description": "Get a session's status, backend, limits and times."},
    "POST /sessions/{session_id}/end": {
        "description": "End a session: no further jobs run in it. Cannot be undone.",
    },
    "GET /sessions/{session_id}/jobs": {
        "description": "List the jobs of one session, newest first. Page with `next`.",
        "args": _JOB_FILTERS,
    },
    "GET /organizations/{organization_id}/usage": {
        "description": "Get an organization's QPU usage: job count, QPU time (microseconds) and cost (USD) "
                       "per day, week or month, grouped by job, project or user.",
        "args": {"organization_id": "Organization id.", "start_date": "First day, inclusive (YYYY-MM-DD).",
                 "end_date": "Last day, exclusive (YYYY-MM-DD)."},
        "lister": "GET /whoami",
    },
}

#: Argument notes shared by every operation unless its overlay says otherwise.
COMMON_ARGS: dict[str, str] = {
    "job_id": _JOB_ID,
    "session_id": "Session id.",
    "limit": "Page size.",
    "status": "Only jobs in this status.",
    "parent_job_id": "Only children of this multi-circuit job.",
}
