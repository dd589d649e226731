"""A throwaway PostgreSQL database per test session (or per test that asks for its own).

The server is ``IONQ_MCP_TEST_PG`` (a libpq URL of a role that may CREATE DATABASE), default
``postgresql://postgres@127.0.0.1:5432/postgres``. Each database is named ``ionq_mcp_test_<random>`` and dropped
afterwards. Outside CI (``CI`` unset) an unreachable server skips the tests that need it, saying why; in CI it
fails them, so a broken PostgreSQL never passes as green.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL = os.environ.get("IONQ_MCP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_connection():  # -> psycopg.Connection
    """An autocommit connection to the admin database; skips (outside CI) or fails (in CI) when unreachable."""
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at {ADMIN_URL} is unreachable ({str(error).strip().splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must provide it (.ci/run)")
        pytest.skip(f"{reason}; set IONQ_MCP_TEST_PG to a server where this role may CREATE DATABASE")


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create ``ionq_mcp_test_<random>``, yield its URL, then drop it (terminating leftover connections)."""
    name = f"ionq_mcp_test_{secrets.token_hex(6)}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        with admin_connection() as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def set_connections(url: str, allowed: bool) -> None:
    """Open or shut the scratch database at ``url``: shutting also ends every session connected to it. This is
    how tests take "the database" down and bring it back without touching the shared server."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith("ionq_mcp_test_"), name
    with admin_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
