"""Benchmark the shared ledger: guard overhead per paid submission, and budget checks from 3 replicas.

Run: ``python bench/bench_replicas.py [--pg postgresql://postgres@127.0.0.1:5432/postgres]`` (wrap it in
``flock /tmp/ionq-bench.lock``). Creates a scratch database ``ionq_mcp_bench_<random>`` and drops it. Prints
Markdown and writes ``bench/results/replicas-<timestamp>.json``.

1. **Guard overhead per paid submission**: the guard's own work on the QPU path of ``submit_job`` (the decision
   against the ledger, the atomic reservation, the commit, the audit record), everything but the upstream
   requests, timed per submission. PostgreSQL (loopback) and the SQLite peer, interleaved in shuffled order,
   round by round.
2. **Budget checks from 3 replicas, 50 concurrent clients**: 3 processes (the replicas' guard, as in
   production), 50 client threads spread over them, each doing check + reserve + commit as fast as it can for a
   fixed time, against one ledger. Reservations/s and per-reservation p50/p99. PostgreSQL and the SQLite peer
   (3 processes on one file: the most a single host can share) in shuffled order.
3. **End to end** (``--http``): 3 real ``ionq-mcp serve --transport http`` replicas on one PostgreSQL and one
   ``ionq-mcp sandbox``, 50 concurrent MCP clients submitting paid ``create_job`` calls round-robin: accepted
   calls/s and p50/p99 per call. Includes the MCP and HTTP stack and the sandbox, so it bounds what the ledger
   allows rather than measuring it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ionq_mcp.guard import Guard, GuardPolicy, GuardRefused

RESULTS = Path(__file__).resolve().parent / "results"
QPU = "qpu.aria-1"
BELL = {"qubits": 2, "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}
PAYLOAD = {"type": "ionq.circuit.v1", "backend": QPU, "shots": 100, "input": BELL}
ROOMY = GuardPolicy(allow_qpu=True, max_job_cost_usd=1e6, daily_budget_usd=1e12, confirm_above_usd=1e9)


# ---- scratch database ----------------------------------------------------------------------------------------


class Scratch:
    """``ionq_mcp_bench_<random>`` on the admin server; ``fresh()`` gives a new one, all dropped on close."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.names: list[str] = []

    def fresh(self) -> str:
        import psycopg

        name = f"ionq_mcp_bench_{secrets.token_hex(5)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return urlunsplit(urlsplit(self.admin_url)._replace(path="/" + name))

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for name in self.names:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- 1. guard overhead per paid submission --------------------------------------------------------------------


def paid_submission(guard: Guard, i: int) -> None:
    """The guard's work on the QPU path of submit_job, upstream requests excluded."""
    decision = guard.check_job(QPU, 12.5361)
    assert decision.allowed, decision.message
    reservation = guard.reserve("create_job", QPU, 12.5361, idempotency_key=f"k{i}")
    guard.commit(reservation, f"job-{i}")
    guard.audit("create_job", PAYLOAD, "submitted", estimated_usd=12.5361, job_id=f"job-{i}")


