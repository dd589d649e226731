"""Benchmark the sandbox's HTTP API over loopback uvicorn.

Run: ``/work/venv/bin/python bench/bench_sandbox_api.py [--rounds 10] [--qubits 25]``. Prints a Markdown summary
and writes ``bench/results/sandbox-api-<timestamp>.json``.

The sandbox runs as a user runs it, in its own process (``ionq-mcp sandbox --port 0 --db :memory:``), so the
load generator does not share its interpreter. Two measurements:

1. **Throughput**: 200 concurrent ``GET /jobs/{id}``: 200 kept-alive connections each send one request, all at
   once (one ``asyncio.gather``), repeated ``--rounds`` times after a warm-up round; requests/s over all rounds
   and the p50/p99 of each request's latency. The load generator is a minimal HTTP/1.1 client on asyncio
   streams so that it costs far less CPU than the server it measures.
2. **Responsiveness during a simulation**: a ``--qubits``-qubit ideal job (GHZ built, undone and rebuilt, so it
   has several hundred gates but a 2-outcome result) is submitted; while it is ``started`` one client polls
   ``GET /jobs/{id}`` back to back; p50/p99/max of those latencies. Target p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).resolve().parent / "results"
BELL = {"qubits": 2, "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_sandbox() -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "sandbox", "--port", "0", "--db", ":memory:"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = dict(line.strip().split("=", 1) for line in (process.stdout.readline(), process.stdout.readline()))
    return process, lines["IONQ_API_URL"], lines["IONQ_API_KEY"]


def _ghz_rebuilt(n: int, repeats: int) -> dict[str, Any]:
    chain = [{"gate": "cnot", "control": q, "target": q + 1} for q in range(n - 1)]
    circuit = [{"gate": "h", "target": 0}]
    for i in range(repeats):
        circuit += chain if i % 2 == 0 else chain[::-1]
    return {"qubits": n, "gateset": "qis", "circuit": circuit}


class _RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator must cost far less than the
    server it measures (httpx with 200 pooled connections spends more CPU per request than the sandbox does)."""

    def __init__(self, host: str, port: int, request: bytes):
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self) -> int:
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _throughput(url: str, key: str, job_id: str, rounds: int, concurrency: int) -> dict[str, Any]:
    parsed = httpx.URL(url)
    request = (f"GET {parsed.path}/jobs/{job_id} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
               f"Authorization: apiKey {key}\r\nAccept: application/json\r\n\r\n").encode()
    connections = [_RawConnection(parsed.host, parsed.port or 80, request) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []

    async def one(connection: _RawConnection) -> None:
        start = time.perf_counter()
        status = await connection.get()
        latencies.append(time.perf_counter() - start)
        assert status == 200, status

    await asyncio.gather(*(one(c) for c in connections))  # warm-up
    latencies.clear()
    began = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(one(c) for c in connections))
    elapsed = time.perf_counter() - began
    await asyncio.gather(*(c.close() for c in connections))
    return {"requests": len(latencies), "concurrency": concurrency, "seconds": elapsed,
            "requests_per_s": len(latencies) / elapsed, "p50_ms": _percentile(latencies, 0.5) * 1e3,
            "p99_ms": _percentile(latencies, 0.99) * 1e3}


async def _during_simulation(http: httpx.AsyncClient, qubits: int, repeats: int) -> dict[str, Any]:
    payload = {"type": "ionq.circuit.v1", "backend": "simulator", "input": _ghz_rebuilt(qubits, repeats)}
    job_id = (await http.post("/jobs", json=payload)).json()["id"]
    latencies: list[float] = []
    began = time.perf_counter()
    status = "submitted"
    while status not in ("completed", "failed"):
        start = time.perf_counter()
        status = (await http.get(f"/jobs/{job_id}")).json()["status"]
        if status == "started":
            latencies.append(time.perf_counter() - start)
    job = (await http.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "completed", job["failure"]
    return {"qubits": qubits, "gates": len(payload["input"]["circuit"]), "job_seconds": time.perf_counter() - began,
            "polls_while_started": len(latencies), "p50_ms": _percentile(latencies, 0.5) * 1e3,
            "p99_ms": _percentile(latencies, 0.99) * 1e3, "max_ms": max(latencies) * 1e3}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    process, url, key = _start_sandbox()
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"apiKey {key}"}, timeout=120) as http:
            job_id = (await http.post("/jobs", json={"type": "ionq.circuit.v1", "backend": "simulator",
                                                     "input": BELL})).json()["id"]
            await asyncio.sleep(0.2)
            throughput = await _throughput(url, key, job_id, args.rounds, args.concurrency)
            during = await _during_simulation(http, args.qubits, args.repeats)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    return {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "throughput": throughput, "during_simulation": during}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--qubits", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=8, help="GHZ chain passes in the simulated circuit")
    result = asyncio.run(main(parser.parse_args()))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sandbox-api-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2))
    t, d = result["throughput"], result["during_simulation"]
    print(f"| {t['concurrency']} concurrent GET /jobs/{{id}} | {t['requests_per_s']:.0f} req/s | p50 {t['p50_ms']:.1f} ms | "
          f"p99 {t['p99_ms']:.1f} ms |")
    print(f"| GET /jobs/{{id}} while a {d['qubits']}-qubit, {d['gates']}-gate job simulates "
          f"({d['job_seconds']:.1f} s, {d['polls_while_started']} polls) | p50 {d['p50_ms']:.1f} ms | "
          f"p99 {d['p99_ms']:.1f} ms | max {d['max_ms']:.1f} ms |")
    print(f"load average {result['load_average']}; kept in {out}")
