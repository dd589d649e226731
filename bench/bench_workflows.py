"""Benchmark the workflow tools and the spend guard.

Run: ``/work/venv/bin/python bench/bench_workflows.py [--repeats 20]``. Prints a Markdown table and writes
``bench/results/workflows-<timestamp>.json``.

What is measured (in-process sandbox, ideal simulator, one ``mcp.Client`` in the 2026-07-28 mode):

* **run_circuit** on a Bell pair: one MCP call. Counted: MCP round trips (``tools/call`` requests, elicitation
  retries included), upstream HTTP requests (the sandbox's request log) and wall time per run.
* **raw tools**, the same work an agent does with the API tools: ``get_job_estimate`` (gate counts done by
  hand), ``create_job``, ``get_job`` polled until completed (immediately, no sleep: the best case for the raw
  path), ``get_job_probabilities``. Same counters.
* **guard overhead** per simulator ``create_job``: the guard's own work on that path (backend check and the
  audit line; the simulator needs no estimate and no ledger), timed directly over many calls; plus, for scale,
  the same on a QPU path (fresh decision against the ledger + reserve + commit, estimate excluded).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from ionq_mcp.catalog import load_catalog
from ionq_mcp.guard import Guard, GuardPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig
from ionq_mcp.server import build_server
from ionq_mcp.server._config import ServerConfig
from ionq_mcp.server._spending import job_body

RESULTS = Path(__file__).resolve().parent / "results"
BELL = {"qubits": 2, "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}


class Counter:
    """Counts MCP tools/call round trips made through :meth:`call`."""

    def __init__(self, client: Client):
        self.client = client
        self.calls = 0

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        result = await self.client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name}: {result.content[0].text}")
        return result.structured_content or {}


async def run_workflow(counter: Counter) -> dict[str, float]:
    data = await counter.call("run_circuit", {"backend": "simulator", "shots": 100, "input": BELL})
    assert set(data["results"]["bitstrings"]) == {"00", "11"}
    return data["results"]["bitstrings"]


async def run_raw(counter: Counter) -> dict[str, float]:
    await counter.call("get_job_estimate", {"backend": "simulator", "type": "ionq.circuit.v1", "qubits": 2,
                                            "shots": 100, "one_qubit_gates": 1, "two_qubit_gates": 1})
    created = await counter.call("create_job", {"backend": "simulator", "type": "ionq.circuit.v1", "shots": 100,
                                                "input": BELL})
    while (await counter.call("get_job", {"job_id": created["id"]}))["status"] not in ("completed", "failed",
                                                                                        "canceled"):
        pass
    probabilities = await counter.call("get_job_probabilities", {"job_id": created["id"]})
    bits = probabilities.get("bitstrings") or probabilities
    assert set(bits) == {"00", "11"}
    return bits


async def measure(repeats: int, sandbox: Sandbox, client: Client) -> list[dict[str, Any]]:
    """Both paths, interleaved run by run so machine load affects them alike."""
    paths = {"run_circuit": run_workflow, "raw tools": run_raw}
    samples: dict[str, dict[str, list[float]]] = {k: {"t": [], "trips": [], "up": []} for k in paths}
    counter = Counter(client)
    for runner in paths.values():
        await runner(counter)  # warm-up
    for _ in range(repeats):
        for kind, runner in paths.items():
            counter.calls = 0
            before = sandbox.request_log.count()
            start = time.perf_counter()
            await runner(counter)
            samples[kind]["t"].append(time.perf_counter() - start)
            samples[kind]["trips"].append(counter.calls)
            samples[kind]["up"].append(sandbox.request_log.count() - before)
    rows = []
    for kind, s in samples.items():
        times = sorted(s["t"])
        rows.append({"kind": kind, "repeats": repeats, "median_ms": statistics.median(times) * 1e3,
                     "p90_ms": times[int(0.9 * (len(times) - 1))] * 1e3,
                     "mcp_round_trips": statistics.mean(s["trips"]), "upstream_requests": statistics.mean(s["up"])})
    return rows


def guard_overhead(samples: int) -> dict[str, float]:
    """The guard's work on the simulator path of ``submit_job`` (body, backend check, audit line), for a Bell pair
    and a 2,000-gate circuit (the audit summarises circuits, so the cost must not grow with the gates)."""
    payload = {"backend": "simulator", "type": "ionq.circuit.v1", "shots": 100, "input": BELL}
    big = {**payload, "input": {"qubits": 20, "gateset": "qis", "circuit": [
        {"gate": "h", "target": i % 20} if i % 2 else {"gate": "cnot", "control": i % 20, "target": (i + 1) % 20}
        for i in range(2000)]}}
    out: dict[str, float] = {"samples": samples}
    create_job = load_catalog().get("create_job")
    with tempfile.TemporaryDirectory() as tmp:
        guard = Guard(GuardPolicy(allow_qpu=True, max_job_cost_usd=1e9, daily_budget_usd=1e12,
                                  confirm_above_usd=1e9), Path(tmp) / "ledger.sqlite3", Path(tmp) / "audit.jsonl")
        for name, arguments in (("simulator_create_job_us", payload), ("simulator_2000_gates_us", big)):
            start = time.perf_counter()
            for _ in range(samples):
                body = job_body(create_job, arguments)
                guard.check_backend(body["backend"])
                guard.audit("create_job", body, "submitted", estimated_usd=0.0, job_id="0000")
            out[name] = (time.perf_counter() - start) / samples * 1e6
        qpu_samples = max(1, samples // 10)
        start = time.perf_counter()
        for i in range(qpu_samples):
            guard.check_job("qpu.aria-1", 12.5)
            guard.commit(guard.reserve("create_job", "qpu.aria-1", 12.5), f"job-{i}")
            guard.audit("create_job", {**payload, "backend": "qpu.aria-1"}, "submitted", estimated_usd=12.5)
        out["qpu_create_job_us"] = (time.perf_counter() - start) / qpu_samples * 1e6
        guard.close()
    return out


async def main_async(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(SandboxConfig(db_path=str(Path(tmp) / "sandbox.sqlite3"), seed=1))
        server = build_server(ServerConfig(sandbox=sandbox, state_dir=Path(tmp) / "state",
                                           guard_policy=GuardPolicy()))
        try:
            async with Client(server) as client:
                rows = await measure(repeats, sandbox, client)
        finally:
            await server.aclose()
            sandbox.close()
    return {"rows": rows, "guard": guard_overhead(2000)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    report = anyio.run(main_async, args.repeats)
    report["machine"] = {"python": sys.version.split()[0], "platform": platform.platform()}
    print("| path | MCP round trips | upstream requests | median ms | p90 ms |")
    print("|---|---|---|---|---|")
    for row in report["rows"]:
        print(f"| {row['kind']} | {row['mcp_round_trips']:.1f} | {row['upstream_requests']:.1f} | "
              f"{row['median_ms']:.1f} | {row['p90_ms']:.1f} |")
    g = report["guard"]
    print(f"\nGuard overhead per simulator create_job: {g['simulator_create_job_us']:.0f} us "
          f"({g['simulator_2000_gates_us']:.0f} us for 2,000 gates; QPU path without the estimate: "
          f"{g['qpu_create_job_us']:.0f} us)")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"workflows-{stamp}.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
