"""Fuzzing every tool through a real MCP client: what the server sends, the sandbox accepts.

Hypothesis builds calls from each tool's model-visible input schema, mixing plausible values with wrong
types, out-of-range numbers, numbers no double holds, blank ids, bad dates, unknown keys, missing required
arguments and broken gates. The sandbox (IonQ's rules, independently implemented in ``sandbox/_validate.py``)
is the oracle. For every call:

* the client never sees a JSON-RPC error: every failure is a tool result with ``isError``;
* a call the server refuses as invalid sent **zero** requests;
* no request the server did send was answered 400/422 (the sandbox found nothing the server had missed).

The server and its client live in one event loop (a blocking portal) for the whole test, so each example costs
one in-process round trip. Jobs are kept small (at most a few qubits, few shots) so examples stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from ionq_mcp import circuits
from ionq_mcp.catalog import load_catalog
from ionq_mcp.sandbox import Sandbox, SandboxConfig
from ionq_mcp.server import build_server, ServerConfig

from .conftest import FAST_RETRY

CATALOG = load_catalog()
TOOLS = [op.name for op in CATALOG.operations]

HUGE = 10**400
UUID = "00000000-0000-4000-8000-000000000000"

junk = st.one_of(
    st.none(), st.booleans(), st.sampled_from([-1, 0, 7, 2**31, HUGE, -HUGE]),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=6),
    st.sampled_from(["", " ", "../x", "a/b", "2025-13-40", "Infinity"]),
    st.lists(st.integers(-2, 3), max_size=2), st.dictionaries(st.sampled_from(["a", "model", "x"]), st.integers(),
                                                            max_size=2),
)
small_ints = st.sampled_from([-1, 0, 1, 2, 3, 5, 10, 100, 1000, 1001, 10_001, 1_000_001, 2**31, HUGE])
numbers = st.one_of(st.floats(-10, 10, allow_nan=False), st.sampled_from([0.25, 1e308, -0.5, HUGE]))
strings = st.sampled_from(["", "x", UUID, "2025-01-01", "2025-01-01T00:00:00Z", "yesterday", "a" * 300,
                           "simulator", "qpu.aria-1", "qasm3", "native", "ionq.circuit.v1", "qctrl.qaoa.v1"])


def _type(schema: dict[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if declared is None and "properties" in schema:
        return "object"
    return declared


def _mostly(typed: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``typed`` seven times in eight, ``other`` the rest (one_of would weigh them equally)."""
    return st.integers(0, 7).flatmap(lambda i: other if i == 0 else typed)


