"""IonQ's error bodies: ``{"statusCode", "error", "message"[, "validation": {"keys", "source"}]}``.

Handlers raise :class:`ApiError`; the app turns it into a JSON response with IonQ's shape. ``source`` says where
the offending keys are: ``"body"``, ``"query"`` or ``"params"`` (path parameters), as IonQ's examples do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

#: The ``error`` word IonQ sends for each status code.
ERROR_NAMES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized Error",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found Error",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An HTTP error in IonQ's shape. ``keys`` name the offending request keys (dotted paths)."""

    def __init__(self, status: int, message: str, *, keys: Sequence[str] = (), source: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.keys = [k for k in keys]
        self.source = source
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, keys=self.keys, source=self.source)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_body(status: int, message: str, *, keys: Sequence[str] = (), source: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, "error": ERROR_NAMES.get(status, "Error"), "message": message}
    if keys or source:
        body["validation"] = {"keys": list(keys), "source": source or "body"}
    return body


def bad_request(message: str, *keys: str, source: str = "body") -> ApiError:
    return ApiError(400, message, keys=keys, source=source)


def not_found(what: str, key: str, value: str, source: str = "params") -> ApiError:
    return ApiError(404, f"{what} {value!r} not found. See https://docs.ionq.com/ for details.",
                    keys=[key], source=source)


def unauthorized() -> ApiError:
    return ApiError(401, "Invalid key provided. Send the header `Authorization: apiKey <your-api-key>`. "
                         "See https://docs.ionq.com/#authentication for details.")
