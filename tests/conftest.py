"""Shared test configuration: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test (see tests/_postgres.py), dropped afterwards."""
    from tests._postgres import scratch_database

    with scratch_database() as url:
        yield url
