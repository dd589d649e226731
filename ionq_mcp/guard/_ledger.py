"""The spend ledger: reservations of dollars for submissions, in a store that threads and processes share.

A row moves ``reserved -> committed`` (the job exists; ``job_id`` set) or ``reserved -> released`` (the
submission failed; the money is back in the budget). A row still ``reserved`` after its submission returned is
*uncertain*: the job may exist, so the money stays counted (fail closed) until :meth:`Ledger.settle` resolves
it. ``idempotency_key`` (the token the client sends with the job) lets a reconciler look the job up upstream;
``owner`` names the process that reserved (host:pid), so a reconciler can tell a live submission from one
whose process died.

:class:`Ledger` is the interface the guard uses; :class:`SqliteLedger` is the embedded implementation (one WAL
file shared by threads and processes, every write in ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from dataclasses import dataclass
from typing import Literal, Protocol

from ionq_mcp import _sqlite

__all__ = ["BudgetExceeded", "Ledger", "LedgerEntry", "LedgerState", "SqliteLedger", "default_owner"]

LedgerState = Literal["reserved", "committed", "released"]


def default_owner() -> str:
    """``host:pid`` of this process: who holds a reservation."""
    return f"{socket.gethostname()}:{os.getpid()}"


class BudgetExceeded(Exception):
    """:meth:`Ledger.reserve` found no room: ``spent_usd`` is what the window already holds."""

    def __init__(self, spent_usd: float) -> None:
        super().__init__(f"budget exceeded ({spent_usd:.6f} USD already in the window)")
        self.spent_usd = spent_usd


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row. Times are unix seconds; money is US dollars."""

    id: int
    created_at: float
    tool: str
    backend: str
    state: LedgerState
    estimated_usd: float
    actual_usd: float | None
    job_id: str | None
    idempotency_key: str | None
    owner: str | None

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Ledger(Protocol):
    """What the guard needs from a ledger. Every method is atomic; implementations are thread-safe."""

    def spent_usd(self, since: float) -> float:
        """Dollars not released, reserved at or after ``since`` (actual cost where known, else the estimate)."""
        ...

    def reserve(self, *, now: float, since: float, budget_usd: float, tool: str, backend: str,
                estimate_usd: float, idempotency_key: str | None = None, owner: str | None = None) -> int:
        """In one transaction: if ``spent_usd(since) + estimate_usd <= budget_usd`` insert a ``reserved`` row and
        return its id, else raise :class:`BudgetExceeded`."""
        ...

    def commit(self, reservation_id: int, job_id: str) -> None:
        """``reserved -> committed`` with the job id (also settles an uncertain row whose job was found)."""
        ...

    def release(self, reservation_id: int) -> None:
        """``reserved -> released``: the money is back in the budget."""
        ...

    def reconcile(self, job_id: str, actual_usd: float) -> bool:
        """Record a committed job's billed cost; False when no committed row has that job id."""
        ...

    def entry(self, job_id: str) -> LedgerEntry | None:
        """The row of a committed job, or None."""
        ...

    def reservations(self, *, older_than: float | None = None) -> list[LedgerEntry]:
        """Rows still ``reserved`` (created before ``older_than`` when given), oldest first."""
        ...

    def close(self) -> None:
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    REAL NOT NULL,            -- unix seconds
    tool          TEXT NOT NULL,
    backend       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
    estimated_usd REAL NOT NULL,
    actual_usd    REAL,
    job_id        TEXT,
    idempotency_key TEXT,                   -- the token the job was submitted with
    owner         TEXT                      -- host:pid of the process that reserved
);
CREATE INDEX IF NOT EXISTS spend_created_at ON spend (created_at);
CREATE INDEX IF NOT EXISTS spend_job_id ON spend (job_id);
"""

#: Columns added after the first release; a ledger file from then gains them on open.
_ADDED_COLUMNS = (("idempotency_key", "TEXT"), ("owner", "TEXT"))

_COLUMNS = ("id, created_at, tool, backend, state, estimated_usd, actual_usd, job_id, idempotency_key, owner")

_WINDOW_SQL = ("SELECT COALESCE(SUM(COALESCE(actual_usd, estimated_usd)), 0) FROM spend "
               "WHERE state != 'released' AND created_at > ?")


def _more(a: float, b: float) -> bool:
    """a > b in cents-and-below precision, so a budget that fits exactly N jobs takes exactly N."""
    return round(a - b, 6) > 0


class SqliteLedger:
    """The ledger in a SQLite file (WAL) or ``":memory:"``; created with its directory on first use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteLedger({self.path!r})"

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = _sqlite.connect(self.path)
            db.execute("BEGIN IMMEDIATE")  # several processes may open (and migrate) the file at once
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                present = {row[1] for row in db.execute("PRAGMA table_info(spend)")}
                for name, kind in _ADDED_COLUMNS:
                    if name not in present:
                        db.execute(f"ALTER TABLE spend ADD COLUMN {name} {kind}")
                db.execute("CREATE INDEX IF NOT EXISTS spend_reserved ON spend (state, created_at)")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def spent_usd(self, since: float) -> float:
        with self._lock:
            return float(self._conn().execute(_WINDOW_SQL, (since,)).fetchone()[0])

    def reserve(self, *, now: float, since: float, budget_usd: float, tool: str, backend: str,
                estimate_usd: float, idempotency_key: str | None = None, owner: str | None = None) -> int:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                spent = float(db.execute(_WINDOW_SQL, (since,)).fetchone()[0])
                if _more(spent + estimate_usd, budget_usd):
                    raise BudgetExceeded(spent)
                cursor = db.execute(
                    "INSERT INTO spend (created_at, tool, backend, state, estimated_usd, idempotency_key, owner) "
                    "VALUES (?, ?, ?, 'reserved', ?, ?, ?)",
                    (now, tool, backend, float(estimate_usd), idempotency_key, owner))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(cursor.lastrowid or 0)

    def commit(self, reservation_id: int, job_id: str) -> None:
        self._update("UPDATE spend SET state = 'committed', job_id = ? WHERE id = ?", (job_id, reservation_id))

    def release(self, reservation_id: int) -> None:
        self._update("UPDATE spend SET state = 'released' WHERE id = ? AND state = 'reserved'", (reservation_id,))

    def reconcile(self, job_id: str, actual_usd: float) -> bool:
        return self._update("UPDATE spend SET actual_usd = ? WHERE job_id = ? AND state = 'committed'",
                            (float(actual_usd), job_id)) > 0

    def entry(self, job_id: str) -> LedgerEntry | None:
        with self._lock:
            row = self._conn().execute(f"SELECT {_COLUMNS} FROM spend WHERE job_id = ?", (job_id,)).fetchone()
        return LedgerEntry(*row) if row is not None else None

    def reservations(self, *, older_than: float | None = None) -> list[LedgerEntry]:
        sql = f"SELECT {_COLUMNS} FROM spend WHERE state = 'reserved'"
        args: tuple[float, ...] = ()
        if older_than is not None:
            sql += " AND created_at < ?"
            args = (older_than,)
        with self._lock:
            rows = self._conn().execute(sql + " ORDER BY id", args).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def _update(self, sql: str, args: tuple[object, ...]) -> int:
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
