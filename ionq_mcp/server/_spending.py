"""Spending and state-changing tools: every handler here consults the spend guard.

The tool inventory (:mod:`._tools`) binds each state-changing wire operation (method + path) to one handler of
this module, whatever tool name or capability file exposes it. Every handler follows one path: (fresh
estimate) -> :class:`~ionq_mcp.guard.Guard` decision -> user confirmation when the decision asks for it
(:mod:`._confirm`) -> the upstream call through ``call.client`` -> ledger commit (or release) -> one audit line. A refusal is an ``isError`` result whose text says what the user
must change; nothing is sent upstream.

Handlers: :func:`create_job` and :func:`create_session` (estimate, budget, confirmation, ledger);
:func:`delete_jobs` and :func:`cancel_many_jobs` (confirmation above the bulk limit, audit); :func:`cancel_job`,
:func:`delete_job` and :func:`end_session` (audited only); :func:`get_job_cost` (reconciles the ledger with the
billed cost). ``run_circuit`` submits through :func:`submit_job`, the same path as create_job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types

from ionq_mcp import circuits
from ionq_mcp.guard import Decision, Guard, GuardRefused
from ionq_mcp.server import _errors
from ionq_mcp.server._call import to_jsonable
from ionq_mcp.server._confirm import confirm, refusal_text

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation
    from ionq_mcp.client import IonQClient
    from ionq_mcp.server._call import ToolCall

#: One plain client call with the tool's validated arguments.
_Send = Callable[["IonQClient", Mapping[str, Any]], Awaitable[Any]]

__all__ = [
    "CostEstimate",
    "Submitted",
    "cancel_job",
    "cancel_many_jobs",
    "create_job",
    "create_session",
    "delete_job",
    "delete_jobs",
    "end_session",
    "estimate_plan",
    "get_job_cost",
    "invalid_job",
    "job_body",
    "parse_payload",
    "reconcile_job",
    "spend_summary",
    "submit_job",
]

# --------------------------------------------------------------------------------------------------------------
# Estimates
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostEstimate:
    """A fresh ``/jobs/estimate`` answer for a validated job, with the billable counts we sent.

    ``cost_usd`` is the service's number (authoritative). ``queue_time_s`` and ``execution_time_s`` are as
    the service reports them (seconds). ``rates`` is its ``rate_information``.
    """

    backend: str
    job_type: str
    qubits: int
    shots: int
    one_qubit_gates: int
    two_qubit_gates: int
    error_mitigation: bool
    cost_usd: float
    unit: str
    queue_time_s: float | None
    execution_time_s: float | None
    rates: Mapping[str, Any]
    #: What the guard checks and reserves: ``cost_usd`` unless IonQ's estimate may fall short (see
    #: :func:`guard_bound`); ``bound_note`` says why they differ.
    guard_usd: float = 0.0
    bound_note: str | None = None
    #: The cost cannot be bounded before the job runs (iterative jobs): the user is always asked on a QPU.
    unbounded: bool = False

    def formula(self) -> str:
        """IonQ's gate-shot formula with this job's numbers filled in."""
        r = self.rates
        minimum, c1, c2 = r.get("job_cost_minimum"), r.get("cost_1q_gate"), r.get("cost_2q_gate")
        if not all(isinstance(v, (int, float)) for v in (minimum, c1, c2)):
            return f"estimated by IonQ: {self.cost_usd:.4f} {self.unit}"
        n1, n2, s = self.one_qubit_gates, self.two_qubit_gates, self.shots
        em = " (with error mitigation)" if self.error_mitigation else ""
        return (f"cost = minimum{em} + cost_1q_gate*1q_gates*shots + cost_2q_gate*2q_gates*shots = "
                f"{minimum:g} + {c1:g}*{n1}*{s} + {c2:g}*{n2}*{s} = "
                f"{minimum + c1 * n1 * s + c2 * n2 * s:.4f} {self.unit}; IonQ's estimate: "
                f"{self.cost_usd:.4f} {self.unit}")

    def as_dict(self) -> dict[str, Any]:
        bound = {} if self.bound_note is None else {"guard_bound_usd": self.guard_usd, "guard_note": self.bound_note}
        return {
            "estimated_cost_usd": self.cost_usd,
            **bound,
            "formula": self.formula(),
            "backend": self.backend,
            "type": self.job_type,
            "qubits": self.qubits,
            "shots": self.shots,
            "one_qubit_gates": self.one_qubit_gates,
            "two_qubit_gates": self.two_qubit_gates,
            "error_mitigation": self.error_mitigation,
            "predicted_queue_time_s": self.queue_time_s,
            "estimated_execution_time_s": self.execution_time_s,
            "rate_information": dict(self.rates),
        }


def job_body(op: Operation, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The job body: ``op``'s job fields only (create_job's body fields, from the spec; workflow-only arguments
    are dropped), ``type`` filled with its default."""
    payload = {k: v for k, v in arguments.items() if k in op.job_fields and v is not None}
    payload.setdefault("type", circuits.CIRCUIT_JOB)
    return payload


