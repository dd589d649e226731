"""What the skill pack's ``scripts/`` do: deterministic work an agent should not do in its head.

Each script in the pack is a few lines that call :func:`main` here with its own name, so a script always runs
the rules of the installed ionq-mcp (it needs ionq-mcp installed, and no network):

* ``check_job``: validate a job payload offline with IonQ's rules (:func:`ionq_mcp.circuits.parse_job`),
  list every problem with its path, and warn about likely unit mistakes;
* ``count_gates``: billable 1q/2q gate counts as IonQ bills them, whether the job is debiased (by the payload
  or by IonQ's default), and its price on every QPU from the published formula;
* ``decode_results``: decimal result keys -> bitstrings (qubit 0 rightmost), top-k, remaining and total mass,
  per-qubit marginals and integer counts.

Input is JSON from a file argument or ``-`` (stdin); output is one JSON object on stdout. Exit status 0 on
success, 1 when the input is invalid (the JSON then says why), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ionq_mcp import circuits

__all__ = ["check_job", "count_gates", "debiasing_decision", "decode_results", "main"]

#: Native angles are turns; a magnitude above this many turns almost always means radians were given.
_TURNS_SUSPICIOUS = 1.0


# --------------------------------------------------------------------------------------------------------------
# Debiasing
# --------------------------------------------------------------------------------------------------------------


def debiasing_decision(payload: Mapping[str, Any], plan: circuits.JobPlan) -> tuple[bool, str]:
    """(debiased?, why) for a valid job: ``plan.debiasing``, the effective setting ``parse_job`` derived by
    IonQ's defaults (:func:`ionq_mcp.circuits.default_debiasing`), with the reason in words. ``payload`` is the
    job as given (kept for the callers; the plan already carries what it says)."""
    del payload
    if plan.debiasing_requested is not None:
        return plan.debiasing, (f"settings.error_mitigation.debiasing is "
                                f"{json.dumps(plan.debiasing_requested)} in the payload")
    if not circuits.is_qpu(plan.backend):
        return False, "simulators never debias"
    if plan.shots < circuits.MIN_DEBIASING_SHOTS:
        return False, f"fewer than {circuits.MIN_DEBIASING_SHOTS} shots: never debiased"
    if plan.debiasing:
        return True, (f"IonQ's default for a QIS-gate QPU job with >= {circuits.MIN_DEBIASING_SHOTS} shots; set "
                      "settings.error_mitigation.debiasing to false to turn it off")
    return False, "native-gate jobs are debiased only when the payload turns it on"


# --------------------------------------------------------------------------------------------------------------
# check_job
# --------------------------------------------------------------------------------------------------------------


def _unit_warnings(plan: circuits.JobPlan) -> list[str]:
    warnings = []
    for ci, circuit in enumerate(plan.circuits):
        if circuit.gateset != "native":
            continue
        for gi, gate in enumerate(circuit.gates):
            values = [gate.params.get("phase"), gate.params.get("angle"), *(gate.params.get("phases") or ())]
            if any(isinstance(v, float) and abs(v) > _TURNS_SUSPICIOUS for v in values):
                where = f"circuit {ci} gate {gi} ({gate.name})"
                warnings.append(f"{where}: a native angle above {_TURNS_SUSPICIOUS:g} turn: native gates take "
                                "TURNS (1 turn = 2*pi radians); was this given in radians?")
    return warnings


def check_job(payload: Any) -> tuple[dict[str, Any], bool]:
    """(report, valid?) for a job payload, without sending anything anywhere."""
    try:
        plan = circuits.parse_job(payload)
    except circuits.CircuitError as error:
        problems = [{"path": p.path, "problem": p.message, "allowed": p.allowed} for p in error.problems]
        return {"valid": False, "problems": problems}, False
    debiased, why = debiasing_decision(payload, plan)
    one_q, two_q = plan.gate_counts()
    report: dict[str, Any] = {
        "valid": True, "type": plan.type, "backend": plan.backend, "shots": plan.shots, "qubits": plan.qubits,
        "circuits": [{"name": c.name, "qubits": c.qubits, "gateset": c.gateset, "gates": len(c.gates)}
                     for c in plan.circuits],
        "billable_gates": {"1q": one_q, "2q": two_q}, "debiased": debiased, "debiasing_reason": why,
        "warnings": _unit_warnings(plan),
    }
    if circuits.is_qpu(plan.backend):
        report["warnings"].append(f"{plan.backend} is a QPU and is billed: estimate first (estimate_circuit_cost), "
                                  "or rehearse on the simulator with a noise model")
    return report, True


# --------------------------------------------------------------------------------------------------------------
# count_gates
# --------------------------------------------------------------------------------------------------------------


def count_gates(payload: Any) -> tuple[dict[str, Any], bool]:
    """(report, valid?): billable gate counts, debiasing and the price on every QPU for this payload."""
    from ionq_mcp.sandbox import ARIA, default_rates

    try:
        plan = circuits.parse_job(payload)
    except circuits.CircuitError as error:
        return {"valid": False, "problems": [str(p) for p in error.problems]}, False
    one_q, two_q = plan.gate_counts()
    debiased, why = debiasing_decision(payload, plan)
    rates = default_rates()
    prices = {}
    for backend in (b for b in circuits.BACKEND_QUBITS if circuits.is_qpu(b)):
        rate = rates.rate(backend)
        if rate is None:
            continue
        there = {k: v for k, v in payload.items() if k != "noise"}
        there["backend"] = backend
        try:
            on_qpu, _ = debiasing_decision(there, circuits.parse_job(there))
        except circuits.CircuitError as error:
            prices[backend] = {"fits": False, "problem": str(error.problems[0])}
            continue
        prices[backend] = {
            "cost_usd": rates.cost(backend, one_q=one_q, two_q=two_q, shots=plan.shots, error_mitigation=on_qpu),
            "debiased": on_qpu,
            "rates": "IonQ's published rates" if rate == ARIA else "the sandbox's assumed rates (IonQ: 'higher')",
        }
    report: dict[str, Any] = {
        "valid": True, "backend": plan.backend, "shots": plan.shots, "circuits": max(1, len(plan.circuits)),
        "one_qubit_gates": one_q, "two_qubit_gates": two_q, "debiased": debiased, "debiasing_reason": why,
    }
    rate = rates.rate(plan.backend)
    if rate is None:
        report["cost_usd"] = 0.0
        report["formula"] = f"{plan.backend} is free"
    else:
        minimum = rate.job_cost_minimum_error_mitigation if debiased else rate.job_cost_minimum
        cost = rates.cost(plan.backend, one_q=one_q, two_q=two_q, shots=plan.shots, error_mitigation=debiased)
        report["cost_usd"] = cost
        report["formula"] = (f"{minimum:g} + {rate.cost_1q_gate:g}*{one_q}*{plan.shots} + "
                             f"{rate.cost_2q_gate:g}*{two_q}*{plan.shots} = {cost:.4f} USD")
    if plan.type == circuits.MULTI_CIRCUIT_JOB and len(plan.circuits) > 1:
        report["note"] = ("a multi-circuit job runs one child job per circuit; if each pays its own job minimum "
                          "the bill is higher than this single-job formula (the server's guard counts it so)")
    report["per_qpu"] = prices
    report["note_rates"] = "planning numbers: the live estimate (estimate_circuit_cost) is authoritative"
    return report, True


# --------------------------------------------------------------------------------------------------------------
# decode_results
# --------------------------------------------------------------------------------------------------------------


def _numeric(dist: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in dist.items():
        if not str(key).isdigit():
            raise ValueError(f"key {key!r} is not a decimal basis state (IonQ keys are decimal integers)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"value of {key!r} must be a finite number >= 0, got {value!r}")
        out[str(key)] = float(value)
    return out


def _summary(dist: Mapping[str, Any], qubits: int | None, top: int, shots: int | None) -> dict[str, Any]:
    from ionq_mcp.client import bitstring, counts_from_probabilities, top_k

    values = _numeric(dist)
    widest = max([int(k).bit_length() for k in values] + [1])
    if qubits is not None and qubits < widest:
        raise ValueError(f"--qubits {qubits} is too small: key {max(values, key=int)} needs {widest} qubits")
    width = qubits or widest
    total = math.fsum(values.values())
    probabilities = {k: v / total for k, v in values.items()} if total > 0 else values
    head = top_k(probabilities, top)
    marginals = [round(math.fsum(p for k, p in probabilities.items() if int(k) >> q & 1), 12) for q in range(width)]
    out: dict[str, Any] = {
        "qubits": width,
        "bit_order": "qubit 0 is the rightmost bit",
        "top": {bitstring(k, width): round(p, 12) for k, p in head.items},
        "remaining_mass": round(head.remaining, 12),
        "total_input": round(total, 12),
        "outcomes": len(values),
        "p_one_per_qubit": {f"q{q}": marginals[q] for q in range(width)},
    }
    if shots:
        counts = counts_from_probabilities(probabilities, shots)
        out["counts"] = {bitstring(k, width): counts.get(k, 0) for k, _ in head.items}
    return out


def decode_results(data: Any, *, qubits: int | None = None, top: int = 16,
                   shots: int | None = None) -> dict[str, Any]:
    """Decode a decimal-keyed distribution (or ``{"probabilities": ...}``, or a multi-circuit parent's
    ``{child_id: distribution}``). Raises ValueError saying what is wrong with the input."""
    if isinstance(data, Mapping) and isinstance(data.get("probabilities"), Mapping) and len(data) == 1:
        data = data["probabilities"]
    if not isinstance(data, Mapping) or not data:
        raise ValueError("expected a JSON object of decimal keys -> probabilities (or counts)")
    if all(isinstance(v, Mapping) for v in data.values()):
        return {"children": {cid: _summary(d, qubits, top, shots) for cid, d in data.items()}}
    return _summary(data, qubits, top, shots)


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def _read_json(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def _parser(name: str) -> argparse.ArgumentParser:
    helps = {
        "check_job": "Validate an IonQ job payload offline (same rules as the server) and list every problem.",
        "count_gates": "Count billable 1q/2q gates of an IonQ job payload and price it on every QPU (offline).",
        "decode_results": "Turn IonQ's decimal result keys into bitstrings (qubit 0 rightmost), top-k and mass.",
    }
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=helps[name])
    parser.add_argument("file", help="JSON file, or - for stdin")
    if name == "decode_results":
        parser.add_argument("--qubits", type=int, help="the circuit's qubit count (full-width bitstrings)")
        parser.add_argument("--top", type=int, default=16, help="outcomes to list (default 16)")
        parser.add_argument("--shots", type=int, help="turn probabilities into integer counts for this many shots")
    return parser


def main(name: str, argv: Sequence[str] | None = None) -> int:
    """Run script ``name`` (check_job, count_gates, decode_results) with ``argv``; print JSON; return the exit
    status."""
    args = _parser(name).parse_args(argv)
    try:
        data = _read_json(args.file)
    except (OSError, ValueError) as exc:
        print(json.dumps({"valid": False, "error": f"cannot read JSON from {args.file}: {exc}"}))
        return 1
    if name == "decode_results":
        try:
            report, ok = decode_results(data, qubits=args.qubits, top=args.top, shots=args.shots), True
        except ValueError as exc:
            report, ok = {"valid": False, "error": str(exc)}, False
    else:
        report, ok = (check_job if name == "check_job" else count_gates)(data)
    print(json.dumps(report, indent=2))
    return 0 if ok else 1
