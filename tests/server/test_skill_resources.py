"""The skill pack over MCP: ``skill://`` resources through ``resources/list``/``resources/read``, and the
SEP-2640 methods ``skills/list`` / ``skills/get`` (declared as ``io.modelcontextprotocol/skills``)."""

from __future__ import annotations

import hashlib

import pytest
import yaml
from mcp import Client, MCPError

from ionq_mcp.server._skill_resources import (
    EXTENSION_ID,
    GetSkillParams,
    GetSkillRequest,
    GetSkillResult,
    ListSkillsRequest,
    ListSkillsResult,
)
from ionq_mcp.skills import PACK_DIR, split_frontmatter

pytestmark = pytest.mark.anyio

#: Every file of the committed pack, as the server must serve it: skill://<folder>/<path>.
PACK_FILES = {f"skill://{p.relative_to(PACK_DIR).as_posix()}": p.read_bytes()
              for p in PACK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


async def test_every_file_of_the_pack_is_listed_and_reads_back_byte_for_byte(server, mode):
    async with Client(server, mode=mode) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources if str(r.uri).startswith("skill://")}
        assert set(listed) == set(PACK_FILES)
        for uri, data in PACK_FILES.items():
            contents = (await client.read_resource(uri)).contents
            assert len(contents) == 1 and contents[0].text.encode("utf-8") == data, uri
            assert contents[0].mime_type == listed[uri].mime_type
            assert listed[uri].size == len(data)
    entries = {u: r for u, r in listed.items() if u.endswith("/SKILL.md")}
    assert len(entries) >= 4
    for uri, resource in entries.items():
        meta = yaml.safe_load(split_frontmatter(PACK_FILES[uri].decode())[0].strip("-\n"))
        assert resource.mime_type == "text/markdown"
        assert resource.name == meta["name"] == uri.split("/")[2]
        assert resource.description == meta["description"]


async def test_unknown_skill_uris_are_invalid_params_naming_the_skills(server, mode):
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError, match="skill://ionq-running-circuits/SKILL.md") as caught:
            await client.read_resource("skill://ionq-running-circuits/references/nothing.md")
    assert caught.value.error.code == -32602


async def test_the_server_declares_the_skills_extension_on_the_2026_protocol(server):
    async with Client(server, mode="auto") as client:
        assert client.server_capabilities.extensions == {EXTENSION_ID: {}}
        assert client.server_capabilities.resources is not None


async def test_skills_list_gives_complete_manifests_with_digests(server, mode):
    async with Client(server, mode=mode) as client:
        listing = await client.session.send_request(ListSkillsRequest(), ListSkillsResult)
    assert listing.result_type == "complete" and listing.cache_scope == "public" and listing.ttl_ms > 0
    assert listing.next_cursor is None
    by_uri = {s.uri: s for s in listing.skills}
    assert set(by_uri) == {u for u in PACK_FILES if u.endswith("/SKILL.md")}
    listed_files = set()
    for uri, skill in by_uri.items():
        head = split_frontmatter(PACK_FILES[uri].decode())[0]
        assert skill.frontmatter == yaml.safe_load(head.strip("-\n"))  # verbatim, every field
        assert uri.split("/")[-2] == skill.frontmatter["name"]
        assert uri in {r.uri for r in skill.resources}
        for r in skill.resources:
            data = PACK_FILES[r.uri]
            assert r.size == len(data)
            assert r.digest == "sha256:" + hashlib.sha256(data).hexdigest()
            listed_files.add(r.uri)
    assert listed_files == set(PACK_FILES)  # complete: every file of every skill, once


async def test_skills_get_returns_one_entry_and_refuses_unknown_uris(server, mode):
    uri = "skill://ionq-controlling-cost/SKILL.md"
    async with Client(server, mode=mode) as client:
        listing = await client.session.send_request(ListSkillsRequest(), ListSkillsResult)
        got = await client.session.send_request(GetSkillRequest(params=GetSkillParams(uri=uri)), GetSkillResult)
        with pytest.raises(MCPError) as caught:
            await client.session.send_request(
                GetSkillRequest(params=GetSkillParams(uri="skill://ionq-controlling-cost/references/pricing.md")),
                GetSkillResult)
    assert got.skill == next(s for s in listing.skills if s.uri == uri)
    assert got.result_type == "complete" and got.ttl_ms > 0
    assert caught.value.error.code == -32602
