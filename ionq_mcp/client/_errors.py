"""The client's one exception hierarchy.

```
IonQError
├── ConfigurationError (also ValueError)   bad base URL, plain-http URL refused, bad argument
├── APIStatusError                          the API answered with an error status
│   ├── InvalidRequestError       400, 422  (.validation_keys, .validation_source)
│   ├── AuthenticationError       401
│   ├── PaymentRequiredError      402       (credits exhausted or a session's cost_limit reached)
│   ├── PermissionDeniedError     403
│   ├── NotFoundError             404
│   ├── RateLimitError            429       (.retry_after)
│   └── ServerError               5xx
├── APIConnectionError                      no response: connection refused, reset or dropped
│   └── APITimeoutError                     connect/read/write/pool timeout
├── UnexpectedResponseError                 a 2xx body that is not JSON or not the documented shape
└── UncertainOutcomeError                   a create request may or may not have taken effect
```

Every error carries ``attempts`` (how many HTTP requests were made for the call) and states it in its text
when more than one was made, so "retries exhausted" is visible in the message.

Secrets: error text is built only from the method, the path, the status and the body IonQ returned. The body
is scrubbed of the API key (in case a server echoes it), and no request headers are ever stored.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "InvalidRequestError",
    "IonQError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "UncertainOutcomeError",
]


class IonQError(Exception):
    """Base class of every error the client raises.

    ``attempts`` is the number of HTTP requests the failed call made (0 when it failed before sending).
    """

    def __init__(self, message: str, *, attempts: int = 0) -> None:
        self.attempts = attempts
        super().__init__(_with_attempts(message, attempts))


class ConfigurationError(IonQError, ValueError):
    """The client was configured or called with a value it refuses (the message names the field)."""


class APIStatusError(IonQError):
    """The API answered with an HTTP error status.

    Attributes mirror IonQ's error body ``{"statusCode", "error", "message", "validation": {"keys", "source"}}``:
    ``status_code`` (int), ``error`` (short type, e.g. ``"Not Found Error"``), ``message`` (IonQ's text),
    ``request_id`` (from the response headers, or None), ``validation_keys`` (list of offending request keys),
    ``validation_source`` (``"body"``, ``"query"``, ``"params"`` or None), ``method`` and ``path`` of the request,
    and ``body`` (the parsed error body, or the raw text when it was not JSON).
    """

    def __init__(
        self,
        *,
        status_code: int,
        error: str | None,
        message: str | None,
        method: str,
        path: str,
        request_id: str | None = None,
        validation_keys: list[str] | None = None,
        validation_source: str | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        self.validation_keys = list(validation_keys or [])
        self.validation_source = validation_source
        self.body = body
        text = f"HTTP {status_code}"
        if error:
            text += f" {error}"
        if message:
            text += f": {message}"
        if self.validation_keys:
            where = f" in {validation_source}" if validation_source else ""
            text += f" (invalid keys{where}: {', '.join(self.validation_keys)})"
        text += f" [{method} {path}"
        if request_id:
            text += f", request id {request_id}"
        text += "]"
        super().__init__(text, attempts=attempts)


class InvalidRequestError(APIStatusError):
    """400 or 422: the request was malformed; ``validation_keys`` names the offending keys."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""


class PaymentRequiredError(APIStatusError):
    """402: the organization is out of credits, or a session reached its cost_limit."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not access this resource."""


class NotFoundError(APIStatusError):
    """404: no such resource (or not visible to this key's project)."""


class RateLimitError(APIStatusError):
    """429: rate limited. ``retry_after`` is the server's Retry-After in seconds (None when absent)."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(APIStatusError):
    """5xx: the service failed. Idempotent requests were retried before this was raised."""


class APIConnectionError(IonQError):
    """No HTTP response arrived: connection refused, reset, or dropped mid-response.

    ``request_sent`` is False when the request provably never reached the server (connect failure), True when
    it may have been processed (the connection broke after sending).
    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool, attempts: int = 1) -> None:
        self.method = method
        self.path = path
        self.request_sent = request_sent
        super().__init__(f"{message} [{method} {path}]", attempts=attempts)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class UnexpectedResponseError(IonQError):
    """A successful (2xx) response whose body is not JSON or lacks what every valid response has
    (e.g. a job without ``id``). ``status_code``, ``method`` and ``path`` say which response."""

    def __init__(self, message: str, *, status_code: int, method: str, path: str, attempts: int = 1) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        super().__init__(f"{message} [{method} {path}, HTTP {status_code}]", attempts=attempts)


class UncertainOutcomeError(IonQError):
    """A create request failed ambiguously and the client could not prove whether it took effect.

    ``idempotency_key`` is the token stored in the job's metadata (None for sessions), ``candidates`` lists ids
    of resources that may be the one created. The message says how to check.
    """

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str | None = None,
        candidates: list[str] | None = None,
        attempts: int = 0,
    ) -> None:
        self.idempotency_key = idempotency_key
        self.candidates = list(candidates or [])
        super().__init__(message, attempts=attempts)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIStatusError)


def _with_attempts(message: str, attempts: int) -> str:
    if attempts > 1:
        return f"{message} (gave up after {attempts} attempts)"
    return message
