"""Organization usage: completed jobs' cost and QPU time, bucketed by day/week/month and grouped.

Buckets start at ``start_date`` (inclusive) and stop at ``end_date`` (exclusive): daily buckets are single days,
weekly buckets are 7-day spans from ``start_date``, monthly buckets end at the first of each calendar month.
A job counts on the day it was submitted. ``usage_data`` is most recent first, as the spec says; each bucket's
``group_usages`` lists the top 5 groups by amount. Simulator jobs count with amount 0.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ionq_mcp.sandbox._store import JobRow, Store

TOP_GROUPS = 5


def buckets(start: dt.date, end: dt.date, modality: str) -> list[tuple[dt.date, dt.date]]:
    out = []
    cursor = start
    while cursor < end:
        try:
            if modality == "daily":
                nxt = cursor + dt.timedelta(days=1)
            elif modality == "weekly":
                nxt = cursor + dt.timedelta(days=7)
            else:
                nxt = (cursor.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        except OverflowError:  # the bucket after 9999-12 would start past the last date there is
            nxt = end
        out.append((cursor, min(nxt, end)))
        cursor = nxt
    return out


def _group(job: JobRow, group_by: str, names: Mapping[str, str]) -> tuple[str, str]:
    if group_by == "job":
        return job.id, job.doc.get("name") or job.id
    if group_by == "project":
        return job.project_id, names.get(job.project_id, job.project_id)
    return job.submitter_id, names.get(job.submitter_id, job.submitter_id)


def usage(store: Store, organization_id: str, start: dt.date, end: dt.date, group_by: str, modality: str,
          names: Mapping[str, str]) -> dict[str, Any]:
    """The ``Usages`` body. ``names`` maps project and user ids to display names."""
    jobs = store.billed_jobs(organization_id, start.isoformat(), end.isoformat())
    # by day once, so each bucket is a slice (ten years of daily buckets would otherwise scan every job 3,660 times)
    by_day = sorted(jobs, key=lambda j: j.doc["submitted_at"][:10])
    days = [j.doc["submitted_at"][:10] for j in by_day]
    data = []
    for lo, hi in buckets(start, end, modality):
        inside = by_day[bisect.bisect_left(days, lo.isoformat()):bisect.bisect_left(days, hi.isoformat())]
        groups: dict[str, dict[str, Any]] = {}
        for job in inside:
            gid, gname = _group(job, group_by, names)
            g = groups.setdefault(gid, {"group_id": gid, "group_name": gname, "amount": 0.0, "job_count": 0,
                                        "time_us": 0.0})
            g["amount"] = round(g["amount"] + job.cost, 6)
            g["job_count"] += 1
            g["time_us"] += job.time_us
        top = sorted(groups.values(), key=lambda g: (-g["amount"], -g["job_count"], g["group_id"]))[:TOP_GROUPS]
        data.append({"from": lo.isoformat(), "job_count": len(inside),
                     "amount": round(sum(j.cost for j in inside), 6),
                     "time_us": float(sum(j.time_us for j in inside)), "group_usages": top})
    data.reverse()
    return {
        "organization": organization_id, "group_type": group_by, "modality": modality,
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "usage_from": f"{start.isoformat()}T00:00:00Z", "usage_to": f"{end.isoformat()}T00:00:00Z",
        "usage_unit": "USD", "amount_total": round(sum(j.cost for j in jobs), 6), "job_count": len(jobs),
        "time_us_total": float(sum(j.time_us for j in jobs)), "usage_data": data,
    }
