"""Fixtures of the sandbox service tests: an in-memory sandbox with two keys in two projects, and an
``httpx.AsyncClient`` per key (or none) on its ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ionq_mcp.sandbox import Sandbox
from tests.sandbox._service import KEY_A, KEY_B, client_for, make_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = make_sandbox()
    yield box
    box.close()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sandbox, KEY_A) as c:
        yield c


@pytest.fixture
async def other(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sandbox, KEY_B) as c:
        yield c


@pytest.fixture
async def anonymous(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sandbox, None) as c:
        yield c


