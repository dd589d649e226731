"""A sandbox served by uvicorn on loopback from a background thread, for synchronous third-party clients."""

from __future__ import annotations

import asyncio
import threading

from ionq_mcp.sandbox import Sandbox


class LoopbackSandbox:
    """``with LoopbackSandbox(sandbox) as server: server.base_url`` -> ``http://127.0.0.1:PORT/v0.4``."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.base_url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (the URL without the API version)."""
        return self.base_url.removesuffix("/v0.4")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.sandbox.serve() as url:
            self.base_url = url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> LoopbackSandbox:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the sandbox did not start serving")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
