"""Benchmark the sandbox state-vector engine against qiskit-aer on the same random circuits.

Run: ``/work/venv/bin/python bench/bench_simulator.py [--repeats 5] [--skip-29]`` (needs the ``bench`` extra:
qiskit, qiskit-aer). Prints a Markdown table and writes ``bench/results/simulator-<timestamp>.json``.

What is measured:

* random QIS circuits (20 qubits / 200 gates, 25 qubits / 100 gates; a seeded mix of 1q gates, rotations,
  CNOT, controlled rz, swap, xx/zz): wall time of our ``simulate_probabilities`` versus
  ``AerSimulator(method="statevector")`` running the same circuit with ``save_probabilities`` (transpiled to
  aer's basis beforehand, outside the timer). Both engines' probabilities are compared (max abs difference), so
  the benchmark doubles as a cross-check of the physics.
* a 29-qubit GHZ circuit on our engine, in a fresh subprocess: wall time and peak resident memory
  (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._simulator import simulate_probabilities

RESULTS = Path(__file__).resolve().parent / "results"

_ONE_Q = ("h", "x", "y", "z", "s", "si", "t", "ti", "v", "vi")
_ROT = ("rx", "ry", "rz")


def random_circuit(n: int, gates: int, seed: int) -> list[dict[str, Any]]:
    """A seeded random QIS circuit as IonQ JSON gates."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for _ in range(gates):
        kind = rng.random()
        a, b = (int(x) for x in rng.choice(n, size=2, replace=False))
        if kind < 0.35:
            out.append({"gate": str(rng.choice(_ONE_Q)), "target": a})
        elif kind < 0.6:
            out.append({"gate": str(rng.choice(_ROT)), "target": a, "rotation": float(rng.uniform(-np.pi, np.pi))})
        elif kind < 0.85:
            out.append({"gate": "cnot", "control": a, "target": b})
        elif kind < 0.9:
            out.append({"gate": "rz", "control": a, "target": b, "rotation": float(rng.uniform(-np.pi, np.pi))})
        elif kind < 0.95:
            out.append({"gate": "swap", "targets": [a, b]})
        else:
            out.append({"gate": str(rng.choice(("xx", "zz"))), "targets": [a, b],
                        "rotation": float(rng.uniform(-np.pi, np.pi))})
    return out


def to_qiskit(n: int, gates: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    simple = {"h": qc.h, "x": qc.x, "y": qc.y, "z": qc.z, "s": qc.s, "si": qc.sdg, "t": qc.t, "ti": qc.tdg,
              "v": qc.sx, "vi": qc.sxdg}
    for g in gates:
        name = g["gate"]
        if name in simple:
            simple[name](g["target"])
        elif name in _ROT and "control" in g:
            {"rz": qc.crz, "rx": qc.crx, "ry": qc.cry}[name](g["rotation"], g["control"], g["target"])
        elif name in _ROT:
            getattr(qc, name)(g["rotation"], g["target"])
        elif name == "cnot":
            qc.cx(g["control"], g["target"])
        elif name == "swap":
            qc.swap(*g["targets"])
        elif name in ("xx", "yy", "zz"):
            getattr(qc, "r" + name)(g["rotation"], *g["targets"])
        else:
            raise ValueError(name)
    return qc


def _median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_random(n: int, gates: int, repeats: int, seed: int) -> dict[str, Any]:
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    raw = random_circuit(n, gates, seed)
    circuit = parse_circuit(raw, "qis", n)
    ours = simulate_probabilities(circuit)
    ours_t = _median_time(lambda: simulate_probabilities(circuit), repeats)

    sim = AerSimulator(method="statevector")
    qc = to_qiskit(n, raw)
    qc.save_probabilities()
    tqc = transpile(qc, sim, optimization_level=0)
    result = sim.run(tqc).result()  # warm-up, and the reference distribution
    theirs = np.asarray(result.data(0)["probabilities"])
    aer_t = _median_time(lambda: sim.run(tqc).result(), repeats)
    return {
        "case": f"random {n}q / {gates} gates", "qubits": n, "gates": gates, "seed": seed, "repeats": repeats,
        "ours_s": ours_t, "aer_s": aer_t, "ratio": ours_t / aer_t,
        "max_abs_prob_diff": float(np.max(np.abs(ours - theirs))),
    }


_GHZ_CHILD = """
import resource, sys, time
from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._simulator import simulate_probabilities, probabilities_to_dict
n = int(sys.argv[1])
gates = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)]
c = parse_circuit(gates, "qis", n)
t0 = time.perf_counter()
p = simulate_probabilities(c)
d = probabilities_to_dict(p)
dt = time.perf_counter() - t0
ok = set(d) == {"0", str(2**n - 1)} and abs(d["0"] - 0.5) < 1e-6
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, ok)
"""


def bench_ghz(n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _GHZ_CHILD, str(n)], capture_output=True, text=True, check=True)
    seconds, maxrss_kib, ok = out.stdout.split()
    return {"case": f"GHZ {n}q (ideal, subprocess)", "qubits": n, "ours_s": float(seconds),
            "peak_rss_gib": int(maxrss_kib) / 2**20, "correct": ok == "True"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-29", action="store_true", help="skip the 29-qubit GHZ run (needs ~5 GiB)")
    args = parser.parse_args()

    rows = [bench_random(20, 200, args.repeats, args.seed), bench_random(25, 100, max(3, args.repeats // 2),
                                                                          args.seed + 1)]
    ghz = None if args.skip_29 else bench_ghz(29)
    import qiskit
    import qiskit_aer

    meta = {"python": platform.python_version(), "numpy": np.__version__, "qiskit": qiskit.__version__,
            "qiskit_aer": qiskit_aer.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print("| case | ours (median s) | qiskit-aer (median s) | ours / aer | max abs prob diff |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['case']} | {r['ours_s']:.3f} | {r['aer_s']:.3f} | {r['ratio']:.2f} | "
              f"{r['max_abs_prob_diff']:.1e} |")
    if ghz:
        print(f"\n| case | time (s) | peak RSS (GiB) | correct |\n| --- | ---: | ---: | --- |\n"
              f"| {ghz['case']} | {ghz['ours_s']:.2f} | {ghz['peak_rss_gib']:.2f} | {ghz['correct']} |")
    print(f"\n{meta}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"simulator-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({"meta": meta, "random": rows, "ghz": ghz}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
