"""Benchmark how the sandbox's job store behaves as it fills: 100 -> 1,000 -> 10,000 -> 100,000 stored jobs.

Run: ``.venv/bin/python bench/bench_store.py [--max 100000] [--samples 300]`` (wrap it in
``flock /tmp/ionq-bench.lock``). Prints a Markdown table and writes ``bench/results/store-<timestamp>.json``.

Setup: a sandbox with a file-backed store (WAL, as the CLI runs it) in a temporary directory, called in-process
through its ASGI app (``httpx.ASGITransport``, so no socket noise). The store is filled with copies of real
jobs (a simulator Bell job and an Aria job, submitted once through the API; copies get fresh ids, spread over 60
days, 3 projects and 2 users, most completed, some failed or canceled), inserted in batches straight into the
store so filling 100,000 jobs takes seconds.

One sandbox per fill level; all (level, measurement) pairs run interleaved in a shuffled order, round after
round (``--rounds``), so load from other processes hits every level alike; ``--samples`` per level and kind:

* ``insert``: ``Store.insert_jobs`` of one job (what ``POST /jobs`` does to the store), p50;
* ``GET /jobs/{id}``: a random stored job through the API, p50;
* ``GET /jobs?status=failed`` and ``...&status=submitted`` (no match): a filtered page, p50;
* ``submit``: ``POST /jobs`` of a simulator Bell job through the API, as jobs/s over a batch of 50 (the jobs
  run in the background meanwhile, as they would), one batch per round, levels up to 10,000;
* ``usage``: ``GET /organizations/{org}/usage`` over the 60 days, by project daily and by job monthly, p50.

Targets (issue 11): insert and ``GET /jobs/{id}`` p50 at 100,000 within 1.5x of their value at 100; usage over
10,000 jobs under 50 ms; submit throughput at 10,000 within 20% of its value at 100.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ionq_mcp.sandbox import ApiKey, Sandbox, SandboxConfig

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = [ApiKey.generate(f"key-{p}", f"{p} key", project=p, organization="acme") for p in ("alpha", "beta", "gamma")]
BELL = {"qubits": 2, "gateset": "qis",
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]}
LEVELS = (100, 1_000, 10_000, 100_000)


def _client(sandbox: Sandbox, key: ApiKey) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox/v0.4",
                             headers={"Authorization": f"apiKey {key.key}"})


class Filler:
    """Inserts copies of template jobs with fresh ids (and keeps the ids for random reads)."""

    def __init__(self, sandbox: Sandbox, templates: list[tuple[dict[str, Any], dict[str, Any], str]]):
        self.sandbox = sandbox
        self.templates = templates  # (doc, payload, organization id)
        self.ids: list[str] = []
        self.rng = random.Random(7)
        self.today = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def make(self, count: int) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        out = []
        for _ in range(count):
            doc, payload, org = self.rng.choice(self.templates)
            key = self.rng.choice(KEYS)
            when = self.today - dt.timedelta(seconds=self.rng.randrange(60 * 86400))
            status = self.rng.choices(("completed", "failed", "canceled"), (90, 5, 5))[0]
            new = dict(doc, id=str(uuid.uuid4()), project_id=key.project_id, submitter_id=key.user_id,
                       status=status, submitted_at=when.isoformat().replace("+00:00", "Z"))
            cost = 12.6 if doc["backend"] != "simulator" else 0.0
            out.append((new, payload, {"organization_id": org, "cost": cost, "time_us": 1500.0}))
        return out

    def fill_to(self, total: int) -> None:
        store = self.sandbox.store
        while (have := store.count_jobs()) < total:
            batch = self.make(min(2000, total - have))
            store.insert_jobs(batch)
            self.ids += [d["id"] for d, _, _ in batch if d["project_id"] == KEYS[0].project_id]


def _p50(values: list[float]) -> float:
    return statistics.median(values)


class Level:
    """One sandbox filled to ``size`` jobs, and the samples measured on it."""

    def __init__(self, size: int, sandbox: Sandbox, filler: Filler):
        self.size = size
        self.sandbox = sandbox
        self.filler = filler
        self.client = _client(sandbox, KEYS[0])
        self.times: dict[str, list[float]] = {k: [] for k in KINDS}
        self.submit_rates: list[float] = []

    async def sample(self, kind: str) -> None:
        """One measurement of ``kind`` (a batch of 50 submits for ``submit``)."""
        client, store = self.client, self.sandbox.store
        if kind == "submit":
            t0 = time.perf_counter()
            for _ in range(SUBMIT_BATCH):
                r = await client.post("/jobs", json={"type": "ionq.circuit.v1", "backend": "simulator",
                                                     "input": BELL})
                assert r.status_code == 201, r.text
            self.submit_rates.append(SUBMIT_BATCH / (time.perf_counter() - t0))
            await self.sandbox.wait_idle()
            return
        if kind == "insert":
            batch = self.filler.make(1)
            t0 = time.perf_counter()
            store.insert_jobs(batch)
            self.times[kind].append(time.perf_counter() - t0)
            return
        today = dt.datetime.now(dt.UTC).date()
        params: dict[str, Any] = {}
        path = "/jobs"
        if kind == "get":
            path = f"/jobs/{random.choice(self.filler.ids)}"
        elif kind == "list_failed":
            params = {"status": "failed", "limit": 25}
        elif kind == "list_nomatch":
            params = {"status": "submitted", "limit": 25}
        else:
            path = f"/organizations/{KEYS[0].organization_id}/usage"
            params = {"start_date": (today - dt.timedelta(days=61)).isoformat(),
                      "end_date": (today + dt.timedelta(days=1)).isoformat(),
                      "group_by": "project" if kind == "usage_project" else "job",
                      "modality": "daily" if kind == "usage_project" else "monthly"}
        t0 = time.perf_counter()
        r = await client.get(path, params=params)
        self.times[kind].append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text

    def summary(self) -> dict[str, Any]:
        return {"level": self.size, "stored_jobs": self.sandbox.store.count_jobs(),
                **{f"{k}_p50_ms": _p50(v) * 1e3 for k, v in self.times.items() if v},
                "submit_jobs_per_s": _p50(self.submit_rates) if self.submit_rates else None}


KINDS = ("insert", "get", "list_failed", "list_nomatch", "usage_project", "usage_job")
SUBMIT_BATCH = 50


async def _templates(sandbox: Sandbox) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    client = _client(sandbox, KEYS[0])
    out = []
    for body in ({"type": "ionq.circuit.v1", "backend": "simulator", "input": BELL, "name": "bell"},
                 {"type": "ionq.circuit.v1", "backend": "qpu.aria-1", "input": BELL, "shots": 100, "name": "aria"}):
        r = await client.post("/jobs", json=body)
        assert r.status_code == 201, r.text
        await sandbox.wait_idle()
        row = sandbox.store.get_job(r.json()["id"])
        assert row is not None
        out.append((row.doc, row.payload, row.organization_id))
    await client.aclose()
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        levels: list[Level] = []
        try:
            for size in [lv for lv in LEVELS if lv <= args.max]:
                sandbox = Sandbox(SandboxConfig(api_keys=KEYS, db_path=str(Path(tmp) / f"store-{size}.sqlite3"),
                                                qpu_latency_s=0.0, seed=3))
                filler = Filler(sandbox, await _templates(sandbox))
                t0 = time.perf_counter()
                filler.fill_to(size)
                print(f"filled {size:,} in {time.perf_counter() - t0:.1f} s", flush=True)
                levels.append(Level(size, sandbox, filler))
            # every (level, kind) pair in a shuffled order, round after round: load drift hits all levels alike
            for round_no in range(args.rounds):
                plan = [(lv, kind) for lv in levels for kind in KINDS for _ in range(args.samples // args.rounds)]
                plan += [(lv, "submit") for lv in levels if lv.size <= 10_000]
                random.shuffle(plan)
                for lv, kind in plan:
                    if kind.startswith("usage") and lv.size > 10_000 and len(lv.times[kind]) >= 5:
                        continue  # usage over 100,000 is informative, not a target: a few samples suffice
                    await lv.sample(kind)
                print(f"round {round_no + 1}/{args.rounds} done", flush=True)
            rows = [lv.summary() for lv in levels]
        finally:
            for lv in levels:
                await lv.client.aclose()
                lv.sandbox.close()
    for row in rows:
        print(json.dumps(row))
    return {"levels": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="samples per level and kind")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    rows = result["levels"]
    base = rows[0]
    print("\n| stored jobs | insert p50 (ms) | GET /jobs/{id} p50 (ms) | status page p50 (ms) | no-match page p50 (ms) "
          "| usage by project p50 (ms) | usage by job p50 (ms) | submit (jobs/s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['level']:,} | {r['insert_p50_ms']:.3f} | {r['get_p50_ms']:.3f} | {r['list_failed_p50_ms']:.2f} "
              f"| {r['list_nomatch_p50_ms']:.2f} | {r['usage_project_p50_ms']:.1f} | {r['usage_job_p50_ms']:.1f} "
              f"| {'-' if r['submit_jobs_per_s'] is None else format(r['submit_jobs_per_s'], '.0f')} |")
    last = rows[-1]
    at10k = next((r for r in rows if r["level"] == 10_000), None)
    print(f"\ninsert {last['level']:,} / {base['level']}: {last['insert_p50_ms'] / base['insert_p50_ms']:.2f}x; "
          f"GET: {last['get_p50_ms'] / base['get_p50_ms']:.2f}x")
    if at10k:
        print(f"submit at 10,000 / at 100: {at10k['submit_jobs_per_s'] / base['submit_jobs_per_s']:.2f}; "
              f"usage at 10,000: {at10k['usage_project_p50_ms']:.1f} ms (project), "
              f"{at10k['usage_job_p50_ms']:.1f} ms (job)")
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load": os.getloadavg()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"store-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({"meta": meta, **result}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
