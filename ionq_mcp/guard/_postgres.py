"""The spend ledger and the audit trail in PostgreSQL, shared by every replica of the server (psycopg 3).

Selected by ``IONQ_MCP_LEDGER_URL=postgresql://...`` (or ``--ledger-url``); SQLite stays the embedded default.

* **Schema** (:data:`MIGRATIONS`): created or migrated on start-up, in one transaction holding an advisory lock,
  so replicas starting together migrate once. Tables: ``ionq_mcp_schema`` (version), ``ionq_mcp_spend`` (the
  ledger), ``ionq_mcp_audit`` (append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for every role,
  the server's included) and ``ionq_mcp_claimed`` (single-use confirmation tokens).
* **Reservations are atomic across processes and hosts**: :meth:`PostgresLedger.reserve` takes a
  transaction-scoped advisory lock (:data:`BUDGET_LOCK`), then inserts only if the rolling window has room
  (one statement), then commits, all in one network round trip.
  Every reservation serialises on that one lock, and in READ COMMITTED each statement after the lock sees all
  rows committed before it was granted, so two replicas never both take the last of the budget. (SERIALIZABLE
  would also be correct, but needs a retry loop and aborts under contention; one short lock is simpler and
  faster here: ~0.1 ms held per reservation on loopback.)
* **Durability where it matters**: a reservation (and a claimed confirmation) is on disk before any money is
  spent: the reservation commits without waiting for the disk (so the budget lock is never held across an
  fsync) and is then flushed by a synchronous commit outside the lock. Everything after it (commit, release, the billed cost, audit rows) is
  committed with ``synchronous_commit = off``: one fsync per paid submission instead of four, and concurrent
  reservations share their flushes (group commit). Losing such a
  write in a database crash is safe for the budget: the row stays ``reserved`` (still counted) and
  reconciliation settles it by the job's idempotency key; audit rows of the last moments before a database
  crash may be lost, as a JSON-lines file may lose its last writes in an operating-system crash.
* **Unreachable database**: every method raises :class:`~ionq_mcp.guard.LedgerUnavailable` (connections time
  out after :data:`CONNECT_TIMEOUT_S`), which the guard turns into a refusal of paid work. Broken connections
  are dropped from the pool, so the ledger recovers by itself when the database returns.

Money is stored as ``numeric`` (exact sums) and handed out as float US dollars; times are unix seconds.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ionq_mcp.guard._audit import AuditRecord
from ionq_mcp.guard._ledger import BudgetExceeded, LedgerEntry, LedgerUnavailable

if TYPE_CHECKING:
    import psycopg

__all__ = ["BUDGET_LOCK", "CONNECT_TIMEOUT_S", "MIGRATIONS", "PostgresAudit", "PostgresLedger", "PostgresStore",
           "is_postgres_url", "redact_url"]

#: Seconds to wait for a connection before the ledger counts as unreachable.
CONNECT_TIMEOUT_S = 3
#: Advisory lock key every reservation takes (an arbitrary constant: "ionq" in ASCII, then 13).
BUDGET_LOCK = 0x696F6E71_0000000D
#: Advisory lock key held while the schema is migrated.
SCHEMA_LOCK = 0x696F6E71_00000001

#: Schema steps; step i (1-based) brings the schema to version i. Append, never edit a released step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE ionq_mcp_spend (
        id              bigserial PRIMARY KEY,
        created_at      double precision NOT NULL,          -- unix seconds
        tool            text NOT NULL,
        backend         text NOT NULL,
        state           text NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
        estimated_usd   numeric(20, 9) NOT NULL,
        actual_usd      numeric(20, 9),
        job_id          text,
        idempotency_key text,                               -- the token the job was submitted with
        owner           text,                               -- host:pid of the process that reserved
        expires_at      double precision                    -- end of the owner's lease (unix seconds)
    );
    CREATE INDEX ionq_mcp_spend_window ON ionq_mcp_spend (created_at) WHERE state <> 'released';
    CREATE INDEX ionq_mcp_spend_job ON ionq_mcp_spend (job_id);
    CREATE INDEX ionq_mcp_spend_reserved ON ionq_mcp_spend (created_at) WHERE state = 'reserved';

    CREATE TABLE ionq_mcp_audit (
        id            bigserial PRIMARY KEY,
        time          timestamptz NOT NULL,
        tool          text NOT NULL,
        outcome       text NOT NULL,
        estimated_usd double precision,
        actual_usd    double precision,
        job_id        text,
        record        jsonb NOT NULL                        -- the whole record, as the JSON-lines log has it
    );
    CREATE INDEX ionq_mcp_audit_time ON ionq_mcp_audit (time);
    CREATE FUNCTION ionq_mcp_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ionq_mcp_audit is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER ionq_mcp_audit_no_change BEFORE UPDATE OR DELETE ON ionq_mcp_audit
        FOR EACH ROW EXECUTE FUNCTION ionq_mcp_audit_append_only();
    CREATE TRIGGER ionq_mcp_audit_no_truncate BEFORE TRUNCATE ON ionq_mcp_audit
        FOR EACH STATEMENT EXECUTE FUNCTION ionq_mcp_audit_append_only();

    CREATE TABLE ionq_mcp_claimed (
        token      text PRIMARY KEY,
        expires_at double precision NOT NULL
    );
    """,
)

