"""The store scales by construction: every hot query is an index lookup (checked with EXPLAIN QUERY PLAN), usage
aggregates agree with a sum over the jobs, and a database written by the earlier schema migrates on open."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from ionq_mcp.sandbox._store import Store

ORG = "org-1"


def _doc(i: int, *, project: str = "p1", status: str = "completed", day: str = "2026-01-05",
         user: str = "u1") -> dict[str, Any]:
    return {"id": str(uuid.UUID(int=i + 1)), "project_id": project, "submitter_id": user, "status": status,
            "backend": "qpu.aria-1", "type": "ionq.circuit.v1", "submitted_at": f"{day}T10:00:{i % 60:02d}Z",
            "name": f"job {i}"}


def _fill(store: Store, docs: list[dict[str, Any]], cost: float = 1.25) -> None:
    store.insert_jobs((d, {"input": {}}, {"organization_id": ORG, "cost": cost, "time_us": 10.0}) for d in docs)


def _traced_selects(store: Store, action: Any) -> list[str]:
    """The SELECT statements ``action`` makes the store run (SQLite's trace gives them with values bound)."""
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    try:
        action()
    finally:
        store._db.set_trace_callback(None)
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]


def _plan(store: Store, sql: str) -> str:
    return " | ".join(str(r[-1]) for r in store._db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())


def test_hot_queries_use_indexes_not_scans() -> None:
    store = Store()
    _fill(store, [_doc(i) for i in range(50)])
    job_id = _doc(3)["id"]
    actions = {
        "insert": lambda: _fill(store, [_doc(999)]),
        "get": lambda: store.get_job(job_id),
        "status page": lambda: store.list_jobs("p1", status="failed", limit=26),
        "page after": lambda: store.list_jobs("p1", after_seq=20, limit=26),
        "unfinished": store.unfinished_jobs,
        "session": lambda: store.insert_session({"id": "s1", "project_id": "p1"}),
        "usage": lambda: store.usage_totals(ORG, "2026-01-01", "2026-02-01", "project"),
        "usage by job": lambda: store.usage_totals(ORG, "2026-01-01", "2026-02-01", "job"),
    }
    for name, action in actions.items():
        selects = _traced_selects(store, action)
        assert selects, name
        for sql in selects:
            plan = _plan(store, sql)
            tables = [step for step in plan.split(" | ") if "SCAN" in step and "subquery" not in step]
            assert "SEARCH" in plan and not tables, (name, sql, plan)  # subquery steps read a few rows
            if name == "usage":
                assert "usage_daily USING PRIMARY KEY" in plan, plan
            if name == "usage by job":
                assert "usage_daily" in plan or "INDEX jobs_billed_day" in plan, plan


def test_usage_totals_match_a_sum_over_the_jobs() -> None:
    store = Store()
    docs = [_doc(i, project=f"p{i % 3}", day=f"2026-01-{1 + i % 7:02d}", user=f"u{i % 2}") for i in range(60)]
    docs += [_doc(100 + i, status="failed") for i in range(5)]  # never billed
    _fill(store, docs)
    children = [dict(_doc(200 + i), parent_job_id=docs[0]["id"]) for i in range(3)]  # counted with the parent
    _fill(store, children)
    totals = store.usage_totals(ORG, "2026-01-02", "2026-01-06", "project")
    expected: dict[tuple[str, str], int] = {}
    for d in docs[:60]:
        day = d["submitted_at"][:10]
        if "2026-01-02" <= day < "2026-01-06":
            expected[day, d["project_id"]] = expected.get((day, d["project_id"]), 0) + 1
    assert {(day, g): n for day, g, _, n, _ in totals} == expected
    assert all(amount == pytest.approx(1.25 * n) and t == pytest.approx(10.0 * n) for _, _, amount, n, t in totals)
    assert [t[0] for t in totals] == sorted(t[0] for t in totals)
    names = store.job_names([docs[3]["id"], "missing"])
    assert names == {docs[3]["id"]: "job 3"}


