"""``ionq-mcp sandbox`` as a user runs it: a subprocess that prints pasteable lines and serves HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ionq_mcp.sandbox import DEFAULT_SANDBOX_KEY


class _Cli:
    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.lines: dict[str, str] = {}
        assert self.process.stdout is not None
        for _ in range(3):
            line = self.process.stdout.readline()
            if not line:
                break
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                self.lines[name] = value

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[_Cli]:
    running = _Cli("--db", str(tmp_path / "cli.sqlite3"), "--qpu-latency", "0")
    yield running
    running.stop()


def test_prints_url_and_key_and_serves(cli):
    url, key = cli.lines["IONQ_API_URL"], cli.lines["IONQ_API_KEY"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v0.4")
    assert key == DEFAULT_SANDBOX_KEY
    assert next(b["backend"] for b in httpx.get(f"{url}/backends").json()) == "simulator"
    me = httpx.get(f"{url}/whoami", headers={"Authorization": f"apiKey {key}"})
    assert me.status_code == 200 and me.json()["key_id"]


def test_state_goes_to_the_state_directory_and_survives_a_restart(tmp_path):
    env = {"IONQ_MCP_STATE_DIR": str(tmp_path / "state")}
    first = _Cli("--qpu-latency", "0", env=env)
    url, key = first.lines["IONQ_API_URL"], first.lines["IONQ_API_KEY"]
    headers = {"Authorization": f"apiKey {key}"}
    job = httpx.post(f"{url}/jobs", headers=headers, json={
        "type": "ionq.circuit.v1", "backend": "simulator",
        "input": {"gateset": "qis", "circuit": [{"gate": "x", "target": 0}]}}).json()
    assert first.stop() == 0
    assert (tmp_path / "state" / "sandbox.sqlite3").exists()
    second = _Cli("--qpu-latency", "0", env=env)
    try:
        again = httpx.get(f"{second.lines['IONQ_API_URL']}/jobs/{job['id']}", headers=headers)
        assert again.status_code == 200 and again.json()["id"] == job["id"]
    finally:
        second.stop()


def test_fault_flag_injects_faults(tmp_path):
    running = _Cli("--db", ":memory:", "--fault", "kind=status,status=503,retry_after=1,path=/backends")
    try:
        response = httpx.get(f"{running.lines['IONQ_API_URL']}/backends")
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
    finally:
        running.stop()


def test_custom_api_key_replaces_the_default(tmp_path):
    running = _Cli("--db", ":memory:", "--api-key", "my-own-key")
    try:
        url = running.lines["IONQ_API_URL"]
        assert running.lines["IONQ_API_KEY"] == "my-own-key"
        assert httpx.get(f"{url}/whoami", headers={"Authorization": "apiKey my-own-key"}).status_code == 200
        default = httpx.get(f"{url}/whoami", headers={"Authorization": f"apiKey {DEFAULT_SANDBOX_KEY}"})
        assert default.status_code == 401
    finally:
        running.stop()


@pytest.mark.parametrize("args", [["--host", "0.0.0.0"], ["--fault", "kind=explode"], ["--qpu-latency", "-1"],
                                  ["--db", "/dev/null/not-a-directory/sandbox.sqlite3"]])
def test_refuses_unsafe_or_bad_arguments(args):
    db = [] if "--db" in args else ["--db", ":memory:"]
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", "0", *db, *args],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "ionq-mcp sandbox:" in done.stderr and "IONQ_API_URL" not in done.stdout