_COLUMNS = ("id, created_at, tool, backend, state, estimated_usd::float8, actual_usd::float8, job_id, "
            "idempotency_key, owner, expires_at")
_WINDOW_SQL = ("SELECT COALESCE(SUM(COALESCE(actual_usd, estimated_usd)), 0)::float8 FROM ionq_mcp_spend "
               "WHERE state <> 'released' AND created_at > %s")
_WINDOW_SUM = ("SELECT COALESCE(SUM(COALESCE(actual_usd, estimated_usd)), 0) FROM ionq_mcp_spend "
               "WHERE state <> 'released' AND created_at > %(since)s")
#: Insert a reservation only if the window has room (same rounding as the guard: to 1e-6 USD).
_RESERVE_SQL = (
    "INSERT INTO ionq_mcp_spend (created_at, tool, backend, state, estimated_usd, idempotency_key, owner, "
    "expires_at) SELECT %(now)s, %(tool)s, %(backend)s, 'reserved', %(estimate)s, %(key)s, %(owner)s, %(expires)s "
    f"WHERE round(({_WINDOW_SUM}) + %(estimate)s::numeric - %(budget)s::numeric, 6) <= 0 RETURNING id")


def is_postgres_url(url: str) -> bool:
    """True for ``postgresql://`` / ``postgres://`` URLs."""
    return urlsplit(url).scheme in ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs, errors and reprs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _unavailable(url: str, error: BaseException) -> LedgerUnavailable:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    password = urlsplit(url).password
    if password:
        detail = detail.replace(password, "***")
    return LedgerUnavailable(f"the spend ledger's PostgreSQL database ({redact_url(url)}) is unreachable: {detail}")


