"""SQLite persistence for the sandbox: jobs, results, sessions (usage is computed from jobs).

One connection guarded by a lock: SQLite serialises writers anyway, every statement here is short, and a single
connection works the same for ``:memory:`` (tests) and a file (the CLI, which survives restarts). A file
database runs in WAL mode so a reader in another process (``sqlite3`` on the shell) never blocks the sandbox.

A job is stored as its wire document (``doc``, the JSON the API returns) plus the columns that queries filter
on, plus the original request ``payload`` (needed to run the job again after a restart).

Scaling: every query is an index lookup or an index range, so inserts, single-job reads and filtered pages
cost the same at 100 and 100,000 stored jobs. The next ``seq`` is read from the ``seq`` index (not a scan),
filtered listings use ``(project_id, status, seq)``, restart recovery ``(status, seq)``, and organization usage
reads maintained per-day aggregates plus, when grouped by job, a per-day index range of billable jobs (no
document is decoded). The indexes are
created with ``IF NOT EXISTS`` when a store opens, so a database written by an earlier version migrates on
startup.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ionq_mcp import _sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    project_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    submitter_id TEXT NOT NULL,
    session_id TEXT,
    parent_job_id TEXT,
    status TEXT NOT NULL,
    backend TEXT NOT NULL,
    type TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    cost REAL NOT NULL DEFAULT 0,
    time_us REAL NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    payload TEXT NOT NULL,
    owner TEXT,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS jobs_project ON jobs (project_id, seq);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent_job_id);
CREATE INDEX IF NOT EXISTS jobs_session ON jobs (session_id);
CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq);
CREATE INDEX IF NOT EXISTS jobs_project_status ON jobs (project_id, status, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_billed_day ON jobs (organization_id, substr(submitted_at, 1, 10), cost DESC, id,
    time_us, status, dry_run, parent_job_id) WHERE status = 'completed' AND dry_run = 0 AND parent_job_id IS NULL;
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT NOT NULL,
    variant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, variant_id, kind)
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    project_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_seq ON sessions (seq);
CREATE INDEX IF NOT EXISTS sessions_project ON sessions (project_id, seq);
"""

#: Billable usage per organization, day, project and submitter, kept current by triggers on ``jobs`` (so every
#: writer, whatever code path, keeps it right). A job is billable while it is completed, not a dry run and not
#: a child; deleting it or leaving that state takes it out again.
_BILLABLE = "{row}.status = 'completed' AND {row}.dry_run = 0 AND {row}.parent_job_id IS NULL"
_ADD_NEW = """INSERT INTO usage_daily VALUES (NEW.organization_id, substr(NEW.submitted_at, 1, 10), NEW.project_id,
                                    NEW.submitter_id, NEW.cost, 1, NEW.time_us)
    ON CONFLICT (organization_id, day, project_id, submitter_id) DO UPDATE SET amount = amount + excluded.amount,
        job_count = job_count + 1, time_us = time_us + excluded.time_us;"""
_REMOVE_OLD = """UPDATE usage_daily
    SET amount = amount - OLD.cost, job_count = job_count - 1, time_us = time_us - OLD.time_us
    WHERE organization_id = OLD.organization_id AND day = substr(OLD.submitted_at, 1, 10)
      AND project_id = OLD.project_id AND submitter_id = OLD.submitter_id;"""
#: Only changes to these columns can move usage (lease bookkeeping, for one, must not rewrite the aggregates).
_USAGE_UPDATE = ("UPDATE OF status, cost, time_us, dry_run, parent_job_id, submitted_at, organization_id, "
                 "project_id, submitter_id")
_USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_daily (
    organization_id TEXT NOT NULL,
    day TEXT NOT NULL,
    project_id TEXT NOT NULL,
    submitter_id TEXT NOT NULL,
    amount REAL NOT NULL,
    job_count INTEGER NOT NULL,
    time_us REAL NOT NULL,
    PRIMARY KEY (organization_id, day, project_id, submitter_id)
) WITHOUT ROWID;
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS usage_on_{name} AFTER {event} ON jobs WHEN {_BILLABLE.format(row=row)} BEGIN\n"
    f"    {body}\nEND;\n"
    for name, event, row, body in (("insert", "INSERT", "NEW", _ADD_NEW), ("delete", "DELETE", "OLD", _REMOVE_OLD),
                                   ("update_old", _USAGE_UPDATE, "OLD", _REMOVE_OLD),
                                   ("update_new", _USAGE_UPDATE, "NEW", _ADD_NEW)))


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (triggers contain ``;`` inside their bodies)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


