"""Sandbox configuration: API keys, latencies, pricing, initial faults."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from ionq_mcp.sandbox._costs import RateTable, default_rates
from ionq_mcp.sandbox._faults import FaultRule

#: The key the sandbox accepts when none is configured. It guards nothing of value: the sandbox is local.
DEFAULT_SANDBOX_KEY = "sandbox-local-key"

_NAMESPACE = uuid.UUID("0b7f9a52-3c2e-4f0e-9d4b-4e1f1f3c6a10")


def _uid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass
class ApiKey:
    """One API key the sandbox accepts. Jobs and sessions are scoped to ``project_id``.

    ``user_id`` is the submitter recorded on jobs (``submitter_id``); it defaults to an id derived from
    ``key_id``. The secret ``key`` never appears in a repr, a response or a log line.
    """

    key: str = field(repr=False)
    key_id: str
    name: str
    project_id: str
    organization_id: str
    user_id: str = ""
    project_name: str = ""

    def __post_init__(self) -> None:
        if not self.user_id:
            self.user_id = _uid(f"user/{self.key_id}")
        if not self.project_name:
            self.project_name = f"Project {self.project_id[:8]}"

    @classmethod
    def generate(cls, key: str, name: str = "sandbox key", *, project: str = "default",
                 organization: str = "sandbox") -> ApiKey:
        """A key with ids derived deterministically from ``key``'s name, ``project`` and ``organization``
        (the same arguments give the same ids across restarts, so stored jobs stay visible)."""
        return cls(key=key, key_id=_uid(f"key/{name}/{project}/{organization}"), name=name,
                   project_id=_uid(f"project/{organization}/{project}"),
                   organization_id=_uid(f"organization/{organization}"), project_name=project)


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {raw!r}")
    return value


def default_keys() -> list[ApiKey]:
    return [ApiKey.generate(DEFAULT_SANDBOX_KEY, "sandbox default key")]


@dataclass
class SandboxConfig:
    """Everything a :class:`~ionq_mcp.sandbox.Sandbox` needs.

    ``db_path``: ``":memory:"`` or a file (the CLI uses ``state_dir()/sandbox.sqlite3``).
    ``qpu_latency_s`` / ``simulator_latency_s``: emulated queue+run seconds per job (submitted -> completed).
    ``seed``: RNG seed for sampling when a job gives no ``noise.seed``. ``max_workers``: simulation threads.
    ``memory_budget_bytes``: memory concurrent simulations may use together (None: ``$IONQ_MCP_SANDBOX_MEMORY_GB``,
    else half the machine's memory); a job that does not fit waits, one larger than the budget fails.
    ``detached``: run no jobs in this process; a background worker process on the same database file runs them
    and exits after ``worker_idle_s`` idle seconds (for one-shot CLI calls; needs a file ``db_path``).
    ``poll_s``: how often a file-backed sandbox looks for jobs no process runs (e.g. left by one that died).
    """

    db_path: str = ":memory:"
    api_keys: list[ApiKey] = field(default_factory=default_keys)
    qpu_latency_s: float = 2.0
    simulator_latency_s: float = 0.0
    seed: int | None = None
    rates: RateTable = field(default_factory=default_rates)
    faults: list[FaultRule] = field(default_factory=list)
    max_workers: int = 2
    memory_budget_bytes: int | None = None
    detached: bool = False
    worker_idle_s: float = field(default_factory=lambda: _env_seconds("IONQ_MCP_SANDBOX_WORKER_IDLE_S", 60.0))
    poll_s: float = 2.0

    def latency(self, backend: str) -> float:
        return self.qpu_latency_s if backend.startswith("qpu.") else self.simulator_latency_s