def parse_payload(op: Operation, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], circuits.JobPlan]:
    """The job body (:func:`job_body`) and its validated plan. Raises ``CircuitError``."""
    payload = job_body(op, arguments)
    return payload, circuits.parse_job(payload)


async def estimate_plan(client: IonQClient, plan: circuits.JobPlan, backend: str | None = None) -> CostEstimate:
    """Ask ``/jobs/estimate`` about ``plan`` (optionally on another ``backend``), with billable gate counts from
    :mod:`ionq_mcp.circuits` (multi-controlled gates = 6*(N-2) two-qubit gates)."""
    backend = backend or plan.backend
    n1, n2 = plan.gate_counts()
    raw = to_jsonable(await client.get_job_estimate(
        backend=backend, type=plan.type, qubits=plan.qubits, shots=plan.shots, one_qubit_gates=n1,
        two_qubit_gates=n2, error_mitigation=plan.debiasing_on(backend)))
    cost = raw.get("estimated_cost")
    if not isinstance(cost, (int, float)):
        raise GuardRefused(f"IonQ returned no cost estimate for this job on {backend}; a paid job is never "
                           "submitted without one. Try again later.")
    rates = raw.get("rate_information") or {}
    guard_usd, note, unbounded = guard_bound(plan, float(cost), rates)
    return CostEstimate(
        backend=backend, job_type=plan.type, qubits=plan.qubits, shots=plan.shots, one_qubit_gates=n1,
        two_qubit_gates=n2, error_mitigation=plan.debiasing_on(backend), cost_usd=float(cost),
        unit=str(raw.get("cost_unit") or "usd"), queue_time_s=_num(raw.get("current_predicted_queue_time")),
        execution_time_s=_num(raw.get("estimated_execution_time")), rates=rates, guard_usd=guard_usd,
        bound_note=note, unbounded=unbounded)


def guard_bound(plan: circuits.JobPlan, estimate_usd: float, rates: Mapping[str, Any]) \
        -> tuple[float, str | None, bool]:
    """(dollars the guard checks and reserves, why that differs from IonQ's estimate, cost unbounded?).

    The guard errs high where IonQ's published pricing leaves the bill open: a multi-circuit job runs as one
    child job per circuit, and if each child pays its own job minimum the single-job estimate falls short, so
    the bound adds a minimum per extra circuit; QAOA and quantum-function jobs iterate on the QPU and IonQ's
    estimate (gate counts of zero: the job minimum) is only a lower bound, so the user is always asked.
    """
    minimum = _num(rates.get("job_cost_minimum"))
    if plan.type == circuits.MULTI_CIRCUIT_JOB and len(plan.circuits) > 1 and minimum:
        extra = (len(plan.circuits) - 1) * minimum
        return (estimate_usd + extra, f"the guard counts a job minimum (${minimum:,.4f}) for each of the "
                f"{len(plan.circuits)} circuits, in case IonQ bills every child job its own minimum", False)
    if plan.type == circuits.QAOA_JOB or plan.type in circuits.QUANTUM_FUNCTION_JOBS:
        return (estimate_usd, f"{plan.type} jobs iterate on the QPU and may be billed per iteration: IonQ's "
                f"estimate is a lower bound", True)
    return estimate_usd, None, False


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------------------------------


