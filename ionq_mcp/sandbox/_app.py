"""The sandbox's HTTP API: every ``/v0.4`` operation of IonQ's OpenAPI description, on Starlette.

Handlers are thin: parse and check the request (every 4xx names the offending key in ``validation.keys``), call
the store/runner, shape the response. Handlers never simulate: the runner does that in worker threads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ionq_mcp import circuits
from ionq_mcp.sandbox import _backends, _jobs, _sessions, _usage
from ionq_mcp.sandbox._config import ApiKey
from ionq_mcp.sandbox._costs import estimate, plan_cost
from ionq_mcp.sandbox._errors import ApiError, bad_request, error_body, not_found, unauthorized
from ionq_mcp.sandbox._query import (
    query_bool,
    query_date,
    query_day,
    query_enum,
    query_int,
    query_string,
    query_uuid,
    query_uuids,
)
from ionq_mcp.sandbox._runner import now_iso
from ionq_mcp.sandbox._validate import loads_finite, validate_body, validate_job, without_nulls

if TYPE_CHECKING:
    from ionq_mcp.sandbox._config import SandboxConfig
    from ionq_mcp.sandbox._runner import Runner
    from ionq_mcp.sandbox._store import Store


class Sandbox(Protocol):
    """What the endpoints use of a :class:`ionq_mcp.sandbox.Sandbox`: its configuration, store and runner."""

    config: SandboxConfig
    store: Store
    runner: Runner

Handler = Callable[[Request, "Context"], Awaitable[Response]]

#: Largest page of jobs a list returns; the default page size.
MAX_PAGE = 1000
DEFAULT_PAGE = 25
#: Largest request body accepted (a 29-qubit circuit with thousands of gates fits easily).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Characterizations: the operation's own limit (1..10) wins over the shared component's (1..25).
MAX_CHARACTERIZATION_PAGE = 10


class Context:
    """What a handler needs: the sandbox and the caller's key (None on public operations)."""

    def __init__(self, sandbox: Sandbox, key: ApiKey | None):
        self.sandbox = sandbox
        self.key = key

    @property
    def me(self) -> ApiKey:
        assert self.key is not None
        return self.key


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


# ---------------------------------------------------------------------------------------------- parameters


def _known_backend(backend: str, *, source: str) -> str:
    """``backend`` when the sandbox runs it, else the error naming it: 404 for a path parameter, 400 elsewhere."""
    if not _backends.is_known(backend):
        raise ApiError(404 if source == "params" else 400,
                       f"unknown backend {backend!r} (allowed: {', '.join(circuits.JOB_BACKENDS)})",
                       keys=["backend"], source=source)
    return backend


def _backend_param(request: Request) -> str:
    return _known_backend(request.path_params["backend"], source="params")


async def _body(request: Request) -> Any:
    # Read no further than the limit: a body of gigabytes is refused after 16 MiB, not held in memory first.
    too_large = ApiError(413, f"request body is larger than {MAX_BODY_BYTES} bytes", keys=["body"], source="body")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise bad_request("a JSON request body is required", "body")
    try:
        return without_nulls(loads_finite(raw))
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"the request body is not valid JSON: {error}", "body") from None
    except RecursionError:
        raise bad_request("the request body nests arrays or objects too deeply to parse", "body") from None


# ------------------------------------------------------------------------------------------------ handlers


async def whoami(request: Request, ctx: Context) -> Response:
    return _json({"key_id": ctx.me.key_id, "key_name": ctx.me.name, "project_id": ctx.me.project_id})


async def list_backends(request: Request, ctx: Context) -> Response:
    return _json([_backends.backend_doc(b, average_queue_time_ms=ctx.sandbox.config.latency(b) * 1000)
                  for b in circuits.JOB_BACKENDS])


async def get_backend(request: Request, ctx: Context) -> Response:
    backend = _backend_param(request)
    return _json(_backends.backend_doc(backend, average_queue_time_ms=ctx.sandbox.config.latency(backend) * 1000))