def overhead(pg_url: str, rounds: int, per_round: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        guards = {"postgresql": Guard(ROOMY, pg_url, pg_url),
                  "sqlite": Guard(ROOMY, Path(tmp) / "ledger.sqlite3", Path(tmp) / "audit.jsonl")}
        samples: dict[str, list[float]] = {name: [] for name in guards}
        for name, guard in guards.items():  # warm up: connections, schema, page cache
            for i in range(20):
                paid_submission(guard, -i - 1)
        order = list(guards)
        n = 0
        for _ in range(rounds):
            random.shuffle(order)
            for name in order:
                for _ in range(per_round):
                    n += 1
                    start = time.perf_counter()
                    paid_submission(guards[name], n)
                    samples[name].append((time.perf_counter() - start) * 1000)
                if name == "postgresql":  # the disk's floor, in the same rounds: one durable commit
                    samples.setdefault("durable_commit", []).extend(durable_commits(pg_url, per_round // 4))
        for guard in guards.values():
            guard.close()
    return {name: {"n": len(v), "p50_ms": statistics.median(v), "p99_ms": percentile(v, 0.99),
                   "mean_ms": statistics.fmean(v)} for name, v in samples.items()}


def durable_commits(pg_url: str, count: int) -> list[float]:
    """Milliseconds of a bare one-row INSERT committed with synchronous_commit on: the flush every durable
    reservation must wait for, whatever the ledger does."""
    import psycopg

    out = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_flush (x int)")
        for _ in range(count):
            start = time.perf_counter()
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = on; INSERT INTO bench_flush VALUES (1)")
            out.append((time.perf_counter() - start) * 1000)
    return out


# ---- 2. budget checks from 3 replicas -------------------------------------------------------------------------


def _replica(ledger: str, audit: str, threads: int, seconds: float, barrier: Any, out: Any) -> None:
    guard = Guard(ROOMY, ledger, audit)
    guard.check_ready()  # connect and migrate before the clock starts
    latencies: list[float] = []
    lock = threading.Lock()
    barrier.wait()
    stop_at = time.perf_counter() + seconds

    def client(k: int) -> None:
        mine = []
        i = 0
        while time.perf_counter() < stop_at:
            i += 1
            start = time.perf_counter()
            try:
                if guard.check_job(QPU, 1.0).allowed:
                    guard.commit(guard.reserve("create_job", QPU, 1.0, idempotency_key=f"{os.getpid()}-{k}-{i}"),
                                 f"job-{os.getpid()}-{k}-{i}")
            except GuardRefused:
                pass
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    guard.close()
    out.put(latencies)


def throughput(ledger: str, audit: str, seconds: float, clients: int = 50, replicas: int = 3) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(replicas)
    out = ctx.Queue()
    shares = [clients // replicas + (1 if r < clients % replicas else 0) for r in range(replicas)]
    procs = [ctx.Process(target=_replica, args=(ledger, audit, shares[r], seconds, barrier, out))
             for r in range(replicas)]
    for p in procs:
        p.start()
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(out.get(timeout=seconds + 120))
    for p in procs:
        p.join(timeout=30)
    return {"reservations": len(latencies), "per_s": len(latencies) / seconds,
            "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99),
            "clients": clients, "replicas": replicas, "seconds": seconds}


# ---- 3. end to end over HTTP ----------------------------------------------------------------------------------


def end_to_end(pg_url: str, seconds: float, clients: int = 50) -> dict[str, Any]:
    import socket
    import subprocess

    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def wait(port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nothing listening on {port}")

    token = "bench-" + "t" * 40
    tmp = tempfile.mkdtemp(prefix="ionq-mcp-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    sandbox_port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", str(sandbox_port), "--db",
                               f"{tmp}/sandbox.sqlite3", "--qpu-latency", "0.05"], env={**env, "IONQ_MCP_STATE_DIR": tmp},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    ports = [free_port() for _ in range(3)]
    for i, port in enumerate(ports):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ionq_mcp.cli", "serve", "--transport", "http", "--port", str(port)],
            env={**env, "IONQ_API_URL": f"http://127.0.0.1:{sandbox_port}/v0.4", "IONQ_MCP_LEDGER_URL": pg_url,
                 "IONQ_MCP_REPLICAS": "3", "IONQ_MCP_STATE_KEY": "s" * 40, "IONQ_MCP_HTTP_TOKEN": token,
                 "IONQ_MCP_STATE_DIR": f"{tmp}/r{i}", "IONQ_MCP_ALLOW_QPU": "1", "IONQ_MCP_MAX_JOB_COST_USD": "50",
                 "IONQ_MCP_DAILY_BUDGET_USD": "1000000000", "IONQ_MCP_CONFIRM_ABOVE_USD": "1000"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for port in [sandbox_port, *ports]:
            wait(port)
        latencies: list[float] = []
        errors = 0

        async def run() -> None:
            nonlocal errors
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                          limits=httpx2.Limits(max_connections=200)) as http:
                async def one_client(k: int, stop_at: float) -> None:
                    nonlocal errors
                    url = f"http://127.0.0.1:{ports[k % 3]}/mcp"
                    async with Client(streamable_http_client(url, http_client=http), mode="auto") as client:
                        await client.call_tool("get_backend", {"backend": "simulator"})  # warm
                        while time.perf_counter() < stop_at:
                            start = time.perf_counter()
                            result = await client.call_tool("create_job", PAYLOAD)
                            latencies.append((time.perf_counter() - start) * 1000)
                            errors += bool(result.is_error)

                stop_at = time.perf_counter() + seconds
                async with anyio.create_task_group() as tasks:
                    for k in range(clients):
                        tasks.start_soon(one_client, k, stop_at)

        started = time.perf_counter()
        anyio.run(run)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
    return {"calls": len(latencies), "errors": errors, "per_s": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99), "clients": clients}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("IONQ_MCP_TEST_PG",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--http", action="store_true", help="also run the end-to-end HTTP benchmark")
    args = parser.parse_args()
    scratch = Scratch(args.pg)
    report: dict[str, Any] = {"machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                                          "load": os.getloadavg()}}
    try:
        report["overhead"] = overhead(scratch.fresh(), args.rounds, args.per_round)
        peers = ["postgresql", "sqlite"]
        random.shuffle(peers)
        report["throughput"] = {}
        for peer in peers:
            if peer == "postgresql":
                url = scratch.fresh()
                report["throughput"][peer] = throughput(url, url, args.seconds)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    report["throughput"][peer] = throughput(f"{tmp}/ledger.sqlite3", f"{tmp}/audit.jsonl",
                                                            args.seconds)
        if args.http:
            report["http"] = end_to_end(scratch.fresh(), args.seconds)
    finally:
        scratch.close()
    report["machine"]["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"replicas-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(report, indent=2))

    o = report["overhead"]
    print("| guard work per paid submission | p50 ms | p99 ms | mean ms | n |")
    print("|---|---:|---:|---:|---:|")
    for name in ("postgresql", "sqlite", "durable_commit"):
        r = o[name]
        print(f"| {name} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} | {r['n']} |")
    print("\n| budget checks, 3 replicas x 50 clients | reservations/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name in ("postgresql", "sqlite"):
        r = report["throughput"][name]
        print(f"| {name} | {r['per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    if "http" in report:
        r = report["http"]
        print(f"\nend to end (3 HTTP replicas, 50 MCP clients, paid create_job): {r['per_s']:.0f} calls/s, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['errors']} errors of {r['calls']}")
    print(f"\nload average before/after: {report['machine']['load']} / {report['machine']['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
