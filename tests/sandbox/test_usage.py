"""Organization usage: aggregation of completed jobs by group and date modality over [start_date, end_date)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ionq_mcp.sandbox._usage import buckets
from ionq_mcp.sandbox._validate import validator
from tests.sandbox._service import KEY_A, KEY_B, circuit_job, run

pytestmark = pytest.mark.anyio

ARIA_BELL_100 = 12.4166 + 0.000220 * 100 + 0.000975 * 100  # published formula, 1 1q + 1 2q gate, 100 shots


def _range(days_before: int = 1, days_after: int = 1) -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {"start_date": (today - dt.timedelta(days=days_before)).isoformat(),
            "end_date": (today + dt.timedelta(days=days_after)).isoformat()}


async def _usage(client, **params) -> dict:
    response = await client.get(f"/organizations/{KEY_A.organization_id}/usage", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    validator("Usages").validate(body)
    return body


async def test_usage_by_project_adds_up_costs(client, other, sandbox):
    await run(client, sandbox, circuit_job(backend="qpu.aria-1", shots=100))
    await run(client, sandbox, circuit_job(backend="qpu.aria-1", shots=100))
    await run(other, sandbox, circuit_job(backend="qpu.aria-1", shots=100))
    await run(client, sandbox, circuit_job(backend="qpu.aria-1", dry_run=True))  # never billed
    body = await _usage(client, group_by="project", modality="daily", **_range())
    assert body["job_count"] == 3
    assert body["amount_total"] == pytest.approx(3 * ARIA_BELL_100)
    assert body["time_us_total"] > 0
    today = [u for u in body["usage_data"] if u["job_count"]]
    assert len(today) == 1
    groups = {g["group_id"]: g for g in today[0]["group_usages"]}
    assert groups[KEY_A.project_id]["job_count"] == 2 and groups[KEY_B.project_id]["job_count"] == 1
    assert groups[KEY_A.project_id]["amount"] == pytest.approx(2 * ARIA_BELL_100)
    # most recent first
    froms = [u["from"] for u in body["usage_data"]]
    assert froms == sorted(froms, reverse=True)


async def test_usage_by_user_and_by_job(client, sandbox):
    job = await run(client, sandbox, circuit_job(backend="qpu.aria-1", name="bell"))
    by_user = await _usage(client, group_by="user", modality="weekly", **_range())
    groups = [g for u in by_user["usage_data"] for g in u["group_usages"]]
    assert [g["group_id"] for g in groups] == [KEY_A.user_id]
    by_job = await _usage(client, group_by="job", modality="monthly", **_range())
    groups = [g for u in by_job["usage_data"] for g in u["group_usages"]]
    assert [(g["group_id"], g["group_name"]) for g in groups] == [(job["id"], "bell")]


async def test_end_date_is_exclusive(client, sandbox):
    await run(client, sandbox, circuit_job(backend="qpu.aria-1"))
    body = await _usage(client, group_by="project", modality="daily", **_range(days_before=3, days_after=0))
    assert body["job_count"] == 0


def test_buckets_cover_the_range_without_overlap():
    start, end = dt.date(2025, 1, 30), dt.date(2025, 4, 2)
    for modality in ("daily", "weekly", "monthly"):
        spans = buckets(start, end, modality)
        assert spans[0][0] == start and spans[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert [s[0].isoformat() for s in buckets(start, end, "monthly")] == [
        "2025-01-30", "2025-02-01", "2025-03-01", "2025-04-01"]
    assert len(buckets(start, end, "daily")) == (end - start).days


def test_buckets_reach_the_last_date_there_is():
    # the bucket after 9999-12 (or 7 days after 9999-12-30) cannot be computed; the last bucket ends at end_date
    for modality in ("daily", "weekly", "monthly"):
        spans = buckets(dt.date(9999, 11, 20), dt.date.max, modality)
        assert spans[0][0] == dt.date(9999, 11, 20) and spans[-1][1] == dt.date.max
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("modality", ["weekly", "monthly"])
async def test_usage_in_year_9999_is_answered(client, modality):
    body = await _usage(client, group_by="job", modality=modality, start_date="9999-12-01",
                        end_date="9999-12-31")
    assert body["job_count"] == 0 and body["usage_data"][-1]["from"] == "9999-12-01"
