"""Where tool calls go: IonQ's cloud, another URL, or the embedded sandbox in-process.

Choice (first match wins):

1. a :class:`~ionq_mcp.sandbox.Sandbox` handed in through ``ServerConfig.sandbox`` -> in-process, not owned;
2. ``--sandbox`` / ``IONQ_MCP_SANDBOX=1``, or neither ``IONQ_API_KEY`` nor ``IONQ_API_URL`` set -> a sandbox
   built here (database under the state dir, or ``:memory:``), reached through ``httpx.ASGITransport`` with
   the sandbox's own key; owned and closed by :meth:`Upstream.aclose`;
3. ``IONQ_API_URL`` without a key -> that URL with the sandbox's default key (a running ``ionq-mcp sandbox``);
4. ``IONQ_API_KEY`` -> ``IONQ_API_URL`` or IonQ's production URL.

The sandbox and the client are built on the first call, not at start-up, so listing tools stays fast (no
numpy import before a tool is used). The key lives only inside the client: :class:`Upstream` exposes
``is_sandbox`` and ``base_url`` and offers :meth:`redact` to scrub text, never the key itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ionq_mcp._net import IONQ_BASE_URL, is_loopback_host

if TYPE_CHECKING:
    from ionq_mcp.client import IonQClient
    from ionq_mcp.server._config import ServerConfig

__all__ = ["IN_PROCESS_BASE_URL", "IONQ_BASE_URL", "SANDBOX_DEFAULT_KEY", "Upstream"]

#: Base URL the client uses for the in-process sandbox (the ASGI transport ignores the host).
IN_PROCESS_BASE_URL = "https://sandbox.ionq-mcp.invalid/v0.4"
#: The key a plain ``ionq-mcp sandbox`` accepts (``ionq_mcp.sandbox.DEFAULT_SANDBOX_KEY``; a test keeps the two
#: equal). Spelled out here because importing the sandbox package pulls in numpy, and a remote sandbox needs
#: only the string.
SANDBOX_DEFAULT_KEY = "sandbox-local-key"


def _is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


class Upstream:
    """The API the server talks to, and the client for it (built lazily, see the module docstring)."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._client: IonQClient | None = None
        self._sandbox: Any = config.sandbox
        self._owns_sandbox = False
        self._secrets: tuple[str, ...] = tuple(s for s in (config.api_key, config.http_token) if s)
        if config.sandbox is not None or config.force_sandbox or not (config.api_key or config.base_url):
            self.mode = "in-process sandbox"
            self.is_sandbox = True
            self.base_url = IN_PROCESS_BASE_URL
        elif not config.api_key:
            self.mode = "remote sandbox"
            self.is_sandbox = True
            self.base_url = str(config.base_url)
        else:
            self.mode = "ionq"
            self.is_sandbox = False
            self.base_url = config.base_url or IONQ_BASE_URL

    def __repr__(self) -> str:
        return f"Upstream(mode={self.mode!r}, base_url={self.base_url!r})"

    @property
    def sandbox(self) -> Any:
        """The in-process :class:`~ionq_mcp.sandbox.Sandbox` once built (None for a remote upstream)."""
        return self._sandbox

    def describe(self) -> dict[str, Any]:
        """Where calls go, for ``whoami`` and the instructions (never the key)."""
        info: dict[str, Any] = {"sandbox": self.is_sandbox, "mode": self.mode}
        if self.mode != "in-process sandbox":
            info["base_url"] = self.base_url
        if self.is_sandbox:
            info["note"] = (
                "Results are simulated by the ionq-mcp sandbox: no real hardware runs and nothing is billed. "
                "Set IONQ_API_KEY to use IonQ's cloud."
            )
        return info

    def redact(self, text: str) -> str:
        """``text`` with every secret this process holds (API key, HTTP token) replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    async def client(self) -> IonQClient:
        """The API client, built on first use (and the in-process sandbox with it)."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> IonQClient:
        from ionq_mcp.client import IonQClient

        options = dict(self._config.client_options)
        if self.mode == "in-process sandbox":
            import httpx

            sandbox = self._ensure_sandbox()
            self._secrets = (*self._secrets, sandbox.api_key)
            transport = httpx.ASGITransport(app=sandbox.app)
            return IonQClient(api_key=sandbox.api_key, base_url=IN_PROCESS_BASE_URL, transport=transport, **options)
        if _is_loopback(self.base_url):
            options.setdefault("allow_insecure_http", True)
        key = self._config.api_key or SANDBOX_DEFAULT_KEY
        return IonQClient(api_key=key, base_url=self.base_url, **options)

    def _ensure_sandbox(self) -> Any:
        if self._sandbox is None:
            from ionq_mcp.sandbox import Sandbox, SandboxConfig

            db = self._config.sandbox_db or str(self._config.resolved_state_dir() / "sandbox.sqlite3")
            detached = self._config.sandbox_detached and db != ":memory:"
            self._sandbox = Sandbox(SandboxConfig(db_path=db, detached=detached))
            self._owns_sandbox = True
        return self._sandbox

    async def aclose(self) -> None:
        """Close the client, and the sandbox if it was built here."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._owns_sandbox and self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            self._owns_sandbox = False
            sandbox.close()
