"""Result shaping: wrapping, distribution caps (checked against the definition), size caps, redaction."""

from __future__ import annotations

import json
import random

from jsonschema import Draft202012Validator

from ionq_mcp.catalog import load_catalog
from ionq_mcp.client import NotFoundError
from ionq_mcp.sandbox import DEFAULT_SANDBOX_KEY
from ionq_mcp.server import ServerConfig
from ionq_mcp.server._errors import error_result
from ionq_mcp.server._results import MAX_RESULT_BYTES, TOP_OUTCOMES, cap_size, output_schema_for, shape_result
from ionq_mcp.server._upstream import SANDBOX_DEFAULT_KEY, Upstream

CATALOG = load_catalog()


def _size(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def test_wide_distribution_keeps_the_heaviest_outcomes_and_validates():
    rng = random.Random(3)
    n = 14
    weights = {str(k): rng.random() for k in rng.sample(range(2**n), 5000)}
    total = sum(weights.values())
    data = {k: v / total for k, v in weights.items()}
    op = CATALOG.get("get_job_probabilities")
    result = shape_result(op, data)
    content = result.structured_content
    heaviest = sorted(data.items(), key=lambda kv: -kv[1])[:TOP_OUTCOMES]
    assert content["probabilities"] == dict(heaviest)
    assert content["total_outcomes"] == 5000 and content["shown"] == TOP_OUTCOMES and content["truncated"] is True
    assert abs(content["remaining_mass"] - (1 - sum(v for _, v in heaviest))) < 1e-9
    for key, bits in zip(content["probabilities"], content["bitstrings"]):
        assert int(bits, 2) == int(key)  # same outcome: qubit 0 is the rightmost (least significant) bit
    width = max(int(k).bit_length() for k in data)
    assert {len(b) for b in content["bitstrings"]} == {width}
    assert not list(Draft202012Validator(output_schema_for(op)).iter_errors(content))


def test_long_lists_are_cut_to_fit_with_a_note():
    op = CATALOG.get("list_backends")
    backends = [{"backend": f"qpu.b{i}", "status": "available", "qubits": 36, "note": "x" * 50} for i in range(2000)]
    content = shape_result(op, backends).structured_content
    assert _size(content) <= MAX_RESULT_BYTES
    assert content["truncated"] is True and content["total"] == 2000
    assert content["backends"] == backends[: content["shown"]]  # a prefix, in order
    assert "2000" in content["truncation_note"]
    assert not list(Draft202012Validator(output_schema_for(op)).iter_errors(content))


def test_any_oversized_value_is_cut():
    content = cap_size({"id": "j1", "circuit": "OPENQASM 3;\n" + "h q[0];\n" * 10_000, "extra": {"a": [1] * 5000}})
    assert _size(content) <= MAX_RESULT_BYTES
    assert content["id"] == "j1" and content["truncated"] is True
    assert "circuit" in content["truncation_note"] or "extra" in content["truncation_note"]


def test_small_results_are_left_alone():
    small = {"id": "j1", "status": "completed"}
    assert cap_size(small) is small


def test_secrets_never_reach_the_agent():
    key = "my-secret-ionq-key-0123456789"
    upstream = Upstream(ServerConfig(api_key=key, base_url="https://api.ionq.co/v0.4"))
    op = CATALOG.get("get_job")
    echoed = shape_result(op, {"id": "j1", "note": f"key was {key}"}, upstream)
    assert key not in echoed.content[0].text and key not in json.dumps(echoed.structured_content)
    exc = NotFoundError(status_code=404, error="Not Found", message=f"no job for {key}", method="GET",
                        path="/jobs/j1")
    failed = error_result(op, exc, upstream)
    assert key not in failed.content[0].text and key not in json.dumps(failed.structured_content)
    assert key not in repr(upstream) and key not in repr(ServerConfig(api_key=key))


def test_a_key_in_an_oversized_result_is_redacted_before_the_cut_can_split_it():
    key = "my-secret-ionq-key-0123456789"
    upstream = Upstream(ServerConfig(api_key=key, base_url="https://api.ionq.co/v0.4"))
    op = CATALOG.get("get_job")
    before = "x" * (MAX_RESULT_BYTES // 2 + 100)
    for j in range(1, len(key)):  # the cut keeps the first half of the string: make it land inside the key
        after = "y" * (len(before) + len(key) - 2 * j)
        echoed = shape_result(op, {"id": "j1", "note": before + key + after}, upstream)
        dumped = json.dumps(echoed.structured_content)
        assert echoed.structured_content["truncated"] is True
        assert key[: len(key) // 2] not in dumped and key[len(key) // 2:] not in dumped
        assert key[: len(key) // 2] not in echoed.content[0].text


def test_the_remote_sandbox_key_matches_the_sandbox():
    assert SANDBOX_DEFAULT_KEY == DEFAULT_SANDBOX_KEY
