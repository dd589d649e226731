"""Response models, built from the v0.4 OpenAPI schemas (``schemas/ionq-quantum-cloud-openapi.yml``).

Tolerance rules, because the live service adds fields and sends nulls the schemas do not announce:

* every model keeps unknown fields (``extra="allow"``), whatever the schema's ``additionalProperties: false``;
* beyond the identity fields (``id``, and ``status`` for job creation) every field is optional and nullable;
* statuses and enums are plain strings (a job status may be ``started`` or ``running``; both are kept as sent);
* timestamps stay strings as sent; numbers keep their JSON type (an int stays an int).

Round trip: ``model.model_dump(mode="json", by_alias=True)`` gives back the wire JSON: fields that were absent
on the wire are left out again, and names that are not Python identifiers come back under their wire alias
(``1q``/``2q`` in gate counts and timings, ``1q_gates`` in estimates, ``from`` in usage).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, SerializationInfo, model_serializer

from ionq_mcp.circuits import TERMINAL_JOB_STATUSES

__all__ = [
    "TERMINAL_JOB_STATUSES",
    "Backend",
    "Characterization",
    "CharacterizationsPage",
    "CompiledCircuits",
    "EstimateInput",
    "Failure",
    "Fidelity",
    "FidelityStat",
    "GroupUsage",
    "Histogram",
    "IonQModel",
    "Job",
    "JobCanceled",
    "JobCost",
    "JobCreated",
    "JobDeleted",
    "JobEstimate",
    "JobResultLinks",
    "JobStats",
    "JobsCanceled",
    "JobsDeleted",
    "JobsPage",
    "Money",
    "Noise",
    "Probabilities",
    "RateInformation",
    "ResultLink",
    "Session",
    "SessionSettings",
    "SessionsPage",
    "Timing",
    "Usage",
    "Usages",
    "VariantShots",
    "Whoami",
]

Number = int | float

#: Job statuses after which nothing changes any more.


class IonQModel(BaseModel):
    """Base of every object model: keeps unknown fields, dumps back only what was on the wire."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    @model_serializer(mode="wrap")
    def _as_sent(self, handler: Any, info: SerializationInfo) -> Any:
        data = handler(self)
        fields = type(self).model_fields
        unset = fields.keys() - self.model_fields_set
        if unset and isinstance(data, dict):
            for name in unset:
                alias = fields[name].serialization_alias or fields[name].alias
                data.pop(alias if info.by_alias and alias else name, None)
        return data


class _Map(RootModel[Any]):
    """A JSON object as a read-only mapping (``m["3"]``, ``len(m)``, ``m.items()``, ``m.to_dict()``)."""

    def __getitem__(self, key: str) -> Any:
        return self.root[key]

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def __contains__(self, key: object) -> bool:
        return key in self.root

    def keys(self) -> Any:
        return self.root.keys()

    def values(self) -> Any:
        return self.root.values()

    def items(self) -> Any:
        return self.root.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.root.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.root)


# --- backends and characterizations -------------------------------------------------------------------


class Backend(IonQModel):
    """A backend (``GET /backends``). ``average_queue_time`` is in milliseconds, ``kw`` in kilowatt-hours."""

    backend: str
    status: str | None = None
    qubits: int | None = None
    average_queue_time: Number | None = None
    last_updated: str | None = None
    degraded: bool | None = None
    characterization_id: str | None = None
    location: str | None = None
    kw: Number | None = None


class FidelityStat(IonQModel):
    median: Number | None = None
    stderr: Number | None = None


class Fidelity(IonQModel):
    """Median fidelities of single-qubit (``1q``), two-qubit (``2q``) gates and SPAM."""

    spam: FidelityStat | None = None
    one_q: FidelityStat | None = Field(None, alias="1q")
    two_q: FidelityStat | None = Field(None, alias="2q")


