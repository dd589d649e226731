"""Memory for simulations: what a job needs, and a budget that concurrent simulations share.

A state vector of ``n`` qubits is ``2**n`` amplitudes: complex128 (16 bytes) below 27 qubits, complex64 (8 bytes)
from 27 on, so a 29-qubit state is 4 GiB. :func:`job_bytes` estimates a job's peak from that alone (the engine
keeps its scratch to a few MiB and computes probabilities in place; the 15% margin covers the rest):

* ideal simulator: the state + 15% + 64 MiB;
* sampled runs (noise models, QPU emulation, debiasing variants): up to three states at once (the ideal state
  kept as a checkpoint, and a batch of noisy trajectories next to it) + 256 MiB of trajectory batch + 64 MiB;
* QAOA (exhaustive maxcut, at most 20 nodes) and quantum functions: small, sized like a sampled run.

The :class:`MemoryBudget` admits a job only while the estimates of everything running fit in it; a job that does
not fit waits (it stays ``ready``, in arrival order, and any later job that fits may pass it); a job larger than
the whole budget fails with IonQ's failure shape instead of taking the process down.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ionq_mcp import circuits

__all__ = ["MemoryBudget", "default_budget_bytes", "format_gib", "job_bytes", "state_bytes"]

GIB = 1 << 30
MIB = 1 << 20
#: Environment variable that sets the budget, in GiB (fractions allowed), for the CLI and the embedded mode.
BUDGET_ENV = "IONQ_MCP_SANDBOX_MEMORY_GB"
#: The engine runs complex64 from this many qubits on.
_SINGLE_PRECISION_QUBITS = 27
_OVERHEAD = 64 * MIB
_TRAJECTORY_BATCH = 256 * MIB


def state_bytes(qubits: int, *, sampled: bool = False) -> int:
    """Bytes of one state vector of ``qubits`` qubits as the engine stores it."""
    single = qubits >= _SINGLE_PRECISION_QUBITS or (sampled and qubits >= 20)
    return (1 << qubits) * (8 if single else 16)


def job_bytes(plan: circuits.JobPlan) -> int:
    """Estimated peak bytes of simulating ``plan`` (circuits of a multi-circuit job run one after another)."""
    ideal = plan.backend == circuits.SIMULATOR and plan.noise_model == "ideal" and not plan.debiasing
    widths = [c.qubits for c in plan.circuits] or [plan.qubits]
    if ideal and plan.circuits:
        return int(state_bytes(max(widths)) * 1.15) + _OVERHEAD
    return 3 * state_bytes(max(widths), sampled=True) + _TRAJECTORY_BATCH + _OVERHEAD


def default_budget_bytes() -> int:
    """``$IONQ_MCP_SANDBOX_MEMORY_GB`` when set, else half of the machine's physical memory (8 GiB when that is
    unknown). Raises ``ValueError`` for a value that is not a positive number."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise ValueError(f"{BUDGET_ENV} must be a positive number of GiB, got {raw!r}")
        return int(value * GIB)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * GIB


def format_gib(size: int) -> str:
    return f"{size / GIB:.2f} GiB"


class MemoryBudget:
    """Bytes shared by the simulations of one process. Thread-safe."""

    def __init__(self, total: int):
        if total <= 0:
            raise ValueError(f"the memory budget must be positive, got {total}")
        self.total = total
        self._used = 0
        self._waiting: list[tuple[int, Callable[[], None]]] = []
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def acquire(self, size: int, start: Callable[[], None]) -> bool:
        """Take ``size`` bytes and return True when they fit now; else queue ``start``, which is called (from the
        thread that frees enough memory, after the bytes were taken for it) and return False. ``size`` must not
        exceed :attr:`total`."""
        with self._lock:
            if self._used + size <= self.total:
                self._used += size
                return True
            self._waiting.append((size, start))
            return False

    def release(self, size: int) -> None:
        """Give back ``size`` bytes and start every queued job that now fits, oldest first."""
        with self._lock:
            self._used -= size
            started, still = [], []
            for need, start in self._waiting:
                if self._used + need <= self.total:
                    self._used += need
                    started.append(start)
                else:
                    still.append((need, start))
            self._waiting = still
        for start in started:
            start()

    def clear(self) -> None:
        """Forget the queued jobs (the runner is closing; they stay unfinished in the store)."""
        with self._lock:
            self._waiting = []
