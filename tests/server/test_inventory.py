"""The tool inventory: every state-changing wire operation is bound to its guarded handler, whatever it is called.

A capability file can expose any OpenAPI operation under any tool name. These tests rename every operation that
changes state (every non-GET operation of IonQ's spec, read from the spec itself, plus the ledger-reconciling
cost read) and prove that each renamed tool still reaches the spend guard: each is bound to the handler of its
wire operation, and calling it leaves an audit line under its new name (or is refused by the policy) while the
sandbox's request log shows nothing unguarded got through. Startup fails loudly when a handler cannot be bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
import yaml
from mcp import Client

from ionq_mcp._paths import openapi_path
from ionq_mcp.catalog import load_catalog
from ionq_mcp.guard import GuardPolicy
from ionq_mcp.server import ServerConfig, build_server
from ionq_mcp.server._tools import GUARDED, InventoryError, build_inventory

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio

_METHODS = ("post", "put", "patch", "delete")


def _state_changing_routes() -> list[tuple[str, str]]:
    """Every (METHOD, path) of IonQ's spec that is not a read."""
    spec = yaml.safe_load(openapi_path().read_text())
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in _METHODS]


def _renamed_capability(path: Path, routes: list[tuple[str, str]]) -> Path:
    operations = [{"id": f"renamed{i}", "method": method, "path": route, "summary": f"renamed {method} {route}"}
                  for i, (method, route) in enumerate(routes)]
    path.write_text(yaml.safe_dump({"apiVersion": "naftiko.dev/v1", "kind": "Capability",
                                    "metadata": {"name": "ionq-renamed", "toolset": "renamed"},
                                    "spec": {"operations": operations}}, sort_keys=False))
    return path


def test_the_spec_has_no_state_changing_operation_without_a_guarded_handler():
    missing = [route for route in _state_changing_routes() if route not in GUARDED]
    assert _state_changing_routes(), "the spec lists state-changing operations"
    assert missing == []


def test_renamed_state_changing_operations_are_bound_to_their_guarded_handlers(tmp_path):
    routes = [*_state_changing_routes(), ("GET", "/jobs/{UUID}/cost")]
    catalog = load_catalog(extra_files=(_renamed_capability(tmp_path / "renamed.yaml", routes),))
    inventory = build_inventory(catalog.select(toolsets=["renamed"]).operations)
    assert len(inventory) == len(routes)
    for bound in inventory.values():
        assert bound.op.name.startswith("renamed")
        assert bound.guarded, bound.op.name
        assert bound.handler is GUARDED[(bound.op.method, bound.op.path)], bound.op.name


def _arguments(method: str, path: str, job_ids: list[str]) -> dict[str, Any]:
    """Valid arguments for each renamed operation: QPU submissions (the default policy forbids QPUs) and bulk
    actions over more ids than the policy lets through without the user's confirmation."""
    if (method, path) == ("POST", "/jobs"):
        return {**BELL_JOB, "backend": "qpu.aria-1", "shots": 100}
    if (method, path) == ("POST", "/sessions"):
        return {"backend": "qpu.aria-1"}
    if path in ("/jobs", "/jobs/status/cancel"):
        return {"ids": job_ids}
    if "{session_id}" in path:
        return {"session_id": "00000000-0000-4000-8000-000000000000"}
    return {"job_id": job_ids[0]}


async def test_every_renamed_state_changing_tool_goes_through_the_spend_guard(make_server, sandbox, tmp_path, mode):
    routes = _state_changing_routes()
    capability = _renamed_capability(tmp_path / "renamed.yaml", routes)
    server = make_server(extra_capability_files=(capability,), guard_policy=GuardPolicy(bulk_confirm_above=1))
    renamed = make_server(extra_capability_files=(capability,), toolsets=("renamed",),
                          guard_policy=GuardPolicy(bulk_confirm_above=1))
    async with Client(server, mode=mode) as client:
        job_ids = []
        for _ in range(2):
            created = await client.call_tool("create_job", BELL_JOB)
            job_ids.append(created.structured_content["id"])
            await wait_completed(client, job_ids[-1])
    results: dict[str, types.CallToolResult] = {}
    async with Client(renamed, mode=mode) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == {f"renamed{i}" for i in range(len(routes))}
        for i, (method, path) in enumerate(routes):
            results[f"renamed{i}"] = await client.call_tool(f"renamed{i}", _arguments(method, path, job_ids))
    audit = [json.loads(line) for line in Path(renamed.guard.audit_log.path).read_text().splitlines()]
    audited = {entry["tool"] for entry in audit}
    for name, result in results.items():
        assert name in audited, (name, result.content)
    # the policy's refusals and the missing confirmations sent nothing: no QPU job, no session, no bulk action
    sessions = sandbox.request_log.count(method="POST", path_prefix="/sessions")
    assert sessions == sandbox.request_log.count(method="POST", path_prefix="/sessions/")  # only end_session's
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 2  # the two simulator jobs
    assert sandbox.request_log.count(method="DELETE", path_prefix="/jobs") == 1  # the single delete only
    assert sandbox.request_log.count(method="PUT", path_prefix="/jobs/status/cancel") == 0


def test_startup_fails_loudly_when_a_state_changing_operation_has_no_guarded_handler(tmp_path):
    catalog = load_catalog(extra_files=(_renamed_capability(tmp_path / "renamed.yaml", [("POST", "/jobs")]),))
    without_create_job = {route: h for route, h in GUARDED.items() if route != ("POST", "/jobs")}
    with pytest.raises(InventoryError, match=r"renamed0.*renamed\.yaml.*changes state \(POST /jobs\).*guarded"):
        build_inventory(catalog.select(toolsets=["renamed"]).operations, guarded=without_create_job)


def test_startup_fails_loudly_when_a_workflow_has_no_handler(tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "naftiko.dev/v1", "kind": "Capability",
                                    "metadata": {"name": "ionq-more", "toolset": "more"},
                                    "spec": {"operations": [{"id": "teleport", "x-handler": "workflow",
                                                             "inputSchema": {"type": "object"}}]}}))
    with pytest.raises(InventoryError, match="teleport.*workflow without a handler"):
        build_server(ServerConfig(extra_capability_files=(path,), state_dir=tmp_path / "state"))


def test_the_cli_refuses_to_start_a_server_it_cannot_bind(tmp_path, capsys):
    from ionq_mcp import cli

    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "naftiko.dev/v1", "kind": "Capability",
                                    "metadata": {"name": "ionq-more", "toolset": "more"},
                                    "spec": {"operations": [{"id": "teleport", "x-handler": "workflow",
                                                             "inputSchema": {"type": "object"}}]}}))
    code = cli.main(["tools", "--capabilities", str(path)])
    assert code != 0
    assert "teleport" in capsys.readouterr().err
