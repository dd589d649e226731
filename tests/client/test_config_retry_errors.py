"""Client pieces that need no server: configuration, retry policy arithmetic, Retry-After parsing, errors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from ionq_mcp.client import (
    DEFAULT_BASE_URL,
    RETRYABLE_STATUSES,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    IonQClient,
    IonQError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Timeouts,
    parse_retry_after,
)
from ionq_mcp.client._errors import status_error_class
from ionq_mcp._net import is_loopback_host
from ionq_mcp.client._http import path_segment
from ionq_mcp.client._retry import RetryState

KEY = "sk-UNIT-0987654321"


# --- configuration ----------------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("IONQ_API_KEY", raising=False)
    monkeypatch.delenv("IONQ_API_URL", raising=False)
    return monkeypatch


@pytest.mark.anyio
async def test_defaults_and_environment(clean_env: pytest.MonkeyPatch) -> None:
    async with IonQClient() as client:
        assert client.base_url == DEFAULT_BASE_URL == "https://api.ionq.co/v0.4"
        assert not client.has_api_key
    clean_env.setenv("IONQ_API_KEY", KEY)
    clean_env.setenv("IONQ_API_URL", "https://example.test/v0.4/")
    async with IonQClient() as client:
        assert client.has_api_key
        assert client.base_url == "https://example.test/v0.4"
    async with IonQClient(api_key="other", base_url="https://arg.test/v0.4") as client:
        assert client.base_url == "https://arg.test/v0.4"


@pytest.mark.anyio
async def test_plain_http_to_remote_host_with_key_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="base_url.*plain http.*allow_insecure_http"):
        IonQClient(api_key=KEY, base_url="http://api.example.com/v0.4")
    # Explicitly allowed, loopback, or no key: accepted.
    for client in (
        IonQClient(api_key=KEY, base_url="http://api.example.com/v0.4", allow_insecure_http=True),
        IonQClient(api_key=KEY, base_url="http://127.0.0.1:8080/v0.4"),
        IonQClient(api_key=KEY, base_url="http://[::1]:8080/v0.4"),
        IonQClient(api_key=KEY, base_url="http://localhost/v0.4"),
        IonQClient(base_url="http://api.example.com/v0.4"),
    ):
        await client.aclose()


def test_bad_base_url_and_timeout_name_the_field(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        IonQClient(base_url="ftp://x/v0.4")
    with pytest.raises(ConfigurationError, match="timeout"):
        IonQClient(timeout=-1)


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.9.8.7") and is_loopback_host("::1")
    assert is_loopback_host("localhost") and is_loopback_host("sandbox.localhost")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("localhost.example.com")
    assert not is_loopback_host("api.ionq.co")


def test_timeouts_coercion() -> None:
    assert Timeouts.coerce(None) == Timeouts()
    assert Timeouts.coerce(2.5) == Timeouts(connect=2.5, read=2.5, write=2.5, pool=2.5)
    t = Timeouts(connect=1, read=2, write=3, pool=4).to_httpx()
    assert (t.connect, t.read, t.write, t.pool) == (1, 2, 3, 4)


def test_path_segments_cannot_change_the_path() -> None:
    assert path_segment("job_id", "abc-123") == "abc-123"
    assert path_segment("backend", "qpu.aria-1") == "qpu.aria-1"
    assert path_segment("job_id", "a b") == "a%20b"
    for bad in ("", "  ", "..", ".", "../backends", "a/b", "a?x=1", "a#b", None, 5):
        with pytest.raises(ConfigurationError, match="job_id"):
            path_segment("job_id", bad)


# --- retry policy ----------------------------------------------------------------------------------------


def test_retryable_statuses_are_the_documented_set() -> None:
    assert RETRYABLE_STATUSES == {429, 500, 502, 503, 504, *range(520, 530)}
    assert 501 not in RETRYABLE_STATUSES and 400 not in RETRYABLE_STATUSES


def test_full_jitter_backoff_stays_within_the_exponential_cap() -> None:
    policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=4.0, rng=random.Random(7))
    for n in range(1, 10):
        cap = min(4.0, 0.5 * 2 ** (n - 1))
        draws = [policy.backoff(n) for _ in range(200)]
        assert all(0.0 <= d < cap for d in draws)
        assert max(draws) > cap * 0.8  # jitter covers the whole interval, not a fixed point
        assert min(draws) < cap * 0.2


def test_retry_after_replaces_the_backoff() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    assert policy.delay(3, 1.75) == 1.75
    assert policy.delay(1, None) < policy.initial_backoff_s


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_retry_state_gives_up_on_attempts_budget_and_long_retry_after() -> None:
    clock = FakeClock()
    state = RetryState(RetryPolicy(max_attempts=3, total_budget_s=10.0, rng=random.Random(0)), clock)
    state.attempts = 1
    assert state.next_delay() is not None
    state.attempts = 3
    assert state.next_delay() is None  # attempt budget spent

    state = RetryState(RetryPolicy(max_attempts=50, total_budget_s=10.0, max_retry_after_s=60.0), clock)
    state.attempts = 1
    assert state.next_delay(retry_after=9.0) == 9.0
    assert state.next_delay(retry_after=11.0) is None  # would end past the time budget
    clock.now += 9.5
    delay = state.next_delay()  # a jittered backoff is clipped to what is left
    assert delay is not None and delay <= 0.5 + 1e-9
    clock.now += 1.0
    assert state.next_delay() is None  # budget exhausted

    state = RetryState(RetryPolicy(total_budget_s=1000.0, max_retry_after_s=5.0), clock)
    state.attempts = 1
    assert state.next_delay(retry_after=6.0) is None  # the server asks for more than we accept to wait


def test_disabled_policy_sends_once() -> None:
    state = RetryState(RetryPolicy.disabled())
    state.attempts = 1
    assert state.next_delay() is None


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="total_budget_s"):
        RetryPolicy(total_budget_s=-1)


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.25 ") == 0.25
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)  # "Fri, 02 Jan 2026 03:04:47 GMT"
    assert parse_retry_after(later, now=now) == pytest.approx(42.0)
    earlier = format_datetime(now - timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


# --- errors ---------------------------------------------------------------------------------------------


def test_status_codes_map_to_the_hierarchy() -> None:
    expected = {
        400: InvalidRequestError,
        401: AuthenticationError,
        402: PaymentRequiredError,
        403: PermissionDeniedError,
        404: NotFoundError,
        422: InvalidRequestError,
        429: RateLimitError,
        500: ServerError,
        503: ServerError,
        527: ServerError,
        409: APIStatusError,
    }
    for status, cls in expected.items():
        assert status_error_class(status) is cls
        assert issubclass(cls, APIStatusError) and issubclass(cls, IonQError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(ConfigurationError, ValueError)


def test_status_error_text_carries_status_error_message_keys_request_id_and_attempts() -> None:
    exc = InvalidRequestError(
        status_code=400, error="Bad Request", message='"shots" must be <= 1000000', method="POST", path="/jobs",
        request_id="req-1", validation_keys=["shots"], validation_source="body", attempts=1,
    )
    text = str(exc)
    for part in ("HTTP 400", "Bad Request", '"shots" must be', "shots", "body", "POST /jobs", "req-1"):
        assert part in text
    assert "attempts" not in text  # a single attempt is not a retry story
    exhausted = ServerError(status_code=503, error="Service Unavailable", message="down", method="GET",
                            path="/jobs", attempts=6)
    assert "after 6 attempts" in str(exhausted) and exhausted.attempts == 6
    limited = RateLimitError(retry_after=2.0, status_code=429, error="Too Many Requests", message=None,
                             method="GET", path="/jobs", attempts=4)
    assert limited.retry_after == 2.0 and "after 4 attempts" in str(limited)
