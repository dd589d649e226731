"""Turn one stored job into results: which simulation to run and how to shape its output.

Pure with respect to the store: :func:`execute` takes the job's parsed payload and returns an :class:`Outcome`; the
runner stores it. The physics lives in ``_simulator``, ``_noise``, ``_qaoa`` and ``_qfunc`` (imported lazily).

Result conventions (docs/spec-deviations.md):

* the ideal simulator returns exact probabilities; noisy models and QPUs return shot frequencies;
* a debiased QPU job runs ``DEBIASING_VARIANTS`` variants, each on a random qubit map with an equal share of the
  shots; per-variant results are probabilities (state -> p), histogram (state -> count) and shots
  (shot index -> measured state). The aggregate is the shot-weighted mean; ``sharpen=true`` instead takes each
  variant's most likely state (plurality vote), weighted by the variant's shots;
* a multi-circuit parent's probabilities are a dict keyed by child job id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ionq_mcp import circuits

DEBIASING_VARIANTS = 4
#: Probabilities below this are dropped from ideal results (keeps 25+ qubit results small).
PROBABILITY_CUTOFF = 1e-12
#: At most this many outcomes are kept in an ideal result (a uniform 25-qubit state has 33 million); the most
#: probable ones are kept and ``output.truncated_results`` says so.
MAX_RESULT_STATES = 1 << 16


class JobFailure(Exception):
    """The job fails with a ``Failure`` code from the spec's enum."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outcome:
    """What running a job produced."""

    results: list[tuple[str, str, Any]] = field(default_factory=list)  # (variant_id, kind, data)
    output: dict[str, Any] = field(default_factory=dict)
    children: dict[str, list[tuple[str, str, Any]]] = field(default_factory=dict)  # child id -> results
    children_output: dict[str, dict[str, Any]] = field(default_factory=dict)  # child id -> its `output`


def _rng(plan: circuits.JobPlan, default_seed: int | None) -> np.random.Generator:
    seed = plan.noise_seed if plan.noise_seed is not None else default_seed
    if seed is not None and seed < 0:  # the spec's int32 allows it; numpy takes only seeds >= 0
        seed %= 1 << 64
    return np.random.default_rng(seed)


def _noise(plan: circuits.JobPlan) -> Any:
    """The noise model to apply, or None for the ideal simulator."""
    from ionq_mcp.sandbox import _noise

    if circuits.is_qpu(plan.backend):
        return _noise.noise_for_backend(plan.backend)
    if plan.noise_model == "ideal":
        return None
    return _noise.NOISE_MODELS[plan.noise_model]


def _frequencies(counts: Mapping[int, int], shots: int) -> dict[str, float]:
    return {str(k): v / shots for k, v in sorted(counts.items()) if v}


def _ideal(circuit: circuits.Circuit) -> tuple[dict[str, float], dict[str, Any]]:
    """Exact probabilities (and an output note when they had to be truncated)."""
    from ionq_mcp.sandbox import _simulator

    # The engine switches to single precision by itself for the largest circuits (27 qubits and up), computes
    # probabilities in the state's buffer and scans them in chunks: a 29-qubit run peaks at about 4.1 GiB.
    return _simulator.ideal_distribution(circuit, cutoff=PROBABILITY_CUTOFF, max_states=MAX_RESULT_STATES)


def _sampled(circuit: circuits.Circuit, shots: int, noise: Any, rng: np.random.Generator) -> dict[int, int]:
    from ionq_mcp.sandbox import _simulator

    return dict(_simulator.run_noisy(circuit, shots=shots, noise=noise, rng=rng))


def run_circuit(circuit: circuits.Circuit, plan: circuits.JobPlan, rng: np.random.Generator,
                ) -> tuple[list[tuple[str, str, Any]], dict[str, Any]]:
    """Results of one circuit: ``("", "probabilities", {...})`` (+ ``histogram`` for sampled runs), and a note
    for ``output``."""
    noise = _noise(plan)
    if noise is None:
        probabilities, note = _ideal(circuit)
        return [("", "probabilities", probabilities)], note
    counts = _sampled(circuit, plan.shots, noise, rng)
    return [("", "probabilities", _frequencies(counts, plan.shots)),
            ("", "histogram", {str(k): v for k, v in sorted(counts.items()) if v})], {}


