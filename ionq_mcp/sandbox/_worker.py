"""Jobs of short-lived processes, run by a background worker that outlives them.

A one-shot ``ionq-mcp call create_job`` must not simulate in its own process (it would block its exit on a
simulation, or throw the result away), and a later ``ionq-mcp call get_job`` must answer at once. So a sandbox
built with ``SandboxConfig(detached=True)`` runs no jobs itself: it stores them, and a :class:`Launcher` makes
sure one worker process (``python -m ionq_mcp.sandbox._worker DB``) is running on that database file. The worker
is an ordinary :class:`~ionq_mcp.sandbox._runner.Runner` that polls the store for jobs no runner holds, claims
each one through its lease (so it never runs a job another process runs), and exits after ``idle_s`` seconds
with nothing to do.

One worker per database: it holds an exclusive ``flock`` on ``DB.worker.lock`` while it lives, and a second one
started in a race exits at once. Before exiting, a worker drops the lock and looks for work once more, so a job
stored while it was deciding to exit is never stranded: either it sees the job, or the process that stored the
job sees the lock free and starts a new worker. A worker killed mid-job leaves a lease that expires
(``_runner.LEASE_S``); the next worker (started by any later call) claims the job again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._costs import Rate, RateTable
from ionq_mcp.sandbox._runner import cancel_job
from ionq_mcp.sandbox._store import Store

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; every launch starts a worker, leases still hold
    fcntl = None  # type: ignore[assignment]

__all__ = ["Launcher", "lock_path", "main", "worker_alive"]

_log = logging.getLogger("ionq_mcp.sandbox.worker")
#: How often the worker looks for new jobs (seconds): the delay before a job created by a CLI call starts.
POLL_S = 0.05


def lock_path(db_path: str) -> Path:
    return Path(f"{db_path}.worker.lock")


def _try_lock(path: Path) -> IO[str] | None:
    """The lock file held exclusively, or None when another process holds it."""
    handle = open(path, "a+")  # noqa: SIM115 - held for the worker's lifetime
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def worker_alive(db_path: str) -> bool:
    """Whether a worker process holds the database's worker lock now."""
    if fcntl is None or not lock_path(db_path).exists():
        return False
    handle = _try_lock(lock_path(db_path))
    if handle is None:
        return True
    handle.close()
    return False


class Launcher:
    """Stands in for the runner of a detached sandbox: jobs are stored, and a worker process runs them.

    ``settings`` are the runner's (latencies, seed, rates, memory budget, idle time), handed to the worker as
    JSON so the jobs run as this process's configuration says.
    """

    def __init__(self, store: Store, settings: dict[str, Any]):
        self._store = store
        self._settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self.pending = 0  # nothing runs in this process

    def submit(self, job_id: str, backend: str, plan: circuits.JobPlan | None = None) -> None:
        self.ensure_worker()

    def cancel(self, job_id: str) -> bool:
        return cancel_job(self._store, job_id)

    def call_when_idle(self, callback: Any) -> None:
        callback()

    def requeue_unfinished(self) -> int:
        """Start a worker when some job has no live runner (e.g. its worker was killed). Returns 0: none is run
        here."""
        if self._store.has_claimable(time.time()):
            self.ensure_worker()
        return 0

    def close(self) -> None:
        pass

    def ensure_worker(self) -> None:
        """Start a worker on this database unless one is running."""
        path = self._store.path
        if (self._child is not None and self._child.poll() is None) or worker_alive(path):
            return  # the one this process started (maybe still importing) or another one serves the database
        log = open(f"{path}.worker.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self._child = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
                [sys.executable, "-m", "ionq_mcp.sandbox._worker", path, "--settings", json.dumps(self._settings)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
        finally:
            log.close()


def launcher_settings(*, qpu_latency_s: float, simulator_latency_s: float, seed: int | None, rates: RateTable,
                      memory_budget: int, max_workers: int, idle_s: float) -> dict[str, Any]:
    return {"qpu_latency_s": qpu_latency_s, "simulator_latency_s": simulator_latency_s, "seed": seed,
            "rates": {"unit": rates.unit, "organization": rates.organization,
                      "rates": {k: asdict(v) for k, v in rates.rates.items()}},
            "memory_budget": memory_budget, "max_workers": max_workers, "idle_s": idle_s}


def _rates(raw: dict[str, Any]) -> RateTable:
    return RateTable(rates={k: Rate(**v) for k, v in raw["rates"].items()}, unit=raw["unit"],
                     organization=raw["organization"])


def run_worker(db_path: str, settings: dict[str, Any]) -> int:
    """Run jobs from ``db_path`` until idle for ``settings["idle_s"]`` seconds. Returns the exit status."""
    from ionq_mcp.sandbox._runner import Runner

    lock = _try_lock(lock_path(db_path))
    if lock is None:
        return 0  # another worker serves this database
    store = Store(db_path)

    def latency(backend: str) -> float:
        return settings["qpu_latency_s"] if backend.startswith("qpu.") else settings["simulator_latency_s"]

    runner = Runner(store, latency=latency, rates=_rates(settings["rates"]), max_workers=settings["max_workers"],
                    seed=settings["seed"], memory_budget=settings["memory_budget"])  # the loop below polls
    idle_s = float(settings["idle_s"])
    try:
        idle_since = time.monotonic()
        while True:
            runner.requeue_unfinished()
            if runner.pending:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_s:
                # Drop the lock, then look once more: a job stored meanwhile is either seen here or its creator
                # found the lock free and started a new worker.
                with contextlib.suppress(OSError):
                    lock.close()
                if not store.has_claimable(time.time()):
                    return 0
                lock = _try_lock(lock_path(db_path))
                if lock is None:
                    return 0  # a new worker took over
                idle_since = time.monotonic()
            time.sleep(POLL_S)
    finally:
        runner.close()
        store.close()
        with contextlib.suppress(OSError):
            lock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ionq_mcp.sandbox._worker",
                                     description="run the sandbox jobs stored in DB until idle")
    parser.add_argument("db", help="the sandbox database file")
    parser.add_argument("--settings", required=True, help="JSON runner settings (see Launcher)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s worker {os.getpid()} %(message)s")
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)  # a background simulation must not slow the interactive calls that read its progress
    return run_worker(args.db, json.loads(args.settings))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
