"""Max-Cut for ``qctrl.qaoa.v1`` jobs, solved exactly by brute force (the sandbox's stand-in for Q-CTRL's QAOA).

Input: a NetworkX ``adjacency_graph`` JSON object (``nx.adjacency_data(G)``): ``nodes`` is a list of
``{"id": ...}`` objects and ``adjacency[i]`` lists the neighbours of ``nodes[i]`` as ``{"id": ..., "weight": w}``
(weight optional, default 1; ``key`` identifies parallel edges of a multigraph). An undirected edge appears in
both neighbour lists and counts once; in a ``"directed": true`` graph every listed edge counts. Self-loops never
cross a cut.

Output conventions:

* node ``nodes[i]`` is bit/qubit ``i``; the bitstring is written like IonQ's results and Qiskit's bitstrings,
  **qubit 0 rightmost** (``bitstring[-1 - i]`` is node i's side). ``variables_to_bitstring_index_map`` spells
  this out per node id, like Fire Opal's result does.
* ``cut_value`` is the total weight of edges crossing the cut (maximised); ``cost = -cut_value`` because the
  solver minimises its cost (lower is better), as Q-CTRL's solver reports it.
* Among equally good cuts the one with the smallest integer value (qubit 0 = least significant bit) is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MAX_NODES", "MaxcutResult", "solve_maxcut"]

#: Largest graph the exact solver accepts (2**20 cuts are enumerated).
MAX_NODES = 20


@dataclass(frozen=True, slots=True)
class MaxcutResult:
    """The best cut found: see the module docstring for the bit order and the sign of ``cost``."""

    bitstring: str
    cost: float
    cut_value: float
    variables_to_bitstring_index_map: dict[str, int] = field(default_factory=dict)
    optimal_solutions: int = 1


def _edges(problem: Mapping[str, Any]) -> tuple[list[Any], list[tuple[int, int, float]]]:
    if not isinstance(problem, Mapping):
        raise ValueError("the problem must be a NetworkX adjacency_graph object")  # noqa: TRY004
    nodes = problem.get("nodes")
    adjacency = problem.get("adjacency")
    if not isinstance(nodes, list) or not nodes:
        raise ValueError("`nodes` must be a non-empty list of {\"id\": ...} objects")
    if not isinstance(adjacency, list) or len(adjacency) != len(nodes):
        raise ValueError(f"`adjacency` must be a list with one neighbour list per node ({len(nodes)})")
    ids = []
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or "id" not in node:
            raise ValueError(f"nodes[{i}] must be an object with an `id`")
        ids.append(node["id"])
    index = {repr(node_id): i for i, node_id in enumerate(ids)}
    if len(index) != len(ids):
        raise ValueError("node ids must be unique")
    directed = bool(problem.get("directed", False))
    seen: set[tuple] = set()
    edges: list[tuple[int, int, float]] = []
    for i, neighbours in enumerate(adjacency):
        if not isinstance(neighbours, list):
            raise ValueError(f"adjacency[{i}] must be a list of {{\"id\": ...}} objects")  # noqa: TRY004
        for j, entry in enumerate(neighbours):
            if not isinstance(entry, Mapping) or repr(entry.get("id")) not in index:
                raise ValueError(f"adjacency[{i}][{j}] must name a node id listed in `nodes`")
            k = index[repr(entry["id"])]
            weight = entry.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight):
                raise ValueError(f"adjacency[{i}][{j}].weight must be a finite number, got {weight!r}")
            key = (i, k) if directed else (min(i, k), max(i, k))
            tag = (*key, repr(entry.get("key")))
            if tag in seen:
                continue
            seen.add(tag)
            if i != k:
                edges.append((key[0], key[1], float(weight)))
    return ids, edges


def solve_maxcut(problem: Mapping[str, Any]) -> MaxcutResult:
    """Exact maximum cut of a graph of at most :data:`MAX_NODES` nodes; ``ValueError`` on bad or larger input."""
    ids, edges = _edges(problem)
    n = len(ids)
    if n > MAX_NODES:
        raise ValueError(f"{n} nodes exceed the sandbox's exact Max-Cut limit of {MAX_NODES}")
    states = np.arange(1 << n, dtype=np.int64)
    cut = np.zeros(states.size, dtype=np.float64)
    for a, b, w in edges:
        cut += w * (((states >> a) ^ (states >> b)) & 1)
    best = float(cut.max())
    winners = np.flatnonzero(np.isclose(cut, best, rtol=0, atol=1e-9))
    choice = int(winners[0])
    return MaxcutResult(
        bitstring=format(choice, f"0{n}b"),
        cost=-best if best else 0.0,
        cut_value=best,
        variables_to_bitstring_index_map={str(node_id): n - 1 - i for i, node_id in enumerate(ids)},
        optimal_solutions=int(winners.size),
    )
