"""``IonQClient``: one async method per IonQ v0.4 operation in ``capabilities/*.yaml``.

Method names are the capability ids in snake_case (``listBackends`` -> ``list_backends``) and argument names are
the snake_case names the MCP catalog gives the tool arguments (``job_id``, ``variant_id``, ``one_qubit_gates``...),
so the server can call ``getattr(client, tool_name)(**tool_arguments)``. Operations without a named method go
through :meth:`IonQClient.request`.

Behaviour shared by every method: retries per :mod:`._retry` (idempotent requests only), errors per
:mod:`._errors`, and exactly-once ``create_job`` / at-most-once ``create_session`` per :mod:`._idempotency`.
Optional arguments left as None are not sent, so the service applies its own defaults.
"""

from __future__ import annotations

import builtins
import json as jsonlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
from pydantic import BaseModel, RootModel

from ionq_mcp.client._errors import APIStatusError, ConfigurationError
from ionq_mcp.client._http import HTTPSession, Timeouts, is_in_process, path_segment, resolve_config
from ionq_mcp.client._idempotency import IDEMPOTENCY_METADATA_KEY, Lookup, create_job_once, create_session_once
from ionq_mcp.client._models import (
    Backend,
    Characterization,
    CharacterizationsPage,
    CompiledCircuits,
    Histogram,
    Job,
    JobCanceled,
    JobCost,
    JobCreated,
    JobDeleted,
    JobEstimate,
    JobsCanceled,
    JobsDeleted,
    JobsPage,
    Probabilities,
    Session,
    SessionsPage,
    Usages,
    VariantShots,
    Whoami,
)
from ionq_mcp.client._pagination import iter_numbered_pages, iter_token_pages
from ionq_mcp.client._retry import RetryPolicy

__all__ = ["IonQClient", "resolve_results"]

