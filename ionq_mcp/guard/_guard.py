"""The spend guard: which submissions may go ahead, backed by a :class:`~ionq_mcp.guard.Ledger` and an
:class:`~ionq_mcp.guard.AuditLog`.

The guard is pure policy plus bookkeeping. It never talks to IonQ and never sees the API key: the server's
handlers fetch a fresh cost estimate, ask the guard for a :class:`Decision`, ask the user when the decision says
``confirm``, then bracket the submission with :meth:`Guard.reserve` and :meth:`Guard.commit` /
:meth:`Guard.release`.

Money is in US dollars (floats). The daily budget is a **rolling 24-hour window**: the sum of every job
reserved or committed in the last 86,400 seconds, using the job's actual cost once it is known
(:meth:`Guard.reconcile`) and its estimate until then. The ledger checks and reserves in one transaction, so
threads, processes and replicas sharing it never both reserve the last part of the budget.

A reservation whose submission crashed before :meth:`Guard.commit` or :meth:`Guard.release` stays counted
for 24 hours, or until it is settled: the guard fails closed rather than forget money that may have been spent.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ionq_mcp.circuits import is_qpu
from ionq_mcp.guard._audit import AuditLog, JsonLinesAudit
from ionq_mcp.guard._ledger import BudgetExceeded, Ledger, LedgerEntry, SqliteLedger, _more, default_owner
from ionq_mcp.guard._policy import GuardPolicy
from ionq_mcp.guard._redact import redact_arguments

__all__ = ["DAY_SECONDS", "Decision", "Guard", "GuardRefused", "Reservation"]

DAY_SECONDS = 86_400.0


class GuardRefused(Exception):
    """The guard refused an action. ``str()`` is the agent-facing message (what to change, with the numbers)."""

    def __init__(self, message: str, *, estimate_usd: float | None = None):
        super().__init__(message)
        self.message = message
        self.estimate_usd = estimate_usd


@dataclass(frozen=True)
class Decision:
    """What the guard says about one action.

    ``action``: ``allow`` (go ahead), ``confirm`` (ask the user; ``message`` is the question) or ``refuse``
    (``message`` tells the agent what the user must change). ``estimate_usd`` is the estimate the decision
    was based on (None when none was needed, e.g. the simulator).
    """

    action: Literal["allow", "confirm", "refuse"]
    message: str = ""
    estimate_usd: float | None = None
    settings: Mapping[str, object] | None = None  # create_session: the settings to send (cost_limit filled in)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"


@dataclass(frozen=True)
class Reservation:
    """A budget reservation held between :meth:`Guard.reserve` and :meth:`Guard.commit`/:meth:`Guard.release`."""

    id: int
    tool: str
    backend: str
    estimate_usd: float


def _usd(value: float) -> str:
    return f"${value:,.2f}"


_QPU_HINT = ("QPU backends are disabled by this MCP server's spend guard. To allow them, the user must set "
             "IONQ_MCP_ALLOW_QPU=1 in the MCP server's environment (or start it with --allow-qpu) and restart "
             "the server. The simulator (backend \"simulator\") is always allowed and free.")


@dataclass
class Guard:
    """Spend policy + ledger + audit trail.

    ``ledger`` is a :class:`Ledger` or a SQLite file path (``":memory:"`` for throwaway use); ``audit`` an
    :class:`AuditLog` or a JSON-lines file path. ``clock`` returns unix seconds (injectable for tests of the
    rolling window). ``scrub`` (the server's ``Upstream.redact``) removes the secrets the process holds from
    each audit record: the guard never sees the key, but an agent can still paste it into a job's metadata.
    ``owner`` names this process in the reservations it makes (``host:pid``). Thread-safe; several processes
    may share the same ledger.
    """

    policy: GuardPolicy
    ledger: Ledger | str | os.PathLike[str]
    audit_log: AuditLog | str | os.PathLike[str]
    clock: Callable[[], float] = time.time
    scrub: Callable[[str], str] | None = field(default=None, repr=False)
    owner: str = field(default_factory=default_owner)

    def __post_init__(self) -> None:
        if isinstance(self.ledger, (str, os.PathLike)):
            self.ledger = SqliteLedger(self.ledger)
        if isinstance(self.audit_log, (str, os.PathLike)):
            self.audit_log = JsonLinesAudit(self.audit_log)

    @property
    def _ledger(self) -> Ledger:
        assert not isinstance(self.ledger, (str, os.PathLike))
        return self.ledger

    def close(self) -> None:
        self._ledger.close()
        audit = self.audit_log
        if not isinstance(audit, (str, os.PathLike)):
            audit.close()

    def spent_usd(self) -> float:
        """Dollars reserved or committed in the rolling 24-hour window (actual cost where known)."""
        return self._ledger.spent_usd(self.clock() - DAY_SECONDS)

    # ---- decisions ---------------------------------------------------------------------------------------

    def check_backend(self, backend: str) -> Decision:
        """Is this backend usable at all? The simulator always is; a QPU only when ``allow_qpu``."""
        if is_qpu(backend) and not self.policy.allow_qpu:
            return Decision("refuse", f"Refused: backend {backend!r} is a QPU. {_QPU_HINT}")
        return Decision("allow")

    def check_job(self, backend: str, estimate_usd: float | None = None) -> Decision:
        """Decide on one job submission from a FRESH estimate (required for a QPU, ignored for the simulator).

        Order: QPU allowed? -> per-job cap -> rolling daily budget -> confirmation threshold. This check does
        not reserve anything; :meth:`reserve` repeats the budget check atomically.
        """
        gate = self.check_backend(backend)
        if not gate.allowed or not is_qpu(backend):
            return gate
        if estimate_usd is None or not math.isfinite(estimate_usd) or estimate_usd < 0:
            raise ValueError(f"a QPU job needs a fresh cost estimate, got {estimate_usd!r}")
        p = self.policy
        if _more(estimate_usd, p.max_job_cost_usd):
            return Decision("refuse", (
                f"Refused: the estimated cost {_usd(estimate_usd)} of this job on {backend} is above the per-job cap "
                f"of {_usd(p.max_job_cost_usd)}. Lower the cost (fewer shots, fewer gates, no error mitigation), "
                f"or ask the user to raise IONQ_MCP_MAX_JOB_COST_USD in the MCP server's environment."),
                estimate_usd)
        spent = self.spent_usd()
        if _more(spent + estimate_usd, p.daily_budget_usd):
            return Decision("refuse", self._budget_message(backend, estimate_usd, spent), estimate_usd)
        if _more(estimate_usd, p.confirm_above_usd):
            return Decision("confirm", (
                f"Submit a job to the QPU {backend} with an estimated cost of {_usd(estimate_usd)}? "
                f"Spent in the last 24 h: {_usd(spent)} of the {_usd(p.daily_budget_usd)} daily budget."),
                estimate_usd)
        return Decision("allow", "", estimate_usd)

    def _budget_message(self, backend: str, estimate_usd: float, spent: float) -> str:
        budget = self.policy.daily_budget_usd
        return (f"Refused: this job on {backend} (estimated {_usd(estimate_usd)}) would exceed the daily budget of "
                f"{_usd(budget)}: {_usd(spent)} is already spent or reserved in the last 24 hours, "
                f"{_usd(max(budget - spent, 0.0))} remains. Wait for older spending to leave the 24-hour window, "
                f"lower the cost, or ask the user to raise IONQ_MCP_DAILY_BUDGET_USD in the MCP server's "
                f"environment.")

    def check_session(self, backend: str, settings: Mapping[str, object] | None) -> Decision:
        """Decide on ``create_session``. A QPU session must carry a ``cost_limit`` in USD: absent -> the per-job
        cap; above the per-job cap -> refused. The returned ``Decision.settings`` are the ones to send."""
        gate = self.check_backend(backend)
        out = dict(settings or {})
        if not gate.allowed:
            return gate
        if not is_qpu(backend):
            return Decision("allow", settings=out)
        cap = self.policy.max_job_cost_usd
        limit = out.get("cost_limit")
        if limit is None:
            out["cost_limit"] = {"unit": "usd", "value": cap}
            value = cap
        else:
            value = limit.get("value") if isinstance(limit, Mapping) else None
            unit = str(limit.get("unit", "usd")).lower() if isinstance(limit, Mapping) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0 or unit != "usd":
                return Decision("refuse", (
                    f"Refused: settings.cost_limit must be {{\"unit\": \"usd\", \"value\": <number > 0>}}, "
                    f"got {limit!r}."))
            if _more(value, cap):
                return Decision("refuse", (
                    f"Refused: settings.cost_limit {_usd(value)} is above the per-job cap of {_usd(cap)} that also "
                    f"bounds QPU sessions. Use a cost_limit of at most {_usd(cap)}, or ask the user to raise "
                    f"IONQ_MCP_MAX_JOB_COST_USD in the MCP server's environment."))
        if _more(value, self.policy.confirm_above_usd):
            return Decision("confirm", (
                f"Open a session on the QPU {backend} that may spend up to {_usd(value)} (its cost_limit)?"),
                value, out)
        return Decision("allow", "", value, out)

    def check_bulk(self, tool: str, count: int) -> Decision:
        """Bulk cancel/delete: more than ``bulk_confirm_above`` ids needs the user's confirmation."""
        if count > self.policy.bulk_confirm_above:
            verb = "Delete" if "delete" in tool else "Cancel"
            return Decision("confirm", f"{verb} {count} jobs ({tool})? This cannot be undone.")
        return Decision("allow")

    # ---- reservations ------------------------------------------------------------------------------------

    def reserve(self, tool: str, backend: str, estimate_usd: float, *,
                idempotency_key: str | None = None) -> Reservation:
        """Atomically check the rolling budget and reserve ``estimate_usd`` for a submission about to happen.

        Raises :class:`GuardRefused` (message with the numbers) when the budget cannot take it. Must be followed
        by :meth:`commit` (with the job id) or :meth:`release` (submission failed). ``idempotency_key`` is the
        token the job is submitted with, so an uncertain reservation can be looked up later.
        """
        if _more(estimate_usd, self.policy.max_job_cost_usd):
            raise GuardRefused(self.check_job(backend, estimate_usd).message, estimate_usd=estimate_usd)
        now = self.clock()
        try:
            reservation_id = self._ledger.reserve(
                now=now, since=now - DAY_SECONDS, budget_usd=self.policy.daily_budget_usd, tool=tool,
                backend=backend, estimate_usd=float(estimate_usd), idempotency_key=idempotency_key,
                owner=self.owner)
        except BudgetExceeded as full:
            raise GuardRefused(self._budget_message(backend, estimate_usd, full.spent_usd),
                               estimate_usd=estimate_usd) from None
        return Reservation(reservation_id, tool, backend, float(estimate_usd))

    def commit(self, reservation: Reservation, job_id: str) -> None:
        """The job was submitted: keep the reservation, linked to its job id."""
        self._ledger.commit(reservation.id, job_id)

    def release(self, reservation: Reservation) -> None:
        """The submission failed: give the reserved money back to the budget."""
        self._ledger.release(reservation.id)

    def reconcile(self, job_id: str, actual_usd: float) -> bool:
        """Record a job's actual cost (replaces its estimate in the budget). False if the job is not in the
        ledger (e.g. a simulator job, which is never reserved)."""
        if isinstance(actual_usd, bool) or not isinstance(actual_usd, (int, float)) or not math.isfinite(actual_usd):
            raise ValueError(f"actual cost must be a finite number of USD, got {actual_usd!r}")
        return self._ledger.reconcile(job_id, float(actual_usd))

    def ledger_entry(self, job_id: str) -> dict[str, object] | None:
        """The ledger row of a committed job, or None."""
        entry = self._ledger.entry(job_id)
        return entry.as_dict() if entry is not None else None

    def uncertain_reservations(self, *, older_than_s: float = 0.0) -> list[LedgerEntry]:
        """Reservations neither committed nor released, made more than ``older_than_s`` seconds ago: their
        submission failed ambiguously (the job may exist) or their process died mid-submission."""
        return self._ledger.reservations(older_than=self.clock() - older_than_s)

    # ---- audit log ---------------------------------------------------------------------------------------

    def audit(self, tool: str, arguments: Mapping[str, object], outcome: str, *,
              estimated_usd: float | None = None, actual_usd: float | None = None,
              job_id: str | None = None, detail: str | None = None) -> None:
        """Append one record for a state-changing call: time (UTC ISO 8601), tool, redacted arguments,
        outcome (submitted | refused | declined | cancelled | unsupported | failed | done | reconciled ...),
        estimated and actual cost in USD, job id, and an optional detail message. Secrets known to the process
        (``scrub``) are removed from every field before the record reaches the audit log."""
        record: dict[str, object] = {
            "time": datetime.fromtimestamp(self.clock(), tz=UTC).isoformat(timespec="milliseconds"),
            "tool": tool,
            "arguments": redact_arguments(arguments),
            "outcome": outcome,
            "estimated_usd": estimated_usd,
            "actual_usd": actual_usd,
            "job_id": job_id,
        }
        if detail:
            record["detail"] = detail
        if self.scrub is not None:
            text = json.dumps(record, default=str)
            scrubbed = self.scrub(text)
            if scrubbed != text:
                try:
                    record = json.loads(scrubbed)
                except ValueError:  # a secret overlapped the JSON syntax: keep nothing that could hold it
                    record = {"time": record["time"], "tool": tool, "outcome": outcome, "job_id": job_id,
                              "detail": "arguments withheld: they contained a secret"}
        audit = self.audit_log
        assert not isinstance(audit, (str, os.PathLike))
        audit.append(record)
