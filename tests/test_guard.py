"""Spend guard: policy decisions, the persistent ledger, concurrency across threads and processes, the audit log."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from ionq_mcp.guard import (
    DAY_SECONDS,
    Guard,
    GuardConfigError,
    GuardPolicy,
    GuardRefused,
    add_guard_arguments,
    policy_from_args,
    redact_arguments,
)

QPU = "qpu.aria-1"


def make_guard(tmp_path: Path, clock=None, **policy) -> Guard:
    kwargs = {"clock": clock} if clock else {}
    return Guard(GuardPolicy(**{"allow_qpu": True, **policy}), tmp_path / "ledger.sqlite3",
                 tmp_path / "audit.jsonl", **kwargs)


# ---- policy from the environment ----------------------------------------------------------------------------


def test_policy_defaults_are_safe():
    policy = GuardPolicy.from_env({})
    assert policy.allow_qpu is False
    assert policy.max_job_cost_usd > 0 and policy.daily_budget_usd >= policy.max_job_cost_usd
    assert policy.bulk_confirm_above >= 1


def test_policy_reads_every_variable():
    policy = GuardPolicy.from_env({
        "IONQ_MCP_ALLOW_QPU": "yes", "IONQ_MCP_MAX_JOB_COST_USD": "12.5", "IONQ_MCP_DAILY_BUDGET_USD": "40",
        "IONQ_MCP_CONFIRM_ABOVE_USD": "3", "IONQ_MCP_BULK_CONFIRM_ABOVE": "7"})
    assert policy == GuardPolicy(True, 12.5, 40.0, 3.0, 7)


def test_flags_override_environment():
    policy = GuardPolicy.from_env({"IONQ_MCP_ALLOW_QPU": "0"}, allow_qpu=True, max_job_cost_usd=None)
    assert policy.allow_qpu is True
    assert policy.max_job_cost_usd == GuardPolicy().max_job_cost_usd


def test_command_line_flags():
    import argparse

    parser = argparse.ArgumentParser()
    add_guard_arguments(parser)
    env = {"IONQ_MCP_DAILY_BUDGET_USD": "70", "IONQ_MCP_MAX_JOB_COST_USD": "9"}
    assert policy_from_args(parser.parse_args([]), env) == GuardPolicy(daily_budget_usd=70, max_job_cost_usd=9)
    args = parser.parse_args(["--allow-qpu", "--max-job-cost", "30", "--confirm-above", "5",
                              "--bulk-confirm-above", "2"])
    assert policy_from_args(args, env) == GuardPolicy(True, 30, 70, 5, 2)


@pytest.mark.parametrize(("var", "value"), [
    ("IONQ_MCP_ALLOW_QPU", "maybe"),
    ("IONQ_MCP_MAX_JOB_COST_USD", "ten"),
    ("IONQ_MCP_DAILY_BUDGET_USD", "-1"),
    ("IONQ_MCP_CONFIRM_ABOVE_USD", "inf"),
    ("IONQ_MCP_BULK_CONFIRM_ABOVE", "2.5"),
])
def test_bad_environment_values_name_the_variable(var, value):
    with pytest.raises(GuardConfigError) as error:
        GuardPolicy.from_env({var: value})
    assert var in str(error.value) and value in str(error.value)


# ---- decisions ----------------------------------------------------------------------------------------------


def test_simulator_is_always_allowed_without_estimate(tmp_path):
    guard = Guard(GuardPolicy(allow_qpu=False), tmp_path / "l.sqlite3", tmp_path / "a.jsonl")
    assert guard.check_job("simulator").action == "allow"
    assert not (tmp_path / "l.sqlite3").exists()  # the simulator path never touches the ledger


def test_qpu_refused_by_default_with_what_to_change(tmp_path):
    guard = Guard(GuardPolicy(), tmp_path / "l.sqlite3", tmp_path / "a.jsonl")
    decision = guard.check_job(QPU, 1.0)
    assert decision.action == "refuse"
    assert "IONQ_MCP_ALLOW_QPU=1" in decision.message and "--allow-qpu" in decision.message


def test_qpu_needs_an_estimate(tmp_path):
    with pytest.raises(ValueError, match="estimate"):
        make_guard(tmp_path).check_job(QPU, None)


def test_per_job_cap_refusal_names_the_numbers(tmp_path):
    decision = make_guard(tmp_path, max_job_cost_usd=20, confirm_above_usd=100).check_job(QPU, 31.5)
    assert decision.action == "refuse"
    assert "$31.50" in decision.message and "$20.00" in decision.message
    assert "IONQ_MCP_MAX_JOB_COST_USD" in decision.message


def test_confirmation_threshold(tmp_path):
    guard = make_guard(tmp_path, max_job_cost_usd=50, confirm_above_usd=10)
    assert guard.check_job(QPU, 10.0).action == "allow"
    decision = guard.check_job(QPU, 10.01)
    assert decision.action == "confirm" and "$10.01" in decision.message


def test_budget_refusal_counts_reservations(tmp_path):
    guard = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=30, confirm_above_usd=100)
    guard.commit(guard.reserve("create_job", QPU, 20.0), "job-1")
    decision = guard.check_job(QPU, 15.0)
    assert decision.action == "refuse"
    assert "$30.00" in decision.message and "$20.00" in decision.message and "$10.00" in decision.message
    assert guard.check_job(QPU, 10.0).action == "allow"


def test_budget_that_fits_exactly_n_jobs_takes_exactly_n(tmp_path):
    estimate = 12.4166 + 0.000975 * 100  # not a binary-exact number
    guard = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=5 * estimate)
    for i in range(5):
        guard.commit(guard.reserve("run_circuit", QPU, estimate), f"job-{i}")
    with pytest.raises(GuardRefused, match="daily budget"):
        guard.reserve("run_circuit", QPU, estimate)


def test_release_returns_money_and_reconcile_replaces_estimate(tmp_path):
    guard = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=50)
    failed = guard.reserve("create_job", QPU, 30.0)
    guard.release(failed)
    assert guard.spent_usd() == 0
    ok = guard.reserve("create_job", QPU, 30.0)
    guard.commit(ok, "job-ok")
    assert guard.spent_usd() == pytest.approx(30.0)
    assert guard.reconcile("job-ok", 12.0) is True
    assert guard.spent_usd() == pytest.approx(12.0)
    assert guard.reconcile("unknown-job", 1.0) is False
    assert guard.ledger_entry("job-ok")["actual_usd"] == 12.0


def test_rolling_window_forgets_old_spending(tmp_path):
    now = [1_000_000.0]
    guard = make_guard(tmp_path, clock=lambda: now[0], max_job_cost_usd=50, daily_budget_usd=50)
    guard.commit(guard.reserve("create_job", QPU, 40.0), "old")
    with pytest.raises(GuardRefused):
        guard.reserve("create_job", QPU, 20.0)
    now[0] += DAY_SECONDS + 1
    guard.commit(guard.reserve("create_job", QPU, 20.0), "new")
    assert guard.spent_usd() == pytest.approx(20.0)


def test_session_cost_limit_defaulted_and_capped(tmp_path):
    guard = make_guard(tmp_path, max_job_cost_usd=25, confirm_above_usd=100)
    decision = guard.check_session(QPU, None)
    assert decision.action == "allow"
    assert decision.settings == {"cost_limit": {"unit": "usd", "value": 25}}
    kept = guard.check_session(QPU, {"cost_limit": {"unit": "usd", "value": 10}, "job_count_limit": 3})
    assert kept.settings == {"cost_limit": {"unit": "usd", "value": 10}, "job_count_limit": 3}
    refused = guard.check_session(QPU, {"cost_limit": {"unit": "usd", "value": 30}})
    assert refused.action == "refuse" and "$30.00" in refused.message and "$25.00" in refused.message
    assert guard.check_session("simulator", None).settings == {}
    assert Guard(GuardPolicy(), tmp_path / "x", tmp_path / "y").check_session(QPU, None).action == "refuse"


def test_session_above_confirmation_threshold_asks(tmp_path):
    decision = make_guard(tmp_path, max_job_cost_usd=25, confirm_above_usd=5).check_session(QPU, None)
    assert decision.action == "confirm" and "$25.00" in decision.message


def test_bulk_confirmation(tmp_path):
    guard = make_guard(tmp_path, bulk_confirm_above=3)
    assert guard.check_bulk("cancel_many_jobs", 3).action == "allow"
    decision = guard.check_bulk("delete_jobs", 4)
    assert decision.action == "confirm" and "4" in decision.message


# ---- persistence and concurrency ----------------------------------------------------------------------------


def test_ledger_survives_restart(tmp_path):
    first = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=50)
    first.commit(first.reserve("create_job", QPU, 35.0), "job-a")
    first.close()
    second = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=50)
    assert second.spent_usd() == pytest.approx(35.0)
    with pytest.raises(GuardRefused, match=r"\$35\.00"):
        second.reserve("create_job", QPU, 20.0)


def test_threads_never_overspend(tmp_path):
    budget_jobs, attempts = 5, 40
    guards = [make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=10.0 * budget_jobs) for _ in range(4)]
    shared = guards[0]
    granted: list[int] = []
    refused: list[str] = []
    barrier = threading.Barrier(8)

    def worker(guard: Guard) -> None:
        barrier.wait()
        for _ in range(attempts // 8):
            try:
                guard.reserve("run_circuit", QPU, 10.0)
                granted.append(1)
            except GuardRefused as error:
                refused.append(str(error))

    # half the threads share one Guard (one connection + lock), half use their own connections
    threads = [threading.Thread(target=worker, args=(shared if i % 2 else guards[1 + i % 3],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == budget_jobs
    assert len(refused) == attempts - budget_jobs
    assert all("$50.00" in message for message in refused)
    assert shared.spent_usd() == pytest.approx(10.0 * budget_jobs)


def _reserve_in_process(ledger: str, audit: str, attempts: int, start, results) -> None:
    guard = Guard(GuardPolicy(allow_qpu=True, max_job_cost_usd=50, daily_budget_usd=30), ledger, audit)
    start.wait()
    ok = 0
    for _ in range(attempts):
        try:
            guard.reserve("create_job", QPU, 10.0)
            ok += 1
        except GuardRefused:
            pass
    results.put(ok)


def test_processes_never_overspend(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_reserve_in_process,
                         args=(str(tmp_path / "ledger.sqlite3"), str(tmp_path / "audit.jsonl"), 6, start, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    granted = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(granted) == 3
    guard = make_guard(tmp_path, max_job_cost_usd=50, daily_budget_usd=30)
    assert guard.spent_usd() == pytest.approx(30.0)


# ---- audit log ----------------------------------------------------------------------------------------------


def test_audit_lines_are_complete_and_redacted(tmp_path):
    secret = "sk-planted-SECRET-1234567890"
    guard = make_guard(tmp_path)
    payload = {
        "backend": QPU, "shots": 100, "name": "bell",
        "input": {"qubits": 2, "gateset": "qis", "circuit": [{"gate": "h", "target": 0},
                                                              {"gate": "cnot", "control": 0, "target": 1}]},
        "metadata": {"api_key": secret, "note": f"apiKey {secret}", "Authorization": secret},
        "token": secret,
    }
    guard.audit("create_job", payload, "submitted", estimated_usd=12.6, job_id="job-1")
    guard.audit("delete_jobs", {"ids": ["a", "b"]}, "declined")
    guard.audit("create_job", payload, "reconciled", actual_usd=12.5, job_id="job-1")
    text = (tmp_path / "audit.jsonl").read_text()
    assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(r["tool"], r["outcome"]) for r in lines] == [
        ("create_job", "submitted"), ("delete_jobs", "declined"), ("create_job", "reconciled")]
    first = lines[0]
    assert first["estimated_usd"] == 12.6 and first["job_id"] == "job-1" and first["time"].endswith("+00:00")
    assert first["arguments"]["input"] == {"gates": 2, "qubits": 2, "gateset": "qis"}  # circuit summarised
    assert first["arguments"]["backend"] == QPU
    assert lines[1]["arguments"]["ids"] == ["a", "b"]
    assert lines[2]["actual_usd"] == 12.5


def test_a_bare_key_under_an_innocent_name_is_scrubbed_from_the_audit_log(tmp_path):
    secret = "sk-planted-SECRET-1234567890"
    guard = Guard(GuardPolicy(), tmp_path / "ledger.sqlite3", tmp_path / "audit.jsonl",
                  scrub=lambda text: text.replace(secret, "***"))
    guard.audit("create_job", {"backend": QPU, "name": secret, "metadata": {"note": f"my key is {secret}"}},
                "failed", detail=f"echoed {secret}")
    text = (tmp_path / "audit.jsonl").read_text()
    assert secret not in text
    line = json.loads(text)
    assert line["arguments"]["metadata"]["note"] == "my key is ***" and line["detail"] == "echoed ***"
    assert secret not in repr(guard)


def test_redaction_summarises_multi_circuit_jobs():
    redacted = redact_arguments({"input": {"gateset": "native", "circuits": [
        {"name": "a", "circuit": [{"gate": "gpi", "phase": 0, "target": 0}]},
        {"name": "b", "qubits": 3, "circuit": []}]}})
    assert redacted["input"] == {"gateset": "native", "circuits": [{"gates": 1, "name": "a"},
                                                                   {"gates": 0, "name": "b", "qubits": 3}]}


# ---- ledger interface and migration ---------------------------------------------------------------------------


def test_ledger_file_from_before_the_owner_columns_opens_and_keeps_its_rows(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE spend (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, tool TEXT NOT NULL,
            backend TEXT NOT NULL, state TEXT NOT NULL, estimated_usd REAL NOT NULL, actual_usd REAL, job_id TEXT);
        INSERT INTO spend (created_at, tool, backend, state, estimated_usd, job_id)
            VALUES (strftime('%s','now'), 'create_job', 'qpu.aria-1', 'committed', 12.5, 'old-job');
    """)
    db.commit()
    db.close()
    guard = Guard(GuardPolicy(allow_qpu=True), path, tmp_path / "a.jsonl")
    assert guard.spent_usd() == pytest.approx(12.5)
    assert guard.ledger_entry("old-job")["idempotency_key"] is None
    reservation = guard.reserve("create_job", QPU, 3.0, idempotency_key="tok-1")
    pending = guard.uncertain_reservations()
    assert [(e.id, e.idempotency_key, e.owner) for e in pending] == [(reservation.id, "tok-1", guard.owner)]
    guard.commit(reservation, "new-job")
    assert guard.uncertain_reservations() == []
    guard.close()


def test_uncertain_reservations_respect_their_age(tmp_path):
    now = [1_000_000.0]
    guard = make_guard(tmp_path, clock=lambda: now[0])
    guard.reserve("create_job", QPU, 2.0)
    assert guard.uncertain_reservations(older_than_s=60) == []
    now[0] += 61
    assert len(guard.uncertain_reservations(older_than_s=60)) == 1


def test_release_never_reopens_a_committed_reservation(tmp_path):
    guard = make_guard(tmp_path)
    reservation = guard.reserve("create_job", QPU, 4.0)
    guard.commit(reservation, "job-1")
    guard.release(reservation)
    assert guard.ledger_entry("job-1")["state"] == "committed"
    assert guard.spent_usd() == pytest.approx(4.0)


def test_scrub_that_breaks_the_json_withholds_the_arguments(tmp_path):
    secret = '":'
    guard = Guard(GuardPolicy(), tmp_path / "l.sqlite3", tmp_path / "a.jsonl",
                  scrub=lambda text: text.replace(secret, "***"))
    guard.audit("create_job", {"metadata": {"note": "x"}}, "submitted", job_id="j")
    (line,) = (tmp_path / "a.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["outcome"] == "submitted" and "arguments" not in record and "note" not in line