async def list_characterizations(request: Request, ctx: Context) -> Response:
    backend = _backend_param(request)
    limit = query_int(request, "limit", MAX_CHARACTERIZATION_PAGE, 1, MAX_CHARACTERIZATION_PAGE)
    page = query_int(request, "page", 1, 1)
    assert limit is not None and page is not None
    return _json(_backends.list_characterizations(backend, start=query_day(request, "start", _backends.parse_day),
                                                  end=query_day(request, "end", _backends.parse_day), page=page,
                                                  limit=limit))


async def get_characterization(request: Request, ctx: Context) -> Response:
    backend = _backend_param(request)
    found = _backends.find_characterization(backend, request.path_params["UUID"])
    if found is None:
        raise not_found("characterization", "UUID", request.path_params["UUID"])
    return _json(found)


async def create_job(request: Request, ctx: Context) -> Response:
    sandbox = ctx.sandbox
    body = await _body(request)
    plan = validate_job(body)
    payload = dict(plan.payload)
    session_id = payload.get("session_id")
    cost = 0.0
    if session_id is not None:
        session = sandbox.store.get_session(session_id, ctx.me.project_id)
        if session is None:
            raise not_found("session", "session_id", session_id, source="body")
        cost = plan_cost(sandbox.config.rates, plan)
        _sessions.admit(sandbox.store, session, plan, cost)
    jobs = _jobs.build(ctx.me, plan, payload, submitted_at=now_iso(), latency_s=sandbox.config.latency(plan.backend))
    if session_id is not None and not plan.dry_run:
        jobs[0].extra["cost"] = cost  # reserved against the session's cost limit until the job settles
    sandbox.store.insert_jobs((j.doc, j.payload, j.extra) for j in jobs)
    top = jobs[0].doc
    if not plan.dry_run:
        sandbox.runner.submit(top["id"], plan.backend, plan)
    return _json({"id": top["id"], "status": top["status"], "session_id": top["session_id"]}, 201)


def _list_jobs(request: Request, ctx: Context, session_id: str | None) -> Response:
    status = query_enum(request, "status", ("submitted", "ready", "started", "canceled", "failed", "completed"))
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    assert limit is not None
    after_seq = None
    cursor = query_string(request, "next")
    if cursor is not None:
        start = ctx.sandbox.store.get_job(cursor, ctx.me.project_id)
        if start is None:
            raise bad_request(f"`next` {cursor!r} is not a page cursor this sandbox issued", "next", source="query")
        after_seq = start.seq + 1
    target = query_string(request, "target")
    backends = [t.strip() for t in target.split(",")] if target is not None else None
    if backends is not None and not all(backends):
        raise bad_request("`target` has an empty item; give comma-separated backends or leave it out", "target",
                          source="query")
    rows = ctx.sandbox.store.list_jobs(
        ctx.me.project_id, ids=query_uuids(request, "ids"), parent_job_id=query_uuid(request, "parent_job_id"),
        status=status, backends=backends, session_id=session_id or query_uuid(request, "session_id"),
        submitter_id=query_uuid(request, "submitter_id"), after_seq=after_seq, limit=limit + 1)
    page, rest = rows[:limit], rows[limit:]
    return _json({"jobs": [_jobs.list_view(r.doc) for r in page], "next": rest[0].id if rest else None})


async def list_jobs(request: Request, ctx: Context) -> Response:
    return _list_jobs(request, ctx, None)


def _ids_body(body: Any) -> list[str]:
    validate_body("JobsBulkOperationRequest", body)
    return list(dict.fromkeys(body["ids"]))


def _own_jobs(ctx: Context, ids: list[str]) -> list[Any]:
    rows, missing = [], []
    for index, job_id in enumerate(ids):
        row = ctx.sandbox.store.get_job(job_id, ctx.me.project_id)
        if row is None:
            missing.append(f"ids[{index}]")
        rows.append(row)
    if missing:
        raise ApiError(404, f"no job with id(s) {', '.join(repr(ids[int(k[4:-1])]) for k in missing)}; nothing "
                            f"was changed", keys=missing, source="body")
    return rows


async def delete_jobs(request: Request, ctx: Context) -> Response:
    ids = _ids_body(await _body(request))
    _own_jobs(ctx, ids)
    for job_id in ids:
        ctx.sandbox.store.delete_job(job_id)
    return _json({"ids": ids, "status": "deleted"})


