"""Issue 10 benchmarks: a 29-qubit GHZ through the sandbox (time, peak memory) and one-shot CLI latency.

Run: ``flock /tmp/ionq-bench.lock flock /tmp/ionq-bigmem.lock .venv/bin/python bench/bench_oneshot.py``
(needs the ``bench`` extra for the qiskit-aer peer). Prints Markdown tables and writes
``bench/results/oneshot-<timestamp>.json``.

1. GHZ-29, ideal, end to end through an in-memory sandbox (submit over its ASGI app, simulate, store the sparse
   result), in a fresh subprocess: wall time and ``ru_maxrss``. Peer, same run, order shuffled: qiskit-aer
   (``method="statevector", precision="single"``, the same 4 GiB state) sampling 1,000 shots of the same circuit.
2. ``ionq-mcp call get_job`` (a fresh process each time) while a long job (GHZ-26 built and undone six times)
   runs in the background worker, versus the same call on an idle sandbox (the peer), interleaved in shuffled
   order: median and max seconds per call. Also ``cancel_job`` on the running job.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

OURS_GHZ = textwrap.dedent("""
    import asyncio, json, resource, time
    import httpx
    from ionq_mcp.sandbox import Sandbox, SandboxConfig

    async def main(n):
        began = time.perf_counter()
        sandbox = Sandbox(SandboxConfig(seed=1))
        gates = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://s/v0.4",
                                     headers={"Authorization": f"apiKey {sandbox.api_key}"}) as client:
            job = (await client.post("/jobs", json={"type": "ionq.circuit.v1", "backend": "simulator",
                   "input": {"qubits": n, "gateset": "qis", "circuit": gates}})).json()
            await sandbox.wait_idle(1800)
            doc = (await client.get(f"/jobs/{job['id']}")).json()
            p = (await client.get(f"/jobs/{job['id']}/results/probabilities")).json()
        sandbox.close()
        ok = doc["status"] == "completed" and set(p) == {"0", str(2**n - 1)}
        print(json.dumps({"seconds": time.perf_counter() - began, "peak": resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss * 1024, "ok": ok, "status": doc["status"]}))

    asyncio.run(main(29))
""")

AER_GHZ = textwrap.dedent("""
    import json, resource, time
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    n = 29
    began = time.perf_counter()
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    sim = AerSimulator(method="statevector", precision="single")
    counts = sim.run(transpile(circuit, sim), shots=1000).result().get_counts()
    ok = set(counts) <= {"0" * n, "1" * n}
    print(json.dumps({"seconds": time.perf_counter() - began, "peak": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss * 1024, "ok": ok}))
""")


def _subprocess_json(code: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_ghz() -> dict[str, Any]:
    cases = [("ours", OURS_GHZ), ("qiskit-aer", AER_GHZ)]
    random.shuffle(cases)
    return {name: _subprocess_json(code) for name, code in cases}


def _cli(state: Path, *args: str) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(state)
    env["IONQ_MCP_SANDBOX_WORKER_IDLE_S"] = "3"
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ionq_mcp.cli", "call", *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return seconds, json.loads(done.stdout)


def bench_cli(calls: int = 8, n: int = 26, rounds: int = 3) -> dict[str, Any]:
    chain = [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
    gates = [{"gate": "h", "target": 0}] + (chain + chain[::-1]) * rounds + chain
    long_job = {"type": "ionq.circuit.v1", "backend": "simulator",
                "input": {"qubits": n, "gateset": "qis", "circuit": gates}}
    bell = {"type": "ionq.circuit.v1", "backend": "simulator",
            "input": {"qubits": 2, "gateset": "qis", "circuit": gates[:1] + chain[:1]}}
    with tempfile.TemporaryDirectory() as busy_dir, tempfile.TemporaryDirectory() as idle_dir:
        busy, idle = Path(busy_dir), Path(idle_dir)
        create_s, created = _cli(busy, "create_job", json.dumps(long_job))
        long_id = created["id"]
        _, idle_job = _cli(idle, "create_job", json.dumps(bell))
        time.sleep(1)
        order = ["busy"] * calls + ["idle"] * calls
        random.shuffle(order)
        times: dict[str, list[float]] = {"busy": [], "idle": []}
        statuses = []
        for which in order:
            job_id = long_id if which == "busy" else idle_job["id"]
            seconds, doc = _cli(busy if which == "busy" else idle, "get_job", json.dumps({"job_id": job_id}))
            times[which].append(seconds)
            if which == "busy":
                statuses.append(doc["status"])
        cancel_s, canceled = _cli(busy, "cancel_job", json.dumps({"job_id": long_id}))
        _, final = _cli(busy, "get_job", json.dumps({"job_id": long_id}))
    return {"create_s": create_s, "times": times, "busy_statuses": statuses, "cancel_s": cancel_s,
            "final_status": final["status"],
            "summary": {k: {"median": statistics.median(v), "max": max(v)} for k, v in times.items()}}


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-ghz", action="store_true", help="only the CLI latency part")
    parser.add_argument("--qubits", type=int, default=26, help="width of the long job (default 26)")
    parser.add_argument("--rounds", type=int, default=3, help="CNOT chains built and undone (default 3)")
    parser.add_argument("--calls", type=int, default=8, help="get_job calls per case (default 8)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {"host": platform.node(), "python": sys.version.split()[0], "load": os.getloadavg(),
                              "cli": bench_cli(args.calls, args.qubits, args.rounds)}
    if not args.skip_ghz:
        report["ghz29"] = bench_ghz()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"oneshot-{stamp}.json").write_text(json.dumps(report, indent=2))
    if "ghz29" in report:
        g = report["ghz29"]
        print("| GHZ-29, ideal | time | peak RSS | correct |\n|---|---:|---:|---|")
        for name in ("ours", "qiskit-aer"):
            print(f"| {name} | {g[name]['seconds']:.1f} s | {g[name]['peak'] / 2**30:.2f} GiB | {g[name]['ok']} |")
    c = report["cli"]["summary"]
    print("\n| `ionq-mcp call get_job` | median | max |\n|---|---:|---:|")
    for name in ("busy", "idle"):
        print(f"| {name} | {c[name]['median']:.2f} s | {c[name]['max']:.2f} s |")
    print(f"\nbusy statuses: {report['cli']['busy_statuses']}; cancel_job {report['cli']['cancel_s']:.2f} s -> "
          f"{report['cli']['final_status']}; create_job {report['cli']['create_s']:.2f} s; load {report['load']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
