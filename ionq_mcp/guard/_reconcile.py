"""Reconciliation: settle reservations whose submission never reported back.

A reservation stays ``reserved`` when its process died between reserve and commit (SIGKILL, OOM, a lost host)
or its submission failed ambiguously. Its money stays counted (fail closed) until someone finds out whether the
job exists. :func:`reconcile_reservations` does that for each reservation through a *job look-up*: a callable
that, given the job's idempotency key and the time the reservation was made, returns the job id, or None when
the job provably does not exist, and raises when it cannot tell. Found -> ``committed`` with the job id; absent
-> ``released``; can't tell -> left as it is, to be tried again.

The guard never talks to IonQ, so the look-up comes from the caller (the server builds one from its client:
:func:`ionq_mcp.server._ops.client_job_lookup`). Which reservations to settle is the caller's choice too; by
default those nobody else will settle (:meth:`~ionq_mcp.guard.Guard.abandoned_reservations`: the owner's lease
is over). Several replicas may reconcile at once: committing the same job twice is harmless and a
release only applies to a row still ``reserved``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import anyio
import anyio.to_thread

from ionq_mcp.guard._guard import Guard, Reservation
from ionq_mcp.guard._ledger import LedgerEntry, LedgerUnavailable

__all__ = ["JobLookup", "Settlement", "reconcile_reservations", "run_reconciler"]

_log = logging.getLogger("ionq_mcp.reconcile")

#: ``(idempotency_key, reserved_at) -> job id``, or None when the job provably does not exist; raises when the
#: look-up cannot tell (the reservation is then left alone). ``reserved_at`` is unix seconds.
JobLookup = Callable[[str, float], Awaitable[str | None]]


@dataclass(frozen=True)
class Settlement:
    """What reconciliation did with one reservation.

    ``outcome``: ``committed`` (the job exists: ``job_id``), ``released`` (it does not: the money is back),
    ``settled_elsewhere`` (another process settled it first) or ``unresolved`` (``detail`` says why).
    """

    reservation_id: int
    outcome: Literal["committed", "released", "settled_elsewhere", "unresolved"]
    estimate_usd: float
    job_id: str | None = None
    detail: str = ""


async def reconcile_reservations(guard: Guard, lookup: JobLookup,
                                 entries: Sequence[LedgerEntry] | None = None) -> list[Settlement]:
    """Settle ``entries`` (default: :meth:`Guard.abandoned_reservations`) through ``lookup``; one audit record
    per reservation settled. Raises :class:`~ionq_mcp.guard.LedgerUnavailable` when the ledger cannot be read."""
    if entries is None:
        entries = await anyio.to_thread.run_sync(guard.abandoned_reservations)
    settled = []
    for entry in entries:
        settled.append(await _settle_one(guard, lookup, entry))
    return settled


async def _settle_one(guard: Guard, lookup: JobLookup, entry: LedgerEntry) -> Settlement:
    reservation = Reservation(entry.id, entry.tool, entry.backend, entry.estimated_usd)
    if not entry.idempotency_key:
        return Settlement(entry.id, "unresolved", entry.estimated_usd, detail=(
            "the reservation has no idempotency key, so its job cannot be looked up; it stays counted until it "
            "leaves the 24-hour window"))
    try:
        job_id = await lookup(entry.idempotency_key, entry.created_at)
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot tell": leave the money reserved
        return Settlement(entry.id, "unresolved", entry.estimated_usd, detail=f"look-up failed: {exc}")
    if job_id is not None:
        if not await anyio.to_thread.run_sync(guard.commit, reservation, job_id):
            return Settlement(entry.id, "unresolved", entry.estimated_usd, job_id, "the ledger is unreachable")
        outcome: Literal["committed", "released", "settled_elsewhere"] = "committed"
        detail = f"job {job_id} carries the reservation's idempotency key"
    elif await anyio.to_thread.run_sync(guard.release, reservation):
        outcome, detail = "released", "no job carries the reservation's idempotency key"
    else:
        return Settlement(entry.id, "settled_elsewhere", entry.estimated_usd,
                          detail="another process settled the reservation first (or the ledger is unreachable)")
    guard.audit("reconcile_reservation", {"reservation_id": entry.id, "owner": entry.owner,
                                          "idempotency_key": entry.idempotency_key, "backend": entry.backend},
                outcome, estimated_usd=entry.estimated_usd, job_id=job_id, detail=detail)
    return Settlement(entry.id, outcome, entry.estimated_usd, job_id, detail)


async def run_reconciler(guard: Guard, lookup: Callable[[], Awaitable[JobLookup]], interval_s: float) -> None:
    """Reconcile abandoned reservations every ``interval_s`` seconds until cancelled. ``lookup`` builds the job
    look-up on first need (so an idle server builds no client). Failures are logged, never raised."""
    while True:
        await anyio.sleep(interval_s)
        try:
            entries = await anyio.to_thread.run_sync(guard.abandoned_reservations)
            if entries:
                for settlement in await reconcile_reservations(guard, await lookup(), entries):
                    _log.info("reservation %s: %s %s", settlement.reservation_id, settlement.outcome,
                              settlement.detail)
        except LedgerUnavailable as down:
            _log.warning("reconciliation skipped: %s", down)
        except Exception:  # noqa: BLE001 - a background task must keep running
            _log.exception("reconciliation failed")