def _job(request: Request, ctx: Context) -> Any:
    job_id = request.path_params["UUID"]
    row = ctx.sandbox.store.get_job(job_id, ctx.me.project_id)
    if row is None:
        raise not_found("job", "UUID", job_id)
    return row


async def get_job(request: Request, ctx: Context) -> Response:
    return _json(_job(request, ctx).doc)


async def delete_job(request: Request, ctx: Context) -> Response:
    row = _job(request, ctx)
    ctx.sandbox.store.delete_job(row.id)
    return _json({"id": row.id, "status": "deleted"})


async def get_job_cost(request: Request, ctx: Context) -> Response:
    row = _job(request, ctx)
    return _json(_jobs.cost_view(row.doc, row.cost, ctx.sandbox.config.rates))


def _cancel(ctx: Context, row: Any) -> bool:
    """Cancel an unfinished job (and its children); True when it is canceled now or was already."""
    return row.status == "canceled" or ctx.sandbox.runner.cancel(row.id)


async def cancel_job(request: Request, ctx: Context) -> Response:
    # A job already in a final status is left as it is and the call still succeeds (IonQ's clients treat it as
    # a no-op; qiskit's job.cancel() raises on an error). The body keeps the spec's only status word.
    row = _job(request, ctx)
    _cancel(ctx, row)
    return _json({"id": row.id, "status": "canceled"})


async def cancel_jobs(request: Request, ctx: Context) -> Response:
    ids = _ids_body(await _body(request))
    rows = _own_jobs(ctx, ids)
    canceled = [row.id for row in rows if _cancel(ctx, row)]
    return _json({"ids": canceled, "status": "canceled"})


async def estimate_job(request: Request, ctx: Context) -> Response:
    backend = query_string(request, "backend")
    if backend is None:
        raise bad_request(f"`backend` is required (one of {', '.join(circuits.JOB_BACKENDS)})", "backend",
                          source="query")
    _known_backend(backend, source="query")
    job_type = query_string(request, "type") or circuits.CIRCUIT_JOB
    if job_type not in circuits.JOB_TYPES:
        raise bad_request(f"unknown job type {job_type!r} (allowed: {', '.join(circuits.JOB_TYPES)})", "type",
                          source="query")
    limit_shots = circuits.MAX_QPU_SHOTS if circuits.is_qpu(backend) else circuits.MAX_SHOTS
    qubits = query_int(request, "qubits", min(25, circuits.BACKEND_QUBITS[backend]), 1,
                        circuits.BACKEND_QUBITS[backend])
    shots = query_int(request, "shots", 1000, 1, limit_shots)
    one_q = query_int(request, "1q_gates", 0, 0)
    two_q = query_int(request, "2q_gates", 0, 0)
    mitigation = query_bool(request, "error_mitigation")
    if mitigation is None:  # IonQ's default for a job that does not say: a circuit job is taken to be in QIS gates
        mitigation = job_type in (circuits.CIRCUIT_JOB, circuits.MULTI_CIRCUIT_JOB) and circuits.default_debiasing(
            backend, shots, ("qis",))
    assert qubits is not None and shots is not None and one_q is not None and two_q is not None
    return _json(estimate(ctx.sandbox.config.rates, backend=backend, job_type=job_type, qubits=qubits, shots=shots,
                          one_q=one_q, two_q=two_q, error_mitigation=bool(mitigation),
                          queue_time_ms=ctx.sandbox.config.latency(backend) * 1000, estimated_at=now_iso()))


