"""Job lifecycle: submitted -> ready -> started -> completed | failed | canceled.

A dispatcher thread moves jobs through the timeline; simulation runs in a pool of worker threads, never on the
event loop, so the HTTP API keeps answering while a 25-qubit job runs. With a latency ``L`` for the backend a
job becomes ``ready`` at once, ``started`` after ``L/2``, and ``completed`` when both its simulation is done and
``L`` has passed. A step that is due at once runs without a trip through the dispatcher's heap (``started``
right after ``ready`` when ``L`` is 0; the worker stores its own results when ``L`` has already passed), so a
zero-latency job costs one hop to the dispatcher and one to a worker. Every transition is a compare-and-set on
the stored status, so a cancel racing a completion has exactly one winner.

Several processes may share one database file. A runner runs a job only while it holds the job's lease in the
store (:meth:`Store.claim_job`), renews its leases every ``lease_s / 3`` seconds, and writes a job's transitions
only as its owner; so two processes never run the same job, and a job whose runner died is claimed again once
its lease expired. A runner with ``poll_s`` set also claims jobs nobody runs: those created by a process that
does not run jobs itself (one-shot CLI calls, see ``_worker``) and those a dead process left unfinished.

Memory: a job starts only when its estimated peak (``_memory.job_bytes``) fits in the shared budget next to the
simulations already running; otherwise it waits, ``ready``. A job larger than the whole budget fails with
``failure: {code: SimulationError, message}`` and the process carries on.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._costs import RateTable, plan_cost
from ionq_mcp.sandbox._execute import JobFailure, Outcome, execute
from ionq_mcp.sandbox._memory import MemoryBudget, format_gib, job_bytes
from ionq_mcp.sandbox._store import UNFINISHED, Store

_log = logging.getLogger("ionq_mcp.sandbox")


def now_iso() -> str:
    """UTC now as IonQ writes timestamps: ``2025-05-28T20:47:05.440Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


#: Seconds a lease lasts without renewal: how long a job a dead process left behind waits to be claimed again.
LEASE_S = 30.0


