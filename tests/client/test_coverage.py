"""Every operation in capabilities/*.yaml has a client method, with the argument names the catalog uses."""

from __future__ import annotations

import inspect
import re

import yaml

from ionq_mcp._paths import capabilities_dir
from ionq_mcp.client import IonQClient


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _capability_operations() -> list[dict]:
    """The HTTP operations of the capability files (workflow entries, served by the MCP server, have no path)."""
    ops = []
    for path in sorted(capabilities_dir().glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        ops.extend(op for op in doc["spec"]["operations"] if op.get("method") and op.get("path"))
    return ops


def test_snake_case_derivation() -> None:
    assert _snake("listBackends") == "list_backends"
    assert _snake("whoami") == "whoami"
    assert _snake("getOrganizationUsage") == "get_organization_usage"


def test_every_capability_operation_has_an_async_client_method() -> None:
    ops = _capability_operations()
    assert len(ops) >= 25
    missing = [op["id"] for op in ops if not inspect.iscoroutinefunction(getattr(IonQClient, _snake(op["id"]), None))]
    assert not missing, f"capability operations without a client method: {missing}"


def test_path_parameters_are_method_arguments() -> None:
    # Each {param} in a capability path must be accepted by the method, under the catalog's argument name.
    renames = {"UUID": None, "variantId": "variant_id"}
    for op in _capability_operations():
        method = getattr(IonQClient, _snake(op["id"]))
        params = inspect.signature(method).parameters
        for placeholder in re.findall(r"{(\w+)}", op["path"]):
            if placeholder == "UUID":
                assert {"job_id", "characterization_id"} & set(params), op["id"]
            else:
                assert (renames.get(placeholder) or placeholder) in params, (op["id"], placeholder)


def test_catalog_arguments_are_accepted_by_the_methods() -> None:
    """The MCP server calls getattr(client, op.name)(**arguments) with the catalog's argument names."""
    from ionq_mcp.catalog import load_catalog

    catalog = load_catalog()
    operations = getattr(catalog, "operations", catalog)
    checked = 0
    for op in operations:
        if op.method is None:  # workflow tools are served by the server, not by one client call
            continue
        method = getattr(IonQClient, op.name)
        params = inspect.signature(method).parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for name in op.input_schema.get("properties", {}):
            assert name in params or accepts_any, f"{op.name} does not accept argument {name!r}"
        checked += 1
    assert checked >= 25
