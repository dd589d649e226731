"""Spend guard: which submissions may go ahead, a persistent spend ledger, and an audit log.

The guard is pure policy plus bookkeeping. It never talks to IonQ and never sees the API key: the server
fetches a fresh cost estimate, asks the guard for a :class:`Decision`, asks the user when the decision says
``confirm``, then brackets the submission with :meth:`Guard.reserve` and :meth:`Guard.commit` /
:meth:`Guard.release`.

Money is in US dollars (floats). The daily budget is a **rolling 24-hour window**: the sum of every job
reserved or committed in the last 86,400 seconds, using the job's actual cost once it is known
(:meth:`Guard.reconcile`) and its estimate until then.

Concurrency: the ledger is a SQLite file in WAL mode. :meth:`Guard.reserve` re-reads the window total and
inserts the reservation inside one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock, so two
threads or two processes sharing the file can never both reserve the last part of the budget.

A reservation whose submission crashed before :meth:`Guard.commit` or :meth:`Guard.release` stays counted
for 24 hours: the guard fails closed rather than forget money that may have been spent.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ionq_mcp import _sqlite
from ionq_mcp._env import parse_bool
from ionq_mcp.circuits import is_qpu

__all__ = [
    "DAY_SECONDS",
    "Decision",
    "Guard",
    "GuardConfigError",
    "GuardPolicy",
    "GuardRefused",
    "Reservation",
    "add_guard_arguments",
    "policy_from_args",
    "redact_arguments",
]

DAY_SECONDS = 86_400.0

ENV_ALLOW_QPU = "IONQ_MCP_ALLOW_QPU"
ENV_MAX_JOB_COST = "IONQ_MCP_MAX_JOB_COST_USD"
ENV_DAILY_BUDGET = "IONQ_MCP_DAILY_BUDGET_USD"
ENV_CONFIRM_ABOVE = "IONQ_MCP_CONFIRM_ABOVE_USD"
ENV_BULK_CONFIRM_ABOVE = "IONQ_MCP_BULK_CONFIRM_ABOVE"



class GuardConfigError(ValueError):
    """A guard setting (environment variable or flag) has a value the guard cannot use."""


class GuardRefused(Exception):
    """The guard refused an action. ``str()`` is the agent-facing message (what to change, with the numbers)."""

    def __init__(self, message: str, *, estimate_usd: float | None = None):
        super().__init__(message)
        self.message = message
        self.estimate_usd = estimate_usd


# --------------------------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardPolicy:
    """The spend rules. Defaults are deliberately conservative (see ``docs/guard.md``).

    * ``allow_qpu``: QPU backends (``qpu.*``) are refused unless True. The simulator is always allowed.
    * ``max_job_cost_usd``: a single job (by fresh estimate) above this is refused; also the default and the
      ceiling of a QPU session's ``cost_limit``.
    * ``daily_budget_usd``: rolling 24-hour total; a job that would take the total above it is refused.
    * ``confirm_above_usd``: a job whose estimate is above this needs the user's confirmation (elicitation).
      0 means every paid job is confirmed.
    * ``bulk_confirm_above``: bulk cancel/delete of more than this many jobs needs confirmation.
    """

    allow_qpu: bool = False
    max_job_cost_usd: float = 25.0
    daily_budget_usd: float = 100.0
    confirm_above_usd: float = 0.0
    bulk_confirm_above: int = 5

    def __post_init__(self) -> None:
        for name in ("max_job_cost_usd", "daily_budget_usd", "confirm_above_usd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise GuardConfigError(f"{name} must be a finite number of USD >= 0, got {value!r}")
        if isinstance(self.bulk_confirm_above, bool) or not isinstance(self.bulk_confirm_above, int) \
                or self.bulk_confirm_above < 0:
            raise GuardConfigError(f"bulk_confirm_above must be a whole number >= 0, got {self.bulk_confirm_above!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GuardPolicy:
        """Read the policy from ``IONQ_MCP_*`` variables; unset variables keep the defaults.

        ``overrides`` (e.g. from command-line flags) win over the environment; ``None`` values are ignored.
        Raises :class:`GuardConfigError` naming the variable, the bad value and what is allowed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if ENV_ALLOW_QPU in env:
            values["allow_qpu"] = _parse_bool(ENV_ALLOW_QPU, env[ENV_ALLOW_QPU])
        for var, name in ((ENV_MAX_JOB_COST, "max_job_cost_usd"), (ENV_DAILY_BUDGET, "daily_budget_usd"),
                          (ENV_CONFIRM_ABOVE, "confirm_above_usd")):
            if var in env:
                values[name] = _parse_usd(var, env[var])
        if ENV_BULK_CONFIRM_ABOVE in env:
            values["bulk_confirm_above"] = _parse_count(ENV_BULK_CONFIRM_ABOVE, env[ENV_BULK_CONFIRM_ABOVE])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def describe(self) -> str:
        """One line for logs and the server's instructions."""
        return (f"QPU {'allowed' if self.allow_qpu else 'disabled'}; per-job cap ${self.max_job_cost_usd:.2f}; "
                f"daily budget ${self.daily_budget_usd:.2f} (rolling 24 h); confirmation above "
                f"${self.confirm_above_usd:.2f}; bulk confirmation above {self.bulk_confirm_above} jobs")