async def get_circuits(request: Request, ctx: Context) -> Response:
    row = _job(request, ctx)
    lang = request.path_params["lang"]
    if lang not in ("native", "qasm3"):
        raise bad_request(f"`lang` must be native or qasm3, got {lang!r}", "lang", source="params")
    plan = circuits.parse_job(row.payload)
    if plan.type == circuits.MULTI_CIRCUIT_JOB:
        raise ApiError(404, f"job {row.id} is a multi-circuit job; its compiled circuits belong to its child jobs "
                            f"{row.doc.get('child_job_ids')}", keys=["UUID"], source="params")
    if len(plan.circuits) != 1:
        raise ApiError(404, f"job {row.id} ({plan.type}) has no gate circuit to compile", keys=["UUID"],
                       source="params")
    from ionq_mcp.sandbox import _compile

    circuit = plan.circuits[0]
    try:
        if lang == "qasm3":
            return _json(_compile.to_qasm3(circuit))
        native = {"gateset": "native", "qubits": circuit.qubits, "circuit": _compile.compile_to_native(circuit)}
    except ValueError as error:  # e.g. a pauliexp with non-commuting terms, more than 8 controls
        raise ApiError(422, f"job {row.id} cannot be compiled to {lang}: {error}", keys=["lang"],
                       source="params") from None
    return _json(json.dumps(native))


async def get_probabilities(request: Request, ctx: Context) -> Response:
    row = _job(request, ctx)
    sharpen = query_bool(request, "sharpen", False)
    if row.status != "completed" or not row.doc.get("results"):
        reason = "is a dry run" if row.doc.get("dry_run") else (
            f"is {row.status}" if row.status != "completed" else "has no probability results (see `output`)")
        raise ApiError(404, f"job {row.id} {reason}; probabilities exist only for a completed circuit job",
                       keys=["UUID"], source="params")
    data = ctx.sandbox.store.get_result(row.id, "sharpened") if sharpen else None
    if data is None:
        data = ctx.sandbox.store.get_result(row.id, "probabilities")
    if data is None:
        raise ApiError(404, f"job {row.id} has no stored probabilities", keys=["UUID"], source="params")
    return _json(data)


async def get_variant_result(request: Request, ctx: Context) -> Response:
    row = _job(request, ctx)
    kind = request.path_params["kind"]
    variant_id = request.path_params["variantId"]
    if kind not in ("probabilities", "histogram", "shots"):
        raise not_found("result kind", "kind", kind)
    variants = (row.doc.get("output", {}).get("error_mitigation", {}).get("debiasing", {}) or {}).get("variants")
    if not variants or all(v["variant_id"] != variant_id for v in variants):
        raise not_found("variant", "variantId", variant_id)
    data = ctx.sandbox.store.get_result(row.id, kind, variant_id)
    if data is None:
        raise not_found("variant result", "variantId", variant_id)
    return _json(data)


# -------------------------------------------------------------------------------------------------- sessions


async def create_session(request: Request, ctx: Context) -> Response:
    body = await _body(request)
    validate_body("CreateSessionRequest", body)
    backend = _known_backend(body["backend"], source="body")
    settings = _sessions.check_settings(body.get("settings"))
    doc = _sessions.new_session(ctx.me, backend, settings)
    ctx.sandbox.store.insert_session(doc)
    return _json(doc, 201)


async def list_sessions(request: Request, ctx: Context) -> Response:
    active = query_bool(request, "active")
    store = ctx.sandbox.store
    sessions = [_sessions.refresh(store, s) for s in store.list_sessions(ctx.me.project_id)]
    if active is not None:
        sessions = [s for s in sessions if s["active"] == active]
    return _json({"organization_id": ctx.me.organization_id, "sessions": sessions})


def _session(request: Request, ctx: Context) -> dict[str, Any]:
    session_id = request.path_params["session_id"]
    found = ctx.sandbox.store.get_session(session_id, ctx.me.project_id)
    if found is None:
        raise not_found("session", "session_id", session_id)
    return _sessions.refresh(ctx.sandbox.store, found)


async def get_session(request: Request, ctx: Context) -> Response:
    return _json(_session(request, ctx))


async def end_session(request: Request, ctx: Context) -> Response:
    return _json(_sessions.end(ctx.sandbox.store, _session(request, ctx), ctx.me.user_id))


async def list_session_jobs(request: Request, ctx: Context) -> Response:
    session = _session(request, ctx)
    return _list_jobs(request, ctx, session["id"])


# ----------------------------------------------------------------------------------------------------- usage


