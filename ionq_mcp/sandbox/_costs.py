"""Prices and compute-time statistics.

Default rates are IonQ's published gate-shot formula (``docs/reference/ionq-notes.md``), applied as written::

    cost = m + 0.000220 * N1q * shots + 0.000975 * N2q * shots        (USD, Aria)
    m    = 97.50 with error mitigation (debiasing), else 12.4166

Forte is documented as "higher" without numbers; the sandbox's Forte rates are our choice (recorded in
docs/spec-deviations.md). The simulator is free. Every rate is configurable through :class:`RateTable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._backends import timing_for


@dataclass(frozen=True)
class Rate:
    """One backend's prices in ``RateTable.unit``: per 1q/2q gate-shot, and the per-job minimum."""

    cost_1q_gate: float
    cost_2q_gate: float
    job_cost_minimum: float
    job_cost_minimum_error_mitigation: float


ARIA = Rate(cost_1q_gate=0.000220, cost_2q_gate=0.000975, job_cost_minimum=12.4166,
            job_cost_minimum_error_mitigation=97.50)
FORTE = Rate(cost_1q_gate=0.000300, cost_2q_gate=0.001300, job_cost_minimum=25.00,
             job_cost_minimum_error_mitigation=125.00)


@dataclass
class RateTable:
    """Prices per backend. A backend without an entry (the simulator) is free."""

    rates: dict[str, Rate] = field(default_factory=dict)
    unit: str = "usd"
    organization: str = "sandbox"

    def rate(self, backend: str) -> Rate | None:
        return self.rates.get(backend)

    def cost(self, backend: str, *, one_q: int, two_q: int, shots: int, error_mitigation: bool) -> float:
        """Price of one job: minimum plus gate-shots (0 for a free backend)."""
        rate = self.rate(backend)
        if rate is None:
            return 0.0
        minimum = rate.job_cost_minimum_error_mitigation if error_mitigation else rate.job_cost_minimum
        return round(minimum + rate.cost_1q_gate * one_q * shots + rate.cost_2q_gate * two_q * shots, 6)


def default_rates() -> RateTable:
    """IonQ's published Aria rates for both Arias, the sandbox's Forte rates for both Fortes."""
    return RateTable(rates={"qpu.aria-1": ARIA, "qpu.aria-2": ARIA, "qpu.forte-1": FORTE,
                            "qpu.forte-enterprise-1": FORTE})


def compute_time_us(backend: str, *, one_q: int, two_q: int, shots: int) -> int:
    """Predicted quantum compute time in microseconds: per shot, every gate's duration plus readout and reset."""
    t = timing_for(backend)  # seconds
    return round(shots * (one_q * t.one_q + two_q * t.two_q + t.readout + t.reset) * 1e6)


def job_stats(plan: circuits.JobPlan) -> dict[str, Any]:
    """``CircuitJobStats`` of a validated job (billed time is filled when the job completes)."""
    one_q, two_q = plan.gate_counts()
    return {
        "qubits": plan.qubits,
        "circuits": max(1, len(plan.circuits)),
        "gate_counts": {"1q": one_q, "2q": two_q},
        "predicted_quantum_compute_time_us": compute_time_us(plan.backend, one_q=one_q, two_q=two_q,
                                                             shots=plan.shots),
    }


def plan_cost(rates: RateTable, plan: circuits.JobPlan) -> float:
    one_q, two_q = plan.gate_counts()
    return rates.cost(plan.backend, one_q=one_q, two_q=two_q, shots=plan.shots, error_mitigation=plan.debiasing)


def stored_cost(rates: RateTable, doc: Mapping[str, Any]) -> float:
    """:func:`plan_cost` of a stored job, read from its document (``stats.gate_counts`` were counted from the
    plan at submission), so a cost lookup does not parse a circuit of thousands of gates again."""
    counts = doc["stats"]["gate_counts"]
    mitigation = (doc.get("settings") or {}).get("error_mitigation") or {}
    return rates.cost(doc["backend"], one_q=counts["1q"], two_q=counts["2q"], shots=doc["shots"],
                      error_mitigation=bool(mitigation.get("debiasing")))


def estimate(rates: RateTable, *, backend: str, job_type: str, qubits: int, shots: int, one_q: int, two_q: int,
             error_mitigation: bool, queue_time_ms: float, estimated_at: str) -> dict[str, Any]:
    """The ``GetJobEstimateResponse`` body. Execution and queue times are in seconds."""
    rate = rates.rate(backend) or Rate(0.0, 0.0, 0.0, 0.0)
    seconds = 0.0 if not circuits.is_qpu(backend) else compute_time_us(
        backend, one_q=one_q, two_q=two_q, shots=shots) / 1e6
    return {
        "input_values": {"backend": backend, "type": job_type, "qubits": qubits, "shots": shots,
                         "1q_gates": one_q, "2q_gates": two_q, "error_mitigation": error_mitigation},
        "estimated_at": estimated_at,
        "cost_unit": rates.unit,
        "rate_information": {
            "job_cost_minimum": (rate.job_cost_minimum_error_mitigation if error_mitigation
                                 else rate.job_cost_minimum),
            "cost_2q_gate": rate.cost_2q_gate,
            "cost_1q_gate": rate.cost_1q_gate,
            "organization": rates.organization,
        },
        "estimated_cost": rates.cost(backend, one_q=one_q, two_q=two_q, shots=shots,
                                     error_mitigation=error_mitigation),
        "estimated_execution_time": seconds,
        "current_predicted_queue_time": queue_time_ms / 1000.0,
    }