M = TypeVar("M", bound=BaseModel)
_BackendList = RootModel[list[Backend]]

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
class IonQClient:
    """Async client for the IonQ Quantum Cloud API v0.4.

    ``api_key`` defaults to ``IONQ_API_KEY`` and ``base_url`` to ``IONQ_API_URL`` or ``https://api.ionq.co/v0.4``.
    ``transport`` may be any ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport(app=sandbox.app)``).
    ``timeout`` is a :class:`Timeouts` or one number of seconds for every phase. ``retry`` is a
    :class:`RetryPolicy`. A plain-http, non-loopback ``base_url`` is refused while a key is set unless
    ``allow_insecure_http=True``. Use as ``async with IonQClient(...) as client:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: Timeouts | float | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        user_agent: str | None = None,
        lookup: Lookup | None = None,
    ) -> None:
        config = resolve_config(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            allow_insecure_http=allow_insecure_http,
            user_agent=user_agent,
            in_process=is_in_process(transport),
        )
        self._session = HTTPSession(config, transport)
        self._lookup = lookup or Lookup()

    # --- lifecycle ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._session.config.base_url

    @property
    def has_api_key(self) -> bool:
        return self._session.config.api_key is not None

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "set" if self.has_api_key else "unset"
        return f"IonQClient(base_url={self.base_url!r}, api_key=<{key}>)"

    # --- generic --------------------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Send ``method path`` (relative to the base URL, e.g. ``/jobs/{id}``) and return the parsed JSON.

        Returns the text for a non-JSON body and None for an empty one. GET/PUT/DELETE are retried; other
        methods only when the request provably had no effect, except that ``POST /jobs`` and ``POST /sessions``
        take the same exactly-once / at-most-once path as :meth:`create_job` and :meth:`create_session`.
        Absolute URLs are refused (the API key must not be sent to another host).
        """
        if not isinstance(method, str) or not method.isalpha():
            raise ConfigurationError(f"method: must be an HTTP method name such as 'GET', got {method!r}")
        if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") or "://" in path:
            raise ConfigurationError(f"path: must be a path relative to the base URL starting with '/', got {path!r}")
        method = method.upper()
        creates = {"/jobs": create_job_once, "/sessions": create_session_once}.get(path.rstrip("/"))
        if method == "POST" and creates is not None and not params:
            if not isinstance(json, Mapping):
                raise ConfigurationError(f"json: POST {path} needs a JSON object body, got {type_name(json)}")
            created = await creates(self._session, json, lookup=self._lookup)
            return created.model_dump(mode="json", by_alias=True)
        mode = "idempotent" if method in _IDEMPOTENT_METHODS else "unsafe"
        response = await self._session.send(method, path, params=_query(params), json=json, mode=mode)
        return _decode(response)

    async def _get(self, path: str, model: type[M], params: Mapping[str, Any] | None = None) -> M:
        response = await self._session.send("GET", path, params=_query(params))
        return self._session.parse(response, model)

    async def _call(self, method: str, path: str, model: type[M], *, json: Any = None) -> M:
        response = await self._session.send(method, path, json=json, mode="idempotent")
        return self._session.parse(response, model)

    # --- backends -------------------------------------------------------------------------------------

    async def list_backends(self) -> list[Backend]:
        """All backends with status, qubit count and queue time (``GET /backends``)."""
        response = await self._session.send("GET", "/backends")
        return self._session.parse(response, _BackendList).root

    async def get_backend(self, backend: str) -> Backend:
        """One backend (``GET /backends/{backend}``)."""
        return await self._get(f"/backends/{path_segment('backend', backend)}", Backend)

    async def get_backend_characterizations(
        self,
        backend: str,
        *,
        start: str | date | None = None,
        end: str | date | None = None,
        limit: int | None = None,
        page: int | None = None,
    ) -> CharacterizationsPage:
        """A page of calibration snapshots, newest first; ``start``/``end`` bound the measurement time."""
        return await self._get(
            f"/backends/{path_segment('backend', backend)}/characterizations",
            CharacterizationsPage,
            {"start": start, "end": end, "limit": limit, "page": page},
        )

    async def get_backend_characterization(self, backend: str, characterization_id: str) -> Characterization:
        """One characterization (``GET /backends/{backend}/characterizations/{UUID}``)."""
        return await self._get(
            f"/backends/{path_segment('backend', backend)}/characterizations/"
            f"{path_segment('characterization_id', characterization_id)}",
            Characterization,
        )

    # --- jobs -----------------------------------------------------------------------------------------

    async def create_job(
        self,
        payload: Mapping[str, Any] | None = None,
        *,
        type: str | None = None,
        backend: str | None = None,
        shots: int | None = None,
        input: Any = None,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
        noise: Mapping[str, Any] | None = None,
        dry_run: bool | None = None,
        session_id: str | None = None,
        external_settings: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **extra_fields: Any,
    ) -> JobCreated:
        """Submit a job exactly once (``POST /jobs``; see :mod:`._idempotency`).

        Give the job either as ``payload`` (the wire JSON) or as keyword fields (they override ``payload``);
        further payload fields the service may add can be passed as extra keywords. The client adds
        ``metadata["ionq_mcp_idempotency_key"]``; pass ``idempotency_key`` to choose the token yourself.
        Raises :class:`UncertainOutcomeError` when the job may or may not exist and the token says how to check.
        """
        if payload is not None and not isinstance(payload, Mapping):
            raise ConfigurationError(f"payload: must be a JSON object (dict), got {type_name(payload)}")
        body = dict(payload or {})
        fields = {
            "type": type, "backend": backend, "shots": shots, "input": input, "name": name, "metadata": metadata,
            "settings": settings, "noise": noise, "dry_run": dry_run, "session_id": session_id,
            "external_settings": external_settings,
        }
        body.update({k: v for k, v in fields.items() if v is not None})
        body.update({k: v for k, v in extra_fields.items() if v is not None})
        for required in ("backend", "input"):
            if body.get(required) is None:
                raise ConfigurationError(f"{required}: is required to create a job")
        meta = body.get("metadata")
        if meta is not None:
            if not isinstance(meta, Mapping):
                raise ConfigurationError(f"metadata: must be an object of string values, got {type_name(meta)}")
            bad = [k for k, v in meta.items() if not isinstance(k, str) or not isinstance(v, str)]
            if bad:
                raise ConfigurationError(f"metadata: values must be strings; not strings: {', '.join(map(str, bad))}")
            if IDEMPOTENCY_METADATA_KEY in meta and idempotency_key is None:
                idempotency_key = meta[IDEMPOTENCY_METADATA_KEY]
        if idempotency_key is not None and (not isinstance(idempotency_key, str) or not idempotency_key):
            raise ConfigurationError(f"idempotency_key: must be a non-empty string, got {idempotency_key!r}")
        return await create_job_once(self._session, body, idempotency_key=idempotency_key, lookup=self._lookup)

    async def list_jobs(
        self,
        *,
        ids: Sequence[str] | None = None,
        parent_job_id: str | None = None,
        status: str | None = None,
        target: str | None = None,
        session_id: str | None = None,
        submitter_id: str | None = None,
        limit: int | None = None,
        next: str | None = None,
    ) -> JobsPage:
        """A page of jobs, newest first (``GET /jobs``); pass the page's ``next`` to get the following one."""
        filters = _job_filters(ids, parent_job_id, status, target, submitter_id, limit, next)
        return await self._get("/jobs", JobsPage, {**filters, "session_id": session_id})

    async def delete_jobs(self, ids: Sequence[str]) -> JobsDeleted:
        """Delete many jobs (``DELETE /jobs`` with ``{"ids": [...]}``)."""
        return await self._call("DELETE", "/jobs", JobsDeleted, json={"ids": _id_list("ids", ids)})

    async def get_job(self, job_id: str) -> Job:
        """One job with status, stats, failure and result links (``GET /jobs/{UUID}``)."""
        return await self._get(f"/jobs/{path_segment('job_id', job_id)}", Job)

    async def delete_job(self, job_id: str) -> JobDeleted:
        """Delete one job (``DELETE /jobs/{UUID}``).

        If a retry answers 404 because an earlier attempt (whose response was lost) deleted the job, the
        deletion is reported as done.
        """
        path = f"/jobs/{path_segment('job_id', job_id)}"
        try:
            return await self._call("DELETE", path, JobDeleted)
        except APIStatusError as exc:
            if _retry_refused(exc) and exc.status_code == 404:
                return JobDeleted.model_validate({"id": job_id, "status": "deleted"})
            raise

    async def get_job_cost(self, job_id: str) -> JobCost:
        """Estimated and billed cost of a job (``GET /jobs/{UUID}/cost``)."""
        return await self._get(f"/jobs/{path_segment('job_id', job_id)}/cost", JobCost)

    async def get_job_estimate(
        self,
        backend: str,
        *,
        type: str | None = None,
        qubits: int | None = None,
        shots: int | None = None,
        one_qubit_gates: int | None = None,
        two_qubit_gates: int | None = None,
        error_mitigation: bool | None = None,
    ) -> JobEstimate:
        """Cost estimate before submitting (``GET /jobs/estimate``; gate counts go out as ``1q_gates``/``2q_gates``)."""
        if not isinstance(backend, str) or not backend:
            raise ConfigurationError(f"backend: must be a non-empty string, got {backend!r}")
        return await self._get(
            "/jobs/estimate",
            JobEstimate,
            {
                "backend": backend,
                "type": type,
                "qubits": qubits,
                "shots": shots,
                "1q_gates": one_qubit_gates,
                "2q_gates": two_qubit_gates,
                "error_mitigation": error_mitigation,
            },
        )

    async def get_job_circuits(self, job_id: str, lang: str) -> CompiledCircuits:
        """The compiled program of a job in ``lang`` (``native`` or ``qasm3``), as sent."""
        response = await self._session.send(
            "GET", f"/jobs/{path_segment('job_id', job_id)}/circuits/{path_segment('lang', lang)}"
        )
        return CompiledCircuits.model_validate(_decode(response))

    async def cancel_job(self, job_id: str) -> JobCanceled:
        """Cancel one job (``PUT /jobs/{UUID}/status/cancel``).

        If a retry is refused (4xx) because an earlier attempt whose response was lost already canceled the
        job, the cancellation is reported as done (checked with ``get_job``).
        """
        path = f"/jobs/{path_segment('job_id', job_id)}"
        try:
            return await self._call("PUT", f"{path}/status/cancel", JobCanceled)
        except APIStatusError as exc:
            if _retry_refused(exc):
                current = await self._get(path, Job)
                if current.status == "canceled":
                    return JobCanceled.model_validate({"id": current.id, "status": "canceled"})
            raise

    async def cancel_many_jobs(self, ids: Sequence[str]) -> JobsCanceled:
        """Cancel many jobs (``PUT /jobs/status/cancel`` with ``{"ids": [...]}``)."""
        return await self._call("PUT", "/jobs/status/cancel", JobsCanceled, json={"ids": _id_list("ids", ids)})

    async def get_job_probabilities(self, job_id: str, *, sharpen: bool | None = None) -> Probabilities:
        """Aggregated probabilities keyed by decimal basis state, qubit 0 least significant."""
        return await self._get(
            f"/jobs/{path_segment('job_id', job_id)}/results/probabilities", Probabilities, {"sharpen": sharpen}
        )

    async def get_variant_probabilities(self, job_id: str, variant_id: str) -> Probabilities:
        """Probabilities of one error-mitigation variant of a job."""
        return await self._get(_variant_path(job_id, variant_id, "probabilities"), Probabilities)

    async def get_variant_histogram(self, job_id: str, variant_id: str) -> Histogram:
        """Raw histogram (counts) of one variant of a job."""
        return await self._get(_variant_path(job_id, variant_id, "histogram"), Histogram)

    async def get_variant_shots(self, job_id: str, variant_id: str) -> VariantShots:
        """Shot-by-shot results of one variant of a job."""
        return await self._get(_variant_path(job_id, variant_id, "shots"), VariantShots)

    # --- sessions -------------------------------------------------------------------------------------

    async def create_session(self, backend: str, *, settings: Mapping[str, Any] | None = None) -> Session:
        """Create a session at most once (``POST /sessions``; see :mod:`._idempotency`).

        ``settings``: ``job_count_limit``, ``duration_limit_min``, ``cost_limit: {"unit", "value"}``. After an
        ambiguous failure it raises :class:`UncertainOutcomeError` naming candidate sessions rather than risk a
        second reservation.
        """
        if not isinstance(backend, str) or not backend:
            raise ConfigurationError(f"backend: must be a non-empty string, got {backend!r}")
        body: dict[str, Any] = {"backend": backend}
        if settings is not None:
            if not isinstance(settings, Mapping):
                raise ConfigurationError(f"settings: must be an object, got {type_name(settings)}")
            body["settings"] = dict(settings)
        return await create_session_once(self._session, body, lookup=self._lookup)

    async def list_sessions(self, *, active: bool | None = None) -> SessionsPage:
        """The organization's sessions (``GET /sessions``); ``active=True`` keeps only open ones."""
        return await self._get("/sessions", SessionsPage, {"active": active})

    async def get_session(self, session_id: str) -> Session:
        """One session (``GET /sessions/{session_id}``)."""
        return await self._get(f"/sessions/{path_segment('session_id', session_id)}", Session)

    async def end_session(self, session_id: str) -> Session:
        """End a session (``POST /sessions/{session_id}/end``).

        Ending is idempotent in effect, so it is retried like a read. If a retry is refused (4xx) because an
        earlier attempt already ended the session, the ended session is returned instead of the error.
        """
        path = f"/sessions/{path_segment('session_id', session_id)}"
        try:
            return await self._call("POST", f"{path}/end", Session)
        except APIStatusError as exc:
            if _retry_refused(exc):
                current = await self._get(path, Session)
                if current.status == "ended" or current.active is False:
                    return current
            raise

    async def list_session_jobs(
        self,
        session_id: str,
        *,
        ids: Sequence[str] | None = None,
        parent_job_id: str | None = None,
        status: str | None = None,
        target: str | None = None,
        submitter_id: str | None = None,
        limit: int | None = None,
        next: str | None = None,
    ) -> JobsPage:
        """A page of the jobs run in a session (``GET /sessions/{session_id}/jobs``)."""
        return await self._get(
            f"/sessions/{path_segment('session_id', session_id)}/jobs",
            JobsPage,
            _job_filters(ids, parent_job_id, status, target, submitter_id, limit, next),
        )

    # --- identity and usage ---------------------------------------------------------------------------

    async def whoami(self) -> Whoami:
        """The calling key's id, name and project (``GET /whoami``)."""
        return await self._get("/whoami", Whoami)

    async def get_organization_usage(
        self,
        organization_id: str,
        *,
        start_date: str | date,
        end_date: str | date,
        group_by: str,
        modality: str,
    ) -> Usages:
        """Usage and cost for ``[start_date, end_date)`` grouped by ``group_by`` (job/project/user) per
        ``modality`` (daily/weekly/monthly); times in microseconds, amounts in ``usage_unit``."""
        return await self._get(
            f"/organizations/{path_segment('organization_id', organization_id)}/usage",
            Usages,
            {"start_date": start_date, "end_date": end_date, "group_by": group_by, "modality": modality},
        )

    # --- conveniences (not API operations) --------------------------------------------------------------

    def iter_jobs(self, *, max_items: int | None = None, page_size: int | None = None, **filters: Any) -> AsyncIterator[Job]:
        """Iterate over jobs, newest first, following ``next`` tokens; stops after ``max_items`` jobs.

        ``filters`` are :meth:`list_jobs` arguments (``status``, ``target``, ``session_id``...).
        """

        async def fetch(token: str | None) -> JobsPage:
            return await self.list_jobs(**filters, limit=page_size, next=token)

        return iter_token_pages(fetch, max_items=max_items)

    def iter_session_jobs(
        self, session_id: str, *, max_items: int | None = None, page_size: int | None = None, **filters: Any
    ) -> AsyncIterator[Job]:
        """Iterate over the jobs of a session, following ``next`` tokens; stops after ``max_items`` jobs."""

        async def fetch(token: str | None) -> JobsPage:
            return await self.list_session_jobs(session_id, **filters, limit=page_size, next=token)

        return iter_token_pages(fetch, max_items=max_items)

    def iter_characterizations(
        self,
        backend: str,
        *,
        start: str | date | None = None,
        end: str | date | None = None,
        page_size: int = 10,
        max_items: int | None = None,
    ) -> AsyncIterator[Characterization]:
        """Iterate over a backend's characterizations page by page; stops after ``max_items``."""

        async def fetch(page: int) -> CharacterizationsPage:
            return await self.get_backend_characterizations(backend, start=start, end=end, limit=page_size, page=page)

        return iter_numbered_pages(fetch, page_size=page_size, max_items=max_items)

    async def get_results(self, job_id: str, *, sharpen: bool | None = None) -> dict[str, Probabilities]:
        """Probabilities per circuit: ``{job_id: probs}``, or ``{child_id: probs}`` for a multi-circuit parent."""
        return await resolve_results(self, job_id, sharpen=sharpen)