#: Schema version written to ``PRAGMA user_version`` once the usage aggregates exist (backfilled on migration).
SCHEMA_VERSION = 2

#: The ``usage_daily`` column each usage grouping keys on.
_USAGE_GROUP = {"project": "project_id", "user": "submitter_id"}

UNFINISHED = ("submitted", "ready", "started")


@dataclass
class JobRow:
    """One stored job: its wire document and the bookkeeping around it. The request ``payload`` (possibly a
    large circuit) is parsed only when asked for: reading a job's status does not need it."""

    id: str
    seq: int
    project_id: str
    organization_id: str
    submitter_id: str
    status: str
    cost: float
    time_us: float
    doc: dict[str, Any]
    payload_json: str

    @functools.cached_property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_json)


class Store:
    """Thread-safe job/result/session store. ``path`` is a file path or ``":memory:"``."""

    def __init__(self, path: str = ":memory:"):
        self.path = path
        self._lock = threading.RLock()
        self._db = _sqlite.connect(path)
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, kind in (("owner", "TEXT"), ("lease_until", "REAL")):  # a database from before leases
            if column not in columns:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        self._migrate()
        self._closed = False

    def _migrate(self) -> None:
        """Create the usage aggregates (and backfill them from the stored jobs) on a database older than
        :data:`SCHEMA_VERSION`; idempotent, and safe when several processes open the same file."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (version,) = self._db.execute("PRAGMA user_version").fetchone()
                if version < SCHEMA_VERSION:
                    self._db.execute("DROP TABLE IF EXISTS usage_daily")
                    for statement in _statements(_USAGE_SCHEMA):
                        self._db.execute(statement)
                    self._db.execute(
                        "INSERT INTO usage_daily SELECT organization_id, substr(submitted_at, 1, 10) AS day, "
                        "project_id, submitter_id, SUM(cost), COUNT(*), SUM(time_us) FROM jobs WHERE status = "
                        "'completed' AND dry_run = 0 AND parent_job_id IS NULL GROUP BY organization_id, day, "
                        "project_id, submitter_id")
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ---------------------------------------------------------------------------------------------- jobs

    def insert_jobs(self, jobs: Iterable[tuple[dict[str, Any], Mapping[str, Any], Mapping[str, Any]]]) -> None:
        """Insert jobs atomically. Each item is ``(doc, payload, extra)`` where ``extra`` carries
        ``organization_id``, ``cost`` and ``time_us``."""
        with self._tx() as db:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs").fetchone()
            for doc, payload, extra in jobs:
                seq += 1
                db.execute(
                    "INSERT INTO jobs (id, seq, project_id, organization_id, submitter_id, session_id, parent_job_id,"
                    " status, backend, type, dry_run, submitted_at, cost, time_us, doc, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc["id"], seq, doc["project_id"], extra["organization_id"], doc["submitter_id"],
                     doc.get("session_id"), doc.get("parent_job_id"), doc["status"], doc["backend"], doc["type"],
                     int(bool(doc.get("dry_run"))), doc["submitted_at"], float(extra.get("cost", 0.0)),
                     float(extra.get("time_us", 0.0)), json.dumps(doc), json.dumps(payload)),
                )

    _JOB_COLUMNS = "id, seq, project_id, organization_id, submitter_id, status, cost, time_us, doc, payload"

    @staticmethod
    def _row(row: tuple[Any, ...]) -> JobRow:
        return JobRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], json.loads(row[8]), row[9])

    def get_job(self, job_id: str, project_id: str | None = None) -> JobRow | None:
        """The job, or None when it does not exist or belongs to another project."""
        rows = self._query(f"SELECT {self._JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            return None
        job = self._row(rows[0])
        if project_id is not None and job.project_id != project_id:
            return None
        return job

    def update_job(self, job_id: str, changes: Mapping[str, Any], *, only_if_status: Iterable[str] | None = None,
                   cost: float | None = None, time_us: float | None = None,
                   owner: str | None = None) -> dict[str, Any] | None:
        """Merge ``changes`` into the job's document. With ``only_if_status`` the update happens only while the
        job is in one of those statuses (an atomic compare-and-set, so a cancel and a completion cannot both
        win); with ``owner``, only while that runner holds the job's lease (see :meth:`claim_job`). Returns the
        new document, or None when nothing was updated."""
        allowed = set(only_if_status) if only_if_status is not None else None
        with self._tx() as db:
            row = db.execute("SELECT status, doc, owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or (allowed is not None and row[0] not in allowed) or (owner is not None
                                                                                   and row[2] != owner):
                return None
            doc = json.loads(row[1])
            doc.update(changes)
            sets = ["doc = ?", "status = ?"]  # the document is small: serialising it under the lock is cheap
            args: list[Any] = [json.dumps(doc), doc["status"]]
            if cost is not None:
                sets.append("cost = ?")
                args.append(cost)
            if time_us is not None:
                sets.append("time_us = ?")
                args.append(time_us)
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))
            return doc

    def list_jobs(self, project_id: str, *, ids: Sequence[str] | None = None, parent_job_id: str | None = None,
                  status: str | None = None, backends: Sequence[str] | None = None, session_id: str | None = None,
                  submitter_id: str | None = None, after_seq: int | None = None,
                  limit: int | None = None) -> list[JobRow]:
        """Jobs of one project, newest first, filtered; ``after_seq`` continues a page (seq strictly below)."""
        where = ["project_id = ?"]
        args: list[Any] = [project_id]
        for column, value in (("parent_job_id", parent_job_id), ("status", status), ("session_id", session_id),
                              ("submitter_id", submitter_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        for column, values in (("id", ids), ("backend", backends)):
            if values is not None:
                where.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
                args.extend(values)
        if after_seq is not None:
            where.append("seq < ?")
            args.append(after_seq)
        sql = f"SELECT {self._JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._row(r) for r in self._query(sql, args)]

    def count_jobs(self, project_id: str | None = None, *, status: str | None = None,
                   session_id: str | None = None, include_children: bool = True) -> int:
        """How many jobs are stored (optionally of one project, status or session)."""
        where, args = ["1"], []
        for column, value in (("project_id", project_id), ("status", status), ("session_id", session_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if not include_children:
            where.append("parent_job_id IS NULL")
        return int(self._query(f"SELECT COUNT(*) FROM jobs WHERE {' AND '.join(where)}", args)[0][0])

    def session_totals(self, session_id: str) -> tuple[int, float]:
        """(top-level non-dry-run job count, summed cost) of a session's jobs that were not refused."""
        row = self._query("SELECT COUNT(*), COALESCE(SUM(cost), 0) FROM jobs WHERE session_id = ? AND "
                          "parent_job_id IS NULL AND dry_run = 0", (session_id,))[0]
        return int(row[0]), float(row[1])

    def delete_job(self, job_id: str) -> None:
        """Delete a job, its children and every stored result."""
        with self._tx() as db:
            children = [r[0] for r in db.execute("SELECT id FROM jobs WHERE parent_job_id = ?", (job_id,))]
            for jid in (job_id, *children):
                db.execute("DELETE FROM results WHERE job_id = ?", (jid,))
                db.execute("DELETE FROM jobs WHERE id = ?", (jid,))

    def unfinished_jobs(self) -> list[JobRow]:
        """Top-level jobs not yet in a final status, oldest first (re-queued after a restart)."""
        marks = ", ".join("?" * len(UNFINISHED))
        rows = self._query(f"SELECT {self._JOB_COLUMNS} FROM jobs INDEXED BY jobs_status WHERE status IN ({marks}) "
                           f"AND parent_job_id IS NULL AND dry_run = 0 ORDER BY seq", UNFINISHED)
        return [self._row(r) for r in rows]

    # ------------------------------------------------------------------------------------- leases (runners)
    # Several processes may run jobs from one database file (an MCP server, `ionq-mcp sandbox`, the background
    # worker of one-shot CLI calls). A runner runs a job only while it holds the job's lease: claiming is one
    # UPDATE guarded by the lease, so two runners never run the same job; a lease a dead process left behind
    # expires and the job is claimed again. Times are wall-clock seconds (time.time()), shared across processes.

    _CLAIMABLE = (f"status IN ({', '.join(repr(s) for s in UNFINISHED)}) AND parent_job_id IS NULL AND dry_run = 0"
                  " AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?)")

    def claim_job(self, job_id: str, owner: str, lease_s: float, now: float) -> bool:
        """Take the lease of an unfinished job nobody (else) holds. True when ``owner`` holds it now."""
        with self._tx() as db:
            cursor = db.execute(f"UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ? AND (owner = ? OR "
                                f"({self._CLAIMABLE}))", (owner, now + lease_s, job_id, owner, now))
            return cursor.rowcount == 1

    def claim_next(self, owner: str, lease_s: float, now: float) -> JobRow | None:
        """Take the lease of the oldest unfinished top-level job whose lease is free or expired (None if none)."""
        with self._tx() as db:
            row = db.execute(f"SELECT {self._JOB_COLUMNS} FROM jobs WHERE {self._CLAIMABLE} ORDER BY seq LIMIT 1",
                             (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?", (owner, now + lease_s, row[0]))
            return self._row(row)

    def has_claimable(self, now: float) -> bool:
        """Whether some unfinished job has no live lease (nobody is running it)."""
        return bool(self._query(f"SELECT 1 FROM jobs WHERE {self._CLAIMABLE} LIMIT 1", (now,)))

    def renew_leases(self, owner: str, lease_s: float, now: float) -> int:
        """Extend every lease ``owner`` holds on an unfinished job; how many."""
        marks = ", ".join("?" * len(UNFINISHED))
        with self._tx() as db:
            return db.execute(f"UPDATE jobs SET lease_until = ? WHERE owner = ? AND status IN ({marks})",
                              (now + lease_s, owner, *UNFINISHED)).rowcount

    def release_leases(self, owner: str, *, keep: Iterable[str] = ()) -> None:
        """Give up the leases ``owner`` holds, except on the jobs in ``keep`` (a closing runner hands its queued
        jobs to another process at once; a job still simulating keeps its lease until it expires)."""
        kept = list(keep)
        marks = ", ".join("?" * len(kept))
        with self._tx() as db:
            db.execute("UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ?"
                       + (f" AND id NOT IN ({marks})" if kept else ""), (owner, *kept))

    def billed_jobs(self, organization_id: str, start: str, end: str) -> list[JobRow]:
        """Completed, non-dry-run top-level jobs of an organization submitted in [start, end) (ISO strings)."""
        rows = self._query(f"SELECT {self._JOB_COLUMNS} FROM jobs WHERE organization_id = ? AND status = "
                           f"'completed' AND dry_run = 0 AND parent_job_id IS NULL AND submitted_at >= ? AND "
                           f"submitted_at < ? ORDER BY seq", (organization_id, start, end))
        return [self._row(r) for r in rows]

    def usage_totals(self, organization_id: str, start: str, end: str, group_by: str, *, top: int = 5,
                     ) -> list[tuple[str, str, float, int, float]]:
        """Billable usage of an organization for days in [start, end) (``YYYY-MM-DD``): ``(day, group id, summed
        cost, job count, summed time_us)`` ordered by day, where groups are projects or users (``group_by``,
        read from the maintained ``usage_daily`` aggregates: a few rows per day) or jobs (``group_by="job"``: the
        ``top`` most costly jobs of each day with billable jobs, one index range each over ``jobs_billed_day``;
        no document is decoded). A job is billable when completed, not a dry run and not a child."""
        if group_by == "job":  # the top jobs of a bucket are among the top jobs of its days
            rows = []
            for (day,) in self._query("SELECT DISTINCT day FROM usage_daily WHERE organization_id = ? AND day >= ? "
                                      "AND day < ? AND job_count > 0 ORDER BY day", (organization_id, start, end)):
                rows += self._query(
                    "SELECT ?, id, cost, 1, time_us FROM jobs INDEXED BY jobs_billed_day WHERE organization_id = ? "
                    "AND substr(submitted_at, 1, 10) = ? AND status = 'completed' AND dry_run = 0 AND "
                    "parent_job_id IS NULL ORDER BY cost DESC, id LIMIT ?", (day, organization_id, day, int(top)))
        else:
            column = _USAGE_GROUP[group_by]
            rows = self._query(
                f"SELECT day, {column}, SUM(amount), SUM(job_count), SUM(time_us) FROM usage_daily "
                f"WHERE organization_id = ? AND day >= ? AND day < ? GROUP BY day, {column} "
                f"HAVING SUM(job_count) > 0 ORDER BY day", (organization_id, start, end))
        return [(r[0], r[1], float(r[2]), int(r[3]), float(r[4])) for r in rows]

    def usage_days(self, organization_id: str, start: str, end: str) -> list[tuple[str, float, int, float]]:
        """``(day, summed cost, job count, summed time_us)`` of billable jobs per day in [start, end), by day."""
        rows = self._query("SELECT day, SUM(amount), SUM(job_count), SUM(time_us) FROM usage_daily WHERE "
                           "organization_id = ? AND day >= ? AND day < ? GROUP BY day HAVING SUM(job_count) > 0 "
                           "ORDER BY day", (organization_id, start, end))
        return [(r[0], float(r[1]), int(r[2]), float(r[3])) for r in rows]

    def job_names(self, job_ids: Iterable[str]) -> dict[str, str | None]:
        """``{job id: the name in its document}`` for the given jobs (missing ones are left out)."""
        ids = list(dict.fromkeys(job_ids))
        out: dict[str, str | None] = {}
        for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            part = ids[i:i + 500]
            rows = self._query(f"SELECT id, json_extract(doc, '$.name') FROM jobs WHERE id IN "
                               f"({', '.join('?' * len(part))})", part)
            out.update({r[0]: r[1] for r in rows})
        return out

    # ------------------------------------------------------------------------------------------- results

    def put_results(self, job_id: str, items: Iterable[tuple[str, str, Any]]) -> None:
        """Store ``(variant_id, kind, data)`` results of a job; ``variant_id`` is ``""`` for the aggregate."""
        rows = [(job_id, variant_id, kind, json.dumps(data)) for variant_id, kind, data in items]  # outside the lock
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO results (job_id, variant_id, kind, data) VALUES (?, ?, ?, ?)", rows)

    def delete_results(self, job_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM results WHERE job_id = ?", (job_id,))

    def get_result(self, job_id: str, kind: str, variant_id: str = "") -> Any | None:
        rows = self._query("SELECT data FROM results WHERE job_id = ? AND variant_id = ? AND kind = ?",
                           (job_id, variant_id, kind))
        return json.loads(rows[0][0]) if rows else None

    # ------------------------------------------------------------------------------------------ sessions

    def insert_session(self, doc: dict[str, Any]) -> None:
        with self._tx() as db:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM sessions").fetchone()
            db.execute("INSERT INTO sessions (id, seq, project_id, doc) VALUES (?, ?, ?, ?)",
                       (doc["id"], seq + 1, doc["project_id"], json.dumps(doc)))

    def get_session(self, session_id: str, project_id: str | None = None) -> dict[str, Any] | None:
        rows = self._query("SELECT project_id, doc FROM sessions WHERE id = ?", (session_id,))
        if not rows or (project_id is not None and rows[0][0] != project_id):
            return None
        return json.loads(rows[0][1])

    def update_session(self, session_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        with self._tx() as db:
            row = db.execute("SELECT doc FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            doc.update(changes)
            db.execute("UPDATE sessions SET doc = ? WHERE id = ?", (json.dumps(doc), session_id))
            return doc

    def list_sessions(self, project_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT doc FROM sessions WHERE project_id = ? ORDER BY seq DESC", (project_id,))
        return [json.loads(r[0]) for r in rows]
