"""A sandbox served over loopback HTTP for IonQ's own (synchronous) clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ionq_mcp.sandbox import Sandbox, SandboxConfig


@dataclass
class LoopbackSandbox:
    sandbox: Sandbox
    base_url: str  # http://127.0.0.1:PORT/v0.4

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/v0.4")


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackSandbox]:
    sandbox = Sandbox(SandboxConfig(qpu_latency_s=0.2, seed=3))
    with sandbox.serve_in_thread() as base_url:
        yield LoopbackSandbox(sandbox, base_url)
    sandbox.close()
