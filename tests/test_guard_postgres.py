"""The spend ledger and audit trail in PostgreSQL, over a real connection to a scratch database.

The same ledger contract runs against SQLite and PostgreSQL; then what only the shared database must do:
exact budgets under concurrent reservations from many processes, an append-only audit table, a refusal (not a
crash) while the database is down and recovery when it returns, and reconciliation of abandoned reservations.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from ionq_mcp.guard import (
    DAY_SECONDS,
    Guard,
    GuardPolicy,
    GuardRefused,
    LedgerUnavailable,
    PostgresAudit,
    PostgresLedger,
    PostgresStore,
    reconcile_reservations,
)
from ionq_mcp.guard._postgres import MIGRATIONS, migrate
from tests._postgres import set_connections
from tests.test_guard import race_reservations

QPU = "qpu.aria-1"


def pg_guard(url: str, tmp_path: Path | None = None, **kwargs) -> Guard:
    policy = kwargs.pop("policy", GuardPolicy(allow_qpu=True, max_job_cost_usd=5, daily_budget_usd=10))
    return Guard(policy, url, url, **kwargs)


@pytest.fixture(params=["sqlite", "postgres"])
def any_guard(request, tmp_path):
    """A guard on either ledger: the contract tests must pass on both."""
    policy = GuardPolicy(allow_qpu=True, max_job_cost_usd=5, daily_budget_usd=10)
    if request.param == "sqlite":
        guard = Guard(policy, tmp_path / "ledger.sqlite3", tmp_path / "audit.jsonl")
        yield guard
    else:
        url = request.getfixturevalue("pg_url")
        guard = Guard(policy, url, url)
        yield guard
    guard.close()


# ---- the ledger contract, on both stores ---------------------------------------------------------------------


def test_reserve_commit_release_reconcile(any_guard):
    g = any_guard
    a = g.reserve("create_job", QPU, 4.0, idempotency_key="key-a")
    b = g.reserve("create_job", QPU, 3.0, idempotency_key="key-b")
    assert g.spent_usd() == pytest.approx(7.0)
    with pytest.raises(GuardRefused, match=r"\$7\.00 is already spent or reserved"):
        g.reserve("create_job", QPU, 3.5)
    g.commit(a, "job-a")
    assert g.release(b) is True
    assert g.release(b) is False  # already settled
    assert g.spent_usd() == pytest.approx(4.0)
    assert g.reconcile("job-a", 2.25) is True
    assert g.reconcile("job-unknown", 1.0) is False
    entry = g.ledger_entry("job-a")
    assert entry is not None
    assert (entry["state"], entry["estimated_usd"], entry["actual_usd"], entry["idempotency_key"]) == \
        ("committed", 4.0, 2.25, "key-a")
    assert entry["owner"] == g.owner and entry["expires_at"] == pytest.approx(entry["created_at"] + g.lease_s)
    assert g.spent_usd() == pytest.approx(2.25)


def test_budget_that_fits_exactly_n_jobs_takes_exactly_n(any_guard):
    taken = 0
    for _ in range(120):
        try:
            any_guard.reserve("create_job", QPU, 0.1)
            taken += 1
        except GuardRefused:
            pass
    assert taken == 100  # 10 USD / 0.1 USD, no float drift


def test_rolling_window_forgets_old_spend(any_guard):
    now = [1_000_000.0]
    any_guard.clock = lambda: now[0]
    any_guard.reserve("create_job", QPU, 5.0)
    any_guard.reserve("create_job", QPU, 5.0)
    with pytest.raises(GuardRefused):
        any_guard.reserve("create_job", QPU, 1.0)
    now[0] += DAY_SECONDS + 1
    assert any_guard.spent_usd() == 0.0
    any_guard.reserve("create_job", QPU, 5.0)


def test_claim_once_is_single_use(any_guard):
    assert any_guard.claim_once("nonce-1", 2e9) is True
    assert any_guard.claim_once("nonce-1", 2e9) is False
    assert any_guard.claim_once("nonce-2", 2e9) is True


def test_uncertain_and_abandoned_reservations(any_guard):
    now = [2_000_000.0]
    any_guard.clock = lambda: now[0]
    live = any_guard.reserve("create_job", QPU, 1.0, idempotency_key="live")
    now[0] += 1
    assert any_guard.abandoned_reservations() == []  # its owner (this process) is alive and inside the lease
    assert [e.id for e in any_guard.uncertain_reservations()] == [live.id]
    now[0] += any_guard.lease_s + 1
    assert [e.idempotency_key for e in any_guard.abandoned_reservations()] == ["live"]


def test_reconcile_commits_found_releases_absent_and_leaves_unknown(any_guard):
    g = any_guard
    now = [3_000_000.0]
    g.clock = lambda: now[0]
    found = g.reserve("create_job", QPU, 2.0, idempotency_key="exists")
    absent = g.reserve("create_job", QPU, 3.0, idempotency_key="never-created")
    unknown = g.reserve("create_job", QPU, 1.0, idempotency_key="lookup-breaks")
    keyless = g.reserve("create_job", QPU, 0.5)
    now[0] += g.lease_s + 1
    seen = []

    async def lookup(key: str, reserved_at: float) -> str | None:
        seen.append((key, reserved_at))
        if key == "lookup-breaks":
            raise RuntimeError("listing failed")
        return "job-123" if key == "exists" else None

    settled = {s.reservation_id: s for s in anyio.run(reconcile_reservations, g, lookup)}
    assert settled[found.id].outcome == "committed" and settled[found.id].job_id == "job-123"
    assert settled[absent.id].outcome == "released"
    assert settled[unknown.id].outcome == "unresolved" and "listing failed" in settled[unknown.id].detail
    assert settled[keyless.id].outcome == "unresolved" and "no idempotency key" in settled[keyless.id].detail
    assert seen[0] == ("exists", 3_000_000.0)
    assert g.ledger_entry("job-123")["state"] == "committed"
    assert g.spent_usd() == pytest.approx(2.0 + 1.0 + 0.5)  # the unresolved stay counted (fail closed)
    # a second pass (another replica) finds nothing new to settle for what was settled
    again = {s.reservation_id: s.outcome for s in anyio.run(reconcile_reservations, g, lookup)}
    assert set(again) == {unknown.id, keyless.id}


# ---- PostgreSQL only -----------------------------------------------------------------------------------------


def test_schema_is_created_once_and_migration_is_idempotent(pg_url):
    import psycopg

    results = []

    def start():
        with psycopg.connect(pg_url, autocommit=True) as conn:
            results.append(migrate(conn))

    import threading

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [len(MIGRATIONS)] * 4
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"ionq_mcp_schema", "ionq_mcp_spend", "ionq_mcp_audit", "ionq_mcp_claimed"} <= tables
        assert conn.execute("SELECT version FROM ionq_mcp_schema").fetchone()[0] == len(MIGRATIONS)


def test_concurrent_processes_never_overspend(pg_url):
    """6 processes x 8 attempts at $10 against a $30 budget, all released at once: exactly 3 reservations."""
    taken = race_reservations("fork", pg_url, pg_url, 8, 6)
    assert sum(taken) == 3, taken
    guard = pg_guard(pg_url)
    assert guard.spent_usd() == pytest.approx(30.0)
    guard.close()


def test_audit_table_is_append_only_with_the_json_lines_fields(pg_url, tmp_path):
    import psycopg

    def scrub(text: str) -> str:
        return text.replace("sk-secret-123", "***")

    policy = GuardPolicy(allow_qpu=True)
    pg = Guard(policy, pg_url, pg_url, scrub=scrub, clock=lambda: 1_700_000_000.0)
    js = Guard(policy, tmp_path / "l.sqlite3", tmp_path / "audit.jsonl", scrub=scrub, clock=lambda: 1_700_000_000.0)
    arguments = {"backend": QPU, "shots": 100, "metadata": {"note": "sk-secret-123"},
                 "input": {"qubits": 1, "circuit": [{"gate": "h", "target": 0}]}}
    for g in (pg, js):
        g.audit("create_job", arguments, "submitted", estimated_usd=1.5, job_id="job-1", detail="ok")
    stored = PostgresAudit(pg_url).records()
    line = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[0])
    assert stored == [line]
    assert "sk-secret-123" not in json.dumps(stored)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in ("UPDATE ionq_mcp_audit SET outcome = 'x'", "DELETE FROM ionq_mcp_audit",
                    "TRUNCATE ionq_mcp_audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*), min(outcome), min(job_id) FROM ionq_mcp_audit").fetchone() == \
            (1, "submitted", "job-1")
    pg.close()


def test_database_down_refuses_paid_work_then_recovers(pg_url):
    guard = pg_guard(pg_url)
    guard.reserve("create_job", QPU, 1.0)
    set_connections(pg_url, False)
    try:
        decision = guard.check_job(QPU, 1.0)
        assert decision.action == "refuse"
        assert "spend ledger cannot be reached" in decision.message and "Reads and simulator jobs" in decision.message
        with pytest.raises(GuardRefused, match="spend ledger cannot be reached"):
            guard.reserve("create_job", QPU, 1.0)
        assert guard.check_job("simulator").allowed  # free work needs no ledger
        assert guard.ledger_entry("job-x") is None  # reads that consult the ledger still answer
        guard.audit("create_job", {"backend": QPU}, "refused")  # logged, not raised
        with pytest.raises(LedgerUnavailable):
            guard.check_ready()
    finally:
        set_connections(pg_url, True)
    guard.check_ready()
    guard.reserve("create_job", QPU, 1.0)
    assert guard.spent_usd() == pytest.approx(2.0)
    guard.close()


def test_unreachable_url_never_shows_its_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ledger = PostgresLedger(f"postgresql://app:hunter2-secret@127.0.0.1:{port}/db")
    with pytest.raises(LedgerUnavailable) as error:
        ledger.spent_usd(0.0)
    assert "hunter2-secret" not in str(error.value) and "app:***@127.0.0.1" in str(error.value)
    assert "hunter2-secret" not in repr(ledger)


def test_store_pool_reuses_connections(pg_url):
    store = PostgresStore(pg_url, max_connections=2)
    ledger = PostgresLedger(store)
    for _ in range(20):
        ledger.spent_usd(0.0)
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND application_name = 'ionq-mcp'").fetchone()[0]
    assert count == 1
    store.close()



def test_a_dead_owner_inside_its_lease_is_not_abandoned(pg_url):
    """Its request may still be in flight upstream: settling now could release money for a job about to exist."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    now = [5_000_000.0]
    dead = pg_guard(pg_url, owner=f"{socket.gethostname()}:{child.pid}", clock=lambda: now[0], lease_s=30)
    dead.reserve("create_job", QPU, 1.0, idempotency_key="dead-owner")
    other = pg_guard(pg_url, clock=lambda: now[0])
    now[0] += 29
    assert other.abandoned_reservations() == []
    now[0] += 2
    assert [e.idempotency_key for e in other.abandoned_reservations()] == ["dead-owner"]
    for g in (dead, other):
        g.close()
