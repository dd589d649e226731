"""``ionq-mcp tools | call | demo`` as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from ionq_mcp.catalog import load_catalog
from ionq_mcp.server import ServerConfig, build_server
from ionq_mcp.server._cli import tool_sizes

from .conftest import BELL_JOB


def _run(tmp_path, *args: str, timeout: float = 120, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    env["IONQ_MCP_SANDBOX_WORKER_IDLE_S"] = "2"  # a worker a `call` starts does not outlive the tests by long
    env.update(extra_env)
    return subprocess.run([sys.executable, "-m", "ionq_mcp.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_tools_lists_every_tool_with_its_size_and_the_total(tmp_path):
    done = _run(tmp_path, "tools")
    assert done.returncode == 0, done.stderr
    for op in load_catalog().operations:
        assert re.search(rf"^{op.name}\s", done.stdout, re.MULTILINE), op.name
    server = build_server(ServerConfig(force_sandbox=True, state_dir=tmp_path))
    model_total = sum(tool_sizes(tool)["model"] for tool in server.tools)
    total_line = next(line for line in done.stdout.splitlines() if re.match(r"^\d+ tools", line))
    assert int(total_line.split()[0]) == len(server.tools)
    assert int(total_line.split()[2]) == model_total


def test_tools_honours_the_selection_flags(tmp_path):
    done = _run(tmp_path, "tools", "--toolsets", "usage", "--json")
    assert done.returncode == 0, done.stderr
    assert {tool["name"] for tool in json.loads(done.stdout)} == {"whoami", "get_organization_usage"}
    unknown = _run(tmp_path, "tools", "--toolsets", "nope")
    assert unknown.returncode == 2 and "backends" in unknown.stderr


def test_call_prints_the_structured_result(tmp_path):
    done = _run(tmp_path, "call", "get_backend", '{"backend": "simulator"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["qubits"] == 29


def test_call_validates_and_exits_1_on_error(tmp_path):
    bad = _run(tmp_path, "call", "get_backend", '{"backend": 3}')
    assert bad.returncode == 1
    assert "backend" in bad.stderr and "Nothing was sent" in bad.stderr
    not_json = _run(tmp_path, "call", "get_backend", "{backend: simulator}")
    assert not_json.returncode == 2 and "JSON" in not_json.stderr


def test_calls_share_the_sandbox_state_across_processes(tmp_path):
    created = _run(tmp_path, "call", "create_job", json.dumps(BELL_JOB))
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    fetched = _run(tmp_path, "call", "get_job", json.dumps({"job_id": job_id}))
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["id"] == job_id


@pytest.mark.slow
def test_demo_runs_a_real_session_and_prints_the_bell_histogram(tmp_path):
    done = _run(tmp_path, "demo", "--shots", "500")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"tools/list: \d+ tools", out)
    bars = dict(re.findall(r"\|([01]{2})>\s+([0-9.]+)", out))
    assert bars.keys() == {"00", "11"}
    assert all(abs(float(p) - 0.5) < 1e-9 for p in bars.values())  # ideal Bell state: half and half
    assert "Estimate" in out and "usd" in out.lower()


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def test_tools_json_into_a_pipe_closed_early_exits_quietly(tmp_path):
    # `ionq-mcp tools --json | head -1`: the reader leaves after one line.
    proc = subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "tools", "--json"], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert proc.stdout.read(1) == b"["
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""


def test_serve_on_a_terminal_says_what_it_is_in_one_stderr_line(tmp_path):
    import pty
    import select

    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox"], env=_env(tmp_path),
                            stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        line = proc.stderr.readline().decode() if ready else ""
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.close(controller)
        os.close(terminal)
    assert "MCP" in line and "stdin/stdout" in line and "ionq-mcp demo" in line
    assert proc.stdout.read() == b""  # stdout stays the protocol's


def test_serve_from_an_mcp_client_prints_nothing_on_stderr_at_the_default_level(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox"], env=_env(tmp_path),
                          input="", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""


def test_log_level_debug_logs_on_stderr_without_the_key(tmp_path):
    key = "planted-api-key-" + "k" * 24
    done = subprocess.run(
        [sys.executable, "-m", "ionq_mcp.cli", "call", "get_job", json.dumps({"job_id": key}), "--sandbox",
         "--log-level", "debug"],
        env=_env(tmp_path, IONQ_API_KEY=key), capture_output=True, text=True, timeout=120, check=False)
    assert " DEBUG " in done.stderr, done.stderr[-2000:]
    assert key not in done.stderr and key not in done.stdout
    by_env = subprocess.run(
        [sys.executable, "-m", "ionq_mcp.cli", "call", "list_backends", "--sandbox"],
        env=_env(tmp_path, IONQ_API_KEY=key, IONQ_MCP_LOG_LEVEL="info"), capture_output=True, text=True,
        timeout=120, check=False)
    assert by_env.returncode == 0 and " INFO " in by_env.stderr and " DEBUG " not in by_env.stderr
    assert key not in by_env.stderr


def test_a_bad_log_level_names_the_variable(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "tools"], env=_env(tmp_path,
                          IONQ_MCP_LOG_LEVEL="loud"), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "IONQ_MCP_LOG_LEVEL" in done.stderr and "debug" in done.stderr


def test_reconcile_releases_a_reservation_whose_job_never_existed(tmp_path):
    from ionq_mcp.guard import GuardPolicy
    from ionq_mcp.server import ServerConfig, build_server

    server = build_server(ServerConfig(force_sandbox=True, state_dir=tmp_path, guard_policy=GuardPolicy(
        allow_qpu=True, max_job_cost_usd=100)))
    server.guard.reserve("create_job", "qpu.aria-1", 97.5, idempotency_key="e" * 32)
    server.guard.close()
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "reconcile", "--sandbox", "--older-than", "0"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "released" in done.stdout and "97.50" in done.stdout
    again = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "reconcile", "--sandbox", "--older-than", "0"],
                           env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_call_reads_a_multi_circuit_parent_without_a_traceback(tmp_path):
    multi = {"type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 100, "input": {
        "gateset": "qis", "qubits": 2, "circuits": [{"name": "a", "circuit": [{"gate": "h", "target": 0}]},
                                                    {"name": "b", "circuit": [{"gate": "x", "target": 1}]}]}}
    created = _run(tmp_path, "call", "run_circuit", json.dumps({k: v for k, v in multi.items() if k != "type"}
                                                               | {"type": multi["type"]}))
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["job_id"]
    done = _run(tmp_path, "call", "get_job_probabilities", json.dumps({"job_id": job_id}))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert [c["name"] for c in json.loads(done.stdout)["children"].values()] == ["a", "b"]
@pytest.mark.slow
def test_a_job_created_by_one_call_completes_and_later_calls_read_it(tmp_path):
    # A 22-qubit GHZ state: created by one `ionq-mcp call`, run by the background worker after that process has
    # exited, read to completion by later calls (each one a fresh process that never simulates anything).
    from ionq_mcp.sandbox._worker import worker_alive

    n = 22
    circuit = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
    payload = {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 100,
               "input": {"qubits": n, "gateset": "qis", "circuit": circuit}}
    created = _run(tmp_path, "call", "create_job", json.dumps(payload))
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]
    seen = []
    for _ in range(20):
        done = _run(tmp_path, "call", "get_job", json.dumps({"job_id": job_id}))
        assert done.returncode == 0, done.stderr
        seen.append(json.loads(done.stdout)["status"])
        if seen[-1] in ("completed", "failed", "canceled"):
            break
    assert seen[-1] == "completed", seen
    assert seen == sorted(seen, key=["submitted", "ready", "started", "completed"].index)  # never went back
    read = _run(tmp_path, "call", "get_job_probabilities", json.dumps({"job_id": job_id}))
    assert read.returncode == 0, read.stderr
    assert str(2**n - 1) in read.stdout and '"0"' in read.stdout
    db = str(tmp_path / "sandbox.sqlite3")
    deadline = time.monotonic() + 60
    while worker_alive(db) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker_alive(db)  # the worker exits once idle (2 s here, see _run)
