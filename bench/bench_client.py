"""Benchmark the client's per-call overhead: ``IonQClient.get_job`` versus a raw ``httpx.AsyncClient.get``.

Run: ``/work/venv/bin/python bench/bench_client.py [--calls 500] [--rounds 9]``. Prints a Markdown table and
writes ``bench/results/client-<timestamp>.json``.

What is measured, in one process and one event loop, against the same sandbox:

* **loopback HTTP** (the target): the sandbox served by uvicorn on 127.0.0.1; ``raw`` is
  ``httpx.AsyncClient.get(f"/jobs/{id}")`` with the same headers and a kept-alive connection, ``raw+json``
  adds ``response.json()``, ``client`` is ``await client.get_job(id)`` (retry loop, error mapping, and
  pydantic validation into a ``Job`` included);
* **in-process** (ASGI transport, no sockets): the same three, to show the client's own cost without network
  noise (the ratio there is an upper bound, since the server's work is smaller).

Batches are interleaved (raw, raw+json, client, then rotated) for ``--rounds`` rounds so machine load and
ordering effects hit all variants alike; the per-call time of each variant is the median over rounds of (batch time / calls).
Target: client / raw <= 1.2 over loopback.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from ionq_mcp.client import IonQClient
from ionq_mcp.sandbox import Sandbox, SandboxConfig

RESULTS = Path(__file__).resolve().parent / "results"
BELL = {"qubits": 2, "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}


async def _batch(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - start) / calls


async def _measure(variants: dict[str, Callable[[], Awaitable[Any]]], calls: int, rounds: int) -> dict[str, float]:
    for call in variants.values():  # warm-up: connections, caches, JIT-free but lazy imports
        await _batch(call, max(10, calls // 10))
    samples: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate who goes first
            samples[name].append(await _batch(variants[name], calls))
    return {name: statistics.median(values) for name, values in samples.items()}


async def _setup_job(client: IonQClient, sandbox: Sandbox) -> str:
    created = await client.create_job(type="ionq.circuit.v1", backend="simulator", shots=100, input=BELL,
                                      name="bench", metadata={"purpose": "bench"})
    await sandbox.wait_idle()
    return created.id


def _variants(client: IonQClient, raw: httpx.AsyncClient, job_id: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    async def raw_get() -> None:
        (await raw.get(f"jobs/{job_id}")).raise_for_status()

    async def raw_json() -> None:
        response = await raw.get(f"jobs/{job_id}")
        response.raise_for_status()
        response.json()

    async def client_get() -> None:
        await client.get_job(job_id)

    return {"raw": raw_get, "raw+json": raw_json, "client": client_get}


async def run(calls: int, rounds: int) -> dict[str, Any]:
    sandbox = Sandbox(SandboxConfig(db_path=":memory:"))
    headers = {"Authorization": f"apiKey {sandbox.api_key}", "Accept": "application/json"}
    out: dict[str, Any] = {}
    try:
        async with sandbox.serve() as base_url:
            async with IonQClient(api_key=sandbox.api_key, base_url=base_url) as client, \
                    httpx.AsyncClient(base_url=base_url + "/", headers=headers) as raw:
                job_id = await _setup_job(client, sandbox)
                out["loopback"] = await _measure(_variants(client, raw, job_id), calls, rounds)

        asgi_url = "http://sandbox.localhost/v0.4"
        async with IonQClient(api_key=sandbox.api_key, base_url=asgi_url,
                              transport=httpx.ASGITransport(app=sandbox.app)) as client, \
                httpx.AsyncClient(base_url=asgi_url + "/", headers=headers,
                                  transport=httpx.ASGITransport(app=sandbox.app)) as raw:
            job_id = await _setup_job(client, sandbox)
            out["in-process"] = await _measure(_variants(client, raw, job_id), calls, rounds)
    finally:
        sandbox.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per batch")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved batches per variant")
    args = parser.parse_args()
    results = anyio.run(run, args.calls, args.rounds)
    print("| transport | raw get | raw get + json | client.get_job | client / raw | client / raw+json |")
    print("|-----------|--------:|---------------:|---------------:|-------------:|------------------:|")
    for name, r in results.items():
        print(f"| {name} | {r['raw'] * 1e6:.0f} us | {r['raw+json'] * 1e6:.0f} us | {r['client'] * 1e6:.0f} us | "
              f"{r['client'] / r['raw']:.2f}x | {r['client'] / r['raw+json']:.2f}x |")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    record = {"benchmark": "client", "when": stamp, "calls": args.calls, "rounds": args.rounds,
              "python": platform.python_version(), "httpx": httpx.__version__,
              "seconds_per_call": results}
    path = RESULTS / f"client-{stamp}.json"
    path.write_text(json.dumps(record, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