async def resolve_results(
    client: IonQClient, job_id: str, *, sharpen: bool | None = None, max_concurrency: int = 8
) -> dict[str, Probabilities]:
    """Probabilities of a job, resolving a multi-circuit parent to its children.

    Returns ``{job_id: probabilities}`` for a single-circuit job, and ``{child_id: probabilities}`` (in the
    order of ``child_job_ids``) for a parent. A parent whose own probabilities endpoint already answers with
    ``{child_id: {state: p}}`` is split without further requests.
    """
    job = await client.get_job(job_id)
    children = job.child_job_ids or []
    if not children:
        probs = await client.get_job_probabilities(job_id, sharpen=sharpen)
        if probs.root and all(isinstance(v, dict) for v in probs.root.values()):
            return {cid: Probabilities.model_validate(v) for cid, v in probs.root.items()}
        return {job_id: probs}
    results: dict[str, Probabilities] = {}
    limiter = anyio.Semaphore(max_concurrency)

    async def fetch(child: str) -> None:
        async with limiter:
            results[child] = await client.get_job_probabilities(child, sharpen=sharpen)

    async with anyio.create_task_group() as tg:
        for child in children:
            tg.start_soon(fetch, child)
    return {child: results[child] for child in children}


def type_name(value: Any) -> str:
    return builtins.type(value).__name__


