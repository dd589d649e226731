"""HTTP plumbing: configuration, authentication, one request with retries, and error mapping.

Configuration is resolved once, in :func:`resolve_config`:

* API key: the ``api_key`` argument, else ``IONQ_API_KEY``; sent as ``Authorization: apiKey <key>``. It is held
  in a :class:`Secret` (whose repr is masked) and never logged or put in an error.
* Base URL: the ``base_url`` argument, else ``IONQ_API_URL``, else ``https://api.ionq.co/v0.4``.
* A plain ``http://`` URL to a non-loopback host is refused while a key is set (the key would cross the network
  in clear), unless ``allow_insecure_http=True``. In-process transports (``httpx.ASGITransport``,
  ``httpx.MockTransport``) never touch the network and are exempt.
* Timeouts: :class:`Timeouts` (connect 10 s, read 60 s, write 60 s, pool 30 s by default).
* User-Agent: ``ionq-mcp/<version> httpx/<version> python/<version>``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import platform
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from ionq_mcp._net import IONQ_BASE_URL, is_loopback_host
from ionq_mcp._version import __version__
from ionq_mcp.client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    RateLimitError,
    UnexpectedResponseError,
    status_error_class,
)
from ionq_mcp.client._retry import RetryPolicy, RetryState, parse_retry_after

__all__ = [
    "DEFAULT_BASE_URL",
    "ClientConfig",
    "HTTPSession",
    "Secret",
    "Timeouts",
    "path_segment",
    "path_segment_problem",
    "resolve_config",
]

DEFAULT_BASE_URL = IONQ_BASE_URL
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-amz-request-id", "x-correlation-id")
_log = logging.getLogger("ionq_mcp.client")

Mode = Literal["idempotent", "unsafe"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Timeouts:
    """Per-request timeouts in seconds: TCP/TLS connect, each read, each write, waiting for a pooled connection."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 30.0

    @classmethod
    def coerce(cls, value: Timeouts | float | None) -> Timeouts:
        """None -> defaults; a number -> that many seconds for every phase."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(f"timeout: must be a positive number of seconds or a Timeouts, got {value!r}")
        seconds = float(value)
        return cls(connect=seconds, read=seconds, write=seconds, pool=seconds)

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` are masked; :meth:`reveal` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced by ``***``."""
        return text.replace(self._value, "***") if self._value and self._value in text else text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # refuse to be pickled into a cache or a log
        raise TypeError("Secret values cannot be pickled")


@dataclass(frozen=True)
class ClientConfig:
    """Resolved client settings (the key is a :class:`Secret`, or None when unauthenticated)."""

    base_url: str
    api_key: Secret | None
    timeouts: Timeouts
    retry: RetryPolicy
    user_agent: str


def default_user_agent() -> str:
    return f"ionq-mcp/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"


def resolve_config(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: Timeouts | float | None,
    retry: RetryPolicy | None,
    allow_insecure_http: bool,
    user_agent: str | None,
    in_process: bool,
) -> ClientConfig:
    """Merge arguments with the environment and check them. Raises :class:`ConfigurationError`."""
    key = api_key if api_key is not None else os.environ.get("IONQ_API_KEY")
    key = key.strip() if key else None
    url_text = base_url or os.environ.get("IONQ_API_URL") or DEFAULT_BASE_URL
    try:
        url = httpx.URL(url_text)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url: not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url: must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, got {str(url)!r}"
        )
    if url.scheme == "http" and key and not allow_insecure_http and not in_process and not is_loopback_host(url.host):
        raise ConfigurationError(
            f"base_url: refusing to send the API key over plain http to non-loopback host {url.host!r}; "
            "use https, a loopback host, or pass allow_insecure_http=True"
        )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry: must be a RetryPolicy, got {type(retry).__name__}")
    return ClientConfig(
        base_url=str(url).rstrip("/"),
        api_key=Secret(key) if key else None,
        timeouts=Timeouts.coerce(timeout),
        retry=retry or RetryPolicy(),
        user_agent=user_agent or default_user_agent(),
    )


def path_segment_problem(value: Any) -> str | None:
    """What keeps ``value`` from being one URL path segment (None when it can be one).

    The one rule for path arguments: the server checks it before a call (an ``isError`` naming the field) and
    :func:`path_segment` enforces it here, so a value can never change which endpoint is called.
    """
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty string, got {value!r}"
    if value in (".", "..") or "/" in value or "\\" in value or "?" in value or "#" in value:
        return f"must be a single identifier without '/', '\\', '?', '#', got {value!r}"
    return None


def path_segment(name: str, value: Any) -> str:
    """``value`` percent-encoded for use as one path segment; refuses values that would change the path.

    ``name`` is the argument name used in the error (``job_id``, ``backend``...).
    """
    problem = path_segment_problem(value)
    if problem is not None:
        raise ConfigurationError(f"{name}: {problem}")
    return quote(value, safe="")


