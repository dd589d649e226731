"""Exactly-once creation of jobs, and at-most-once creation of sessions.

Why: a job costs money the moment it is queued on a QPU. If ``POST /jobs`` times out, or the connection drops
after the request was sent, or a proxy answers 502, the job may or may not exist. Blindly resending (what most
published IonQ clients do) can create and bill a second job; giving up can lose the first.

Jobs
----
1. Every submission carries a client-generated token in its metadata:
   ``metadata["ionq_mcp_idempotency_key"] = uuid4().hex`` (IonQ metadata values are strings). A caller may pass
   its own ``idempotency_key`` (for instance one persisted before a crash, or the one an
   :class:`UncertainOutcomeError` reported): the client then first looks for a recent job carrying it and
   returns that job instead of submitting again.
2. ``POST /jobs`` is sent without blind retries. A failure that provably had no effect (connect error: nothing
   was sent; HTTP 429: the rate limiter refused it) is retried directly, with the usual backoff. A 4xx is final.
3. Any other failure is *ambiguous* (read/write timeout, dropped connection, RemoteProtocolError, ReadError,
   5xx). The client then looks the token up among the most recent jobs (``GET /jobs``, newest first, up to
   ``Lookup.pages`` pages of ``Lookup.page_size``) and returns the job it finds.
4. It resubmits (same token, within the retry budget) only when the look-up *proves* absence. Proof means: the
   server has finished with the request (it answered 5xx, or closed the connection), the listing was read back
   to jobs submitted before this call started (minus ``clock_skew_s`` for clock differences), every job in that
   window showed its metadata (jobs listed without a ``metadata`` field are fetched one by one, at most
   ``max_detail_fetches``), none carried the token, and a second look-up ``recheck_s`` later agreed.
5. After a timeout, 504 or 524 the service may still be working on the request, so absence proves nothing: the
   client keeps looking for up to ``settle_s`` and returns the job if it appears; if it does not, or whenever
   absence cannot be proved (window too long for the pages read, a look-up fails), it raises
   :class:`UncertainOutcomeError` carrying the token, so the caller can search for it later instead of guessing.
   It never resubmits in that case.

Sessions
--------
``POST /sessions`` has no metadata to carry a token. After an ambiguous failure the client never resubmits
blindly: it lists sessions and, if any session on the same backend was created since the call started (minus
the clock-skew margin), raises :class:`UncertainOutcomeError` naming those candidates and telling the caller
to inspect ``list_sessions`` before trying again. If none appeared (checked twice, as for jobs) and the server
had finished with the request, it provably did not take effect and is resent within the retry budget; after a
timeout/504/524 with nothing found within ``settle_s`` it raises :class:`UncertainOutcomeError` instead.
Connect errors and 429 are retried directly. Any session created in the window (by anyone in the project) makes
the outcome uncertain: a false alarm is cheaper than a second reservation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel

from ionq_mcp.client._errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    IonQError,
    ServerError,
    UncertainOutcomeError,
)
from ionq_mcp.client._http import HTTPSession, path_segment
from ionq_mcp.client._models import Job, JobCreated, JobsPage, Session, SessionsPage
from ionq_mcp.client._retry import RetryState

__all__ = ["IDEMPOTENCY_METADATA_KEY", "Lookup", "create_job_once", "create_session_once", "find_job",
           "new_idempotency_key"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: The metadata key that carries the client's token on every job it submits.
IDEMPOTENCY_METADATA_KEY = "ionq_mcp_idempotency_key"


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Lookup:
    """Bounds for the search after an ambiguous failure (durations in seconds).

    ``pages`` x ``page_size``: how far back ``GET /jobs`` is read. ``clock_skew_s`` widens the time window for
    clock differences between client and service. ``max_detail_fetches``: jobs listed without metadata that may
    be fetched one by one. ``recheck_s``: wait before the confirming second look-up when the server answered
    (its work on the request is over). ``settle_s``: how long to keep looking when it may still be processing
    the request (timeouts, 504, 524); if nothing appears by then the outcome is reported as uncertain.
    """

    __slots__ = ("clock_skew_s", "max_detail_fetches", "page_size", "pages", "recheck_s", "settle_s")

    def __init__(
        self,
        pages: int = 5,
        page_size: int = 100,
        clock_skew_s: float = 300.0,
        max_detail_fetches: int = 20,
        recheck_s: float = 0.5,
        settle_s: float = 10.0,
    ) -> None:
        self.pages = pages
        self.page_size = page_size
        self.clock_skew_s = clock_skew_s
        self.max_detail_fetches = max_detail_fetches
        self.recheck_s = recheck_s
        self.settle_s = settle_s


class _Absence(Exception):
    """The look-up could not prove the job is absent (reason in args[0]; the client error in ``cause``)."""

    def __init__(self, reason: str, cause: IonQError | None = None) -> None:
        super().__init__(reason)
        self.cause = cause


#: Gateway statuses that mean "the origin did not answer in time": it may still be working on the request.
_STILL_RUNNING_STATUSES = frozenset({504, 524})


def _ambiguous(exc: IonQError) -> bool:
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, ServerError)


def _may_still_run(exc: IonQError) -> bool:
    """True when the server may still be processing the request (so absence now proves nothing yet)."""
    if isinstance(exc, APITimeoutError):
        return True
    return isinstance(exc, ServerError) and exc.status_code in _STILL_RUNNING_STATUSES


def _created(job: Job) -> JobCreated:
    return JobCreated.model_validate({"id": job.id, "status": job.status, "session_id": job.session_id})


async def _post(session: HTTPSession, path: str, body: Any, model: type[M], state: RetryState) -> M | IonQError:
    """POST ``body`` (retrying only failures that provably had no effect): the parsed response, or the
    *ambiguous* failure for the caller to resolve. Other failures are raised."""
    try:
        response = await session.send("POST", path, json=body, mode="unsafe", state=state)
    except (ServerError, APIConnectionError) as exc:
        if not _ambiguous(exc):
            raise
        return exc
    return session.parse(response, model)


async def _settle(find: Callable[[], Awaitable[T]], *, patient: bool, lookup: Lookup) -> T:
    """Call ``find`` until it returns something truthy: once more after ``recheck_s``, or (``patient``) every
    so often until ``settle_s`` has passed. Returns the last result."""
    result = await find()
    if result:
        return result
    if not patient:
        await anyio.sleep(lookup.recheck_s)
        return await find()
    deadline = time.monotonic() + lookup.settle_s
    pause = max(0.05, lookup.recheck_s / 4)
    while not result and time.monotonic() < deadline:
        await anyio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 2.0)
        result = await find()
    return result


async def create_job_once(
    session: HTTPSession, payload: Mapping[str, Any], *, idempotency_key: str | None = None, lookup: Lookup | None = None,
    new_key: bool = False,
) -> JobCreated:
    """Submit ``payload`` exactly once (see the module docstring). Returns the created (or found) job.
    ``new_key``: ``idempotency_key`` was just generated for this submission, so no earlier job can carry it and
    the look-up before the first attempt is skipped."""
    lookup = lookup or Lookup()
    key = idempotency_key or new_idempotency_key()
    body = dict(payload)
    metadata = dict(body.get("metadata") or {})
    metadata[IDEMPOTENCY_METADATA_KEY] = key
    body["metadata"] = metadata
    state = RetryState(session.config.retry)
    since = time.time() - lookup.clock_skew_s
    session_id = body.get("session_id")
    if idempotency_key is not None and not new_key:
        # The caller chose the token, maybe to resubmit after a crash or an uncertain outcome: a job that
        # already carries it is the answer. (Not found within the pages read: submit.)
        try:
            earlier = await _find_job(session, key, 0.0, lookup, session_id)
        except _Absence:
            earlier = None
        if earlier is not None:
            return _created(earlier)
    while True:
        outcome = await _post(session, "/jobs", body, JobCreated, state)
        if not isinstance(outcome, IonQError):
            return outcome
        failure = outcome
        patient = _may_still_run(failure)
        how_to_check = (
            f"Look for a job whose metadata has {IDEMPOTENCY_METADATA_KEY}={key} (list_jobs) before submitting "
            "again, or resubmit with the same idempotency_key"
        )
        try:
            job = await _settle(
                lambda: _find_job(session, key, since, lookup, session_id), patient=patient, lookup=lookup
            )
        except _Absence as why:
            raise UncertainOutcomeError(
                f"job submission failed ambiguously ({failure}) and it cannot be proved whether the job was "
                f"created: {why}. {how_to_check}",
                idempotency_key=key,
                attempts=state.attempts,
            ) from None
        if job is not None:
            return _created(job)
        if patient:
            raise UncertainOutcomeError(
                f"job submission failed ambiguously ({failure}); no job with this submission's token appeared "
                f"within {lookup.settle_s:g} s, but the service may still be processing it. {how_to_check}",
                idempotency_key=key,
                attempts=state.attempts,
            )
        delay = state.next_delay()
        if delay is None:
            raise failure  # provably nothing was created, and the budget is spent
        await anyio.sleep(delay)


async def find_job(session: HTTPSession, key: str, *, since: float = 0.0, lookup: Lookup | None = None,
                   session_id: str | None = None) -> Job | None:
    """The job carrying ``key`` among jobs submitted since ``since`` (unix seconds, widened by the look-up's
    ``clock_skew_s``; 0: as far back as the listing goes), optionally only in ``session_id``, or None when the
    listing proves there is none; :class:`UncertainOutcomeError` when it cannot prove it (too many jobs, listings
    without metadata, an outage). Used to settle a reservation whose submission was uncertain or whose submitter
    died."""
    lookup = lookup or Lookup()
    try:
        return await _find_job(session, key, max(0.0, since - lookup.clock_skew_s) if since else 0.0, lookup,
                               session_id)
    except _Absence as why:
        raise UncertainOutcomeError(f"cannot tell whether a job carries idempotency key {key}: {why}",
                                    idempotency_key=key) from None


async def _find_job(session: HTTPSession, key: str, since: float, lookup: Lookup, session_id: Any) -> Job | None:
    params: dict[str, Any] = {"limit": lookup.page_size}
    if isinstance(session_id, str) and session_id:
        params["session_id"] = session_id
    unknown: list[Job] = []
    seen_tokens: set[str] = set()
    for _ in range(lookup.pages):
        try:
            page = await _get_model(session, "/jobs", params, JobsPage)
        except _Absence as failed:
            if not (isinstance(failed.cause, InvalidRequestError) and "limit" in params and "next" not in params):
                raise
            del params["limit"]  # a service with a smaller page cap: use its default page size
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
        outcome = await _post(session, "/sessions", dict(body), Session, state)
        if not isinstance(outcome, IonQError):
            return outcome
        failure = outcome
        patient = _may_still_run(failure)
        try:
            candidates = await _settle(
                lambda: _recent_sessions(session, backend, since), patient=patient, lookup=lookup
            )
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
        if patient:
            raise UncertainOutcomeError(
                f"session creation failed ambiguously ({failure}); no new session appeared within "
                f"{lookup.settle_s:g} s, but the service may still be processing the request. Call list_sessions "
                "to check before creating another",
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
        raise _Absence(f"the look-up request failed: {exc}", exc) from None
    try:
        return session.parse(response, model)
    except IonQError as exc:
        raise _Absence(f"the look-up answer was unreadable: {exc}", exc) from None


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