class PostgresStore:
    """A small pool of autocommit psycopg connections to one database, plus the schema migration.

    Thread-safe. At most ``max_connections`` are open; a connection that failed is discarded, not reused. The
    schema is migrated on the first successful connection. Connection failures raise
    :class:`~ionq_mcp.guard.LedgerUnavailable`.
    """

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        if not is_postgres_url(url):
            raise ValueError(f"ledger URL: expected postgresql://..., got {redact_url(url)!r}")
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.url)!r})"

    def _connect(self) -> psycopg.Connection:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name="ionq-mcp")
        # Writes that may be lost in a database crash without harm say so; reservations override it (see above).
        conn.execute("SET synchronous_commit = off")
        if not self._migrated:
            with self._migrate_lock:
                if not self._migrated:
                    migrate(conn)
                    self._migrated = True
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection for one unit of work (use ``with conn.transaction():`` for several statements)."""
        import psycopg

        if self._closed:
            raise LedgerUnavailable("the spend ledger was closed")
        if not self._slots.acquire(timeout=30):
            raise LedgerUnavailable("the spend ledger's connections are all busy (waited 30 s)")
        conn: psycopg.Connection | None = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if conn is not None:
                conn.close()
            conn = None
            raise _unavailable(self.url, error) from None
        except BaseException:
            if conn is not None and conn.info.transaction_status != 0:  # not IDLE: do not hand it out again
                conn.close()
                conn = None
            raise
        finally:
            if conn is not None:
                if conn.closed or self._closed:
                    conn.close()
                else:
                    self._idle.put(conn)
            self._slots.release()

    def ping(self) -> None:
        """One round trip (``SELECT 1``); raises :class:`LedgerUnavailable` when the database is unreachable."""
        with self.connection() as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def migrate(conn: psycopg.Connection) -> int:
    """Bring the schema to the latest version (idempotent, safe when several processes start at once);
    returns the version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS ionq_mcp_schema (id int PRIMARY KEY CHECK (id = 1), "
                     "version int NOT NULL)")
        row = conn.execute("SELECT version FROM ionq_mcp_schema WHERE id = 1").fetchone()
        version = int(row[0]) if row else 0
        for step in range(version, len(MIGRATIONS)):
            conn.execute(MIGRATIONS[step])
        if version < len(MIGRATIONS):
            conn.execute("INSERT INTO ionq_mcp_schema (id, version) VALUES (1, %s) ON CONFLICT (id) "
                         "DO UPDATE SET version = EXCLUDED.version", (len(MIGRATIONS),))
    return max(version, len(MIGRATIONS))


