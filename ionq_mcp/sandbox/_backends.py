"""The sandbox's backends and their characterizations.

Characterizations are consistent with the noise models the simulation uses for each QPU: the median 1q/2q/SPAM
fidelities are ``1 - p1q``, ``1 - p2q`` and ``1 - readout`` of :func:`ionq_mcp.sandbox._noise.noise_for_backend`.
Timings are in **seconds**, as floats (the spec says seconds but types them as integers, which cannot hold a gate
time; IonQ's service and SDKs use float seconds; see docs/spec-deviations.md). Connectivity is all-to-all, as on
every trapped-ion QPU.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from typing import Any

from ionq_mcp import circuits

#: Namespace for the deterministic characterization ids (uuid5 of backend and date).
_NAMESPACE = uuid.UUID("6f1c1f0e-6d61-4a8e-9a57-8d1bb3c1a5e4")
#: How many daily characterizations each QPU has (the newest is today's, the current one).
HISTORY_DAYS = 30


@dataclass(frozen=True)
class Timing:
    """Gate and operation durations in seconds."""

    one_q: float
    two_q: float
    readout: float
    reset: float
    t1: float
    t2: float


#: Per-family timings in seconds (Aria: slower gates; Forte: faster single-qubit gates).
TIMINGS: dict[str, Timing] = {
    "aria": Timing(one_q=135e-6, two_q=600e-6, readout=300e-6, reset=20e-6, t1=100.0, t2=1.0),
    "forte": Timing(one_q=63e-6, two_q=650e-6, readout=150e-6, reset=20e-6, t1=100.0, t2=1.0),
}

_LOCATIONS = {"simulator": "cloud", "qpu.aria-1": "College Park, MD, USA", "qpu.aria-2": "College Park, MD, USA",
              "qpu.forte-1": "Seattle, WA, USA", "qpu.forte-enterprise-1": "Seattle, WA, USA"}
_KW = {"qpu.aria-1": 4.2, "qpu.aria-2": 4.2, "qpu.forte-1": 6.1, "qpu.forte-enterprise-1": 6.4}


def timing_for(backend: str) -> Timing:
    """Timings of a backend; the simulator uses Aria's (for predicted compute time only)."""
    return TIMINGS["forte" if "forte" in backend else "aria"]


def is_known(backend: str) -> bool:
    return backend in circuits.BACKEND_QUBITS


def _today() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def characterization_id(backend: str, day: dt.datetime) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{backend}/{day.date().isoformat()}"))


def backend_doc(backend: str, *, average_queue_time_ms: float) -> dict[str, Any]:
    """The ``Backend`` document. ``average_queue_time`` is in milliseconds (the emulated queue)."""
    doc: dict[str, Any] = {
        "backend": backend,
        "status": "available",
        "qubits": circuits.BACKEND_QUBITS[backend],
        "average_queue_time": average_queue_time_ms,
        "last_updated": _iso(_today()),
        "degraded": False,
        "location": _LOCATIONS[backend],
    }
    if circuits.is_qpu(backend):
        doc["characterization_id"] = characterization_id(backend, _today())
        doc["kw"] = _KW[backend]
    return doc


def characterization_doc(backend: str, day: dt.datetime) -> dict[str, Any]:
    """The ``Characterization`` of a QPU on one day (the fidelities do not drift: one noise model per QPU)."""
    from ionq_mcp.sandbox._noise import noise_for_backend

    noise = noise_for_backend(backend)
    timing = timing_for(backend)
    n = circuits.BACKEND_QUBITS[backend]
    return {
        "id": characterization_id(backend, day),
        "backend": backend,
        "date": _iso(day),
        "qubits": n,
        "connectivity": [[a, b] for a in range(n) for b in range(a + 1, n)],
        "fidelity": {
            "1q": {"median": round(1 - noise.p1q, 6)},
            "2q": {"median": round(1 - noise.p2q, 6)},
            "spam": {"median": round(1 - noise.readout, 6)},
        },
        "timing": {"1q": timing.one_q, "2q": timing.two_q, "readout": timing.readout, "reset": timing.reset,
                   "t1": timing.t1, "t2": timing.t2},
    }


def characterization_days(backend: str) -> list[dt.datetime]:
    """The days a QPU has characterizations for, newest first; none for the simulator."""
    if not circuits.is_qpu(backend):
        return []
    today = _today()
    return [today - dt.timedelta(days=i) for i in range(HISTORY_DAYS)]


def find_characterization(backend: str, characterization: str) -> dict[str, Any] | None:
    for day in characterization_days(backend):
        if characterization_id(backend, day) == characterization:
            return characterization_doc(backend, day)
    return None


def parse_day(value: str) -> dt.datetime | None:
    """Parse ``2025-12-31`` or an ISO timestamp (UTC if no zone); None when it is not a date."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def list_characterizations(backend: str, *, start: dt.datetime | None, end: dt.datetime | None, page: int,
                           limit: int) -> dict[str, Any]:
    """One page of characterizations with ``start <= date < end``, newest first.

    ``pages`` is the number of pages remaining after this one (the spec's wording)."""
    days = [d for d in characterization_days(backend)
            if (start is None or d >= start) and (end is None or d < end)]
    total_pages = math.ceil(len(days) / limit) if days else 0
    chosen = days[(page - 1) * limit: page * limit]
    return {"characterizations": [characterization_doc(backend, d) for d in chosen],
            "pages": max(0, total_pages - page)}