def invalid_job(call: ToolCall, error: circuits.CircuitError) -> types.CallToolResult:
    """A job payload that breaks IonQ's rules: nothing is sent; each problem names its field (the same text as
    any other invalid call)."""
    from ionq_mcp.server._validation import format_problems

    return _errors.validation_error(call.op, format_problems(call.op, error.problems), error.problems,
                                    call.upstream)


def _refused(call: ToolCall, message: str, outcome: str = "refused", **facts: Any) -> types.CallToolResult:
    call.guard.audit(call.op.name, call.arguments, outcome, detail=message,
                     estimated_usd=facts.get("estimated_cost_usd"))
    return _errors.text_error(message, {"error": {"type": "guard_" + outcome, "tool": call.op.name,
                                                  "message": message, **facts}})


async def _confirmed(call: ToolCall, decision: Decision, action: str, how: str) \
        -> types.CallToolResult | types.InputRequiredResult | None:
    """None when the decision needs no confirmation or the user accepted; else what the handler returns."""
    if decision.action != "confirm":
        return None
    answer = await confirm(call, decision.message, estimate_usd=decision.estimate_usd)
    if answer.pending is not None:
        return answer.pending
    if answer.accepted:
        return None
    facts = {} if decision.estimate_usd is None else {"estimated_cost_usd": decision.estimate_usd}
    return _refused(call, refusal_text(answer.outcome, action, how),
                    "declined" if answer.outcome == "decline" else answer.outcome, **facts)


def _how_to_proceed(instead: str, variable: str) -> str:
    """What an agent whose client cannot ask the user may do instead of a confirmation."""
    return (f"{instead}, or ask the user to raise {variable} in the MCP server's environment, or use an MCP client "
            f"that supports elicitation.")


def _how_to_lower_cost(guard: Guard) -> str:
    return _how_to_proceed(f"lower the cost to at most ${guard.policy.confirm_above_usd:,.2f} (fewer shots or "
                           f"gates, no error mitigation)", "IONQ_MCP_CONFIRM_ABOVE_USD")


def _keeps_reservation(exc: BaseException) -> bool:
    """After this failure the job may exist (and be billed): keep the money reserved (fail closed). A call
    cancelled while the request was in flight is such a failure."""
    from ionq_mcp.client import APIConnectionError, UncertainOutcomeError  # loaded by the call that failed

    if isinstance(exc, (UncertainOutcomeError, anyio.get_cancelled_exc_class())):
        return True
    return isinstance(exc, APIConnectionError) and exc.request_sent


# --------------------------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """A job that went through the guard and was accepted upstream."""

    job: dict[str, Any]  # the create_job response (id, status, ...)
    estimate: CostEstimate | None  # None for the simulator (no estimate needed) and dry runs

    @property
    def job_id(self) -> str:
        return str(self.job.get("id"))


