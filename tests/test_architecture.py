"""Static checks of the package's structure (AST scans of ionq_mcp/, nothing imported):

* no import cycles among ionq_mcp modules, counting every import (module level, inside functions and under
  ``if TYPE_CHECKING``): a cycle is a cycle even when Python tolerates it today;
* no module loads another of ours by name (``importlib``, ``__import__``, ``find_spec``);
* no private module or name of one package is imported by another (``ionq_mcp.client._http`` from the server);
* the layers point one way: the sandbox never imports the server or the client, the client never imports the
  server or the sandbox;
* IonQ's OpenAPI file is opened by one module, :mod:`ionq_mcp.openapi`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ionq_mcp"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Importable modules only (a skill pack's scripts live in directories such as ``ionq-running-circuits/``).
MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))
                            if all(part.isidentifier() for part in _module_name(p).split("."))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import statement of module ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield base, alias.name, node.lineno


def _edges(name: str) -> set[str]:
    """Our modules that module ``name`` imports: ``from pkg import sub`` is an edge to ``pkg.sub`` when that is a
    module, else to ``pkg``."""
    out: set[str] = set()
    for module, imported, _ in _imports(name):
        if imported is not None and f"{module}.{imported}" in MODULES:
            out.add(f"{module}.{imported}")
        elif module in MODULES:
            out.add(module)
    out.discard(name)
    return out


def _cycles() -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    graph = {name: _edges(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_the_scanner_sees_the_package():
    assert "ionq_mcp.server._app" in MODULES and "ionq_mcp.sandbox" in MODULES
    assert "ionq_mcp.server._tools" in _edges("ionq_mcp.server._app")


def test_no_import_cycles():
    assert _cycles() == []


def test_no_module_loads_another_by_name():
    offenders = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        for needle in ("importlib", "__import__(", "find_spec"):
            if needle in text:
                offenders.append(f"{name}: {needle}")
    assert offenders == []


def _package_of(name: str) -> str:
    """The package a module belongs to: ionq_mcp.server for ionq_mcp.server._app, ionq_mcp for top-level ones."""
    parts = name.split(".")
    if _is_package(name):
        return name
    return ".".join(parts[:-1])


def test_no_private_module_or_name_is_imported_across_packages():
    offenders = []
    for name in MODULES:
        mine = _package_of(name)
        for module, imported, line in _imports(name):
            if not module.startswith("ionq_mcp"):
                continue
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in MODULES else module
            owner = _package_of(target) if target in MODULES else module
            private = [p for p in target.split(".")[1:] if p.startswith("_")]
            private_name = imported is not None and imported.startswith("_") and target == module
            if owner == mine or owner == "ionq_mcp":
                continue  # inside its own package, or the top level's shared helpers (_paths, _net, ...)
            if name == "ionq_mcp.cli" and target.endswith("._cli"):
                continue  # the dispatcher loads a subcommand's module (skills re-exporting it would be a cycle)
            if private or private_name:
                offenders.append(f"{name}:{line} imports {module}{'.' + imported if imported else ''}")
    assert offenders == []


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("ionq_mcp.sandbox", ("ionq_mcp.server", "ionq_mcp.client", "ionq_mcp.catalog", "ionq_mcp.guard")),
    ("ionq_mcp.client", ("ionq_mcp.server", "ionq_mcp.sandbox", "ionq_mcp.catalog", "ionq_mcp.guard")),
    ("ionq_mcp.catalog", ("ionq_mcp.server", "ionq_mcp.sandbox", "ionq_mcp.client", "ionq_mcp.guard")),
    ("ionq_mcp.guard", ("ionq_mcp.server", "ionq_mcp.sandbox", "ionq_mcp.client", "ionq_mcp.catalog")),
])
def test_layers_point_one_way(layer, forbidden):
    offenders = [f"{name} -> {target}" for name in MODULES if name == layer or name.startswith(layer + ".")
                 for target in _edges(name) if target.startswith(forbidden)]
    assert offenders == []


def test_the_openapi_file_is_opened_by_one_module():
    readers = [name for name, path in MODULES.items()
               if "openapi_path()" in path.read_text(encoding="utf-8") and name != "ionq_mcp._paths"]
    assert readers == ["ionq_mcp.openapi"]
