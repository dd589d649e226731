"""Job documents: build the wire JSON of a new job (and of a multi-circuit job's children), and views of it.

The stored document is exactly ``GetCircuitJobResponse``; the list view drops ``child_job_ids`` (``BaseJob``
has no such field). ``noise`` appears only on simulator jobs, as the spec says. ``cost_model`` (optional in the
spec) is left out: the spec's enum (``quantum_compute_time``) and ionq-core's (``QCT``) disagree, and a client
built on either rejects the other's word.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._config import ApiKey
from ionq_mcp.sandbox._costs import RateTable, job_stats, stored_cost

_COMPILATION_KEYS = ("precision", "opt", "gate_basis", "service_version")


@dataclass
class NewJob:
    doc: dict[str, Any]
    payload: dict[str, Any]
    extra: dict[str, Any]


def _settings(payload: Mapping[str, Any], plan: circuits.JobPlan) -> dict[str, Any]:
    """The job's ``settings``: its compilation options, and for a gate-circuit job the EFFECTIVE debiasing (the
    payload's choice or IonQ's default), which is what decides the variants and the price."""
    raw = payload.get("settings") or {}
    out: dict[str, Any] = {}
    compilation = raw.get("compilation")
    out["compilation"] = ({k: v for k, v in compilation.items() if k in _COMPILATION_KEYS}
                          if isinstance(compilation, Mapping) else {})
    if plan.circuits:
        out["error_mitigation"] = {"debiasing": plan.debiasing}
    return out


def _base(job_id: str, key: ApiKey, plan: circuits.JobPlan, payload: Mapping[str, Any], *, submitted_at: str,
          latency_s: float, stats: dict[str, Any], job_type: str, name: Any, parent: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": job_id,
        "status": "submitted",
        "type": job_type,
        "backend": plan.backend,
        "dry_run": plan.dry_run,
        "submitter_id": key.user_id,
        "project_id": key.project_id,
        "parent_job_id": parent,
        "child_job_ids": None,
        "session_id": payload.get("session_id"),
        "metadata": dict(payload["metadata"]) if isinstance(payload.get("metadata"), Mapping) else None,
        "name": name if isinstance(name, str) else None,
        "submitted_at": submitted_at,
        "started_at": None,
        "completed_at": None,
        "predicted_wait_time_ms": int(latency_s * 500),
        "predicted_execution_duration_ms": int(stats.get("predicted_quantum_compute_time_us", 0) // 1000),
        "execution_duration_ms": None,
        "shots": plan.shots,
        "failure": None,
        "settings": _settings(payload, plan),
        "stats": stats,
        "results": None,
        "output": {},
    }
    if plan.backend == circuits.SIMULATOR:
        noise = {"model": plan.noise_model}
        if plan.noise_seed is not None:
            noise["seed"] = plan.noise_seed
        doc["noise"] = noise
    return doc


def build(key: ApiKey, plan: circuits.JobPlan, payload: dict[str, Any], *, submitted_at: str,
          latency_s: float) -> list[NewJob]:
    """The documents to store for one accepted payload: the job, then one child per circuit of a multi-circuit
    job. A dry run is complete at once with no results."""
    job_id = str(uuid.uuid4())
    stats = job_stats(plan)
    doc = _base(job_id, key, plan, payload, submitted_at=submitted_at, latency_s=latency_s, stats=stats,
                job_type=plan.type, name=payload.get("name"), parent=None)
    extra = {"organization_id": key.organization_id, "cost": 0.0, "time_us": 0.0}
    jobs = [NewJob(doc, payload, extra)]
    if plan.type == circuits.MULTI_CIRCUIT_JOB:
        children = []
        for circuit in plan.circuits:
            child_payload = {k: v for k, v in payload.items() if k not in ("input", "type", "name", "session_id")}
            child_payload["type"] = circuits.CIRCUIT_JOB
            child_payload["input"] = _circuit_input(payload, circuit, len(children))
            # the child's plan is the parent's narrowed to one circuit: nothing to parse again
            child_plan = replace(plan, type=circuits.CIRCUIT_JOB, circuits=(circuit,), payload=child_payload)
            child_stats = job_stats(child_plan)
            child = _base(str(uuid.uuid4()), key, child_plan, child_payload, submitted_at=submitted_at,
                          latency_s=latency_s, stats=child_stats, job_type=circuits.CIRCUIT_JOB, name=circuit.name,
                          parent=job_id)
            child["session_id"] = doc["session_id"]
            children.append(NewJob(child, child_payload, dict(extra)))
        doc["child_job_ids"] = [c.doc["id"] for c in children]
        jobs += children
    if plan.dry_run:
        for job in jobs:
            job.doc.update(status="completed", completed_at=submitted_at, predicted_wait_time_ms=0)
    return jobs


def _circuit_input(payload: Mapping[str, Any], circuit: circuits.Circuit, index: int) -> dict[str, Any]:
    entry = payload["input"]["circuits"][index]
    return {"gateset": circuit.gateset, "qubits": circuit.qubits, "circuit": entry["circuit"]}


def list_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "child_job_ids"}


def cost_view(doc: Mapping[str, Any], billed: float, rates: RateTable) -> dict[str, Any]:
    """``GetJobCostResponse``: the estimate always; the billed ``cost`` once the job reached a final status."""
    body: dict[str, Any] = {"dry_run": bool(doc.get("dry_run")),
                            "estimated_cost": {"value": stored_cost(rates, doc), "unit": rates.unit}}
    if doc["status"] in ("completed", "failed", "canceled"):
        body["cost"] = {"value": 0.0 if doc.get("dry_run") else billed, "unit": rates.unit}
    return body


__all__ = ["NewJob", "build", "cost_view", "list_view"]