async def submit_job(call: ToolCall, arguments: Mapping[str, Any] | None = None) \
        -> Submitted | types.CallToolResult | types.InputRequiredResult:
    """Guarded submission of one job (create_job, run_circuit). Returns :class:`Submitted`, or the refusal /
    pending confirmation the handler must return as is."""
    guard = call.guard
    payload = job_body(call.op, call.arguments if arguments is None else arguments)
    backend = str(payload.get("backend"))
    gate = guard.check_backend(backend)
    if not gate.allowed:
        return _refused(call, gate.message)
    session_id = payload.get("session_id")
    if session_id and not circuits.is_qpu(backend):
        # A free backend inside a QPU session would skip the estimate and the ledger if the service ran the job
        # on the session's backend: the job must name the backend it will be billed on.
        session = to_jsonable(await call.client.get_session(session_id=session_id))
        session_backend = str(session.get("backend")) if isinstance(session, Mapping) else ""
        if circuits.is_qpu(session_backend):
            return _refused(call, (
                f"Refused: session {session_id} runs on the QPU {session_backend}, but this job names backend "
                f"{backend!r}. Set backend to {session_backend!r} so the spend guard can estimate and record it, "
                f"or leave out session_id to run on {backend!r} for free."))
    if not circuits.is_qpu(backend) or payload.get("dry_run"):
        # Free: no estimate, no ledger, no second parse (the runtime validated the payload): the < 2 ms path.
        try:
            created = to_jsonable(await call.client.create_job(**payload))
        except BaseException as exc:
            guard.audit(call.op.name, payload, "failed", estimated_usd=0.0, detail=type(exc).__name__)
            raise
        guard.audit(call.op.name, payload, "submitted", estimated_usd=0.0, job_id=created.get("id"))
        return Submitted(created, None)

    try:
        plan = circuits.parse_job(payload)
    except circuits.CircuitError as error:
        return invalid_job(call, error)
    try:
        estimate = await estimate_plan(call.client, plan)
    except GuardRefused as refusal:
        return _refused(call, refusal.message)
    decision = await anyio.to_thread.run_sync(guard.check_job, backend, estimate.guard_usd)
    if decision.action == "refuse":
        return _refused(call, decision.message, estimated_cost_usd=estimate.cost_usd)
    how = _how_to_lower_cost(guard)
    if estimate.unbounded:
        decision = Decision("confirm", (
            f"Submit a {plan.type} job to the QPU {backend}? IonQ estimates {estimate.cost_usd:,.2f} USD, but "
            f"{estimate.bound_note}. Spent in the last 24 h: {guard.spent_usd():,.2f} of the "
            f"{guard.policy.daily_budget_usd:,.2f} USD daily budget."), estimate.guard_usd)
        how = ("run it on the simulator instead, or use an MCP client that supports elicitation so the user can "
               "approve a job whose cost cannot be bounded in advance.")
    stop = await _confirmed(call, decision, "the job was not submitted", how)
    if stop is not None:
        return stop
    try:
        reservation = await anyio.to_thread.run_sync(guard.reserve, call.op.name, backend, estimate.guard_usd)
    except GuardRefused as refusal:
        return _refused(call, refusal.message, estimated_cost_usd=estimate.cost_usd)
    try:
        created = to_jsonable(await call.client.create_job(**payload))
    except BaseException as exc:
        if _keeps_reservation(exc):
            guard.audit(call.op.name, payload, "uncertain", estimated_usd=estimate.cost_usd,
                        detail=f"{type(exc).__name__}: the job may exist; its estimate stays reserved")
        else:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(guard.release, reservation)
            guard.audit(call.op.name, payload, "failed", estimated_usd=estimate.cost_usd, detail=type(exc).__name__)
        raise
    job_id = str(created.get("id"))
    with anyio.CancelScope(shield=True):  # the job exists: link it to its reservation even if the caller left
        await anyio.to_thread.run_sync(guard.commit, reservation, job_id)
    guard.audit(call.op.name, payload, "submitted", estimated_usd=estimate.cost_usd, job_id=job_id)
    return Submitted(created, estimate)


def spend_summary(guard: Guard, estimate: CostEstimate) -> dict[str, Any]:
    return {"estimated_cost_usd": estimate.cost_usd, "spent_24h_usd": round(guard.spent_usd(), 6),
            "daily_budget_usd": guard.policy.daily_budget_usd}


async def create_job(call: ToolCall) -> dict | types.CallToolResult | types.InputRequiredResult:
    outcome = await submit_job(call)
    if not isinstance(outcome, Submitted):
        return outcome
    if outcome.estimate is None:
        return outcome.job
    return {**outcome.job, "spend": spend_summary(call.guard, outcome.estimate)}


