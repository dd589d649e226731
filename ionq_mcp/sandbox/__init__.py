"""An embedded IonQ-compatible sandbox cloud: every v0.4 endpoint, real simulation, persistent state.

>>> sandbox = Sandbox()                      # in-memory; SandboxConfig(db_path=...) persists
>>> transport = httpx.ASGITransport(app=sandbox.app)   # in-process
>>> async with sandbox.serve() as base_url: ...         # or over loopback HTTP: ".../v0.4"

See docs/design.md ("Sandbox") for the contract and docs/spec-deviations.md for the choices made where IonQ's
published documents disagree.
"""

from ionq_mcp.sandbox._backends import TIMINGS
from ionq_mcp.sandbox._cli import add_arguments as add_sandbox_arguments
from ionq_mcp.sandbox._cli import run as run_sandbox
from ionq_mcp.sandbox._config import DEFAULT_SANDBOX_KEY, ApiKey, SandboxConfig, default_keys
from ionq_mcp.sandbox._costs import ARIA, Rate, RateTable, default_rates
from ionq_mcp.sandbox._faults import FaultInjector, FaultRule, LoggedRequest, RequestLog
from ionq_mcp.sandbox._noise import NOISE_MODELS, expected_bell_fidelity
from ionq_mcp.sandbox._sandbox import Sandbox
from ionq_mcp.sandbox._store import Store

__all__ = [
    "ARIA",
    "DEFAULT_SANDBOX_KEY",
    "NOISE_MODELS",
    "TIMINGS",
    "ApiKey",
    "FaultInjector",
    "FaultRule",
    "LoggedRequest",
    "Rate",
    "RateTable",
    "RequestLog",
    "Sandbox",
    "SandboxConfig",
    "Store",
    "add_sandbox_arguments",
    "default_keys",
    "default_rates",
    "expected_bell_fidelity",
    "run_sandbox",
]
