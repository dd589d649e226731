"""Where the data files and the user's state live.

The capability specs and schemas are data kept at the top of the repository. A wheel carries a copy under
``ionq_mcp/_data``; an editable install or a plain checkout reads them from the repository root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_root() -> Path:
    bundled = _PACKAGE_DIR / "_data"
    if (bundled / "capabilities").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def capabilities_dir() -> Path:
    """Directory holding the Naftiko capability specs (``*.yaml``), the source of the tool list."""
    return _data_root() / "capabilities"


def schemas_dir() -> Path:
    """Directory holding IonQ's OpenAPI v0.4 description and the JSON Schema domain models."""
    return _data_root() / "schemas"


def openapi_path() -> Path:
    return schemas_dir() / "ionq-quantum-cloud-openapi.yml"


def state_dir() -> Path:
    """The user's state directory for ionq-mcp (sandbox database, spend ledger, audit log).

    ``$IONQ_MCP_STATE_DIR`` wins; then ``$XDG_STATE_HOME/ionq-mcp``; then the platform's convention
    (``~/Library/Application Support/ionq-mcp`` on macOS, ``%LOCALAPPDATA%\\ionq-mcp`` on Windows,
    ``~/.local/state/ionq-mcp`` elsewhere). The directory is created on first use.
    """
    explicit = os.environ.get("IONQ_MCP_STATE_DIR")
    if explicit:
        path = Path(explicit)
    elif os.environ.get("XDG_STATE_HOME"):
        path = Path(os.environ["XDG_STATE_HOME"]) / "ionq-mcp"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "ionq-mcp"
    elif sys.platform == "win32":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "ionq-mcp"
    else:
        path = Path.home() / ".local" / "state" / "ionq-mcp"
    path.mkdir(parents=True, exist_ok=True)
    return path
