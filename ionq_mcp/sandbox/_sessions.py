"""Sessions: a reserved run of jobs on one backend, bounded by job count, duration and cost.

A job that names a session is admitted only when the session is active, on the job's backend, and the job keeps
the session within its limits. Refusals (docs/spec-deviations.md): a session on another backend -> 400; an ended
or expired session, or one more job than ``job_count_limit`` -> 409; a cost above ``cost_limit`` -> 402. A job
refused for a limit ends the session, as IonQ documents. Dry runs are checked for backend only (never billed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from ionq_mcp import circuits
from ionq_mcp.sandbox._config import ApiKey
from ionq_mcp.sandbox._errors import ApiError
from ionq_mcp.sandbox._store import Store

#: Largest ``job_count_limit`` / ``duration_limit_min``: the spec types both as int32 (2**31 - 1 minutes is about
#: 4,000 years, so an expiry date always exists).
MAX_LIMIT = 2**31 - 1


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def check_settings(settings: Any) -> dict[str, Any]:
    """Semantic checks beyond the schema: limits must be positive. Returns the settings to store."""
    settings = dict(settings or {})
    problems: list[tuple[str, str]] = []
    for key in ("job_count_limit", "duration_limit_min"):
        if key in settings and not 1 <= settings[key] <= MAX_LIMIT:
            allowed = f"1..{MAX_LIMIT} (an int32)"
            problems.append((f"settings.{key}", f"`settings.{key}` must be within {allowed}, got {settings[key]}"))
    cost = settings.get("cost_limit")
    if isinstance(cost, Mapping):
        if cost.get("value", 0) <= 0:
            problems.append(("settings.cost_limit.value", "`settings.cost_limit.value` must be > 0"))
        if str(cost.get("unit", "usd")).lower() != "usd":
            problems.append(("settings.cost_limit.unit", "`settings.cost_limit.unit` must be \"usd\""))
    if problems:
        raise ApiError(400, "; ".join(m for _, m in problems), keys=[k for k, _ in problems], source="body")
    return settings


def new_session(key: ApiKey, backend: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    stored = dict(settings)
    if "duration_limit_min" in stored:
        stored["expires_at"] = _iso(now + dt.timedelta(minutes=stored["duration_limit_min"]))
    return {
        "id": str(uuid.uuid4()), "created_at": _iso(now), "organization_id": key.organization_id,
        "backend": backend, "project_id": key.project_id, "creator_id": key.user_id, "ended_at": None,
        "ender_id": None, "settings": stored, "active": True, "status": "created", "started_at": None,
    }


def end(store: Store, session: dict[str, Any], ender_id: str | None) -> dict[str, Any]:
    if not session["active"]:
        return session
    return store.update_session(session["id"], {"active": False, "status": "ended",
                                                "ended_at": _iso(dt.datetime.now(dt.UTC)), "ender_id": ender_id}) \
        or session


def refresh(store: Store, session: dict[str, Any]) -> dict[str, Any]:
    """End a session whose duration limit has passed (checked lazily, whenever it is read)."""
    expires = session.get("settings", {}).get("expires_at")
    if session["active"] and expires and _parse(expires) <= dt.datetime.now(dt.UTC):
        return end(store, session, None)
    return session


def admit(store: Store, session: dict[str, Any], plan: circuits.JobPlan, cost: float) -> dict[str, Any]:
    """Admit one job into a session or raise the refusal; returns the (possibly started) session."""
    session = refresh(store, session)
    if session.get("backend") and session["backend"] != plan.backend:
        raise ApiError(400, f"session {session['id']} runs on {session['backend']}, not {plan.backend}",
                       keys=["session_id", "backend"], source="body")
    if not session["active"]:
        raise ApiError(409, f"session {session['id']} has ended; create a new session", keys=["session_id"],
                       source="body")
    settings = session.get("settings", {})
    if not plan.dry_run:
        count, spent = store.session_totals(session["id"])
        limit = settings.get("job_count_limit")
        if limit is not None and count + 1 > limit:
            end(store, session, None)
            raise ApiError(409, f"session {session['id']} reached its job_count_limit of {limit}; the session "
                                f"has ended", keys=["session_id"], source="body")
        cost_limit = settings.get("cost_limit")
        if cost_limit is not None and spent + cost > float(cost_limit["value"]) + 1e-9:
            end(store, session, None)
            raise ApiError(402, f"this job (cost {cost:.2f} usd) would take session {session['id']} over its "
                                f"cost_limit of {cost_limit['value']} {cost_limit.get('unit', 'usd')} (already "
                                f"spent {spent:.2f}); the session has ended", keys=["session_id"], source="body")
    if session["status"] == "created":
        session = store.update_session(session["id"], {"status": "started",
                                                       "started_at": _iso(dt.datetime.now(dt.UTC))}) or session
    return session
