"""Workflow tools: the common paths of an agent's work in one call each.

Declared as data in ``capabilities/ionq-mcp-workflows.yaml``; :mod:`._tools` binds each to its handler here:

* ``estimate_circuit_cost``: billable gate counts -> ``/jobs/estimate`` -> cost, queue/execution time, formula.
* ``run_circuit``: validate -> estimate -> guard (maybe confirm) -> submit -> wait -> results + actual cost;
  on timeout the job id and status, so the agent resumes with ``wait_for_job`` / ``get_job_results``.
* ``wait_for_job``: polls with backoff (:data:`FIRST_POLL_S` growing by :data:`BACKOFF` to :data:`MAX_POLL_S`;
  simulator jobs start at :data:`FIRST_POLL_SIMULATOR_S` and double up to 1 s first, since they usually finish
  in milliseconds), reports MCP progress for each status change, returns the current status on timeout. Cancelling the MCP
  request cancels the wait (anyio cancellation reaches the sleep or the HTTP call); the job itself keeps running.
* ``get_job_results``: bitstring results with top-k and total mass; per child job of a multi-circuit parent;
  per variant when debiasing produced variants.
* ``compare_backends``: every backend's status, qubits, queue, latest fidelities and this job's estimated cost.

Bit order everywhere: qubit 0 is the **rightmost** character of a bitstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from ionq_mcp import circuits
from ionq_mcp.circuits import TERMINAL_JOB_STATUSES
from ionq_mcp.guard import GuardRefused
from ionq_mcp.server import _errors
from ionq_mcp.server._call import to_jsonable
from ionq_mcp.server._results import shape_distribution
from ionq_mcp.server._spending import (
    Submitted,
    estimate_plan,
    invalid_job,
    parse_payload,
    reconcile_job,
    submit_job,
)

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation
    from ionq_mcp.server._call import ToolCall

__all__ = ["compare_backends", "estimate_circuit_cost", "get_job_results", "job_results", "run_circuit",
           "wait_for_job", "wait_job"]

FIRST_POLL_S = 1.0
FIRST_POLL_SIMULATOR_S = 0.002
MAX_POLL_S = 30.0
BACKOFF = 1.5
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_TOP_K = 16
BIT_ORDER = "qubit 0 is the rightmost bit"

#: Job status -> progress step (of :data:`PROGRESS_TOTAL`). Terminal statuses are the last step.
STATUS_STEP = {"submitted": 1, "ready": 2, "started": 3, "running": 3}
PROGRESS_TOTAL = 4


# --------------------------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------------------------


def _next_interval(interval: float) -> float:
    """Double below 1 s (the quick start), then grow by :data:`BACKOFF` up to :data:`MAX_POLL_S`."""
    return min(interval * (2.0 if interval < FIRST_POLL_S else BACKOFF), MAX_POLL_S)


async def wait_job(call: ToolCall, job_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                   first_poll_s: float | None = None) -> tuple[dict[str, Any], bool]:
    """Poll ``job_id`` until it is terminal or ``timeout_s`` passes. Returns (job JSON, finished?).

    ``first_poll_s`` defaults to :data:`FIRST_POLL_S` (QPU) or :data:`FIRST_POLL_SIMULATOR_S` (simulator).

    Progress: one notification per status change, ``progress`` = the status's step, ``total`` = 4 (monotonic,
    as MCP requires). Cancellation of the surrounding request propagates (nothing here swallows it).
    """
    deadline = anyio.current_time() + max(0.0, timeout_s)
    interval: float | None = None if first_poll_s is None else max(0.01, first_poll_s)
    last_step = 0
    while True:
        job = to_jsonable(await call.client.get_job(job_id=job_id))
        if interval is None:
            interval = FIRST_POLL_S if circuits.is_qpu(str(job.get("backend"))) else FIRST_POLL_SIMULATOR_S
        status = str(job.get("status"))
        finished = status in TERMINAL_JOB_STATUSES
        step = PROGRESS_TOTAL if finished else STATUS_STEP.get(status, last_step)
        if step > last_step:
            last_step = step
            await call.progress(step, PROGRESS_TOTAL, f"job {job_id}: {status}")
        if finished:
            return job, True
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return job, False
        await anyio.sleep(min(interval, remaining))
        interval = _next_interval(interval)


def _first_poll(args: Mapping[str, Any]) -> float | None:
    value = args.get("poll_interval_s")
    return float(value) if isinstance(value, (int, float)) else None


def _timeout_result(job: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
    job_id, status = job.get("id"), job.get("status")
    return {
        "summary": (f"Job {job_id} is still {status} after {timeout_s:g} s. It keeps running: resume with "
                    f"wait_for_job(job_id=\"{job_id}\") or get_job_results(job_id=\"{job_id}\")."),
        "job_id": job_id, "status": status, "done": False,
        "resume_with": ["wait_for_job", "get_job_results"],
    }


async def wait_for_job(call: ToolCall) -> dict[str, Any]:
    args = call.arguments
    timeout_s = float(args.get("timeout_s", DEFAULT_TIMEOUT_S))
    job, finished = await wait_job(call, args["job_id"], timeout_s=timeout_s,
                                   first_poll_s=_first_poll(args))
    if not finished:
        return _timeout_result(job, timeout_s)
    await reconcile_job(call, str(job["id"]))  # completed, failed or canceled: the billed cost is final
    out = {"summary": f"Job {job['id']} is {job['status']}." + _failure_text(job), "job_id": job["id"],
           "status": job["status"], "done": True}
    if job.get("status") == "completed":
        out["summary"] += " Read its results with get_job_results."
    return {**out, "job": job}


def _failure_text(job: Mapping[str, Any]) -> str:
    failure = job.get("failure") or {}
    if not failure:
        return ""
    return f" Failure {failure.get('code')}: {failure.get('message')}"


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------


def _qubits_of(job: Mapping[str, Any]) -> int | None:
    stats = job.get("stats") or {}
    qubits = stats.get("qubits") if isinstance(stats, Mapping) else None
    return qubits if isinstance(qubits, int) else None


async def job_results(call: ToolCall, job: Mapping[str, Any], *, top_k: int = DEFAULT_TOP_K,
                      qubits: int | None = None) -> dict[str, Any]:
    """Results of a completed job: ``results`` (bitstrings, top-k, masses), or ``children`` (one per circuit) for
    a multi-circuit parent, plus ``variants`` for debiasing variants."""
    client = call.client
    job_id = str(job["id"])
    qubits = qubits or _qubits_of(job)
    shots = job.get("shots") if isinstance(job.get("shots"), int) and _sampled(job) else None

    def summary(dist: Any) -> dict[str, Any]:
        return shape_distribution(to_jsonable(dist), qubits=qubits, top=top_k, shots=shots)

    out: dict[str, Any] = {"bit_order": BIT_ORDER}
    if job.get("child_job_ids"):
        per_child = await client.get_results(job_id)
        out["children"] = {cid: summary(dist) for cid, dist in per_child.items()}
    else:
        probabilities = to_jsonable(await client.get_job_probabilities(job_id=job_id))
        if probabilities and all(isinstance(v, Mapping) for v in probabilities.values()):
            out["children"] = {cid: summary(dist) for cid, dist in probabilities.items()}
        else:
            out["results"] = summary(probabilities)
    variant_ids = _variant_ids(job)
    if variant_ids:
        variants: dict[str, Any] = {}

        async def fetch_variant(vid: str) -> None:
            variants[vid] = summary(await client.get_variant_probabilities(job_id=job_id, variant_id=vid))

        async with anyio.create_task_group() as tg:
            for vid in variant_ids:
                tg.start_soon(fetch_variant, vid)
        out["variants"] = {vid: variants[vid] for vid in variant_ids}
    return out


def _sampled(job: Mapping[str, Any]) -> bool:
    """Shot-based results (QPU or noisy simulation) get counts; the ideal simulator's are exact probabilities."""
    noise = job.get("noise") or {}
    model = noise.get("model") if isinstance(noise, Mapping) else None
    return circuits.is_qpu(str(job.get("backend"))) or model not in (None, "ideal")