def add_guard_arguments(parser: Any) -> None:
    """Add the guard's command-line flags to an ``argparse`` parser (they win over the environment)."""
    group = parser.add_argument_group("spend guard (flags win over IONQ_MCP_* variables)")
    group.add_argument("--allow-qpu", action="store_true", default=None,
                       help=f"allow QPU backends (env {ENV_ALLOW_QPU}=1; default: simulator only)")
    group.add_argument("--max-job-cost", type=float, metavar="USD", default=None,
                       help=f"refuse a job whose estimate is above this (env {ENV_MAX_JOB_COST}; default 25)")
    group.add_argument("--daily-budget", type=float, metavar="USD", default=None,
                       help=f"rolling 24-hour spending limit (env {ENV_DAILY_BUDGET}; default 100)")
    group.add_argument("--confirm-above", type=float, metavar="USD", default=None,
                       help=f"ask the user to confirm jobs estimated above this (env {ENV_CONFIRM_ABOVE}; default 0)")
    group.add_argument("--bulk-confirm-above", type=int, metavar="N", default=None,
                       help=f"ask before bulk cancel/delete of more than N jobs (env {ENV_BULK_CONFIRM_ABOVE}; "
                            f"default 5)")


def policy_from_args(args: Any, environ: Mapping[str, str] | None = None) -> GuardPolicy:
    """The policy from the environment, overridden by the flags of :func:`add_guard_arguments` that were given."""
    return GuardPolicy.from_env(
        environ,
        allow_qpu=getattr(args, "allow_qpu", None),
        max_job_cost_usd=getattr(args, "max_job_cost", None),
        daily_budget_usd=getattr(args, "daily_budget", None),
        confirm_above_usd=getattr(args, "confirm_above", None),
        bulk_confirm_above=getattr(args, "bulk_confirm_above", None),
    )


def _parse_bool(var: str, raw: str) -> bool:
    try:
        return parse_bool(var, raw)
    except ValueError as error:
        raise GuardConfigError(str(error)) from None


def _parse_usd(var: str, raw: str) -> float:
    try:
        value = float(raw.strip().lstrip("$"))
    except ValueError:
        raise GuardConfigError(f"{var}={raw!r} is not a number of US dollars (allowed: a number >= 0, "
                               f"e.g. {var}=25)") from None
    if not math.isfinite(value) or value < 0:
        raise GuardConfigError(f"{var}={raw!r} must be a finite number of US dollars >= 0")
    return value


