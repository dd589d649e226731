"""The skill pack over MCP: ``skill://<name>/<path>`` resources and the SEP-2640 skills extension.

Every file of every skill in :mod:`ionq_mcp.skills` is a resource: ``skill://<name>/SKILL.md`` (``text/markdown``;
``name`` and ``description`` from its frontmatter) and its ``references/*.md`` and ``scripts/*.py``. They are
listed by ``resources/list`` and read with ordinary ``resources/read``, so any MCP client can load them.

For hosts that speak the skills extension (``io.modelcontextprotocol/skills``, SEP-2640), :func:`install`
declares it in the server's capabilities and serves its two required methods:

* ``skills/list``: one entry per skill: ``uri`` of its SKILL.md, the frontmatter as a JSON object, and
  ``resources``: every file with ``sha256:`` digest and size in bytes;
* ``skills/get``: the same entry for one SKILL.md URI; an unknown URI is ``-32602`` (Invalid params).

Both results are ``resultType: complete``, cacheable (``ttlMs``, ``cacheScope: public``: the pack is static and
holds nothing user-specific). ``resources/directory/read`` (optional in SEP-2640) is not offered:
``directoryRead`` is not declared. mcp 2.3.0 has no skills support of its own; the methods are registered on the
low-level server with :meth:`mcp.server.Server.add_request_handler`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import mcp_types as types
from mcp_types._types import MCPModel
from mcp import MCPError

from ionq_mcp.skills import Skill, load_pack

if TYPE_CHECKING:
    from mcp.server import Server
    from mcp.server.context import ServerRequestContext

__all__ = ["EXTENSION_ID", "GetSkillParams", "GetSkillRequest", "GetSkillResult", "ListSkillsRequest",
           "ListSkillsResult", "SkillEntry", "install",
           "is_skill_uri", "read_skill_resource", "skill_resources"]

EXTENSION_ID = "io.modelcontextprotocol/skills"
SCHEME = "skill://"
#: How long a host may treat a listing or entry as current: the pack changes only with a new release.
TTL_MS = 3_600_000


class SkillFileEntry(MCPModel):
    """One file of a skill: SEP-2640 ``SkillResource``."""

    uri: str
    digest: str
    size: int


class SkillEntry(MCPModel):
    """SEP-2640 ``Skill``: the SKILL.md URI, its frontmatter verbatim, and every file of the skill."""

    uri: str
    frontmatter: dict[str, Any]
    resources: list[SkillFileEntry]


class ListSkillsResult(types.PaginatedResult, types.CacheableResult):
    skills: list[SkillEntry]
    result_type: types.ResultType = "complete"


class GetSkillParams(types.RequestParams):
    uri: str


class ListSkillsRequest(types.PaginatedRequest[Literal["skills/list"]]):
    method: Literal["skills/list"] = "skills/list"


class GetSkillRequest(types.Request[GetSkillParams, Literal["skills/get"]]):
    method: Literal["skills/get"] = "skills/get"
    params: GetSkillParams


class GetSkillResult(types.CacheableResult):
    skill: SkillEntry
    result_type: types.ResultType = "complete"


def is_skill_uri(uri: str) -> bool:
    return uri.startswith(SCHEME)


def _uri(skill: Skill, path: str) -> str:
    return f"{SCHEME}{skill.name}/{path}"


@cache
def _index() -> dict[str, tuple[Skill, str]]:
    """resource URI -> (skill, path inside it), over the whole pack."""
    return {_uri(skill, f.path): (skill, f.path) for skill in load_pack() for f in skill.files}


def _entry(skill: Skill) -> SkillEntry:
    return SkillEntry(
        uri=_uri(skill, "SKILL.md"), frontmatter=skill.frontmatter,
        resources=[SkillFileEntry(uri=_uri(skill, f.path), digest=f.digest, size=len(f.data)) for f in skill.files],
    )


@cache
def _entries() -> tuple[SkillEntry, ...]:
    return tuple(_entry(s) for s in load_pack())


@cache
def skill_resources() -> tuple[types.Resource, ...]:
    """``resources/list`` entries: every file of every skill, each SKILL.md first (built once: the pack is
    static)."""
    out = []
    for skill in load_pack():
        for f in skill.files:
            is_entry = f.path == "SKILL.md"
            out.append(types.Resource(
                uri=_uri(skill, f.path), name=skill.name if is_entry else f"{skill.name}/{f.path}",
                title=f"Skill {skill.name}" if is_entry else None,
                description=skill.description if is_entry else f"Part of the {skill.name} skill.",
                mime_type=f.mime_type, size=len(f.data)))
    return tuple(out)


def _unknown(uri: str) -> MCPError:
    skills = ", ".join(_uri(s, "SKILL.md") for s in load_pack())
    return MCPError(types.INVALID_PARAMS, f"Unknown skill resource {uri!r}. Skills: {skills}. Each skill's "
                                          f"files are listed by resources/list and skills/list.")


def read_skill_resource(uri: str) -> types.ReadResourceResult:
    """The text of one ``skill://`` file; ``INVALID_PARAMS`` naming the skills for an unknown URI."""
    found = _index().get(uri)
    if found is None:
        raise _unknown(uri)
    skill, path = found
    file = skill.file(path)
    assert file is not None
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type=file.mime_type, text=file.data.decode("utf-8"))],
        ttl_ms=TTL_MS, cache_scope="public")


async def _list_skills(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams) -> ListSkillsResult:
    return ListSkillsResult(skills=list(_entries()), ttl_ms=TTL_MS, cache_scope="public")


async def _get_skill(ctx: ServerRequestContext[Any, Any], params: GetSkillParams) -> GetSkillResult:
    for entry in _entries():
        if params.uri == entry.uri:
            return GetSkillResult(skill=entry, ttl_ms=TTL_MS, cache_scope="public")
    raise _unknown(params.uri)


def install(server: Server[Any]) -> None:
    """Declare the skills extension on ``server`` and serve ``skills/list`` and ``skills/get``."""
    server.extensions[EXTENSION_ID] = {}
    server.add_request_handler("skills/list", types.PaginatedRequestParams, _list_skills)
    server.add_request_handler("skills/get", GetSkillParams, _get_skill)
