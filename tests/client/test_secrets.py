"""The API key never appears in an exception (text, repr, args, attributes, chained causes), a log record or a repr.

Every error path runs with a recognisable key against the sandbox configured to accept it.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from ionq_mcp.client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    IonQClient,
    IonQError,
    Lookup,
    NotFoundError,
    RateLimitError,
    ServerError,
    Timeouts,
    UncertainOutcomeError,
    UnexpectedResponseError,
)
from ionq_mcp.sandbox import ApiKey, FaultRule, Sandbox, SandboxConfig

from .conftest import ASGI_BASE_URL, BELL, fast_retry

pytestmark = pytest.mark.anyio

SECRET = "sk-LEAKCHECK-1234567890"


@pytest.fixture
def leak_sandbox() -> Iterator[Sandbox]:
    box = Sandbox(SandboxConfig(db_path=":memory:", api_keys=[ApiKey.generate(SECRET, "leak check")]))
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def capture(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in ("ionq_mcp", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _texts(exc: BaseException) -> Iterator[str]:
    """Everything an exception shows: str, repr, args, attribute values, and the same for its causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(vars(current))
        current = current.__cause__ or current.__context__


def _assert_clean(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    for text in _texts(exc):
        assert SECRET not in text, text
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record.getMessage()
        assert SECRET not in repr(record.args)
        if record.exc_info and record.exc_info[1] is not None:
            for text in _texts(record.exc_info[1]):
                assert SECRET not in text


async def _expect(error: type[BaseException], call: Callable[[], object], caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(error) as info:
        await call()  # type: ignore[misc]
    _assert_clean(info.value, caplog)


@pytest.fixture
async def leak_client(leak_sandbox: Sandbox) -> AsyncIterator[IonQClient]:
    async with IonQClient(api_key=SECRET, base_url=ASGI_BASE_URL, transport=httpx.ASGITransport(app=leak_sandbox.app),
                          retry=fast_retry(max_attempts=3), lookup=Lookup(recheck_s=0.01, settle_s=0.2)) as c:
        yield c


async def test_key_is_used_but_never_shown(leak_sandbox: Sandbox, leak_client: IonQClient,
                                           capture: pytest.LogCaptureFixture) -> None:
    assert (await leak_client.whoami()).key_name == "leak check"  # the key does authenticate
    assert SECRET not in repr(leak_client) and SECRET not in str(leak_client)
    assert SECRET not in repr(vars(leak_client)) and SECRET not in repr(vars(leak_client._session))
    assert SECRET not in repr(leak_client._session.config)


async def test_http_error_paths(leak_sandbox: Sandbox, leak_client: IonQClient,
                                capture: pytest.LogCaptureFixture) -> None:
    async with IonQClient(api_key=SECRET + "-revoked", base_url=ASGI_BASE_URL,
                          transport=httpx.ASGITransport(app=leak_sandbox.app)) as wrong:
        await _expect(AuthenticationError, wrong.whoami, capture)
    await _expect(NotFoundError, lambda: leak_client.get_job("no-such-job"), capture)
    await _expect(InvalidRequestError, lambda: leak_client.create_job(backend="simulator", shots=0, input=BELL,
                                                                      type="ionq.circuit.v1"), capture)

    rule = leak_sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=0.01, methods=("GET",)))
    await _expect(RateLimitError, leak_client.whoami, capture)
    leak_sandbox.faults.remove(rule)

    rule = leak_sandbox.faults.add(FaultRule(kind="status", status=503, methods=("GET",)))
    await _expect(ServerError, leak_client.list_backends, capture)
    leak_sandbox.faults.remove(rule)

    leak_sandbox.faults.add(FaultRule(kind="drop", path="/sessions", methods=("POST",)))
    await _expect(UncertainOutcomeError, lambda: leak_client.create_session("qpu.aria-1"), capture)
    leak_sandbox.faults.clear()

    leak_sandbox.faults.add(FaultRule(kind="drop", path="/jobs", methods=("POST",)))
    leak_sandbox.faults.add(FaultRule(kind="status", status=500, path="/jobs", methods=("GET",)))
    await _expect(UncertainOutcomeError, lambda: leak_client.create_job(backend="simulator", input=BELL,
                                                                        type="ionq.circuit.v1"), capture)
    leak_sandbox.faults.clear()
    assert capture.records  # the retries above were logged, and cleanly


async def test_timeout_connection_refused_and_insecure_url(leak_sandbox: Sandbox,
                                                           capture: pytest.LogCaptureFixture) -> None:
    leak_sandbox.faults.add(FaultRule(kind="latency", latency_s=0.5, methods=("GET",)))
    async with leak_sandbox.serve() as base_url:
        async with IonQClient(api_key=SECRET, base_url=base_url, retry=fast_retry(max_attempts=2),
                              timeout=Timeouts(connect=2.0, read=0.1, write=2.0, pool=2.0)) as client:
            await _expect(APITimeoutError, client.whoami, capture)
    leak_sandbox.faults.clear()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with IonQClient(api_key=SECRET, base_url=f"http://127.0.0.1:{port}/v0.4",
                          retry=fast_retry(max_attempts=2)) as client:
        await _expect(APIConnectionError, client.whoami, capture)

    with pytest.raises(ConfigurationError) as info:
        IonQClient(api_key=SECRET, base_url="http://api.example.com/v0.4")
    _assert_clean(info.value, capture)


async def test_a_server_that_echoes_the_key_is_scrubbed(capture: pytest.LogCaptureFixture) -> None:
    """A misbehaving server that quotes the Authorization header in its error body must not leak it."""

    async def echo_app(scope, receive, send):
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        body = json.dumps({"statusCode": 400, "error": "Bad Request", "message": f"bad header {auth}",
                           "validation": {"keys": [auth]}}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async with IonQClient(api_key=SECRET, transport=httpx.ASGITransport(app=echo_app)) as client:
        await _expect(IonQError, client.whoami, capture)


async def test_a_body_that_does_not_fit_is_a_client_error_not_a_crash(capture: pytest.LogCaptureFixture) -> None:
    """A 200 whose job lacks ``id`` (or is not JSON) raises UnexpectedResponseError naming the field."""

    async def broken_app(scope, receive, send):
        body = b'{"status": "completed", "note": "no id"}' if scope["path"].endswith("/jobs/x") else b"<html>"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async with IonQClient(api_key=SECRET, transport=httpx.ASGITransport(app=broken_app)) as client:
        with pytest.raises(UnexpectedResponseError, match="id") as info:
            await client.get_job("x")
        assert info.value.status_code == 200 and info.value.path.endswith("/jobs/x")
        _assert_clean(info.value, capture)
        with pytest.raises(UnexpectedResponseError):
            await client.whoami()
