"""Exactly-once creation of jobs, and at-most-once creation of sessions.

Why: a job costs money the moment it is queued on a QPU. If ``POST /jobs`` times out, or the connection drops
after the request was sent, or a proxy answers 502, the job may or may not exist. Blindly resending (what most
published IonQ clients do) can create and bill a second job; giving up can lose the first.

Jobs
----
1. Every submission carries a client-generated token in its metadata:
   ``metadata["ionq_mcp_idempotency_key"] = uuid4().hex`` (IonQ metadata values are strings). A caller may pass
   its own ``idempotency_key`` (for instance one persisted before a crash) to make a resubmission safe.
2. ``POST /jobs`` is sent without blind retries. A failure that provably had no effect (connect error: nothing
   was sent; HTTP 429: the rate limiter refused it) is retried directly, with the usual backoff. A 4xx is final.
3. Any other failure is *ambiguous* (read/write timeout, dropped connection, RemoteProtocolError, ReadError,
   5xx). The client then looks the token up among the most recent jobs (``GET /jobs``, newest first, up to
   ``lookup_pages`` pages of ``lookup_page_size``) and returns the job it finds.
4. Only when the look-up *proves* absence does it resubmit (same token, within the retry budget). Proof means:
   the listing was read back to jobs submitted before this call started (minus ``clock_skew_s`` for clock
   differences), every job in that window showed its metadata, none carried the token, and a second look-up
   after a short wait (for a server still processing the first request) agreed. Jobs listed without a
   ``metadata`` field are fetched one by one (at most ``max_detail_fetches``).
5. When absence cannot be proved (the window does not fit in the pages read, a look-up fails), it raises
   :class:`UncertainOutcomeError` carrying the token, so the caller can search for it later instead of guessing.

Sessions
--------
``POST /sessions`` has no metadata to carry a token. After an ambiguous failure the client never resubmits
blindly: it lists sessions and, if any session on the same backend was created since the call started (minus
the clock-skew margin), raises :class:`UncertainOutcomeError` naming those candidates and telling the caller
to inspect ``list_sessions`` before trying again. If none appeared (checked twice, as for jobs), the request
provably did not take effect and is resent within the retry budget. Connect errors and 429 are retried directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio

from ionq_mcp.client._errors import APIConnectionError, IonQError, ServerError, UncertainOutcomeError
from ionq_mcp.client._http import HTTPSession, path_segment
from ionq_mcp.client._models import Job, JobCreated, JobsPage, Session, SessionsPage
from ionq_mcp.client._retry import RetryState

__all__ = ["IDEMPOTENCY_METADATA_KEY", "new_idempotency_key", "create_job_once", "create_session_once", "Lookup"]

#: The metadata key that carries the client's token on every job it submits.
IDEMPOTENCY_METADATA_KEY = "ionq_mcp_idempotency_key"


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Lookup:
    """Bounds for the post-failure search. ``clock_skew_s`` widens the time window to allow for clock drift."""

    __slots__ = ("pages", "page_size", "clock_skew_s", "max_detail_fetches")

    def __init__(
        self, pages: int = 5, page_size: int = 100, clock_skew_s: float = 300.0, max_detail_fetches: int = 20
    ) -> None:
        self.pages = pages
        self.page_size = page_size
        self.clock_skew_s = clock_skew_s
        self.max_detail_fetches = max_detail_fetches


class _Absence(Exception):
    """The look-up could not prove the job is absent (reason in args[0])."""


def _ambiguous(exc: IonQError) -> bool:
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, ServerError)


async def create_job_once(
    session: HTTPSession, payload: Mapping[str, Any], *, idempotency_key: str | None = None, lookup: Lookup | None = None
) -> JobCreated:
    """Submit ``payload`` exactly once (see the module docstring). Returns the created (or found) job."""
    lookup = lookup or Lookup()
    key = idempotency_key or new_idempotency_key()
    body = dict(payload)
    metadata = dict(body.get("metadata") or {})
    metadata[IDEMPOTENCY_METADATA_KEY] = key
    body["metadata"] = metadata
    state = RetryState(session.config.retry)
    since = time.time() - lookup.clock_skew_s
    while True:
        try:
            response = await session.send("POST", "/jobs", json=body, mode="unsafe", state=state)
            return JobCreated.model_validate_json(response.content)
        except (ServerError, APIConnectionError) as exc:
            if not _ambiguous(exc):
                raise
            failure: IonQError = exc
        try:
            job = await _find_job_twice(session, key, since, lookup, body.get("session_id"))
        except _Absence as why:
            raise UncertainOutcomeError(
                f"job submission failed ambiguously ({failure}) and it cannot be proved whether the job was "
                f"created: {why}. Look for a job whose metadata has {IDEMPOTENCY_METADATA_KEY}={key} "
                "(list_jobs) before submitting again, or resubmit with the same idempotency_key",
                idempotency_key=key,
                attempts=state.attempts,
            ) from None
        if job is not None:
            return JobCreated.model_validate(
                {"id": job.id, "status": job.status, "session_id": job.session_id}
            )
        delay = state.next_delay()
        if delay is None:
            raise failure  # provably nothing was created, and the budget is spent
        await anyio.sleep(delay)


async def _find_job_twice(
    session: HTTPSession, key: str, since: float, lookup: Lookup, session_id: Any
) -> Job | None:
    job = await _find_job(session, key, since, lookup, session_id)
    if job is None:
        # A server still working on the first request may commit it a moment later: look once more.
        await anyio.sleep(min(1.0, session.config.retry.initial_backoff_s * 2))
        job = await _find_job(session, key, since, lookup, session_id)
    return job


async def _find_job(session: HTTPSession, key: str, since: float, lookup: Lookup, session_id: Any) -> Job | None:
    params: dict[str, Any] = {"limit": lookup.page_size}
    if isinstance(session_id, str) and session_id:
        params["session_id"] = session_id
    unknown: list[Job] = []
    seen_tokens: set[str] = set()
    for _ in range(lookup.pages):
        page = await _get_model(session, "/jobs", params, JobsPage)
        reached_older = False
        for job in page.jobs:
            if "metadata" not in job.model_fields_set:
                unknown.append(job)
            elif (job.metadata or {}).get(IDEMPOTENCY_METADATA_KEY) == key:
                return job
            submitted = _epoch(job.submitted_at)
            if submitted is not None and submitted < since:
                reached_older = True
        if reached_older or not page.next or not page.jobs:
            break
        if page.next in seen_tokens:  # a server that repeats its cursor would loop forever
            break
        seen_tokens.add(page.next)
        params["next"] = page.next
    else:
        raise _Absence(f"the {lookup.pages * lookup.page_size} most recent jobs do not reach back to the submission")
    if len(unknown) > lookup.max_detail_fetches:
        raise _Absence(f"{len(unknown)} recent jobs were listed without metadata")
    for candidate in unknown:
        job = await _get_model(session, f"/jobs/{path_segment('job_id', candidate.id)}", None, Job)
        if (job.metadata or {}).get(IDEMPOTENCY_METADATA_KEY) == key:
            return job
    return None


async def create_session_once(session: HTTPSession, body: Mapping[str, Any], *, lookup: Lookup | None = None) -> Session:
    """Create a session at most once (see the module docstring)."""
    lookup = lookup or Lookup()
    state = RetryState(session.config.retry)
    since = time.time() - lookup.clock_skew_s
    backend = body.get("backend")
    while True:
        try:
            response = await session.send("POST", "/sessions", json=dict(body), mode="unsafe", state=state)
            return Session.model_validate_json(response.content)
        except (ServerError, APIConnectionError) as exc:
            if not _ambiguous(exc):
                raise
            failure: IonQError = exc
        try:
            candidates = await _recent_sessions(session, backend, since)
            if not candidates:
                await anyio.sleep(min(1.0, session.config.retry.initial_backoff_s * 2))
                candidates = await _recent_sessions(session, backend, since)
        except _Absence as why:
            raise UncertainOutcomeError(
                f"session creation failed ambiguously ({failure}) and listing sessions to check failed too "
                f"({why}); call list_sessions to see whether a session was created before retrying",
                attempts=state.attempts,
            ) from None
        if candidates:
            raise UncertainOutcomeError(
                f"session creation failed ambiguously ({failure}); a session may have been created. Sessions "
                f"on backend {backend!r} created since this call started: {', '.join(candidates)}. Inspect them "
                "with get_session/list_sessions (and end_session any you do not want) before creating another",
                candidates=candidates,
                attempts=state.attempts,
            )
        delay = state.next_delay()
        if delay is None:
            raise failure
        await anyio.sleep(delay)


async def _recent_sessions(session: HTTPSession, backend: Any, since: float) -> list[str]:
    page = await _get_model(session, "/sessions", None, SessionsPage)
    found = []
    for s in page.sessions:
        created = _epoch(s.created_at)
        if (backend is None or s.backend in (None, backend)) and (created is None or created >= since):
            found.append(s.id)
    return found


async def _get_model(session: HTTPSession, path: str, params: dict[str, Any] | None, model: type[Any]) -> Any:
    try:
        response = await session.send("GET", path, params=params)
    except IonQError as exc:
        raise _Absence(f"the look-up request failed: {exc}") from None
    return model.model_validate_json(response.content)


def _epoch(timestamp: str | None) -> float | None:
    """Seconds since the epoch for an ISO-8601 timestamp (naive ones are taken as UTC); None if unparsable."""
    if not timestamp:
        return None
    try:
        when = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
