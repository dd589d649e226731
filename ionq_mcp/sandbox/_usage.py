"""Organization usage: completed jobs' cost and QPU time, bucketed by day/week/month and grouped.

Buckets start at ``start_date`` (inclusive) and stop at ``end_date`` (exclusive): daily buckets are single days,
weekly buckets are 7-day spans from ``start_date``, monthly buckets end at the first of each calendar month.
A job counts on the day it was submitted. ``usage_data`` is most recent first, as the spec says; each bucket's
``group_usages`` lists the top 5 groups by amount. Simulator jobs count with amount 0.
"""

from __future__ import annotations

import bisect
import heapq
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ionq_mcp.sandbox._store import Store

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


def usage(store: Store, organization_id: str, start: dt.date, end: dt.date, group_by: str, modality: str,
          names: Mapping[str, str]) -> dict[str, Any]:
    """The ``Usages`` body. ``names`` maps project and user ids to display names.

    The store aggregates by day (and group) in SQL from maintained aggregates (no job document is read); buckets
    add up their days here, and only the top groups' job names are looked up.
    """
    first, last = start.isoformat(), end.isoformat()
    days = store.usage_days(organization_id, first, last)
    groups_by_day = store.usage_totals(organization_id, first, last, group_by, top=TOP_GROUPS)
    day_keys = [d[0] for d in days]
    group_keys = [g[0] for g in groups_by_day]
    data = []
    chosen: list[list[dict[str, Any]]] = []
    for lo, hi in buckets(start, end, modality):
        a, b = lo.isoformat(), hi.isoformat()
        inside = days[bisect.bisect_left(day_keys, a):bisect.bisect_left(day_keys, b)]
        groups: dict[str, list[float]] = {}
        for _, gid, amount, count, time_us in groups_by_day[bisect.bisect_left(group_keys, a):
                                                            bisect.bisect_left(group_keys, b)]:
            g = groups.setdefault(gid, [0.0, 0, 0.0])
            g[0] += amount
            g[1] += count
            g[2] += time_us
        top = heapq.nsmallest(TOP_GROUPS, groups.items(), key=lambda kv: (-round(kv[1][0], 6), -kv[1][1], kv[0]))
        usages = [{"group_id": gid, "group_name": gid, "amount": round(g[0], 6), "job_count": int(g[1]),
                   "time_us": g[2]} for gid, g in top]
        chosen.append(usages)
        data.append({"from": a, "job_count": int(sum(d[2] for d in inside)),
                     "amount": round(sum(d[1] for d in inside), 6),
                     "time_us": float(sum(d[3] for d in inside)), "group_usages": usages})
    job_names = store.job_names(g["group_id"] for u in chosen for g in u) if group_by == "job" else {}
    for usages in chosen:
        for g in usages:
            gid = g["group_id"]
            g["group_name"] = (job_names.get(gid) or gid) if group_by == "job" else names.get(gid, gid)
    data.reverse()
    return {
        "organization": organization_id, "group_type": group_by, "modality": modality,
        "start_date": first, "end_date": last,
        "usage_from": f"{first}T00:00:00Z", "usage_to": f"{last}T00:00:00Z",
        "usage_unit": "USD", "amount_total": round(sum(d[1] for d in days), 6),
        "job_count": int(sum(d[2] for d in days)), "time_us_total": float(sum(d[3] for d in days)),
        "usage_data": data,
    }