class Timing(IonQModel):
    """Timings in seconds: ``t1``, ``t2``, gate times ``1q``/``2q``, ``readout``, ``reset``."""

    t1: Number | None = None
    t2: Number | None = None
    one_q: Number | None = Field(None, alias="1q")
    two_q: Number | None = Field(None, alias="2q")
    readout: Number | None = None
    reset: Number | None = None


class Characterization(IonQModel):
    """A calibration snapshot of a backend."""

    id: str | None = None
    backend: str | None = None
    date: str | None = None
    qubits: int | None = None
    connectivity: list[list[int]] | None = None
    fidelity: Fidelity | None = None
    timing: Timing | None = None


class CharacterizationsPage(IonQModel):
    """One page of characterizations; ``pages`` is the page count the service reports."""

    characterizations: list[Characterization] = Field(default_factory=list)
    pages: int | None = None


# --- jobs ---------------------------------------------------------------------------------------------


class JobCreated(IonQModel):
    """``POST /jobs`` response."""

    id: str
    status: str
    session_id: str | None = None


class Noise(IonQModel):
    model: str | None = None
    seed: int | None = None


class Failure(IonQModel):
    """Why a job failed: ``code`` from the spec's Failure enum (e.g. ``NotEnoughQubits``) and a message."""

    code: str | None = None
    message: str | None = None


class JobStats(IonQModel):
    """Job statistics; ``gate_counts`` maps ``"1q"``/``"2q"`` to counts, times are in microseconds."""

    qubits: int | None = None
    circuits: int | None = None
    gate_counts: dict[str, Number] | None = None
    kwh: Number | None = None
    predicted_quantum_compute_time_us: Number | None = None
    billed_quantum_compute_time_us: Number | None = None


class ResultLink(IonQModel):
    url: str | None = None


class JobResultLinks(IonQModel):
    probabilities: ResultLink | None = None
    histogram: ResultLink | None = None
    shots: ResultLink | None = None