def is_in_process(transport: httpx.AsyncBaseTransport | None) -> bool:
    """True when the transport serves requests inside this process (nothing crosses a network)."""
    return isinstance(transport, httpx.ASGITransport | httpx.MockTransport)


class HTTPSession:
    """Sends one logical request (with retries) and returns the successful response or raises a mapped error."""

    def __init__(self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        headers = {"User-Agent": config.user_agent, "Accept": "application/json"}
        if config.api_key is not None:
            headers["Authorization"] = f"apiKey {config.api_key.reveal()}"
        self._client = httpx.AsyncClient(
            base_url=config.base_url + "/",
            headers=headers,
            timeout=config.timeouts.to_httpx(),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        mode: Mode = "idempotent",
        state: RetryState | None = None,
    ) -> httpx.Response:
        """Send ``method path`` until it succeeds or the retry policy gives up.

        ``path`` is relative to the base URL (``/jobs/...``). ``mode="unsafe"`` retries only failures that
        provably had no effect (connect failure, 429). ``state`` lets a caller share one attempt budget
        across several requests. Returns a 2xx response; raises an :class:`IonQError` subclass otherwise.
        """
        state = state or RetryState(self.config.retry)
        url = path.lstrip("/")
        while True:
            state.attempts += 1
            failure: APIStatusError | APIConnectionError
            try:
                response = await self._client.request(method, url, params=params, json=json)
            except httpx.TransportError as exc:
                failure = self._connection_error(exc, method, path, state.attempts)
                retryable = _retryable_transport_error(exc) and (mode == "idempotent" or not failure.request_sent)
                retry_after = None
            else:
                if response.status_code < 300:
                    _log.debug("%s %s -> %d (attempt %d)", method, path, response.status_code, state.attempts)
                    return response
                failure = self._status_error(response, method, path, state.attempts)
                status = response.status_code
                retryable = status in self.config.retry.retry_statuses and (mode == "idempotent" or status == 429)
                retry_after = failure.retry_after if isinstance(failure, RateLimitError) else _retry_after(response)
            delay = state.next_delay(retry_after) if retryable else None
            if delay is None:
                _log.debug("%s %s failed for good after %d attempt(s): %s", method, path, state.attempts, failure)
                raise failure
            _log.info(
                "%s %s failed (%s); retry %d in %.3f s", method, path, _short(failure), state.attempts, delay
            )
            await anyio.sleep(delay)

    def parse(self, response: httpx.Response, model: type[M]) -> M:
        """Validate a 2xx JSON body into ``model``; :class:`UnexpectedResponseError` when it does not fit."""
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "body"
            detail = f"{where}: {first.get('msg', 'invalid')}"
            if self.config.api_key is not None:
                detail = self.config.api_key.scrub(detail)
            request = response.request
            raise UnexpectedResponseError(
                f"the service answered with a body this client cannot read ({detail}; {exc.error_count()} "
                "problem(s))",
                status_code=response.status_code,
                method=request.method,
                path=request.url.path,
            ) from None

    def _status_error(self, response: httpx.Response, method: str, path: str, attempts: int) -> APIStatusError:
        text = response.text
        if self.config.api_key is not None:
            text = self.config.api_key.scrub(text)
        body: Any
        try:
            body = jsonlib.loads(text) if text else None
        except ValueError:
            body = text[:2000]
        error = message = validation_source = None
        keys: list[str] = []
        if isinstance(body, dict):
            error = _as_text(body.get("error"))
            message = _as_text(body.get("message"))
            validation = body.get("validation")
            if isinstance(validation, dict):
                raw_keys = validation.get("keys")
                if isinstance(raw_keys, list):
                    keys = [str(k) for k in raw_keys]
                validation_source = _as_text(validation.get("source"))
        elif isinstance(body, str) and body:
            message = body[:500]
        if error is None:
            error = response.reason_phrase or None
        kwargs: dict[str, Any] = {
            "status_code": response.status_code,
            "error": error,
            "message": message,
            "method": method,
            "path": path,
            "request_id": _request_id(response),
            "validation_keys": keys,
            "validation_source": validation_source,
            "body": body,
            "attempts": attempts,
        }
        cls = status_error_class(response.status_code)
        if cls is RateLimitError:
            return RateLimitError(retry_after=_retry_after(response), **kwargs)
        return cls(**kwargs)

    def _connection_error(
        self, exc: httpx.TransportError, method: str, path: str, attempts: int
    ) -> APIConnectionError:
        detail = str(exc) or type(exc).__name__
        if self.config.api_key is not None:
            detail = self.config.api_key.scrub(detail)
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol)
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        what = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "read timeout",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "timed out waiting for a pooled connection",
        }.get(type(exc), type(exc).__name__)
        return cls(f"{what}: {detail}", method=method, path=path, request_sent=sent, attempts=attempts)


def _retryable_transport_error(exc: httpx.TransportError) -> bool:
    # Protocol errors we caused and unsupported schemes will fail the same way every time.
    return not isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol | httpx.ProxyError)


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


def _request_id(response: httpx.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _short(error: Exception) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code}"
    return type(error).__name__