def _variant_ids(job: Mapping[str, Any]) -> list[str]:
    try:
        variants = job["output"]["error_mitigation"]["debiasing"]["variants"]
    except (KeyError, TypeError):
        return []
    return [str(v["variant_id"]) for v in variants if isinstance(v, Mapping) and "variant_id" in v]


def _top_text(summary: Mapping[str, Any], limit: int = 8) -> str:
    top = list((summary.get("bitstrings") or {}).items())[:limit]
    return ", ".join(f"{b}: {v:.4g}" for b, v in top)


def _results_summary(job_id: str, results: Mapping[str, Any]) -> str:
    if "results" in results:
        text = f"Job {job_id} completed. Top outcomes ({BIT_ORDER}): {_top_text(results['results'])}."
    else:
        parts = [f"{cid}: {_top_text(r, 4)}" for cid, r in list(results.get("children", {}).items())[:4]]
        text = f"Job {job_id} completed ({len(results.get('children', {}))} circuits; {BIT_ORDER}). " + "; ".join(parts)
    if results.get("variants"):
        text += f" {len(results['variants'])} debiasing variant(s) under 'variants'."
    return text


async def get_job_results(call: ToolCall) -> dict[str, Any] | types.CallToolResult:
    job_id = call.arguments["job_id"]
    top_k = int(call.arguments.get("top_k", DEFAULT_TOP_K))
    job = to_jsonable(await call.client.get_job(job_id=job_id))
    status = job.get("status")
    if status != "completed":
        hint = (" It has not finished: wait with wait_for_job." if status not in TERMINAL_JOB_STATUSES
                else " It has no results." + _failure_text(job))
        return {"summary": f"Job {job_id} is {status}.{hint}", "job_id": job_id, "status": status,
                "done": status in TERMINAL_JOB_STATUSES}
    results = await job_results(call, job, top_k=top_k)
    await reconcile_job(call, job_id)
    return {"summary": _results_summary(job_id, results), "job_id": job_id, "status": status, "done": True,
            **results}