def _value(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly values of the declared type (enum members, boundary numbers), sometimes anything at all."""
    if not isinstance(schema, dict) or depth > 4:
        return junk
    kind = _type(schema)
    typed: st.SearchStrategy[Any]
    if "enum" in schema:
        typed = st.one_of(st.sampled_from(schema["enum"]), strings)
    elif kind == "integer":
        typed = small_ints
    elif kind == "number":
        typed = numbers
    elif kind == "string":
        typed = strings
    elif kind == "boolean":
        typed = st.booleans()
    elif kind == "array":
        typed = st.lists(_value(schema.get("items", {}), depth + 1), max_size=3)
    elif kind == "object":
        typed = _object(schema, depth + 1)
    else:
        return junk
    return _mostly(typed, junk)


def _rarely_unknown(base: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """``base``, and one time in eight with an argument no tool has."""
    return st.tuples(base, st.integers(0, 7), junk).map(lambda t: {**t[0], "zz_unknown": t[2]} if t[1] == 0
                                                        else t[0])


def _object(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return _rarely_unknown(st.fixed_dictionaries(
        {name: _value(sub, depth) for name, sub in properties.items() if name in required},
        optional={name: _value(sub, depth) for name, sub in properties.items() if name not in required},
    ))


gate_names = st.sampled_from(sorted({*circuits.QIS_GATES, *circuits.NATIVE_GATES, "rxx", "u3"}))
qubit = st.one_of(st.integers(-1, 3), st.sampled_from([29, 40, HUGE, 1.0, 1.5, "0"]))
gate = st.fixed_dictionaries(
    {"gate": st.one_of(gate_names, junk)},
    optional={"target": qubit, "targets": st.lists(qubit, max_size=3), "control": qubit,
              "controls": st.lists(qubit, max_size=3), "rotation": numbers, "phase": numbers,
              "phases": st.lists(numbers, max_size=3), "angle": numbers, "bogus": junk},
)
circuit_input = st.fixed_dictionaries(
    {"circuit": st.one_of(st.lists(gate, max_size=4), junk)},
    optional={"qubits": st.one_of(st.integers(-1, 3), st.sampled_from([30, 40, HUGE])),
              "gateset": st.one_of(st.sampled_from(["qis", "native"]), junk)},
)
multi_input = st.fixed_dictionaries(
    {"circuits": st.lists(st.fixed_dictionaries({"circuit": st.lists(gate, max_size=3)},
                                                 optional={"name": strings, "qubits": st.integers(0, 3)}),
                          max_size=2)},
    optional={"gateset": st.sampled_from(["qis", "native", "x"]), "qubits": st.integers(0, 3)},
)
job_fields = {
    "backend": st.one_of(st.sampled_from([*circuits.JOB_BACKENDS, "qpu.nope"]), junk),
    "type": st.one_of(st.sampled_from([*circuits.JOB_TYPES, "ionq.circuit.v0"]), junk),
    "input": st.one_of(circuit_input, circuit_input, multi_input, junk),
    "shots": st.one_of(st.sampled_from([1, 100, 500, 0, -1, 10_001, 1_000_001, HUGE]), junk),
    "noise": st.one_of(st.fixed_dictionaries({}, optional={"model": st.sampled_from(["ideal", "aria-1", "x"]),
                                                           "seed": st.sampled_from([1, -1, HUGE, 2.5]),
                                                           "bogus": junk}), junk),
    "settings": st.one_of(st.fixed_dictionaries({}, optional={
        "error_mitigation": st.fixed_dictionaries({}, optional={"debiasing": st.one_of(st.booleans(), junk)}),
        "bogus": junk}), junk),
    "name": st.one_of(strings, junk),
    "metadata": st.one_of(st.dictionaries(st.sampled_from(["k", "ionq_mcp_idempotency_key", "k" * 41]),
                                          st.one_of(strings, junk), max_size=2), junk),
    "timeout_s": st.sampled_from([0, 0.5, -1, HUGE]),
    "top_k": st.sampled_from([1, 0, 3, HUGE]),
    "poll_interval_s": st.sampled_from([0.01, 0.001, HUGE]),
    "dry_run": st.one_of(st.booleans(), junk),
    "session_id": st.sampled_from(["", UUID, "a/b"]),
}


def _arguments(op: Any) -> st.SearchStrategy[dict[str, Any]]:
    properties = op.input_schema.get("properties", {})
    if "input" not in properties:
        return _object(op.input_schema)
    required = set(op.input_schema.get("required", ()))
    fields = {name: job_fields.get(name, _value(schema)) for name, schema in properties.items()}
    return _rarely_unknown(st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                                 optional={k: v for k, v in fields.items() if k not in required}))


calls = st.sampled_from(TOOLS).flatmap(lambda name: st.tuples(st.just(name), _arguments(CATALOG.get(name))))


class Harness:
    """A sandbox, a server on it and a connected ``mcp.Client``, all on one portal's event loop."""

    def __init__(self, portal: BlockingPortal, sandbox: Sandbox, client: Client) -> None:
        self.portal, self.sandbox, self.client = portal, sandbox, client
        self.outcomes: dict[str, int] = {"refused": 0, "sent": 0, "other": 0}

    def call(self, name: str, arguments: dict[str, Any]) -> Any:
        return self.portal.call(self.client.call_tool, name, arguments)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    sandbox = Sandbox(SandboxConfig(db_path=":memory:", seed=7, qpu_latency_s=0.0))
    server = build_server(ServerConfig(sandbox=sandbox, state_dir=tmp_path_factory.mktemp("fuzz") / "state",
                                       client_options={"retry": FAST_RETRY}))
    try:
        with start_blocking_portal("asyncio") as portal:
            try:
                with portal.wrap_async_context_manager(Client(server)) as client:
                    yield Harness(portal, sandbox, client)
            finally:
                portal.call(server.aclose)
    finally:
        sandbox.close()


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(call=calls)
def test_invalid_calls_send_nothing_and_what_is_sent_is_valid(harness: Harness, call: tuple[str, dict]) -> None:
    name, arguments = call
    before = len(harness.sandbox.request_log.entries)
    result = harness.call(name, arguments)  # an MCPError here (a JSON-RPC error) fails the test
    sent = harness.sandbox.request_log.entries[before:]
    structured = result.structured_content or {}
    error = structured.get("error") if isinstance(structured, dict) else None
    if result.is_error and isinstance(error, dict) and error.get("type") == "invalid_arguments":
        assert sent == [], f"{name}({arguments}) was refused as invalid but sent {sent}"
        harness.outcomes["refused"] += 1
    else:
        harness.outcomes["sent" if sent else "other"] += 1
    rejected = [(r.method, r.path, r.status) for r in sent if r.status in (400, 422)]
    if rejected and isinstance(error, dict) and error.get("validation_keys") == ["next"]:
        rejected = []  # a page cursor is opaque: only the API that issued it can tell a stale one
    assert not rejected, f"{name}({arguments}): the sandbox rejected what the server sent: {rejected}; " \
                         f"result: {result.content[0].text[:500]}"
    assert all(r.status < 500 for r in sent), f"{name}({arguments}): the sandbox failed: {sent}"


def test_the_fuzzer_reached_both_the_refusals_and_the_api(harness: Harness) -> None:
    """Runs after the fuzz test (file order): a fuzzer that only produced refusals, or only valid calls,
    would prove nothing about the other half."""
    outcomes = harness.outcomes
    assert outcomes["refused"] >= 200 and outcomes["sent"] >= 50, outcomes
