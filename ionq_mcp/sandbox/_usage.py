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

    The store aggregates by day and group in SQL (no job document is read); buckets add up their days here, and
    only the top groups' job names are looked up.
    """
    totals = store.usage_totals(organization_id, start.isoformat(), end.isoformat(), group_by)
    days = [t[0] for t in totals]  # ascending, so each bucket is a slice
    data = []
    chosen: list[list[dict[str, Any]]] = []
    for lo, hi in buckets(start, end, modality):
        inside = totals[bisect.bisect_left(days, lo.isoformat()):bisect.bisect_left(days, hi.isoformat())]
        groups: dict[str, list[float]] = {}
        for _, gid, amount, count, time_us in inside:
            g = groups.setdefault(gid, [0.0, 0, 0.0])
            g[0] += amount
            g[1] += count
            g[2] += time_us
        top = sorted(groups.items(), key=lambda kv: (-round(kv[1][0], 6), -kv[1][1], kv[0]))[:TOP_GROUPS]
        usages = [{"group_id": gid, "group_name": gid, "amount": round(g[0], 6), "job_count": int(g[1]),
                   "time_us": g[2]} for gid, g in top]
        chosen.append(usages)
        data.append({"from": lo.isoformat(), "job_count": int(sum(t[3] for t in inside)),
                     "amount": round(sum(t[2] for t in inside), 6),
                     "time_us": float(sum(t[4] for t in inside)), "group_usages": usages})
    job_names = store.job_names(g["group_id"] for u in chosen for g in u) if group_by == "job" else {}
    for usages in chosen:
        for g in usages:
            gid = g["group_id"]
            g["group_name"] = (job_names.get(gid) or gid) if group_by == "job" else names.get(gid, gid)
    data.reverse()
    return {
        "organization": organization_id, "group_type": group_by, "modality": modality,
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "usage_from": f"{start.isoformat()}T00:00:00Z", "usage_to": f"{end.isoformat()}T00:00:00Z",
        "usage_unit": "USD", "amount_total": round(sum(t[2] for t in totals), 6),
        "job_count": int(sum(t[3] for t in totals)), "time_us_total": float(sum(t[4] for t in totals)),
        "usage_data": data,
    }