# --------------------------------------------------------------------------------------------------------------
# Estimate and run
# --------------------------------------------------------------------------------------------------------------


async def estimate_circuit_cost(call: ToolCall) -> dict[str, Any] | types.CallToolResult:
    try:
        _, plan = parse_payload(call.op, call.arguments)
    except circuits.CircuitError as error:
        return invalid_job(call, error)
    try:
        estimate = await estimate_plan(call.client, plan)
    except GuardRefused as refusal:
        return _errors.text_error(refusal.message)
    queue = f"{estimate.queue_time_s:g} s" if estimate.queue_time_s is not None else "unknown"
    run = f"{estimate.execution_time_s:g} s" if estimate.execution_time_s is not None else "unknown"
    summary = (f"Estimated cost on {estimate.backend}: {estimate.cost_usd:.4f} {estimate.unit} "
               f"({estimate.one_qubit_gates} billable 1q and {estimate.two_qubit_gates} 2q gates x {estimate.shots} "
               f"shots); predicted queue {queue}, execution {run}.")
    return {"summary": summary, **estimate.as_dict()}


async def run_circuit(call: ToolCall) -> dict[str, Any] | types.CallToolResult | types.InputRequiredResult:
    args = call.arguments
    timeout_s = float(args.get("timeout_s", DEFAULT_TIMEOUT_S))
    top_k = int(args.get("top_k", DEFAULT_TOP_K))
    outcome = await submit_job(call)
    if not isinstance(outcome, Submitted):
        return outcome
    job_id = outcome.job_id
    job, finished = await wait_job(call, job_id, timeout_s=timeout_s, first_poll_s=_first_poll(args))
    estimated = outcome.estimate.cost_usd if outcome.estimate is not None else 0.0
    if not finished:
        return {**_timeout_result(job, timeout_s), "estimated_cost_usd": estimated}
    if job.get("status") != "completed":
        actual = await reconcile_job(call, job_id) if outcome.estimate is not None else 0.0
        text = f"Job {job_id} ended {job.get('status')}.{_failure_text(job)}"
        return _errors.text_error(text, {"job_id": job_id, "status": job.get("status"), "done": True,
                                         "failure": job.get("failure"), "actual_cost_usd": actual})
    data = args.get("input") if isinstance(args.get("input"), Mapping) else {}
    qubits = data.get("qubits") if isinstance(data.get("qubits"), int) else None
    results = await job_results(call, job, top_k=top_k, qubits=qubits)
    actual = await reconcile_job(call, job_id) if outcome.estimate is not None else 0.0
    cost = f" Actual cost: {actual:.4f} USD." if actual is not None else ""
    return {"summary": _results_summary(job_id, results) + cost, "job_id": job_id, "status": "completed",
            "done": True, "backend": args.get("backend"), "shots": job.get("shots", args.get("shots")),
            "estimated_cost_usd": estimated,
            "actual_cost_usd": actual, **results}


# --------------------------------------------------------------------------------------------------------------
# Compare backends
# --------------------------------------------------------------------------------------------------------------


