"""The spend policy: which backends and amounts are allowed, read from flags and ``IONQ_MCP_*`` variables.

Money is in US dollars (floats).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionq_mcp._env import parse_bool

__all__ = [
    "ENV_ALLOW_QPU",
    "ENV_BULK_CONFIRM_ABOVE",
    "ENV_CONFIRM_ABOVE",
    "ENV_DAILY_BUDGET",
    "ENV_MAX_JOB_COST",
    "GuardConfigError",
    "GuardPolicy",
    "add_guard_arguments",
    "policy_from_args",
]

ENV_ALLOW_QPU = "IONQ_MCP_ALLOW_QPU"
ENV_MAX_JOB_COST = "IONQ_MCP_MAX_JOB_COST_USD"
ENV_DAILY_BUDGET = "IONQ_MCP_DAILY_BUDGET_USD"
ENV_CONFIRM_ABOVE = "IONQ_MCP_CONFIRM_ABOVE_USD"
ENV_BULK_CONFIRM_ABOVE = "IONQ_MCP_BULK_CONFIRM_ABOVE"


class GuardConfigError(ValueError):
    """A guard setting (environment variable or flag) has a value the guard cannot use."""


@dataclass(frozen=True)
class GuardPolicy:
    """The spend rules. Defaults are deliberately conservative (see ``docs/guard.md``).

    * ``allow_qpu``: QPU backends (``qpu.*``) are refused unless True. The simulator is always allowed.
    * ``max_job_cost_usd``: a single job (by fresh estimate) above this is refused; also the default and the
      ceiling of a QPU session's ``cost_limit``.
    * ``daily_budget_usd``: rolling 24-hour total; a job that would take the total above it is refused.
    * ``confirm_above_usd``: a job whose estimate is above this needs the user's confirmation (elicitation).
      0 means every paid job is confirmed.
    * ``bulk_confirm_above``: bulk cancel/delete of more than this many jobs needs confirmation.
    """

    allow_qpu: bool = False
    max_job_cost_usd: float = 25.0
    daily_budget_usd: float = 100.0
    confirm_above_usd: float = 0.0
    bulk_confirm_above: int = 5

    def __post_init__(self) -> None:
        for name in ("max_job_cost_usd", "daily_budget_usd", "confirm_above_usd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise GuardConfigError(f"{name} must be a finite number of USD >= 0, got {value!r}")
        if isinstance(self.bulk_confirm_above, bool) or not isinstance(self.bulk_confirm_above, int) \
                or self.bulk_confirm_above < 0:
            raise GuardConfigError(f"bulk_confirm_above must be a whole number >= 0, got {self.bulk_confirm_above!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GuardPolicy:
        """Read the policy from ``IONQ_MCP_*`` variables; unset variables keep the defaults.

        ``overrides`` (e.g. from command-line flags) win over the environment; ``None`` values are ignored.
        Raises :class:`GuardConfigError` naming the variable, the bad value and what is allowed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if ENV_ALLOW_QPU in env:
            values["allow_qpu"] = _parse_bool(ENV_ALLOW_QPU, env[ENV_ALLOW_QPU])
        for var, name in ((ENV_MAX_JOB_COST, "max_job_cost_usd"), (ENV_DAILY_BUDGET, "daily_budget_usd"),
                          (ENV_CONFIRM_ABOVE, "confirm_above_usd")):
            if var in env:
                values[name] = _parse_usd(var, env[var])
        if ENV_BULK_CONFIRM_ABOVE in env:
            values["bulk_confirm_above"] = _parse_count(ENV_BULK_CONFIRM_ABOVE, env[ENV_BULK_CONFIRM_ABOVE])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def describe(self) -> str:
        """One line for logs and the server's instructions."""
        return (f"QPU {'allowed' if self.allow_qpu else 'disabled'}; per-job cap ${self.max_job_cost_usd:.2f}; "
                f"daily budget ${self.daily_budget_usd:.2f} (rolling 24 h); confirmation above "
                f"${self.confirm_above_usd:.2f}; bulk confirmation above {self.bulk_confirm_above} jobs")


def add_guard_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the guard's command-line flags to an ``argparse`` parser (they win over the environment)."""
    group = parser.add_argument_group("spend guard (flags win over IONQ_MCP_* variables)")
    group.add_argument("--allow-qpu", action="store_true", default=None,
                       help=f"allow QPU backends (env {ENV_ALLOW_QPU}=1; default: simulator only)")
    group.add_argument("--max-job-cost", type=float, metavar="USD", default=None,
                       help=f"refuse a job whose estimate is above this (env {ENV_MAX_JOB_COST}; default 25)")
    group.add_argument("--daily-budget", type=float, metavar="USD", default=None,
                       help=f"rolling 24-hour spending limit (env {ENV_DAILY_BUDGET}; default 100)")
    group.add_argument("--confirm-above", type=float, metavar="USD", default=None,
                       help=f"ask the user to confirm jobs estimated above this (env {ENV_CONFIRM_ABOVE}; default 0)")
    group.add_argument("--bulk-confirm-above", type=int, metavar="N", default=None,
                       help=f"ask before bulk cancel/delete of more than N jobs (env {ENV_BULK_CONFIRM_ABOVE}; "
                            f"default 5)")


def policy_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> GuardPolicy:
    """The policy from the environment, overridden by the flags of :func:`add_guard_arguments` that were given."""
    return GuardPolicy.from_env(
        environ,
        allow_qpu=getattr(args, "allow_qpu", None),
        max_job_cost_usd=getattr(args, "max_job_cost", None),
        daily_budget_usd=getattr(args, "daily_budget", None),
        confirm_above_usd=getattr(args, "confirm_above", None),
        bulk_confirm_above=getattr(args, "bulk_confirm_above", None),
    )


def _parse_bool(var: str, raw: str) -> bool:
    try:
        return parse_bool(var, raw)
    except ValueError as error:
        raise GuardConfigError(str(error)) from None


def _parse_usd(var: str, raw: str) -> float:
    try:
        value = float(raw.strip().lstrip("$"))
    except ValueError:
        raise GuardConfigError(f"{var}={raw!r} is not a number of US dollars (allowed: a number >= 0, "
                               f"e.g. {var}=25)") from None
    if not math.isfinite(value) or value < 0:
        raise GuardConfigError(f"{var}={raw!r} must be a finite number of US dollars >= 0")
    return value


def _parse_count(var: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise GuardConfigError(f"{var}={raw!r} is not a whole number (allowed: an integer >= 0, "
                               f"e.g. {var}=5)") from None
    if value < 0:
        raise GuardConfigError(f"{var}={raw!r} must be >= 0")
    return value

