"""The :class:`Sandbox`: the embedded cloud's app, store, runner (or worker) and fault injection in one object,
in-process or on loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Self

from starlette.types import ASGIApp

from ionq_mcp.sandbox._app import build_app
from ionq_mcp.sandbox._config import SandboxConfig
from ionq_mcp.sandbox._faults import FaultInjector, RequestLog
from ionq_mcp.sandbox._memory import default_budget_bytes
from ionq_mcp.sandbox._runner import Runner
from ionq_mcp.sandbox._store import Store

if TYPE_CHECKING:
    import uvicorn

    from ionq_mcp.sandbox._worker import Launcher

__all__ = ["Sandbox"]


async def _listening_url(server: uvicorn.Server, task: asyncio.Task[None]) -> str:
    """Wait until ``server`` (running as ``task``) listens; its base URL (``http://host:port/v0.4``, an IPv6 host
    in brackets). Raises what the server raised, or ``RuntimeError`` if it stopped before it started."""
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the sandbox HTTP server stopped before it started")
        await asyncio.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return f"http://{shown}:{bound[1]}/v0.4"


class Sandbox:
    """A running sandbox: store, job runner, fault injection and the ASGI app serving ``/v0.4``.

    Jobs left unfinished by a previous process on the same database file are re-queued on start (unless another
    live process holds them). With ``SandboxConfig(detached=True)`` a background worker process runs the jobs.
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        if not self.config.api_keys:
            raise ValueError("SandboxConfig.api_keys must name at least one key")
        config = self.config
        budget = config.memory_budget_bytes or default_budget_bytes()
        in_memory = config.db_path == ":memory:"
        if config.detached and in_memory:
            raise ValueError("SandboxConfig.detached needs a database file: a worker process cannot share :memory:")
        self.store = Store(config.db_path)
        self.runner: Runner | Launcher
        if config.detached:
            # imported here: `python -m ionq_mcp.sandbox._worker` imports this package first
            from ionq_mcp.sandbox._worker import Launcher, launcher_settings

            self.runner = Launcher(self.store, launcher_settings(
                qpu_latency_s=config.qpu_latency_s, simulator_latency_s=config.simulator_latency_s,
                seed=config.seed, rates=config.rates, memory_budget=budget, max_workers=config.max_workers,
                idle_s=config.worker_idle_s))
        else:
            self.runner = Runner(self.store, latency=config.latency, rates=config.rates,
                                 max_workers=config.max_workers, seed=config.seed, memory_budget=budget,
                                 poll_s=None if in_memory else config.poll_s)
        self.faults = FaultInjector(self.config.faults)
        self.request_log = RequestLog()
        self.api: ASGIApp = build_app(self)
        self.app: ASGIApp = self.request_log.wrap(self.faults.wrap(self.api))
        self._closed = False
        self.runner.requeue_unfinished()

    @property
    def api_key(self) -> str:
        """The first configured key (convenience for tests and the CLI)."""
        return self.config.api_keys[0].key

    def __repr__(self) -> str:
        return f"Sandbox(db_path={self.config.db_path!r}, keys={len(self.config.api_keys)})"

    def close(self) -> None:
        """Stop the workers and close the database. Unfinished jobs resume when the database is reopened."""
        if self._closed:
            return
        self._closed = True
        self.runner.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def wait_idle(self, timeout: float = 30) -> None:
        """Wait until no job is queued or running; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while self.runner.pending:
            idle = asyncio.Event()

            def wake(event: asyncio.Event = idle) -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed while a job was still running
                    loop.call_soon_threadsafe(event.set)

            self.runner.call_when_idle(wake)
            try:
                await asyncio.wait_for(idle.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise TimeoutError(f"{self.runner.pending} sandbox job(s) still running after {timeout}s") from None

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve over HTTP with uvicorn in the current event loop; yields the base URL (``.../v0.4``)."""
        import uvicorn

        config = uvicorn.Config(self.app, host=host, port=port, log_level="critical", lifespan="off",
                                access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            yield await _listening_url(server, task)
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Like :meth:`serve`, for synchronous callers (IonQ's SDKs, benchmarks): uvicorn runs on its own event
        loop in a background thread until the block exits. Yields the base URL (``.../v0.4``)."""
        ready = threading.Event()
        found: dict[str, object] = {}

        async def main() -> None:
            stop = asyncio.Event()
            found["stop"], found["loop"] = stop, asyncio.get_running_loop()
            try:
                async with self.serve(host, port) as url:
                    found["url"] = url
                    ready.set()
                    await stop.wait()
            except Exception as error:  # noqa: BLE001 - any failure to start is reported to the caller
                found["error"] = error
                ready.set()

        thread = threading.Thread(target=lambda: asyncio.run(main()), name="sandbox-http", daemon=True)
        thread.start()
        if not ready.wait(30) or "error" in found:
            raise RuntimeError(f"the sandbox HTTP server did not start: {found.get('error')!r}")
        try:
            yield str(found["url"])
        finally:
            loop = found["loop"]
            assert isinstance(loop, asyncio.AbstractEventLoop)
            loop.call_soon_threadsafe(found["stop"].set)  # type: ignore[attr-defined]
            thread.join(30)
