"""Drawing measurement outcomes from probability vectors (chunked, so huge vectors need no full-size cumsum)."""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK", "sample_outcomes", "to_counts"]

#: Entries per step of the chunked cumulative sums.
CHUNK = 1 << 22


def sample_outcomes(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` basis-state indices drawn from ``probabilities`` (sorted). Works chunk-wise on huge vectors."""
    if shots <= 0:
        return np.zeros(0, dtype=np.int64)
    total = float(np.sum(probabilities, dtype=np.float64))
    if not total > 0:
        raise ValueError("probabilities sum to zero")
    u = np.sort(rng.random(shots)) * total
    out = np.empty(shots, dtype=np.int64)
    offset = 0.0
    done = 0
    size = probabilities.size
    for lo in range(0, size, CHUNK):
        cdf = np.cumsum(probabilities[lo:lo + CHUNK], dtype=np.float64) + offset
        last = lo + CHUNK >= size
        hi_value = np.inf if last else cdf[-1]
        end = shots if last else int(np.searchsorted(u, hi_value, side="left"))
        if end > done:
            pos = np.searchsorted(cdf, u[done:end], side="right")
            np.minimum(pos, cdf.size - 1, out=pos)
            out[done:end] = lo + pos
            done = end
        offset = cdf[-1]
        if done >= shots:
            break
    return out


def to_counts(outcomes: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(outcomes, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}
