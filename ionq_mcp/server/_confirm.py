"""Ask the user to confirm an action through MCP elicitation, in both protocol eras.

* **2026-07-28** (stateless): the first call returns an ``InputRequiredResult`` carrying one form elicitation
  and a ``request_state``; the client asks the user and retries the same ``tools/call`` with
  ``params.input_responses`` and the echoed state. The state is ``payload.HMAC`` with a per-process secret and
  binds the tool name, a digest of the arguments and the estimate the question quoted, plus an expiry and a
  nonce that makes each consent single-use. A forged, stale, replayed or mismatched state (different
  arguments, a changed estimate, another server process) is never taken as consent: the user is simply asked
  again.
* **2025-11-25** (handshake): ``ctx.session.elicit_form(...)`` in the middle of the call; no answer within
  :data:`CONFIRM_TIMEOUT_S` counts as ``cancel``.

Either way the outcome is ``accept | decline | cancel | unsupported`` (the client declared no elicitation
capability). Only ``accept`` lets the caller go ahead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

if TYPE_CHECKING:
    from ionq_mcp.server._call import ToolCall

__all__ = ["CONFIRM_TIMEOUT_S", "Confirmation", "confirm", "refusal_text"]

#: How long a 2025-11-25 elicitation waits for the user before it counts as "no answer" (cancel).
CONFIRM_TIMEOUT_S = 300.0
#: How long a 2026-07-28 request_state stays valid.
STATE_TTL_S = 900.0
#: Key of our elicitation inside ``InputRequiredResult.input_requests``.
REQUEST_KEY = "ionq_mcp_confirm"

_SECRET = secrets.token_bytes(32)  # per process: a state minted by another process is not accepted
_spent_nonces: dict[str, float] = {}  # nonce -> expiry; a consent is used once
_nonce_lock = threading.Lock()

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirm": {"type": "boolean", "title": "Go ahead", "description": "Check to confirm", "default": True},
    },
    "required": ["confirm"],
}

Outcome = Literal["accept", "decline", "cancel", "unsupported", "pending"]


@dataclass(frozen=True)
class Confirmation:
    """The user's answer. ``pending`` (2026-07-28 only) carries the ``InputRequiredResult`` the handler must
    return as is; the client retries the call with the answer."""

    outcome: Outcome
    pending: types.InputRequiredResult | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == "accept"


def arguments_digest(tool: str, arguments: Mapping[str, Any], estimate_usd: float | None) -> str:
    """SHA-256 over the canonical JSON of (tool, arguments, estimate rounded to 1e-6 USD)."""
    estimate = None if estimate_usd is None else round(float(estimate_usd), 6)
    blob = json.dumps([tool, arguments, estimate], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_state(digest: str, *, now: float | None = None) -> str:
    payload = _b64(json.dumps({"d": digest, "exp": (now or time.time()) + STATE_TTL_S,
                               "n": secrets.token_hex(8)}).encode())
    tag = _b64(hmac.new(_SECRET, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{tag}"


def _open_state(state: str | None, digest: str, *, now: float | None = None) -> dict[str, Any] | None:
    if not state or state.count(".") != 1:
        return None
    payload, tag = state.split(".")
    expected = _b64(hmac.new(_SECRET, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(tag, expected):
        return None
    try:
        data = json.loads(_unb64(payload))
    except ValueError:
        return None
    ok = (isinstance(data, dict) and hmac.compare_digest(str(data.get("d", "")), digest)
          and isinstance(data.get("exp"), (int, float)) and data["exp"] >= (now or time.time()))
    return data if ok else None


def _spend_nonce(data: Mapping[str, Any]) -> bool:
    """Mark the state's nonce used; False when it already was (a replayed consent)."""
    now = time.time()
    nonce = str(data.get("n", ""))
    with _nonce_lock:
        for old in [n for n, exp in _spent_nonces.items() if exp < now]:
            del _spent_nonces[old]
        if not nonce or nonce in _spent_nonces:
            return False
        _spent_nonces[nonce] = float(data["exp"])
        return True


def _client_can_elicit(call: ToolCall) -> bool:
    session = getattr(call.request, "session", None)
    if session is None:
        return False
    caps = getattr(session, "client_capabilities", None)
    return caps is not None and getattr(caps, "elicitation", None) is not None


def _outcome_of(result: Any) -> Outcome:
    action = getattr(result, "action", None)
    if action == "accept":
        content = getattr(result, "content", None) or {}
        return "decline" if content.get("confirm") is False else "accept"
    if action == "decline":
        return "decline"
    return "cancel"


async def confirm(call: ToolCall, question: str, *, estimate_usd: float | None = None) -> Confirmation:
    """Ask the user ``question`` (a yes/no form). See the module docstring for the two eras."""
    if not _client_can_elicit(call):
        return Confirmation("unsupported")
    if call.request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        digest = arguments_digest(call.op.name, call.arguments, estimate_usd)
        responses = call.params.input_responses or {}
        answer = responses.get(REQUEST_KEY)
        data = _open_state(call.params.request_state, digest) if answer is not None else None
        if data is not None and _spend_nonce(data):
            return Confirmation(_outcome_of(answer))
        request = types.ElicitRequest(params=types.ElicitRequestFormParams(message=question,
                                                                           requested_schema=_SCHEMA))
        return Confirmation("pending", types.InputRequiredResult(input_requests={REQUEST_KEY: request},
                                                                 request_state=seal_state(digest)))
    try:
        with anyio.fail_after(CONFIRM_TIMEOUT_S):
            result = await call.request.session.elicit_form(question, _SCHEMA,
                                                            related_request_id=call.request.request_id)
    except TimeoutError:
        return Confirmation("cancel")
    except Exception:  # noqa: BLE001 - a client that fails to answer has not consented
        return Confirmation("cancel")
    return Confirmation(_outcome_of(result))


def refusal_text(outcome: Outcome, action: str, how_to_proceed: str) -> str:
    """Agent-facing text for a confirmation that did not end in ``accept``. ``action`` names what was not
    done (e.g. "the job was not submitted"); ``how_to_proceed`` is used for ``unsupported``."""
    if outcome == "decline":
        return f"The user declined; {action}."
    if outcome == "cancel":
        return f"The user did not answer the confirmation request; {action}."
    return (f"This action needs the user's confirmation, but this MCP client cannot ask the user (it does not "
            f"support elicitation); {action}. To proceed: {how_to_proceed}")
