"""What the skill pack costs an agent's context, and what serving it costs the server.

Measures, in one run:

* bytes of each skill's frontmatter (what a host keeps in context for every skill, always), of its body (loaded
  when the skill is used) and of its references and scripts (loaded only when read), UTF-8;
* the same frontmatter/body split for the server's ``instructions`` and its ``tools/list`` (the peer: what an
  MCP host always loads from this server without skills);
* in-process ``mcp.Client`` round trips, interleaved in shuffled order: ``resources/list`` (now with the skill
  files) and the peer ``resources/list`` without them, ``resources/read`` of a SKILL.md, ``skills/list``, and the
  peer ``resources/read ionq://backends`` (an existing resource of the same server). Medians over ``--runs``.

Run: ``python bench/bench_skills.py [--runs 300] [--json out.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ionq_mcp.skills import load_pack, split_frontmatter


def sizes() -> dict[str, Any]:
    out: dict[str, Any] = {"skills": {}}
    for skill in load_pack():
        head, body = split_frontmatter(skill.files[0].data.decode("utf-8"))
        out["skills"][skill.name] = {
            "frontmatter_bytes": len(head.encode()), "body_bytes": len(body.encode()),
            "body_lines": body.count("\n"),
            "references_bytes": sum(len(f.data) for f in skill.files if f.path.startswith("references/")),
            "scripts_bytes": sum(len(f.data) for f in skill.files if f.path.startswith("scripts/")),
        }
    out["frontmatter_total"] = sum(s["frontmatter_bytes"] for s in out["skills"].values())
    return out


async def rounds(runs: int) -> dict[str, Any]:
    from mcp import Client

    from ionq_mcp.server import ServerConfig, build_server
    from ionq_mcp.server._skill_resources import ListSkillsRequest, ListSkillsResult

    with tempfile.TemporaryDirectory() as state:
        server = build_server(ServerConfig(force_sandbox=True, sandbox_db=":memory:", state_dir=Path(state)))
        try:
            async with Client(server) as client:
                tools = (await client.list_tools()).tools
                listed = await client.list_resources()
                from ionq_mcp.server import _skill_resources

                async def list_without_skills() -> Any:
                    real = _skill_resources.skill_resources
                    _skill_resources.skill_resources = lambda: ()  # type: ignore[assignment]
                    try:
                        return await client.list_resources()
                    finally:
                        _skill_resources.skill_resources = real  # type: ignore[assignment]

                ops = {
                    "resources/list": lambda: client.list_resources(),
                    "peer: resources/list without the skill files": list_without_skills,
                    "read skill://.../SKILL.md": lambda: client.read_resource("skill://ionq-controlling-cost/SKILL.md"),
                    "skills/list": lambda: client.session.send_request(ListSkillsRequest(), ListSkillsResult),
                    "peer: read ionq://backends": lambda: client.read_resource("ionq://backends"),
                }
                for op in ops.values():  # warm up (the sandbox is built on the first upstream call)
                    await op()
                times: dict[str, list[float]] = {name: [] for name in ops}
                order = [name for name in ops for _ in range(runs)]
                random.Random(12).shuffle(order)
                for name in order:
                    start = time.perf_counter()
                    await ops[name]()
                    times[name].append(time.perf_counter() - start)
                instructions = client.instructions or ""
        finally:
            await server.aclose()
    tool_bytes = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]))
    listed_bytes = len(json.dumps(listed.model_dump(by_alias=True, exclude_none=True, mode="json")))
    return {
        "median_ms": {name: round(statistics.median(v) * 1e3, 3) for name, v in times.items()},
        "instructions_bytes": len(instructions.encode()),
        "tools_list_bytes": tool_bytes,
        "resources_list_bytes": listed_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = {"sizes": sizes(), "server": asyncio.run(rounds(args.runs))}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
