"""For every tool: malformed arguments come back as ``isError`` naming the field, and nothing reaches the API.

The sandbox we hand the server records every request it receives; after all the bad calls its log is empty.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from ionq_mcp.catalog import load_catalog

from .conftest import BELL_JOB

pytestmark = pytest.mark.anyio

CATALOG = load_catalog()
TOOLS = [op.name for op in CATALOG.operations]

#: a value of the wrong JSON type for each declared type
WRONG_TYPE: dict[str, Any] = {
    "string": 12345, "integer": "twelve", "number": "twelve", "boolean": "maybe", "object": "not-an-object",
    "array": 7,
}


def _type(schema: dict) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    return declared


def _sample(schema: dict) -> Any:
    """A plausible value for a required argument, so that the one wrong field stands out."""
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    return {"string": "00000000-0000-4000-8000-000000000000", "integer": 1, "number": 1.0, "boolean": True,
            "object": {}, "array": []}.get(_type(schema) or "string", "x")


def _base(op) -> dict[str, Any]:
    if op.name in ("create_job", "estimate_circuit_cost", "run_circuit", "compare_backends"):
        allowed = set(op.input_schema.get("properties", {}))
        return {k: v for k, v in BELL_JOB.items() if k in allowed}
    props = op.input_schema.get("properties", {})
    return {name: _sample(props[name]) for name in op.input_schema.get("required", [])}


def _cases(op) -> list[tuple[str, dict[str, Any], str]]:
    """(label, arguments, field the error must name)."""
    base = _base(op)
    cases = [("unknown argument", {**base, "zz_not_an_argument": 1}, "zz_not_an_argument")]
    for name in op.input_schema.get("required", []):
        cases.append((f"missing {name}", {k: v for k, v in base.items() if k != name}, name))
    for name, schema in op.input_schema.get("properties", {}).items():
        declared = _type(schema)
        if declared in WRONG_TYPE:
            cases.append((f"{name} of the wrong type", {**base, name: WRONG_TYPE[declared]}, name))
    return cases


@pytest.mark.parametrize("tool", TOOLS)
async def test_malformed_arguments_are_refused_before_anything_is_sent(make_server, sandbox, tool, mode):
    op = CATALOG.get(tool)
    server = make_server()
    if tool not in server.operations:
        pytest.skip(f"{tool} has no implementation in this build")
    cases = _cases(op)
    assert len(cases) >= 1 + len(op.input_schema.get("required", []))
    async with Client(server, mode=mode) as client:
        for label, arguments, field in cases:
            result = await client.call_tool(tool, arguments)
            text = result.content[0].text
            assert result.is_error, f"{tool}: {label} was accepted"
            assert field in text, f"{tool}: {label}: the error does not name {field!r}: {text}"
            assert "Nothing was sent" in text
            paths = [p["path"] for p in result.structured_content["error"]["problems"]]
            assert any(field in path for path in paths), (label, paths)
    assert sandbox.request_log.count() == 0, f"{tool}: an invalid call reached the API"


@pytest.mark.parametrize(
    ("label", "arguments", "field"),
    [
        ("qubit index beyond the register", {**BELL_JOB, "input": {**BELL_JOB["input"], "qubits": 1}},
         "input.circuit"),
        ("control equals target", {**BELL_JOB, "input": {**BELL_JOB["input"], "circuit": [
            {"gate": "cnot", "control": 1, "target": 1}]}}, "input.circuit[0]"),
        ("unknown gate", {**BELL_JOB, "input": {**BELL_JOB["input"], "circuit": [{"gate": "warp", "target": 0}]}},
         "input.circuit[0]"),
        ("too many shots", {**BELL_JOB, "shots": 10_000_000}, "shots"),
        ("too many qubits for the backend", {**BELL_JOB, "input": {**BELL_JOB["input"], "qubits": 40}},
         "qubits"),
    ],
)
async def test_semantic_problems_are_refused_before_anything_is_sent(server, sandbox, mode, label, arguments,
                                                                    field):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("create_job", arguments)
    assert result.is_error, label
    assert field in result.content[0].text, result.content[0].text
    assert sandbox.request_log.count() == 0


async def test_the_server_keeps_serving_after_bad_input(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        bad = await client.call_tool("get_backend", {"backend": 3})
        good = await client.call_tool("get_backend", {"backend": "simulator"})
    assert bad.is_error and not good.is_error
    assert sandbox.request_log.count() == 1


@pytest.mark.parametrize("value", ["a/b", "..", ".", "x?y", "x#y", "a\\b", "", "   "])
@pytest.mark.parametrize("tool", ["get_job", "get_job_results", "wait_for_job", "get_session"])
async def test_an_id_that_would_change_the_url_is_invalid_input_not_a_server_fault(server, sandbox, mode, tool,
                                                                                   value):
    field = "session_id" if tool == "get_session" else "job_id"
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(tool, {field: value})
    text = result.content[0].text
    assert result.is_error and "Nothing was sent" in text, text
    assert [p["path"] for p in result.structured_content["error"]["problems"]] == [field]
    assert "configuration problem" not in text
    assert sandbox.request_log.count() == 0


async def test_run_circuit_metadata_values_must_be_strings_like_create_job(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("run_circuit", {**BELL_JOB, "metadata": {"shots_note": 3}})
    text = result.content[0].text
    assert result.is_error and "Nothing was sent" in text and "metadata.shots_note" in text, text
    assert "configuration problem" not in text
    assert sandbox.request_log.count() == 0


async def test_compare_backends_reports_a_broken_circuit_like_any_invalid_call(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("compare_backends", {"input": {"qubits": 2, "gateset": "qis",
                                                                       "circuit": {"gate": "h"}}})
    text = result.content[0].text
    assert result.is_error and text.startswith("Invalid arguments for compare_backends") and "Nothing was sent" in text
    assert any(p["path"].startswith("input.circuit") for p in result.structured_content["error"]["problems"])
    assert sandbox.request_log.count() == 0


@pytest.mark.parametrize(("tool", "field", "value", "path"), [
    ("run_circuit", "noise", {"model": "aria-1", "sead": 3}, "noise.sead"),
    ("run_circuit", "noise", {"seed": 3}, "noise.model"),
    ("estimate_circuit_cost", "noise", {"model": "aria-9"}, "noise.model"),
    ("run_circuit", "settings", {"error_mitigation": {"debiasing": "yes"}}, "settings.error_mitigation.debiasing"),
    ("run_circuit", "shots", 10_000_000, "shots"),
])
async def test_job_workflows_check_job_fields_as_create_job_does(server, sandbox, mode, tool, field, value, path):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(tool, {**BELL_JOB, "timeout_s": 5, field: value} if tool == "run_circuit"
                                        else {**BELL_JOB, field: value})
        same = await client.call_tool("create_job", {**BELL_JOB, field: value})
    for refused in (result, same):
        assert refused.is_error and "Nothing was sent" in refused.content[0].text, refused.content
        assert path in [p["path"] for p in refused.structured_content["error"]["problems"]]
    assert sandbox.request_log.count() == 0


async def test_run_circuit_checks_the_input_object_as_create_job_does(server, sandbox, mode):
    arguments = {**BELL_JOB, "input": {**BELL_JOB["input"], "qubits": None}, "timeout_s": 5}
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("run_circuit", arguments)
    assert result.is_error and "Nothing was sent" in result.content[0].text, result.content
    assert "input.qubits" in [p["path"] for p in result.structured_content["error"]["problems"]]
    assert sandbox.request_log.count() == 0
