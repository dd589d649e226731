"""Spend guard: which submissions may go ahead, a persistent spend ledger, and an audit trail.

Public API (the modules behind it are private):

* :class:`GuardPolicy` and its flags/environment (``_policy``);
* :class:`Guard`, :class:`Decision`, :class:`Reservation`, :class:`GuardRefused` (``_guard``);
* :class:`Ledger` (interface), :class:`SqliteLedger` (embedded default) (``_ledger``);
* :class:`AuditLog` (interface), :class:`JsonLinesAudit` (``_audit``);
* :func:`redact_arguments`: what the audit keeps of a call's arguments (``_redact``).

See ``docs/guard.md`` for the rules and their defaults.
"""

from ionq_mcp.guard._audit import AuditLog, AuditRecord, JsonLinesAudit
from ionq_mcp.guard._guard import DAY_SECONDS, Decision, Guard, GuardRefused, Reservation
from ionq_mcp.guard._ledger import BudgetExceeded, Ledger, LedgerEntry, SqliteLedger
from ionq_mcp.guard._policy import (
    ENV_ALLOW_QPU,
    ENV_BULK_CONFIRM_ABOVE,
    ENV_CONFIRM_ABOVE,
    ENV_DAILY_BUDGET,
    ENV_MAX_JOB_COST,
    GuardConfigError,
    GuardPolicy,
    add_guard_arguments,
    policy_from_args,
)
from ionq_mcp.guard._redact import redact_arguments

__all__ = [
    "DAY_SECONDS",
    "ENV_ALLOW_QPU",
    "ENV_BULK_CONFIRM_ABOVE",
    "ENV_CONFIRM_ABOVE",
    "ENV_DAILY_BUDGET",
    "ENV_MAX_JOB_COST",
    "AuditLog",
    "AuditRecord",
    "BudgetExceeded",
    "Decision",
    "Guard",
    "GuardConfigError",
    "GuardPolicy",
    "GuardRefused",
    "JsonLinesAudit",
    "Ledger",
    "LedgerEntry",
    "Reservation",
    "SqliteLedger",
    "add_guard_arguments",
    "policy_from_args",
    "redact_arguments",
]
