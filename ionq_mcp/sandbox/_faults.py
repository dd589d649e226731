"""Fault injection and request logging, as ASGI middleware around the sandbox app.

A :class:`FaultRule` matches requests by method and path prefix (under ``/v0.4``) and fires at a ``rate`` (a
seeded coin) or on a scripted ``schedule``. Kinds:

* ``status``: answer with an IonQ error body and that status (429/500/502/503...), plus ``Retry-After`` when
  ``retry_after`` is set. The request is NOT processed.
* ``latency``: sleep ``latency_s`` before processing.
* ``drop``: process the request (a job IS created), start the response, then fail with
  ``httpx.RemoteProtocolError``: an in-process ``httpx.ASGITransport`` client sees that exception, a client
  over uvicorn sees the connection close mid-response (the Content-Length promised is never delivered). This is
  the ambiguous failure where the caller cannot know whether its request took effect.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ionq_mcp.sandbox._errors import error_body

API_PREFIX = "/v0.4"


def api_path(path: str) -> str:
    """The path below the API prefix (``/v0.4/jobs`` -> ``/jobs``); other paths are returned unchanged."""
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return path[len(API_PREFIX):] or "/"
    return path


@dataclass
class FaultRule:
    """One fault to inject. See the module docstring for the kinds."""

    kind: Literal["status", "latency", "drop"]
    status: int = 503
    retry_after: float | None = None
    latency_s: float = 0.0
    rate: float = 1.0
    schedule: list[bool] | None = None
    methods: tuple[str, ...] = ()
    path: str = ""
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _seen: int = field(init=False, default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("status", "latency", "drop"):
            raise ValueError(f"kind must be status, latency or drop, got {self.kind!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {self.rate}")
        self.methods = tuple(m.upper() for m in self.methods)
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """Parse the CLI syntax ``kind=status,status=503,rate=0.3,methods=GET|POST,path=/jobs,retry_after=1``;
        ``schedule=1|0|1`` scripts the first matching requests."""
        fields: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault option {part!r} must look like key=value")
            key = key.strip()
            if key in ("status",):
                fields[key] = int(value)
            elif key in ("retry_after", "latency_s", "latency", "rate"):
                fields["latency_s" if key == "latency" else key] = float(value)
            elif key == "seed":
                fields[key] = int(value)
            elif key == "methods":
                fields[key] = tuple(m for m in value.split("|") if m)
            elif key == "schedule":
                fields[key] = [v.strip().lower() in ("1", "true", "yes") for v in value.split("|") if v]
            elif key in ("kind", "path"):
                fields[key] = value
            else:
                raise ValueError(f"unknown fault option {key!r} (allowed: kind, status, retry_after, latency_s, "
                                 f"rate, schedule, methods, path, seed)")
        if "kind" not in fields:
            raise ValueError("a fault needs kind=status|latency|drop")
        return cls(**fields)

    def matches(self, method: str, path: str) -> bool:
        return (not self.methods or method.upper() in self.methods) and api_path(path).startswith(self.path)

    def fires(self) -> bool:
        """Decide for one matching request (advances the schedule or draws the seeded coin)."""
        if self.schedule is not None:
            n = self._seen
            self._seen += 1
            return n < len(self.schedule) and self.schedule[n]
        return self.rate >= 1.0 or self._rng.random() < self.rate


class FaultInjector:
    """The live set of fault rules; ``wrap(app)`` applies them to requests under ``/v0.4``."""

    def __init__(self, rules: Sequence[FaultRule] = ()):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def decide(self, method: str, path: str) -> tuple[float, FaultRule | None]:
        """(seconds of latency to add, the status/drop rule that fires or None) for one request."""
        delay, chosen = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.kind == "latency":
                    if rule.fires():
                        delay += rule.latency_s
                elif chosen is None and rule.fires():
                    chosen = rule
        return delay, chosen

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
                await app(scope, receive, send)
                return
            delay, rule = self.decide(scope["method"], scope["path"])
            if delay:
                await anyio.sleep(delay)
            if rule is None:
                await app(scope, receive, send)
            elif rule.kind == "status":
                await _send_status(rule, send)
            else:
                await _process_then_drop(app, scope, receive, send)

        return middleware


async def _send_status(rule: FaultRule, send: Send) -> None:
    import json

    body = json.dumps(error_body(rule.status, f"Injected fault: HTTP {rule.status} from the sandbox's fault "
                                              f"injection.")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if rule.retry_after is not None:
        value = rule.retry_after
        text = str(int(value)) if float(value).is_integer() else str(value)
        headers.append((b"retry-after", text.encode()))
    await send({"type": "http.response.start", "status": rule.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _process_then_drop(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is not None:
        await send(start)
    raise httpx.RemoteProtocolError("sandbox fault injection: connection dropped after the request was processed")


@dataclass(frozen=True)
class LoggedRequest:
    """One request: ``path`` is below /v0.4; ``received_at`` is ``time.monotonic()`` on arrival (seconds);
    ``request_id`` is the ``x-request-id`` the response carried."""

    method: str
    path: str
    status: int
    received_at: float = 0.0
    request_id: str = ""


class RequestLog:
    """Every request under ``/v0.4`` the sandbox received (faulted ones included), in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    @property
    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """How many requests matched ``method`` and a path prefix (``/jobs`` or ``/v0.4/jobs``)."""
        prefix = api_path(path_prefix) if path_prefix else None
        with self._lock:
            return sum(1 for e in self._entries
                       if (method is None or e.method == method.upper())
                       and (prefix is None or e.path.startswith(prefix)))

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
                await app(scope, receive, send)
                return
            status = {"code": 0}
            received_at = time.monotonic()
            request_id = uuid.uuid4().hex

            async def record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    # Like IonQ's cloud, every response names its request so a report can point at it.
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"x-request-id", request_id.encode())]}
                await send(message)

            try:
                await app(scope, receive, record)
            finally:
                with self._lock:
                    self._entries.append(LoggedRequest(scope["method"], api_path(scope["path"]), status["code"],
                                                       received_at, request_id))

        return middleware
