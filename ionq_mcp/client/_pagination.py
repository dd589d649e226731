"""Async iterators over paged listings, each with a caller-set ``max_items`` cap.

* jobs and session jobs page with an opaque ``next`` token (None/absent on the last page);
* characterizations page with a 1-based ``page`` number and a ``pages`` count whose meaning the spec leaves
  open ("remaining pages" or "total pages"), so iteration does not trust it beyond ``pages == 0``: it stops at
  the first empty page, the first short page (fewer than ``page_size`` items), or ``pages == 0``.

Both stop if the server repeats itself (the same ``next`` token, or a page identical to the previous one),
so a misbehaving server cannot make them loop forever. ``max_items=None`` means no cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from ionq_mcp.client._errors import ConfigurationError
from ionq_mcp.client._models import Characterization, CharacterizationsPage, Job, JobsPage

__all__ = ["iter_numbered_pages", "iter_token_pages"]


def _check_cap(max_items: int | None) -> None:
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0):
        raise ConfigurationError(f"max_items: must be a non-negative integer or None, got {max_items!r}")


async def iter_token_pages(
    fetch: Callable[[str | None], Awaitable[JobsPage]], *, max_items: int | None
) -> AsyncIterator[Job]:
    """Yield jobs from ``fetch(next_token)`` pages until the last page or ``max_items`` jobs."""
    _check_cap(max_items)
    if max_items == 0:
        return
    count = 0
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = await fetch(token)
        for job in page.jobs:
            yield job
            count += 1
            if max_items is not None and count >= max_items:
                return
        if not page.next or not page.jobs or page.next in seen:
            return
        seen.add(page.next)
        token = page.next


async def iter_numbered_pages(
    fetch: Callable[[int], Awaitable[CharacterizationsPage]], *, page_size: int | None, max_items: int | None
) -> AsyncIterator[Characterization]:
    """Yield characterizations from ``fetch(page)`` for page = 1, 2, ... (see the module docstring)."""
    _check_cap(max_items)
    if max_items == 0:
        return
    count = 0
    number = 1
    previous: list[str | None] | None = None
    while True:
        page = await fetch(number)
        items = page.characterizations
        ids = [c.id for c in items]
        if not items or ids == previous:
            return
        for item in items:
            yield item
            count += 1
            if max_items is not None and count >= max_items:
                return
        if (page_size is not None and len(items) < page_size) or page.pages == 0:
            return
        previous = ids
        number += 1