def _job_filters(
    ids: Sequence[str] | None,
    parent_job_id: str | None,
    status: str | None,
    target: str | None,
    submitter_id: str | None,
    limit: int | None,
    next: str | None,
) -> dict[str, Any]:
    """The query of the job listings (``GET /jobs``, ``GET /sessions/{id}/jobs``)."""
    return {
        "ids": _id_list("ids", ids) if ids is not None else None,
        "parent_job_id": parent_job_id,
        "status": status,
        "target": target,
        "submitter_id": submitter_id,
        "limit": limit,
        "next": next,
    }


def _retry_refused(exc: APIStatusError) -> bool:
    """A retry (not the first attempt) was refused with a 4xx: an earlier attempt may have done the work."""
    return exc.attempts > 1 and 400 <= exc.status_code < 500 and exc.status_code != 429


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the None values; dates as ISO strings."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    return out or None


def _id_list(name: str, ids: Any) -> list[str]:
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise ConfigurationError(f"{name}: must be a list of job ids, got {type_name(ids)}")
    bad = [i for i in ids if not isinstance(i, str) or not i]
    if bad:
        raise ConfigurationError(f"{name}: every entry must be a non-empty string; bad entries: {bad[:5]!r}")
    return list(ids)


def _variant_path(job_id: str, variant_id: str, kind: str) -> str:
    return (
        f"/jobs/{path_segment('job_id', job_id)}/variants/{path_segment('variant_id', variant_id)}/results/{kind}"
    )


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        return jsonlib.loads(response.content)
    return response.text