async def get_usage(request: Request, ctx: Context) -> Response:
    organization_id = request.path_params["organization_id"]
    if organization_id != ctx.me.organization_id:
        raise not_found("organization", "organization_id", organization_id)
    start, end = query_date(request, "start_date"), query_date(request, "end_date")
    if end <= start:
        raise bad_request(f"`end_date` ({end}) must be after `start_date` ({start})", "end_date", source="query")
    if (end - start).days > 3660:
        raise bad_request("the date range may span at most 10 years", "end_date", source="query")
    group_by = query_enum(request, "group_by", ("job", "project", "user"), required=True)
    modality = query_enum(request, "modality", ("daily", "weekly", "monthly"), required=True)
    assert group_by is not None and modality is not None
    names: dict[str, str] = {}
    for key in ctx.sandbox.config.api_keys:
        names[key.project_id] = key.project_name
        names[key.user_id] = key.name
    return _json(_usage.usage(ctx.sandbox.store, organization_id, start, end, group_by, modality, names))


# ------------------------------------------------------------------------------------------------------ app

#: (method, path under /v0.4, handler, needs an API key)
ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/whoami", whoami, True),
    ("GET", "/backends", list_backends, False),
    ("GET", "/backends/{backend}", get_backend, False),
    ("GET", "/backends/{backend}/characterizations", list_characterizations, False),
    ("GET", "/backends/{backend}/characterizations/{UUID}", get_characterization, True),
    ("POST", "/jobs", create_job, True),
    ("GET", "/jobs", list_jobs, True),
    ("DELETE", "/jobs", delete_jobs, True),
    ("GET", "/jobs/estimate", estimate_job, True),
    ("PUT", "/jobs/status/cancel", cancel_jobs, True),
    ("GET", "/jobs/{UUID}", get_job, True),
    ("DELETE", "/jobs/{UUID}", delete_job, True),
    ("GET", "/jobs/{UUID}/cost", get_job_cost, True),
    ("GET", "/jobs/{UUID}/circuits/{lang}", get_circuits, True),
    ("PUT", "/jobs/{UUID}/status/cancel", cancel_job, True),
    ("GET", "/jobs/{UUID}/results/probabilities", get_probabilities, True),
    # Not in the spec: cirq-ionq reads a multi-circuit job's results from here (docs/spec-deviations.md).
    ("GET", "/jobs/{UUID}/results/probabilities/aggregated", get_probabilities, True),
    ("GET", "/jobs/{UUID}/variants/{variantId}/results/{kind}", get_variant_result, True),
    ("POST", "/sessions", create_session, True),
    ("GET", "/sessions", list_sessions, True),
    ("POST", "/sessions/{session_id}/end", end_session, True),
    ("GET", "/sessions/{session_id}", get_session, True),
    ("GET", "/sessions/{session_id}/jobs", list_session_jobs, True),
    ("GET", "/organizations/{organization_id}/usage", get_usage, True),
]


def authenticate(headers: Mapping[str, str], keys: Mapping[str, ApiKey]) -> ApiKey:
    """The key named by ``Authorization: apiKey <key>`` (``Bearer`` is tolerated), else a 401."""
    header = headers.get("authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() not in ("apikey", "bearer") or not secret.strip():
        raise unauthorized()
    key = keys.get(secret.strip())
    if key is None:
        raise unauthorized()
    return key


def build_app(sandbox: Sandbox) -> Starlette:
    keys = {k.key: k for k in sandbox.config.api_keys}

    def endpoint(handler: Handler, needs_key: bool) -> Callable[[Request], Awaitable[Response]]:
        async def call(request: Request) -> Response:
            try:
                key = authenticate(request.headers, keys) if needs_key else None
                return await handler(request, Context(sandbox, key))
            except ApiError as error:
                return error.response()

        call.__name__ = handler.__name__
        return call

    routes = [Route(f"/v0.4{path}", endpoint(handler, needs_key), methods=[method])
              for method, path, handler, needs_key in ROUTES]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}; see https://docs.ionq.com/api-reference/v0.4"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def server_error(request: Request, exc: Exception) -> Response:
        return JSONResponse(error_body(500, f"internal sandbox error: {type(exc).__name__}"), status_code=500)

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
