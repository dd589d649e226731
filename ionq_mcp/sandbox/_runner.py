"""Job lifecycle: submitted -> ready -> started -> completed | failed | canceled.

A dispatcher thread moves jobs through the timeline; simulation runs in a pool of worker threads, never on the
event loop, so the HTTP API keeps answering while a 25-qubit job runs. With a latency ``L`` for the backend a
job becomes ``ready`` at once, ``started`` after ``L/2``, and ``completed`` when both its simulation is done and
``L`` has passed. A step that is due at once runs without a trip through the dispatcher's heap (``started``
right after ``ready`` when ``L`` is 0; the worker stores its own results when ``L`` has already passed), so a
zero-latency job costs one hop to the dispatcher and one to a worker. Every transition is a compare-and-set on
the stored status, so a cancel racing a completion has exactly one winner. A restart re-queues every job the
previous process left unfinished.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._costs import RateTable, plan_cost
from ionq_mcp.sandbox._execute import JobFailure, Outcome, execute
from ionq_mcp.sandbox._store import UNFINISHED, Store

_log = logging.getLogger("ionq_mcp.sandbox")


def now_iso() -> str:
    """UTC now as IonQ writes timestamps: ``2025-05-28T20:47:05.440Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Runner:
    """Runs stored jobs. ``latency(backend)`` gives the emulated queue+run seconds for a backend."""

    def __init__(self, store: Store, *, latency: Callable[[str], float], rates: RateTable, max_workers: int = 2,
                 seed: int | None = None):
        self._store = store
        self._latency = latency
        self._rates = rates
        self._seed = seed
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="sandbox-sim")
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._pending = 0
        self._on_idle: list[Callable[[], None]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sandbox-dispatch", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------ public

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet in a final status."""
        with self._cond:
            return self._pending

    def submit(self, job_id: str, backend: str, plan: circuits.JobPlan | None = None) -> None:
        """Run a stored job. ``plan`` is its parsed payload when the caller has it (else it is parsed once, when
        the job starts running)."""
        with self._cond:
            self._pending += 1
        self._at(time.monotonic(), lambda: self._to_ready(job_id, backend, plan))

    def call_when_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once no job is pending: at once if none is, else from the thread that settles the
        last one (so it must be quick and thread-safe, e.g. ``loop.call_soon_threadsafe``)."""
        with self._cond:
            if self._pending:
                self._on_idle.append(callback)
                return
        callback()

    def requeue_unfinished(self) -> int:
        """Put jobs a previous process left unfinished back at ``submitted`` and run them. Returns how many."""
        jobs = self._store.unfinished_jobs()
        for job in jobs:
            reset = {"status": "submitted", "started_at": None}
            self._store.update_job(job.id, reset)
            for child in job.doc.get("child_job_ids") or []:
                self._store.update_job(child, reset, only_if_status=UNFINISHED)
            self.submit(job.id, job.doc["backend"])
        return len(jobs)

    def cancel(self, job_id: str) -> bool:
        """Cancel an unfinished job and its children (a compare-and-set: it loses to a completion that came
        first). True when this call canceled it; the job's cost is released."""
        return self._move(job_id, {"status": "canceled", "completed_at": now_iso()}, UNFINISHED, cost=0.0)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------------------------- dispatcher

    def _at(self, due: float, action: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._counter), action))
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, action = heapq.heappop(self._heap)
            try:
                action()
            except Exception:  # noqa: BLE001 - one broken step must not stop every other job
                _log.exception("sandbox job step failed")

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()
            idle, self._on_idle = (self._on_idle, []) if not self._pending else ([], self._on_idle)
        for callback in idle:
            callback()

    def _move(self, job_id: str, changes: dict[str, Any], from_status: tuple[str, ...], **extra: Any) -> bool:
        doc = self._store.update_job(job_id, changes, only_if_status=from_status, **extra)
        if doc is None:
            return False
        for child in doc.get("child_job_ids") or []:
            self._store.update_job(child, {k: v for k, v in changes.items() if k in (
                "status", "started_at", "completed_at", "execution_duration_ms", "failure")}, only_if_status=from_status)
        return True

    def _to_ready(self, job_id: str, backend: str, plan: circuits.JobPlan | None) -> None:
        if not self._move(job_id, {"status": "ready"}, ("submitted",)):
            self._done()
            return
        half = self._latency(backend) / 2
        if half <= 0:
            self._to_started(job_id, plan, half)
        else:
            self._at(time.monotonic() + half, lambda: self._to_started(job_id, plan, half))

    def _to_started(self, job_id: str, plan: circuits.JobPlan | None, half: float) -> None:
        if not self._move(job_id, {"status": "started", "started_at": now_iso()}, ("ready",)):
            self._done()
            return
        not_before = time.monotonic() + half
        try:
            self._pool.submit(self._run, job_id, plan, not_before)
        except RuntimeError:  # pool shut down: the sandbox is closing; the job stays unfinished for a restart
            self._done()

    def _run(self, job_id: str, plan: circuits.JobPlan | None, not_before: float) -> None:
        began = time.monotonic()
        job = self._store.get_job(job_id)
        if job is None or job.status != "started":
            self._done()
            return
        try:
            if plan is None:  # re-queued after a restart
                plan = _parse(job.payload)
            outcome: Outcome | JobFailure = execute(job_id, plan, job.doc.get("child_job_ids") or [],
                                                    default_seed=self._seed)
        except JobFailure as failure:
            outcome = failure
        except MemoryError:
            outcome = JobFailure("SimulationError", "the simulation ran out of memory")
        except Exception as error:  # noqa: BLE001 - report, do not crash the worker
            outcome = JobFailure("SimulationError", f"simulation failed: {type(error).__name__}: {error}")
        elapsed_ms = int((time.monotonic() - began) * 1000)
        if time.monotonic() < not_before:
            self._at(not_before, lambda: self._finish(job_id, plan, outcome, elapsed_ms))
            return
        try:
            self._finish(job_id, plan, outcome, elapsed_ms)
        except Exception:  # noqa: BLE001 - as in the dispatcher; quiet when the store closed under a late worker
            if not self._closed:
                _log.exception("sandbox job step failed")

    def _finish(self, job_id: str, plan: circuits.JobPlan | None, outcome: Outcome | JobFailure,
                elapsed_ms: int) -> None:
        try:
            job = self._store.get_job(job_id)
            if job is None or job.status != "started":
                return
            done = now_iso()
            if isinstance(outcome, JobFailure):
                self._move(job_id, {"status": "failed", "completed_at": done, "execution_duration_ms": elapsed_ms,
                                    "failure": {"code": outcome.code, "message": outcome.message}},
                           ("started",), cost=0.0, time_us=0.0)
                return
            self._store.put_results(job_id, outcome.results)
            for child_id, results in outcome.children.items():
                self._store.put_results(child_id, results)
                changes: dict[str, Any] = {"results": _result_links(child_id)}
                if child_id in outcome.children_output:
                    changes["output"] = outcome.children_output[child_id]
                self._store.update_job(child_id, changes, only_if_status=("started",))
            assert plan is not None  # only a failure comes without a plan
            stats = dict(job.doc.get("stats") or {})
            billed_us = stats.get("predicted_quantum_compute_time_us", 0) if circuits.is_qpu(plan.backend) else 0
            stats["billed_quantum_compute_time_us"] = billed_us
            output = {**job.doc.get("output", {}), **outcome.output}
            links = _result_links(job_id) if outcome.results else None
            if not self._move(job_id, {"status": "completed", "completed_at": done,
                                       "execution_duration_ms": elapsed_ms, "output": output, "stats": stats,
                                       "results": links},
                              ("started",), cost=plan_cost(self._rates, plan), time_us=float(billed_us)):
                # canceled or deleted while the results were being stored: drop them
                for owner in (job_id, *outcome.children):
                    self._store.delete_results(owner)
        finally:
            self._done()


def _parse(payload: dict[str, Any]) -> circuits.JobPlan:
    try:
        return circuits.parse_job(payload)
    except circuits.CircuitError as error:  # validated at submission; only an edited database gets here
        raise JobFailure("InvalidInput", str(error)) from error


def _result_links(job_id: str) -> dict[str, Any]:
    return {"probabilities": {"url": f"/v0.4/jobs/{job_id}/results/probabilities"}}
