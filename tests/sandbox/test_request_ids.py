"""Every sandbox response names its request (``x-request-id``), and the client's errors carry that id."""

from __future__ import annotations

import httpx
import pytest

from ionq_mcp.client import IonQClient, NotFoundError
from ionq_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def test_responses_carry_the_logged_request_id(sandbox: Sandbox, client: httpx.AsyncClient) -> None:
    first = await client.get("/backends")
    second = await client.get("/jobs/no-such-job")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert ids[0] != ids[1]
    logged = sandbox.request_log.entries[-2:]
    assert [e.request_id for e in logged] == ids
    assert logged[0].received_at <= logged[1].received_at


async def test_client_errors_report_the_request_id(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with IonQClient(api_key=sandbox.api_key, base_url="http://sandbox.test/v0.4", transport=transport) as c:
        with pytest.raises(NotFoundError) as caught:
            await c.get_job(job_id="no-such-job")
    request_id = sandbox.request_log.entries[-1].request_id
    assert caught.value.request_id == request_id
    assert request_id in str(caught.value)