async def reconcile_job(call: ToolCall, job_id: str, cost: Mapping[str, Any] | None = None) -> float | None:
    """Record a ledgered job's billed cost once IonQ reports it; returns the actual cost (USD) or None."""
    guard = call.guard
    entry = await anyio.to_thread.run_sync(guard.ledger_entry, job_id)
    if cost is None:
        if entry is None or entry.get("actual_usd") is not None:
            return None if entry is None else entry["actual_usd"]
        cost = to_jsonable(await call.client.get_job_cost(job_id=job_id))
    value = (cost.get("cost") or {}).get("value") if isinstance(cost.get("cost"), Mapping) else None
    if entry is None or not isinstance(value, (int, float)):
        return value if isinstance(value, (int, float)) else None
    if entry.get("actual_usd") != value:
        await anyio.to_thread.run_sync(guard.reconcile, job_id, float(value))
        guard.audit("reconcile", {"job_id": job_id}, "reconciled", estimated_usd=entry.get("estimated_usd"),
                    actual_usd=float(value), job_id=job_id)
    return float(value)


async def get_job_cost(call: ToolCall) -> dict:
    cost = to_jsonable(await call.client.get_job_cost(**call.arguments))
    job_id = call.arguments.get("job_id")
    if isinstance(cost, dict) and isinstance(job_id, str):
        await reconcile_job(call, job_id, cost)
    return cost


# --------------------------------------------------------------------------------------------------------------
# Sessions and bulk actions
# --------------------------------------------------------------------------------------------------------------


async def create_session(call: ToolCall) -> dict | types.CallToolResult | types.InputRequiredResult:
    guard = call.guard
    backend = str(call.arguments.get("backend"))
    decision = await anyio.to_thread.run_sync(guard.check_session, backend, call.arguments.get("settings"))
    if decision.action == "refuse":
        return _refused(call, decision.message)
    stop = await _confirmed(call, decision, "the session was not created", _how_to_proceed(
        f"give the session a smaller settings.cost_limit (at most ${guard.policy.confirm_above_usd:,.2f})",
        "IONQ_MCP_CONFIRM_ABOVE_USD"))
    if stop is not None:
        return stop
    arguments = {**call.arguments}
    if decision.settings:
        arguments["settings"] = dict(decision.settings)
    try:
        session = to_jsonable(await call.client.create_session(**arguments))
    except BaseException as exc:
        guard.audit(call.op.name, arguments, "failed", detail=type(exc).__name__)
        raise
    guard.audit(call.op.name, arguments, "created", estimated_usd=decision.estimate_usd,
                job_id=session.get("id") if isinstance(session, dict) else None)
    return session


async def _bulk(call: ToolCall, send: _Send) -> Any:
    """Bulk cancel/delete: the user confirms above the policy's bulk limit; one audit line either way."""
    guard = call.guard
    ids = call.arguments.get("ids") or []
    decision = guard.check_bulk(call.op.name, len(ids))
    stop = await _confirmed(call, decision, "no job was touched", _how_to_proceed(
        f"act on at most {guard.policy.bulk_confirm_above} ids per call", "IONQ_MCP_BULK_CONFIRM_ABOVE"))
    if stop is not None:
        return stop
    return await _audited(call, send)


async def _audited(call: ToolCall, send: _Send) -> Any:
    """Run the plain client call and write one audit line with its outcome."""
    try:
        result = to_jsonable(await send(call.client, call.arguments))
    except BaseException as exc:
        call.guard.audit(call.op.name, call.arguments, "failed", detail=type(exc).__name__,
                         job_id=call.arguments.get("job_id"))
        raise
    call.guard.audit(call.op.name, call.arguments, "done", job_id=call.arguments.get("job_id")
                     or call.arguments.get("session_id"))
    return result


async def delete_jobs(call: ToolCall) -> Any:
    return await _bulk(call, lambda client, args: client.delete_jobs(**args))


async def cancel_many_jobs(call: ToolCall) -> Any:
    return await _bulk(call, lambda client, args: client.cancel_many_jobs(**args))


async def cancel_job(call: ToolCall) -> Any:
    return await _audited(call, lambda client, args: client.cancel_job(**args))


async def delete_job(call: ToolCall) -> Any:
    return await _audited(call, lambda client, args: client.delete_job(**args))


async def end_session(call: ToolCall) -> Any:
    return await _audited(call, lambda client, args: client.end_session(**args))
