"""Fixtures for client tests: an in-memory sandbox, clients bound to it, and a transport that timestamps requests.

``RecordingTransport`` wraps a real transport (the sandbox's ASGI app or loopback HTTP) and records when each
request started and its response arrived; tests use it to check that retries wait for Retry-After. It changes
nothing in the traffic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from ionq_mcp.client import IonQClient, RetryPolicy
from ionq_mcp.sandbox import Sandbox, SandboxConfig

#: Any host works with an in-process transport; a loopback name keeps the insecure-http check quiet.
ASGI_BASE_URL = "http://sandbox.localhost/v0.4"


def fast_retry(**overrides: float) -> RetryPolicy:
    """A retry policy with millisecond backoffs, so fault tests run quickly."""
    options = {"max_attempts": 12, "total_budget_s": 20.0, "initial_backoff_s": 0.001, "max_backoff_s": 0.02}
    options.update(overrides)
    return RetryPolicy(**options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    started: float
    finished: float
    outcome: int | str  # status code, or the transport exception's class name
    headers: dict[str, str]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Delegates to ``inner`` and records each exchange (monotonic timestamps)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        headers = {k.decode().lower(): v.decode() for k, v in request.headers.raw}
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            self.exchanges.append(Exchange(request.method, request.url.path, started, time.monotonic(),
                                           type(exc).__name__, headers))
            raise
        self.exchanges.append(Exchange(request.method, request.url.path, started, time.monotonic(),
                                       response.status_code, headers))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(SandboxConfig(db_path=":memory:", qpu_latency_s=0.0, seed=7))
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[IonQClient]:
    async with IonQClient(
        api_key=sandbox.api_key,
        base_url=ASGI_BASE_URL,
        transport=httpx.ASGITransport(app=sandbox.app),
        retry=fast_retry(),
    ) as c:
        yield c


BELL = {
    "qubits": 2,
    "gateset": "qis",
    "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
}


class SlowNetworkTransport(httpx.AsyncBaseTransport):
    """The sandbox's ASGI app behind a client-side read deadline of ``read_s`` seconds.

    Over a real network a read timeout leaves the server running: it may still create the job after the client
    gave up. uvicorn instead abandons a request whose client disconnected, so loopback HTTP cannot show that
    case; this transport can: when the deadline passes it raises ``httpx.ReadTimeout`` and lets the app finish
    in the background. The sandbox decides how slow the server is (a ``latency`` fault rule).
    """

    def __init__(self, app, read_s: float) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.read_s = read_s
        self._background: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        outcome: dict[str, object] = {}
        finished = asyncio.Event()

        async def run() -> None:
            try:
                outcome["response"] = await self.inner.handle_async_request(request)
            except Exception as exc:  # handed to the caller if it is still waiting
                outcome["error"] = exc
            finally:
                finished.set()

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        try:
            await asyncio.wait_for(asyncio.shield(finished.wait()), self.read_s)
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out (in-process)", request=request) from None
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["response"]  # type: ignore[return-value]

    async def aclose(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.inner.aclose()