class Job(IonQModel):
    """A job (``GetCircuitJobResponse``). Only ``id`` and ``status`` are required; durations are milliseconds.

    ``status`` is kept as sent: ``submitted``, ``ready``, ``started`` (or ``running``), ``canceled``,
    ``failed``, ``completed``. A multi-circuit parent lists its children in ``child_job_ids``.
    """

    id: str
    status: str
    type: str | None = None
    backend: str | None = None
    dry_run: bool | None = None
    submitter_id: str | None = None
    project_id: str | None = None
    parent_job_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    submitted_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    predicted_wait_time_ms: Number | None = None
    predicted_execution_duration_ms: Number | None = None
    execution_duration_ms: Number | None = None
    shots: int | None = None
    noise: Noise | None = None
    failure: Failure | None = None
    cost_model: str | None = None
    output: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    stats: JobStats | None = None
    results: JobResultLinks | None = None
    child_job_ids: list[str] | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the job is completed, failed or canceled."""
        return self.status in TERMINAL_JOB_STATUSES

    @property
    def variant_ids(self) -> list[str]:
        """Ids of the error-mitigation variants (``output.error_mitigation.debiasing.variants``), if any."""
        try:
            variants = self.output["error_mitigation"]["debiasing"]["variants"]  # type: ignore[index]
            return [v["variant_id"] for v in variants if isinstance(v, dict) and "variant_id" in v]
        except (KeyError, TypeError):
            return []


class JobsPage(IonQModel):
    """One page of jobs, newest first; pass ``next`` back to get the following page (None on the last)."""

    jobs: list[Job] = Field(default_factory=list)
    next: str | None = None


class Money(IonQModel):
    value: Number | None = None
    unit: str | None = None


class JobCost(IonQModel):
    """``GET /jobs/{id}/cost``: ``estimated_cost`` before the run, ``cost`` once billed (unit usually usd)."""

    dry_run: bool | None = None
    estimated_cost: Money | None = None
    cost: Money | None = None


class EstimateInput(IonQModel):
    backend: str | None = None
    type: str | None = None
    qubits: int | None = None
    shots: int | None = None
    one_qubit_gates: int | None = Field(None, alias="1q_gates")
    two_qubit_gates: int | None = Field(None, alias="2q_gates")
    error_mitigation: bool | None = None


class RateInformation(IonQModel):
    job_cost_minimum: Number | None = None
    cost_2q_gate: Number | None = None
    cost_1q_gate: Number | None = None
    organization: str | None = None


class JobEstimate(IonQModel):
    """``GET /jobs/estimate``: cost in ``cost_unit``; execution and queue times as the service reports them."""

    input_values: EstimateInput | None = None
    estimated_at: str | None = None
    cost_unit: str | None = None
    rate_information: RateInformation | None = None
    estimated_cost: Number | None = None
    estimated_execution_time: Number | None = None
    current_predicted_queue_time: Number | None = None


class JobCanceled(IonQModel):
    id: str | None = None
    status: str | None = None


class JobsCanceled(IonQModel):
    ids: list[str] = Field(default_factory=list)
    status: str | None = None


class JobDeleted(IonQModel):
    id: str | None = None
    status: str | None = None


class JobsDeleted(IonQModel):
    ids: list[str] = Field(default_factory=list)
    status: str | None = None


# --- sessions -----------------------------------------------------------------------------------------


class SessionSettings(IonQModel):
    job_count_limit: int | None = None
    duration_limit_min: int | None = None
    cost_limit: Money | None = None
    expires_at: str | None = None


class Session(IonQModel):
    """A reserved-capacity session; ``status`` is ``created``, ``started`` or ``ended`` as sent."""

    id: str
    created_at: str | None = None
    organization_id: str | None = None
    backend: str | None = None
    project_id: str | None = None
    creator_id: str | None = None
    ended_at: str | None = None
    ender_id: str | None = None
    settings: SessionSettings | None = None
    active: bool | None = None
    status: str | None = None
    started_at: str | None = None


class SessionsPage(IonQModel):
    organization_id: str | None = None
    sessions: list[Session] = Field(default_factory=list)


# --- identity and usage -------------------------------------------------------------------------------


class Whoami(IonQModel):
    key_id: str | None = None
    key_name: str | None = None
    project_id: str | None = None


class GroupUsage(IonQModel):
    amount: Number | None = None
    group_id: str | None = None
    group_name: str | None = None
    job_count: int | None = None
    time_us: Number | None = None


class Usage(IonQModel):
    """Usage for one period starting at ``from_`` (wire name ``from``); time in microseconds."""

    from_: str | None = Field(None, alias="from")
    job_count: int | None = None
    amount: Number | None = None
    time_us: Number | None = None
    group_usages: list[GroupUsage] | None = None


class Usages(IonQModel):
    """``GET /organizations/{id}/usage``: totals (``usage_unit``, microseconds) and per-period breakdowns."""

    amount_total: Number | None = None
    group_type: str | None = None
    job_count: int | None = None
    modality: str | None = None
    organization: str | None = None
    time_us_total: Number | None = None
    usage_data: list[Usage] | None = None
    usage_from: str | None = None
    usage_to: str | None = None
    usage_unit: str | None = None
    start_date: str | None = None
    end_date: str | None = None


# --- results ------------------------------------------------------------------------------------------


class Probabilities(_Map):
    """Probabilities keyed by the decimal basis state (qubit 0 = least significant bit).

    A multi-circuit parent may instead map child job ids to such distributions; both shapes are accepted.
    """

    root: dict[str, Number | dict[str, Number]]


class Histogram(_Map):
    """Per-variant raw histogram: decimal basis state -> count (or frequency, as the service sends it)."""

    root: dict[str, Number]


class VariantShots(_Map):
    """Per-variant shot data, kept in the shape the service sends (a map, or a list of measured states)."""

    root: dict[str, Any] | list[Any]


class CompiledCircuits(RootModel[Any]):
    """``GET /jobs/{id}/circuits/{lang}``: the compiled program as sent (JSON value or text, e.g. QASM 3)."""