def run_debiased(circuit: circuits.Circuit, plan: circuits.JobPlan, job_id: str,
                 rng: np.random.Generator) -> Outcome:
    """Run ``DEBIASING_VARIANTS`` qubit-mapped variants of a QPU circuit and aggregate them."""
    from ionq_mcp.sandbox import _simulator

    noise = _noise(plan)
    n = circuit.qubits
    base, extra = divmod(plan.shots, DEBIASING_VARIANTS)
    outcome = Outcome()
    variants = []
    total: dict[int, float] = {}
    for index in range(DEBIASING_VARIANTS):
        shots = base + (1 if index < extra else 0)
        qubit_map = [int(q) for q in rng.permutation(n)]
        variant_id = str(uuid.uuid5(uuid.UUID(job_id), f"variant-{index}"))
        physical = _simulator.permute_qubits(circuit, qubit_map)
        counts = _simulator.unpermute_counts(_sampled(physical, shots, noise, rng), qubit_map)
        order = [state for state, count in sorted(counts.items()) for _ in range(count)]
        rng.shuffle(order)
        outcome.results += [
            (variant_id, "probabilities", _frequencies(counts, shots)),
            (variant_id, "histogram", {str(k): v for k, v in sorted(counts.items())}),
            (variant_id, "shots", {str(i): int(s) for i, s in enumerate(order)}),
        ]
        for state, count in counts.items():
            total[state] = total.get(state, 0) + count
        url = f"/v0.4/jobs/{job_id}/variants/{variant_id}/results"
        variants.append({
            "variant_id": variant_id, "qubit_map": qubit_map, "shots": shots,
            "results": {kind: {"url": f"{url}/{kind}"} for kind in ("probabilities", "histogram", "shots")},
            "_plurality": max(counts, key=lambda s: (counts[s], -s)) if counts else 0,
        })
    outcome.results.append(("", "probabilities", _frequencies(total, plan.shots)))
    sharpened: dict[int, int] = {}
    for variant in variants:
        winner = variant.pop("_plurality")
        sharpened[winner] = sharpened.get(winner, 0) + variant["shots"]
    outcome.results.append(("", "sharpened", _frequencies(sharpened, plan.shots)))
    outcome.output = {"error_mitigation": {"debiasing": {"variants": variants}}}
    return outcome


def execute(job_id: str, plan: circuits.JobPlan, child_ids: Sequence[str] = (), *,
            default_seed: int | None = None) -> Outcome:
    """Run a job (its parsed payload). Raises :class:`JobFailure` for a job that cannot run (it is marked
    failed)."""
    rng = _rng(plan, default_seed)
    if plan.type == circuits.CIRCUIT_JOB:
        circuit = plan.circuits[0]
        if plan.debiasing:
            return run_debiased(circuit, plan, job_id, rng)
        results, note = run_circuit(circuit, plan, rng)
        return Outcome(results=results, output=note)
    if plan.type == circuits.MULTI_CIRCUIT_JOB:
        outcome = Outcome()
        combined: dict[str, Any] = {}
        for child_id, circuit in zip(child_ids, plan.circuits, strict=True):
            if plan.debiasing:
                debiased = run_debiased(circuit, plan, child_id, rng)
                child, note = debiased.results, debiased.output
            else:
                child, note = run_circuit(circuit, plan, rng)
            outcome.children[child_id] = child
            if note:
                outcome.children_output[child_id] = note
            combined[child_id] = next(data for variant, kind, data in child
                                      if not variant and kind == "probabilities")
        outcome.results.append(("", "probabilities", combined))
        return outcome
    if plan.type == circuits.QAOA_JOB:
        return _qaoa(plan)
    return _quantum_function(plan)


def _qaoa(plan: circuits.JobPlan) -> Outcome:
    from ionq_mcp.sandbox import _qaoa

    data = plan.payload.get("input", {})
    if data.get("problem_type", "maxcut") != "maxcut":
        raise JobFailure("InvalidInput", "only problem_type \"maxcut\" is supported")
    try:
        solution = _qaoa.solve_maxcut(data.get("problem") or {})
    except (ValueError, KeyError, TypeError) as error:
        raise JobFailure("InvalidInput", f"input.problem: {error}. Expected a NetworkX adjacency_graph object "
                                         f"with `nodes` and `adjacency`.") from error
    output = {"processing_status": "complete", "optimal_bitstring": str(solution.bitstring),
              "optimal_cost": float(solution.cost)}
    for extra in ("cut_value", "variables_to_bitstring_index_map", "optimal_solutions"):
        if hasattr(solution, extra):
            output[extra] = getattr(solution, extra)
    return Outcome(output=output)


def _quantum_function(plan: circuits.JobPlan) -> Outcome:
    from ionq_mcp.sandbox import _qfunc

    data = plan.payload.get("input", {})
    function = data.get("data") if isinstance(data.get("data"), Mapping) else {}
    kind = function.get("type", data.get("type"))
    if kind != "hamiltonian-energy":
        raise JobFailure("InvalidInput", f"quantum function {kind!r} is not supported; the sandbox supports "
                                         f"\"hamiltonian-energy\" with an ansatz circuit it can parse")
    params = data.get("params") or []
    try:
        energy = _qfunc.hamiltonian_energy(function.get("data") or {}, [float(p) for p in params])
    except _qfunc.UnsupportedAnsatz as error:
        raise JobFailure("InvalidInput", str(error)) from error
    except (ValueError, KeyError, TypeError) as error:
        raise JobFailure("InvalidInput", f"input.data.data: {error}") from error
    return Outcome(output={"energy": float(energy), "params": [float(p) for p in params]})