def _parse_count(var: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise GuardConfigError(f"{var}={raw!r} is not a whole number (allowed: an integer >= 0, "
                               f"e.g. {var}=5)") from None
    if value < 0:
        raise GuardConfigError(f"{var}={raw!r} must be >= 0")
    return value


# --------------------------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------------------------


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
    settings: Mapping[str, Any] | None = None  # create_session: the settings to send (cost_limit filled in)

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

# --------------------------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------------------------

_SECRET_KEY_PARTS = ("key", "token", "secret", "password", "passwd", "authorization", "credential", "cookie")
_SECRET_PREFIXES = ("apikey ", "bearer ", "basic ")
_MAX_STRING = 200
_MAX_LIST = 50


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _summarise_circuit(entry: Mapping[str, Any]) -> dict[str, Any]:
    gates = entry.get("circuit")
    out: dict[str, Any] = {"gates": len(gates) if isinstance(gates, list) else None}
    for key in ("name", "qubits", "gateset"):
        if key in entry:
            out[key] = _redact_value(key, entry[key])
    return out


def _redact_value(key: str, value: Any) -> Any:
    if _is_secret_key(key):
        return "[redacted]"
    if isinstance(value, Mapping):
        if "circuit" in value and isinstance(value.get("circuit"), list):
            return _summarise_circuit(value)
        if isinstance(value.get("circuits"), list):
            rest = {k: _redact_value(k, v) for k, v in value.items() if k != "circuits"}
            circuits = [_summarise_circuit(c) if isinstance(c, Mapping) else "?" for c in value["circuits"]]
            rest["circuits"] = circuits[:_MAX_LIST] + ([f"... {len(circuits) - _MAX_LIST} more"]
                                                       if len(circuits) > _MAX_LIST else [])
            return rest
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_redact_value(key, v) for v in value[:_MAX_LIST]]
        if len(value) > _MAX_LIST:
            items.append(f"... {len(value) - _MAX_LIST} more")
        return items
    if isinstance(value, str):
        if value.lower().startswith(_SECRET_PREFIXES):
            return "[redacted]"
        return value if len(value) <= _MAX_STRING else value[:_MAX_STRING] + "..."
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return repr(value)[:_MAX_STRING]


def redact_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments fit for the audit log: circuits summarised (gate counts, not gates), values under secret-looking
    keys (``*key*``, ``*token*``, ``*secret*``, ``authorization``, ...) and ``apiKey ...``/``Bearer ...`` strings
    replaced by ``[redacted]``, long strings and lists shortened."""
    return {str(k): _redact_value(str(k), v) for k, v in arguments.items()}


# --------------------------------------------------------------------------------------------------------------
# Guard
# --------------------------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    REAL NOT NULL,            -- unix seconds
    tool          TEXT NOT NULL,
    backend       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
    estimated_usd REAL NOT NULL,
    actual_usd    REAL,
    job_id        TEXT
);
CREATE INDEX IF NOT EXISTS spend_created_at ON spend (created_at);
CREATE INDEX IF NOT EXISTS spend_job_id ON spend (job_id);
"""

_WINDOW_SQL = ("SELECT COALESCE(SUM(COALESCE(actual_usd, estimated_usd)), 0) FROM spend "
               "WHERE state != 'released' AND created_at > ?")