def _sums_from_jobs(store: Store, start: str, end: str) -> dict[tuple[str, str], tuple[float, int, float]]:
    rows = store._db.execute(
        "SELECT substr(submitted_at, 1, 10) AS day, project_id, SUM(cost), COUNT(*), SUM(time_us) FROM jobs "
        "WHERE status = 'completed' AND dry_run = 0 AND parent_job_id IS NULL AND submitted_at >= ? AND "
        "submitted_at < ? GROUP BY day, project_id", (start, end)).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def test_maintained_aggregates_follow_status_changes_costs_and_deletes() -> None:
    store = Store()
    docs = [_doc(i, project=f"p{i % 2}", status="submitted", day=f"2026-02-0{1 + i % 3}") for i in range(30)]
    _fill(store, docs, cost=0.0)
    assert store.usage_totals(ORG, "2026-02-01", "2026-03-01", "project") == []
    for i, d in enumerate(docs):
        if i % 5:  # most complete and get billed; some are then deleted, one fails after all
            store.update_job(d["id"], {"status": "completed"}, cost=1.5 + i, time_us=100.0 * i)
    store.update_job(docs[1]["id"], {"status": "failed"})
    for d in docs[2:6]:
        store.delete_job(d["id"])
    got = {(day, g): (amount, n, t) for day, g, amount, n, t in
           store.usage_totals(ORG, "2026-02-01", "2026-03-01", "project")}
    want = _sums_from_jobs(store, "2026-02-01", "2026-03-01")
    assert got.keys() == want.keys() and want
    for key, (amount, n, t) in want.items():
        assert got[key][1] == n and got[key][0] == pytest.approx(amount) and got[key][2] == pytest.approx(t)


_OLD_SCHEMA = """
CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, project_id TEXT NOT NULL,
    organization_id TEXT NOT NULL, submitter_id TEXT NOT NULL, session_id TEXT, parent_job_id TEXT,
    status TEXT NOT NULL, backend TEXT NOT NULL, type TEXT NOT NULL, dry_run INTEGER NOT NULL,
    submitted_at TEXT NOT NULL, cost REAL NOT NULL DEFAULT 0, time_us REAL NOT NULL DEFAULT 0, doc TEXT NOT NULL,
    payload TEXT NOT NULL);
CREATE INDEX jobs_project ON jobs (project_id, seq);
CREATE INDEX jobs_parent ON jobs (parent_job_id);
CREATE INDEX jobs_session ON jobs (session_id);
CREATE TABLE results (job_id TEXT NOT NULL, variant_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (job_id, variant_id, kind));
CREATE TABLE sessions (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, project_id TEXT NOT NULL, doc TEXT NOT NULL);
"""


def test_a_database_from_the_earlier_schema_opens_and_gains_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(_OLD_SCHEMA)
    doc = _doc(1)
    old.execute("INSERT INTO jobs VALUES (?, 7, 'p1', ?, 'u1', NULL, NULL, 'completed', 'qpu.aria-1', "
                "'ionq.circuit.v1', 0, ?, 2.5, 10, ?, '{}')", (doc["id"], ORG, doc["submitted_at"], json.dumps(doc)))
    old.commit()
    old.close()
    store = Store(str(path))
    try:
        indexes = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"jobs_seq", "jobs_project_status", "jobs_status", "jobs_billed_day", "sessions_seq"} <= indexes
        assert store._db.execute("PRAGMA user_version").fetchone()[0] >= 2
        # the aggregates were backfilled from the job already there
        assert store.usage_totals(ORG, "2026-01-01", "2026-02-01", "project") == [("2026-01-05", "p1", 2.5, 1, 10.0)]
        row = store.get_job(doc["id"])
        assert row is not None and row.seq == 7 and row.doc["name"] == "job 1"
        _fill(store, [_doc(2)])
        assert store.get_job(_doc(2)["id"]).seq == 8  # type: ignore[union-attr]  # seq continues
        assert store.usage_totals(ORG, "2026-01-01", "2026-02-01", "user") == [("2026-01-05", "u1", 3.75, 2, 20.0)]
    finally:
        store.close()