class PostgresLedger:
    """The :class:`~ionq_mcp.guard.Ledger` in PostgreSQL (see the module docstring). ``store`` may be shared
    with a :class:`PostgresAudit`; pass a URL to get a store of its own."""

    def __init__(self, store: PostgresStore | str) -> None:
        self.store = PostgresStore(store) if isinstance(store, str) else store

    def __repr__(self) -> str:
        return f"PostgresLedger({redact_url(self.store.url)!r})"

    def close(self) -> None:
        self.store.close()

    def spent_usd(self, since: float) -> float:
        with self.store.connection() as conn:
            return float(conn.execute(_WINDOW_SQL, (since,)).fetchone()[0])

    def reserve(self, *, now: float, since: float, budget_usd: float, tool: str, backend: str,
                estimate_usd: float, idempotency_key: str | None = None, owner: str | None = None,
                expires_at: float | None = None) -> int:
        import psycopg

        args = {"now": now, "since": since, "tool": tool, "backend": backend, "estimate": float(estimate_usd),
                "budget": float(budget_usd), "key": idempotency_key, "owner": owner, "expires": expires_at,
                "lock": BUDGET_LOCK}
        with self.store.connection() as conn:
            # 1. Under the lock, insert if there is room, and commit without waiting for the disk: the lock is held
            #    for about one round trip, not for a flush, so replicas do not queue behind each other's fsync.
            #    The statements travel as one simple query (client-side binding): one round trip. The lock is its
            #    own statement, so the INSERT's snapshot is taken after it was granted.
            cursor = psycopg.ClientCursor(conn)
            cursor.execute("BEGIN; SELECT pg_advisory_xact_lock(%(lock)s); " + _RESERVE_SQL + "; COMMIT", args)
            while cursor.description is None or cursor.description[0].name != "id":
                if not cursor.nextset():
                    raise RuntimeError("reserve: the INSERT returned no result set")
            row = cursor.fetchone()
            if row is None:
                raise BudgetExceeded(float(conn.execute(_WINDOW_SQL, (since,)).fetchone()[0]))
            # 2. Before anything is spent, make the reservation durable: a synchronous commit of a later write
            #    flushes the write-ahead log up to it, and so past the reservation's commit (the log is sequential;
            #    every reservation that counted this one is flushed after it too).
            cursor.execute("BEGIN; SET LOCAL synchronous_commit = on; "
                           "UPDATE ionq_mcp_spend SET expires_at = expires_at WHERE id = %(id)s; COMMIT",
                           {"id": int(row[0])})
        return int(row[0])

    def commit(self, reservation_id: int, job_id: str) -> None:
        self._update("UPDATE ionq_mcp_spend SET state = 'committed', job_id = %s WHERE id = %s",
                     (job_id, reservation_id))

    def release(self, reservation_id: int) -> bool:
        return self._update("UPDATE ionq_mcp_spend SET state = 'released' WHERE id = %s AND state = 'reserved'",
                            (reservation_id,)) > 0

    def reconcile(self, job_id: str, actual_usd: float) -> bool:
        return self._update("UPDATE ionq_mcp_spend SET actual_usd = %s WHERE job_id = %s AND state = 'committed'",
                            (float(actual_usd), job_id)) > 0

    def entry(self, job_id: str) -> LedgerEntry | None:
        with self.store.connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM ionq_mcp_spend WHERE job_id = %s ORDER BY id LIMIT 1",
                               (job_id,)).fetchone()
        return LedgerEntry(*row) if row is not None else None

    def reservations(self, *, older_than: float | None = None) -> list[LedgerEntry]:
        sql = f"SELECT {_COLUMNS} FROM ionq_mcp_spend WHERE state = 'reserved'"
        args: tuple[float, ...] = ()
        if older_than is not None:
            sql += " AND created_at < %s"
            args = (older_than,)
        with self.store.connection() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def claim_once(self, token: str, expires_at: float) -> bool:
        with self.store.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = on")  # a consent must not be usable twice after a crash
            conn.execute("DELETE FROM ionq_mcp_claimed WHERE expires_at < %s", (time.time(),))
            cursor = conn.execute("INSERT INTO ionq_mcp_claimed (token, expires_at) VALUES (%s, %s) "
                                  "ON CONFLICT (token) DO NOTHING RETURNING token", (token, float(expires_at)))
            return cursor.fetchone() is not None

    def _update(self, sql: str, args: tuple[object, ...]) -> int:
        with self.store.connection() as conn:
            return conn.execute(sql, args).rowcount


class PostgresAudit:
    """The :class:`~ionq_mcp.guard.AuditLog` as rows of ``ionq_mcp_audit`` (one INSERT per record; records
    arrive redacted and scrubbed). The whole record is kept as ``jsonb`` beside the columns used to query it."""

    def __init__(self, store: PostgresStore | str) -> None:
        self.store = PostgresStore(store) if isinstance(store, str) else store

    def __repr__(self) -> str:
        return f"PostgresAudit({redact_url(self.store.url)!r})"

    def append(self, record: AuditRecord) -> None:
        when = record.get("time")
        try:
            stamp = datetime.fromisoformat(str(when)) if when else datetime.now(tz=UTC)
        except ValueError:
            stamp = datetime.now(tz=UTC)
        with self.store.connection() as conn:
            conn.execute(
                "INSERT INTO ionq_mcp_audit (time, tool, outcome, estimated_usd, actual_usd, job_id, record) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                (stamp, str(record.get("tool", "")), str(record.get("outcome", "")),
                 _number(record.get("estimated_usd")), _number(record.get("actual_usd")),
                 None if record.get("job_id") is None else str(record.get("job_id")),
                 json.dumps(record, separators=(",", ":"), default=str)))

    def records(self, *, limit: int = 1000) -> list[dict[str, object]]:
        """The newest ``limit`` records, oldest first (as they were appended)."""
        with self.store.connection() as conn:
            rows = conn.execute("SELECT record FROM (SELECT id, record FROM ionq_mcp_audit ORDER BY id DESC "
                                "LIMIT %s) newest ORDER BY id", (limit,)).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        self.store.close()


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