class Runner:
    """Runs stored jobs. ``latency(backend)`` gives the emulated queue+run seconds for a backend.

    ``memory_budget``: bytes concurrent simulations may use together. ``poll_s``: how often to look for jobs no
    runner holds (None: only the jobs submitted here, plus those unfinished at start).
    """

    def __init__(self, store: Store, *, latency: Callable[[str], float], rates: RateTable, max_workers: int = 2,
                 seed: int | None = None, memory_budget: int, poll_s: float | None = None,
                 lease_s: float = LEASE_S):
        self._store = store
        self._latency = latency
        self._rates = rates
        self._seed = seed
        self._poll_s = poll_s
        self._lease_s = lease_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.memory = MemoryBudget(memory_budget)
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="sandbox-sim")
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._pending = 0
        self._simulating: set[str] = set()
        self._on_idle: list[Callable[[], None]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sandbox-dispatch", daemon=True)
        self._thread.start()
        self._at(time.monotonic() + self._period(), self._heartbeat)

    # ------------------------------------------------------------------------------------------ public

    @property
    def pending(self) -> int:
        """Jobs this runner holds that are not yet in a final status."""
        with self._cond:
            return self._pending

    def submit(self, job_id: str, backend: str, plan: circuits.JobPlan | None = None) -> None:
        """Run a stored job, unless another runner holds it. ``plan`` is its parsed payload when the caller has
        it (else it is parsed once, when the job starts running)."""
        if not self._store.claim_job(job_id, self.owner, self._lease_s, time.time()):
            return
        self._accept(job_id, backend, plan)

    def _accept(self, job_id: str, backend: str, plan: circuits.JobPlan | None) -> None:
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
        """Claim every job no runner holds (left unfinished by a process that stopped, or created by one that
        does not run jobs), put it back at ``submitted`` and run it. Returns how many."""
        count = 0
        while not self._closed:
            job = self._store.claim_next(self.owner, self._lease_s, time.time())
            if job is None:
                break
            reset = {"status": "submitted", "started_at": None}
            self._store.update_job(job.id, reset, only_if_status=UNFINISHED)
            for child in job.doc.get("child_job_ids") or []:
                self._store.update_job(child, reset, only_if_status=UNFINISHED)
            self._accept(job.id, job.doc["backend"], None)
            count += 1
        return count

    def cancel(self, job_id: str) -> bool:
        """:func:`cancel_job` on this runner's store."""
        return cancel_job(self._store, job_id)

    def close(self) -> None:
        """Stop. Jobs waiting here are handed back (their leases released) for another runner or a restart; a
        simulation still running keeps its lease until it expires (its result cannot be stored any more)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            running = set(self._simulating)
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.memory.clear()
        try:
            self._store.release_leases(self.owner, keep=running)
        except Exception:  # noqa: BLE001 - the store may be closed already; leases then simply expire
            _log.debug("could not release sandbox job leases", exc_info=True)

    def _heartbeat(self) -> None:
        now = time.time()
        self._store.renew_leases(self.owner, self._lease_s, now)
        if self._poll_s is not None:
            self.requeue_unfinished()
        self._at(time.monotonic() + self._period(), self._heartbeat)

    def _period(self) -> float:
        return self._lease_s / 3 if self._poll_s is None else min(self._poll_s, self._lease_s / 3)

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
        """Apply a transition to a job this runner holds (a compare-and-set on status and owner)."""
        doc = self._store.update_job(job_id, changes, only_if_status=from_status, owner=self.owner, **extra)
        if doc is None:
            return False
        for child in doc.get("child_job_ids") or []:
            self._store.update_job(child, {k: v for k, v in changes.items() if k in (
                "status", "started_at", "completed_at", "execution_duration_ms", "failure")},
                only_if_status=from_status)
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
        if plan is None:  # re-queued: parse once here, the memory estimate needs it
            job = self._store.get_job(job_id)
            if job is None or job.status != "ready":
                self._done()
                return
            try:
                plan = _parse(job.payload)
            except JobFailure as failure:
                self._fail(job_id, failure, ("ready",))
                return
        need = job_bytes(plan)
        if need > self.memory.total:
            self._fail(job_id, JobFailure("SimulationError", (
                f"simulating this job needs about {format_gib(need)} of memory, more than the sandbox's whole "
                f"simulation memory budget of {format_gib(self.memory.total)}; raise IONQ_MCP_SANDBOX_MEMORY_GB "
                f"(or SandboxConfig.memory_budget_bytes), or use fewer qubits")), ("ready",))
            return
        start = lambda: self._at(time.monotonic(), lambda: self._start(job_id, plan, half, need))  # noqa: E731
        if self.memory.acquire(need, start):
            self._start(job_id, plan, half, need)
        # else: the job waits, `ready`, until simulations finishing elsewhere free enough memory

    def _start(self, job_id: str, plan: circuits.JobPlan, half: float, need: int) -> None:
        if self._closed or not self._move(job_id, {"status": "started", "started_at": now_iso()}, ("ready",)):
            self.memory.release(need)
            self._done()
            return
        not_before = time.monotonic() + half
        with self._cond:
            self._simulating.add(job_id)
        try:
            self._pool.submit(self._run, job_id, plan, not_before, need)
        except RuntimeError:  # pool shut down: the sandbox is closing; the job stays unfinished for a restart
            self._release(job_id, need)
            self._done()

    def _release(self, job_id: str, need: int) -> None:
        with self._cond:
            self._simulating.discard(job_id)
        self.memory.release(need)

    def _fail(self, job_id: str, failure: JobFailure, from_status: tuple[str, ...]) -> None:
        """Settle a job that cannot run as failed, with IonQ's ``failure: {code, message}``."""
        try:
            self._move(job_id, {"status": "failed", "completed_at": now_iso(), "execution_duration_ms": 0,
                                "failure": {"code": failure.code, "message": failure.message}},
                       from_status, cost=0.0, time_us=0.0)
        finally:
            self._done()

    def _run(self, job_id: str, plan: circuits.JobPlan, not_before: float, need: int) -> None:
        began = time.monotonic()
        try:
            job = self._store.get_job(job_id)
        except Exception:  # noqa: BLE001 - the store closed under a late worker
            job = None
        if job is None or job.status != "started":
            self._release(job_id, need)
            self._done()
            return
        try:
            outcome: Outcome | JobFailure = execute(job_id, plan, job.doc.get("child_job_ids") or [],
                                                    default_seed=self._seed)
        except JobFailure as failure:
            outcome = failure
        except MemoryError:
            outcome = JobFailure("SimulationError", "the simulation ran out of memory")
        except Exception as error:  # noqa: BLE001 - report, do not crash the worker
            outcome = JobFailure("SimulationError", f"simulation failed: {type(error).__name__}: {error}")
        self._release(job_id, need)  # the simulation is over: its memory may go to a waiting job
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


def cancel_job(store: Store, job_id: str) -> bool:
    """Cancel an unfinished job and its children, whichever runner holds it (a compare-and-set: it loses to a
    completion that came first; the runner drops its result). True when this call canceled it; the job's cost is
    released. Returns at once: it never waits for a simulation."""
    changes = {"status": "canceled", "completed_at": now_iso()}
    doc = store.update_job(job_id, changes, only_if_status=UNFINISHED, cost=0.0)
    if doc is None:
        return False
    for child in doc.get("child_job_ids") or []:
        store.update_job(child, changes, only_if_status=UNFINISHED)
    return True


def _parse(payload: dict[str, Any]) -> circuits.JobPlan:
    try:
        return circuits.parse_job(payload)
    except circuits.CircuitError as error:  # validated at submission; only an edited database gets here
        raise JobFailure("InvalidInput", str(error)) from error


def _result_links(job_id: str) -> dict[str, Any]:
    return {"probabilities": {"url": f"/v0.4/jobs/{job_id}/results/probabilities"}}