def _median(fidelity: Mapping[str, Any] | None, key: str) -> float | None:
    stat = (fidelity or {}).get(key)
    value = stat.get("median") if isinstance(stat, Mapping) else None
    return float(value) if isinstance(value, (int, float)) else None


async def _backend_row(call: ToolCall, backend: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    name = str(backend.get("backend"))
    queue_ms = backend.get("average_queue_time")
    row: dict[str, Any] = {
        "backend": name, "status": backend.get("status"), "qubits": backend.get("qubits"),
        "degraded": backend.get("degraded"),
        "queue_time_s": round(queue_ms / 1000.0, 3) if isinstance(queue_ms, (int, float)) else None,
        "fidelity_1q": None, "fidelity_2q": None, "fidelity_spam": None, "estimated_cost_usd": None,
    }
    characterization_id = backend.get("characterization_id")

    async def characterization() -> None:
        if not characterization_id:
            return
        try:
            char = to_jsonable(await call.client.get_backend_characterization(
                backend=name, characterization_id=characterization_id))
        except Exception as exc:  # noqa: BLE001 - one missing characterization must not sink the table
            row["note"] = f"characterization unavailable ({type(exc).__name__})"
            return
        fidelity = char.get("fidelity") if isinstance(char, Mapping) else None
        row["fidelity_1q"], row["fidelity_2q"] = _median(fidelity, "1q"), _median(fidelity, "2q")
        row["fidelity_spam"] = _median(fidelity, "spam")

    async def cost() -> None:
        try:
            plan = circuits.parse_job({**payload, "backend": name})
        except circuits.CircuitError as error:
            row["fits"] = False
            row["note"] = str(error.problems[0])
            return
        row["fits"] = True
        try:
            row["estimated_cost_usd"] = (await estimate_plan(call.client, plan)).cost_usd
        except Exception as exc:  # noqa: BLE001
            row["note"] = f"estimate unavailable ({type(exc).__name__})"

    async with anyio.create_task_group() as tg:
        tg.start_soon(characterization)
        tg.start_soon(cost)
    return row


def _cell(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _table(rows: list[dict[str, Any]]) -> str:
    header = ["backend", "status", "qubits", "queue s", "1q fid", "2q fid", "spam fid", "est. USD"]
    lines = [[r["backend"], _cell(r["status"]), _cell(r["qubits"]), _cell(r["queue_time_s"], "{:g}"),
              _cell(r["fidelity_1q"], "{:.5f}"), _cell(r["fidelity_2q"], "{:.5f}"),
              _cell(r["fidelity_spam"], "{:.5f}"),
              _cell(r["estimated_cost_usd"], "{:.2f}") if r.get("fits", True) else "too big"] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), "-+-".join("-" * w for w in widths)] + [fmt.format(*line) for line in lines])


async def compare_backends(call: ToolCall) -> dict[str, Any] | types.CallToolResult:
    payload, problem = _parse_for_compare(call.op, {k: v for k, v in call.arguments.items() if k != "backend"})
    if problem is not None:
        return invalid_job(call, problem)
    backends = [to_jsonable(b) for b in await call.client.list_backends()]
    rows: list[dict[str, Any]] = [{} for _ in backends]

    async def fill(i: int, backend: Mapping[str, Any]) -> None:
        rows[i] = await _backend_row(call, backend, payload)

    async with anyio.create_task_group() as tg:
        for i, backend in enumerate(backends):
            tg.start_soon(fill, i, backend)
    table = _table(rows)
    return {"summary": f"{len(rows)} backends compared for this job.\n{table}", "rows": rows, "table": table}


#: The QPU with the most qubits: a circuit too big for the simulator may still fit there.
_LARGEST_QPU = max((b for b in circuits.JOB_BACKENDS if circuits.is_qpu(b)), key=circuits.BACKEND_QUBITS.__getitem__)


def _parse_for_compare(op: Operation, payload: dict[str, Any]) \
        -> tuple[dict[str, Any], circuits.CircuitError | None]:
    """Check the circuit itself once, so a broken circuit is reported as invalid arguments rather than as
    "does not fit" on every row: it must be valid on the simulator or on the largest QPU."""
    first: circuits.CircuitError | None = None
    for probe in (circuits.SIMULATOR, _LARGEST_QPU):
        try:
            job_payload, _ = parse_payload(op, {**payload, "backend": probe})
        except circuits.CircuitError as error:
            first = first or error
            continue
        job_payload.pop("backend", None)
        return job_payload, None
    return payload, first
