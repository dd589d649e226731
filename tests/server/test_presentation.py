"""Presentation comes from the operation's data, not its tool name: a capability file that exposes the same wire
operations under new names gets the same result shaping, hints and instructions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mcp import Client

from ionq_mcp.catalog import load_catalog

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio

_RENAMED = [
    {"id": "readOutcomes", "method": "GET", "path": "/jobs/{UUID}/results/probabilities"},
    {"id": "whoIsCalling", "method": "GET", "path": "/whoami"},
    {"id": "readShots", "method": "GET", "path": "/jobs/{UUID}/variants/{variantId}/results/shots"},
]


def _capability(path: Path) -> Path:
    path.write_text(yaml.safe_dump({"apiVersion": "naftiko.dev/v1", "kind": "Capability",
                                    "metadata": {"name": "ionq-renamed", "toolset": "renamed"},
                                    "spec": {"operations": _RENAMED}}, sort_keys=False))
    return path


def test_renamed_operations_carry_the_presentation_of_their_wire_operation(tmp_path):
    catalog = load_catalog(extra_files=(_capability(tmp_path / "renamed.yaml"),))
    for renamed, original in (("read_outcomes", "get_job_probabilities"), ("who_is_calling", "whoami"),
                              ("read_shots", "get_variant_shots")):
        a, b = catalog.get(renamed), catalog.get(original)
        assert (a.result_kind, a.describes_upstream, a.lister, a.status_tool) == \
               (b.result_kind, b.describes_upstream, b.lister, b.status_tool), renamed
    assert catalog.get("read_outcomes").result_kind == "distribution"
    assert catalog.get("read_shots").status_tool == "get_job"
    assert catalog.get("who_is_calling").describes_upstream
    # a workflow's path arguments come from its capability file
    assert catalog.get("wait_for_job").argument("job_id").location == "path"


async def test_a_renamed_distribution_tool_is_shaped_and_hinted_like_the_original(make_server, tmp_path, mode):
    server = make_server(extra_capability_files=(_capability(tmp_path / "renamed.yaml"),))
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", BELL_JOB)
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        renamed = await client.call_tool("read_outcomes", {"job_id": job_id})
        original = await client.call_tool("get_job_probabilities", {"job_id": job_id})
        who = await client.call_tool("who_is_calling", {})
        missing = await client.call_tool("read_outcomes", {"job_id": "00000000-0000-4000-8000-000000000000"})
    assert renamed.structured_content == original.structured_content
    assert set(renamed.structured_content["bitstrings"]) == {"00", "11"}
    assert "upstream" in who.structured_content
    assert missing.is_error
    assert "call list_jobs" in missing.content[0].text and "call get_job to check its status" in missing.content[0].text