@dataclass
class Guard:
    """Spend policy + SQLite ledger + JSON-lines audit log.

    ``ledger_path`` and ``audit_path`` are files (created with their directories on first use); the ledger
    may be ``":memory:"`` for throwaway use. ``clock`` returns unix seconds (injectable for tests of the
    rolling window). ``scrub`` (the server's ``Upstream.redact``) removes the secrets the process holds from
    each audit line: the guard never sees the key, but an agent can still paste it into a job's metadata.
    Thread-safe; several processes may share the same files.
    """

    policy: GuardPolicy
    ledger_path: str | os.PathLike[str]
    audit_path: str | os.PathLike[str]
    clock: Callable[[], float] = time.time
    scrub: Callable[[str], str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _db: sqlite3.Connection | None = field(default=None, init=False, repr=False)

    # ---- ledger plumbing ---------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = _sqlite.connect(str(self.ledger_path))
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def spent_usd(self) -> float:
        """Dollars reserved or committed in the rolling 24-hour window (actual cost where known)."""
        with self._lock:
            return float(self._conn().execute(_WINDOW_SQL, (self.clock() - DAY_SECONDS,)).fetchone()[0])

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

    def check_session(self, backend: str, settings: Mapping[str, Any] | None) -> Decision:
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

    def reserve(self, tool: str, backend: str, estimate_usd: float) -> Reservation:
        """Atomically check the rolling budget and reserve ``estimate_usd`` for a submission about to happen.

        Raises :class:`GuardRefused` (message with the numbers) when the budget cannot take it. Must be followed
        by :meth:`commit` (with the job id) or :meth:`release` (submission failed).
        """
        if _more(estimate_usd, self.policy.max_job_cost_usd):
            raise GuardRefused(self.check_job(backend, estimate_usd).message, estimate_usd=estimate_usd)
        with self._lock:
            db = self._conn()
            now = self.clock()
            db.execute("BEGIN IMMEDIATE")
            try:
                spent = float(db.execute(_WINDOW_SQL, (now - DAY_SECONDS,)).fetchone()[0])
                if _more(spent + estimate_usd, self.policy.daily_budget_usd):
                    db.execute("ROLLBACK")
                    raise GuardRefused(self._budget_message(backend, estimate_usd, spent),
                                       estimate_usd=estimate_usd)
                cursor = db.execute(
                    "INSERT INTO spend (created_at, tool, backend, state, estimated_usd) "
                    "VALUES (?, ?, ?, 'reserved', ?)", (now, tool, backend, float(estimate_usd)))
                db.execute("COMMIT")
            except GuardRefused:
                raise
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Reservation(int(cursor.lastrowid or 0), tool, backend, float(estimate_usd))

    def commit(self, reservation: Reservation, job_id: str) -> None:
        """The job was submitted: keep the reservation, linked to its job id."""
        self._update("UPDATE spend SET state = 'committed', job_id = ? WHERE id = ?", (job_id, reservation.id))

    def release(self, reservation: Reservation) -> None:
        """The submission failed: give the reserved money back to the budget."""
        self._update("UPDATE spend SET state = 'released' WHERE id = ?", (reservation.id,))

    def reconcile(self, job_id: str, actual_usd: float) -> bool:
        """Record a job's actual cost (replaces its estimate in the budget). False if the job is not in the
        ledger (e.g. a simulator job, which is never reserved)."""
        if isinstance(actual_usd, bool) or not isinstance(actual_usd, (int, float)) or not math.isfinite(actual_usd):
            raise ValueError(f"actual cost must be a finite number of USD, got {actual_usd!r}")
        return self._update("UPDATE spend SET actual_usd = ? WHERE job_id = ? AND state = 'committed'",
                            (float(actual_usd), job_id)) > 0

    def ledger_entry(self, job_id: str) -> dict[str, Any] | None:
        """The ledger row of a committed job, or None."""
        with self._lock:
            db = self._conn()
            db.row_factory = sqlite3.Row
            try:
                row = db.execute("SELECT * FROM spend WHERE job_id = ?", (job_id,)).fetchone()
            finally:
                db.row_factory = None
        return dict(row) if row is not None else None

    def _update(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute(sql, args).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return count

    # ---- audit log ---------------------------------------------------------------------------------------

    def audit(self, tool: str, arguments: Mapping[str, Any], outcome: str, *,
              estimated_usd: float | None = None, actual_usd: float | None = None,
              job_id: str | None = None, detail: str | None = None) -> None:
        """Append one JSON line for a state-changing call: time (UTC ISO 8601), tool, redacted arguments,
        outcome (submitted | refused | declined | cancelled | unsupported | failed | done | reconciled ...),
        estimated and actual cost in USD, job id, and an optional detail message.

        One ``write`` on an ``O_APPEND`` descriptor per line, so lines from concurrent processes do not
        interleave.
        """
        record = {
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
        text = json.dumps(record, separators=(",", ":"), default=str)
        if self.scrub is not None:
            text = self.scrub(text)
        line = (text + "\n").encode()
        path = Path(self.audit_path)
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _more(a: float, b: float) -> bool:
    """a > b in cents-and-below precision, so a budget that fits exactly N jobs takes exactly N."""
    return round(a - b, 6) > 0
