"""Result helpers: bit order, counts from probabilities and top-k (pure functions; no I/O).

Bit order (IonQ's convention, which these helpers keep): a result key is the decimal integer ``k`` of the
measured basis state, with qubit 0 as the LEAST significant bit, i.e. ``k = sum(b_q * 2**q)``. The bitstring
is ``format(k, f"0{n}b")``, so **qubit 0 is the rightmost character** and qubit ``n-1`` the leftmost (the same
order as Qiskit's count keys). Example: on 3 qubits, only qubit 0 measured 1 -> key ``"1"`` -> ``"001"``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple, TypeVar

from ionq_mcp.client._errors import ConfigurationError

__all__ = [
    "TopK",
    "bitstring",
    "counts_from_probabilities",
    "to_bitstrings",
    "top_k",
]

K = TypeVar("K", bound=Hashable)


def bitstring(state: int | str, num_qubits: int) -> str:
    """The bitstring of decimal basis state ``state`` on ``num_qubits`` qubits; qubit 0 is the rightmost bit."""
    k = int(state)
    if k < 0:
        raise ConfigurationError(f"state: must be a non-negative integer, got {state!r}")
    if num_qubits < 1 or k >= 1 << num_qubits:
        raise ConfigurationError(f"state: {k} does not fit in num_qubits={num_qubits} (allowed 0..{(1 << max(num_qubits, 0)) - 1})")
    return format(k, f"0{num_qubits}b")


def to_bitstrings(dist: Mapping[str, Any], num_qubits: int | None = None) -> dict[str, Any]:
    """Re-key a decimal-keyed distribution (probabilities or counts) by bitstrings (qubit 0 rightmost).

    ``num_qubits`` defaults to the fewest bits that hold the largest key (at least 1); pass the job's qubit
    count to get full-width strings.
    """
    if num_qubits is None:
        num_qubits = max([int(k).bit_length() for k in dist] + [1])
    return {bitstring(k, num_qubits): v for k, v in dist.items()}


def counts_from_probabilities(probs: Mapping[K, float], shots: int) -> dict[K, int]:
    """Integer counts that sum to exactly ``shots``, by largest-remainder rounding of ``p * shots``.

    Probabilities are normalised by their sum first. Each key gets ``floor(p * shots)``; the shots left over
    go one each to the keys with the largest fractional parts (ties: larger probability first, then the order
    of ``probs``). Keys whose count is 0 are left out.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise ConfigurationError(f"shots: must be a non-negative integer, got {shots!r}")
    items = list(probs.items())
    for key, p in items:
        if not isinstance(p, int | float) or isinstance(p, bool) or not math.isfinite(p) or p < 0:
            raise ConfigurationError(f"probabilities[{key!r}]: must be a finite number >= 0, got {p!r}")
    total = math.fsum(p for _, p in items)
    if shots == 0:
        return {}
    if total <= 0:
        raise ConfigurationError("probabilities: must have a positive sum to turn into counts")
    exact = [(key, p / total * shots) for key, p in items]
    counts = {key: math.floor(x) for key, x in exact}
    left = shots - sum(counts.values())
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - math.floor(exact[i][1])), -exact[i][1], i))
    for i in order[:left]:
        counts[exact[i][0]] += 1
    return {key: c for key, c in counts.items() if c > 0}


class TopK(NamedTuple):
    """The ``k`` most likely outcomes, most likely first, and the total mass of all the others."""

    items: list[tuple[Any, float]]
    remaining: float


def top_k(dist: Mapping[K, float], k: int) -> TopK:
    """The ``k`` largest entries of ``dist`` (ties keep the order of ``dist``) and ``remaining`` = sum of the rest."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigurationError(f"k: must be a non-negative integer, got {k!r}")
    ranked = sorted(dist.items(), key=lambda kv: -kv[1])
    head = ranked[:k]
    return TopK(items=head, remaining=math.fsum(v for _, v in ranked[k:]))
