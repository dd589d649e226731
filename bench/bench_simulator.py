"""Benchmark the sandbox's simulator engine against qiskit-aer on the same circuits, in the same run.

Run: ``flock /tmp/ionq-bench.lock .venv/bin/python bench/bench_simulator.py [--repeats 5] [--skip-29]
[--skip-noisy]`` (the 29-qubit subprocesses take ``/tmp/ionq-bigmem.lock`` themselves when it exists; needs
the ``bench`` extra: qiskit, qiskit-aer). Prints Markdown tables and writes ``bench/results/simulator-<timestamp>.json``.

What is measured (every comparison interleaved run by run, the order of the two engines shuffled each time,
medians reported):

* **ideal**, random QIS circuits (20 qubits / 200 gates, 25 qubits / 100 gates; a seeded mix of 1q gates,
  rotations, CNOT, controlled rz, swap, xx/zz): our ``simulate_probabilities`` versus
  ``AerSimulator(method="statevector")`` (default fusion on) with ``save_probabilities``, both complex128
  (transpiled to aer's basis beforehand, outside the timer). The max abs difference of the two probability
  vectors doubles as a cross-check of the physics.
* **GHZ-29** on our engine in a fresh subprocess (``ideal_distribution``, what a job runs): wall time and peak
  resident memory (``ru_maxrss``). The floor is measured in another fresh subprocess of the same run: the time
  of a numpy copy of a state-sized (4 GiB complex64) buffer, as 4 copies of 1 GiB (warm), times the number of
  gates (one pass over the state per gate, the issue's definition); the first touch of a fresh 4 GiB buffer
  (which any simulator pays, and which is slow on this VM) is reported next to it.
* **noisy**, aria-1 model, 1,000 shots, random circuits (12 qubits / 200 gates, 20 qubits / 100 gates): our
  ``run_noisy`` (independent shots) versus aer's statevector method with a noise model of the same rates
  (depolarizing after every gate with aer's parameter ``lambda = p * 4**k / (4**k - 1)`` for our Pauli-error
  probability ``p`` on ``k`` qubits, symmetric readout error), which runs one trajectory per shot; both in
  single precision (ours always samples in complex64).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._noise import NOISE_MODELS
from ionq_mcp.sandbox._simulator import run_noisy, simulate_probabilities

RESULTS = Path(__file__).resolve().parent / "results"
BIGMEM_LOCK = "/tmp/ionq-bigmem.lock"

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


def _interleaved(fns: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    """Wall times of each callable, run by run, in a shuffled order each run."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        order = list(fns)
        random.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def bench_random(n: int, gates: int, repeats: int, seed: int) -> dict[str, Any]:
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    raw = random_circuit(n, gates, seed)
    circuit = parse_circuit(raw, "qis", n)
    ours = simulate_probabilities(circuit).copy()
    sim = AerSimulator(method="statevector")
    qc = to_qiskit(n, raw)
    qc.save_probabilities()
    tqc = transpile(qc, sim, optimization_level=0)
    theirs = np.asarray(sim.run(tqc).result().data(0)["probabilities"])  # warm-up, and the reference
    times = _interleaved({"ours": lambda: simulate_probabilities(circuit), "aer": lambda: sim.run(tqc).result()},
                         repeats)
    ours_t, aer_t = statistics.median(times["ours"]), statistics.median(times["aer"])
    return {
        "case": f"ideal random {n}q / {gates} gates (complex128)", "qubits": n, "gates": gates, "seed": seed,
        "repeats": repeats, "ours_s": ours_t, "aer_s": aer_t, "ratio": ours_t / aer_t, "ours_all": times["ours"],
        "aer_all": times["aer"], "max_abs_prob_diff": float(np.max(np.abs(ours - theirs))),
    }


def _aer_noise(model_name: str):  # type: ignore[no-untyped-def]
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    m = NOISE_MODELS[model_name]
    noise = NoiseModel()
    # aer's depolarizing_error(lam, k) = (1 - lam) rho + lam I/2^k: a non-identity Pauli with probability
    # lam (4^k - 1)/4^k, so our Pauli-error probability p is lam = p 4^k / (4^k - 1)
    noise.add_all_qubit_quantum_error(depolarizing_error(m.p1q * 4 / 3, 1), _AER_ONE)
    noise.add_all_qubit_quantum_error(depolarizing_error(m.p2q * 16 / 15, 2), _AER_TWO)
    noise.add_all_qubit_readout_error(ReadoutError([[1 - m.readout, m.readout], [m.readout, 1 - m.readout]]))
    return noise


_AER_ONE = ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz"]
_AER_TWO = ["cx", "crz", "swap", "rxx", "rzz"]


def bench_noisy(n: int, gates: int, shots: int, repeats: int, seed: int, aer_shots: int | None = None,
                ) -> dict[str, Any]:
    """``aer_shots`` < ``shots`` times aer on fewer shots and scales linearly (aer's statevector method with
    noise runs one trajectory per shot, so its time is linear in shots); the row says so."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    raw = random_circuit(n, gates, seed)
    circuit = parse_circuit(raw, "qis", n)
    model = NOISE_MODELS["aria-1"]
    sim = AerSimulator(method="statevector", noise_model=_aer_noise("aria-1"), precision="single")
    qc = to_qiskit(n, raw)
    qc.measure_all()
    tqc = transpile(qc, basis_gates=_AER_ONE + _AER_TWO, optimization_level=0)
    assert sum(1 for i in tqc.data if i.operation.name not in ("measure", "barrier")) == gates  # gate for gate
    runs = iter(range(10**6))
    aer_n = aer_shots or shots
    times = _interleaved({
        "ours": lambda: run_noisy(circuit, shots=shots, noise=model, rng=np.random.default_rng(next(runs))),
        "aer": lambda: sim.run(tqc, shots=aer_n, seed_simulator=next(runs)).result(),
    }, repeats)
    ours_t, aer_t = statistics.median(times["ours"]), statistics.median(times["aer"]) * shots / aer_n
    note = f", aer timed on {aer_n} shots x {shots / aer_n:g}" if aer_n != shots else ""
    return {"case": f"noisy aria-1 {n}q / {gates} gates, {shots} shots (complex64{note})", "qubits": n,
            "gates": gates, "shots": shots, "aer_shots_timed": aer_n, "repeats": repeats, "ours_s": ours_t,
            "aer_s": aer_t, "ratio": ours_t / aer_t, "ours_all": times["ours"], "aer_all": times["aer"]}


_GHZ_CHILD = """
import resource, sys, time
from ionq_mcp.circuits import parse_circuit
from ionq_mcp.sandbox._simulator import ideal_distribution
n = int(sys.argv[1])
gates = [{"gate": "h", "target": 0}] + [{"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)]
c = parse_circuit(gates, "qis", n)
t0 = time.perf_counter()
d, note = ideal_distribution(c, cutoff=1e-12, max_states=1 << 16)
dt = time.perf_counter() - t0
ok = set(d) == {"0", str(2**n - 1)} and abs(d["0"] - 0.5) < 1e-6 and not note
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, ok)
"""

_FLOOR_CHILD = """
import sys, time
import numpy as np
n = int(sys.argv[1])
part = 1 << (n - 2)  # a quarter of the complex64 state: 1 GiB at 29 qubits
t0 = time.perf_counter()
a = np.empty(part, dtype=np.complex64)
a.fill(1)
first = (time.perf_counter() - t0) * 4  # first touch of fresh memory, scaled to the whole state
b = np.empty_like(a)
b.fill(0)
copies = []
for _ in range(4):
    t0 = time.perf_counter()
    np.copyto(b, a)
    copies.append(time.perf_counter() - t0)
print(sorted(copies)[len(copies) // 2] * 4, first)
"""


def bench_ghz(n: int) -> dict[str, Any]:
    # runs over 2 GiB take the shared big-memory lock when there is one (other processes on the machine)
    lock = ["flock", BIGMEM_LOCK] if Path(BIGMEM_LOCK).exists() else []
    out = subprocess.run([*lock, sys.executable, "-c", _GHZ_CHILD, str(n)], capture_output=True, text=True,
                         check=True)
    seconds, maxrss_kib, ok = out.stdout.split()
    floor = subprocess.run([*lock, sys.executable, "-c", _FLOOR_CHILD, str(n)], capture_output=True, text=True,
                           check=True)
    copy_s, first_touch_s = (float(v) for v in floor.stdout.split())
    gates = n
    return {"case": f"GHZ {n}q (ideal, subprocess)", "qubits": n, "ours_s": float(seconds),
            "peak_rss_gib": int(maxrss_kib) / 2**20, "correct": ok == "True", "state_copy_s": copy_s,
            "floor_s": gates * copy_s, "ratio_to_floor": float(seconds) / (gates * copy_s),
            "first_touch_s": first_touch_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-29", action="store_true", help="skip the 29-qubit GHZ run (needs ~5 GiB)")
    parser.add_argument("--skip-noisy", action="store_true")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--noisy20-repeats", type=int, default=1, help="runs of the slow 20-qubit noisy case")
    parser.add_argument("--noisy20-aer-shots", type=int, default=None,
                        help="time aer on this many shots in the 20-qubit noisy case and scale (it is linear)")
    args = parser.parse_args()

    def shown(row: dict[str, Any]) -> dict[str, Any]:
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("_all")}), flush=True)
        return row

    rows = [shown(bench_random(20, 200, args.repeats, args.seed)),
            shown(bench_random(25, 100, max(3, args.repeats // 2), args.seed + 1))]
    noisy = [] if args.skip_noisy else [
        shown(bench_noisy(12, 200, args.shots, max(3, args.repeats // 2), args.seed + 2)),
        shown(bench_noisy(20, 100, args.shots, args.noisy20_repeats, args.seed + 3, args.noisy20_aer_shots))]
    ghz = None if args.skip_29 else shown(bench_ghz(29))
    import qiskit
    import qiskit_aer

    meta = {"python": platform.python_version(), "numpy": np.__version__, "qiskit": qiskit.__version__,
            "qiskit_aer": qiskit_aer.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load": os.getloadavg()}
    print("| case | ours (median s) | qiskit-aer (median s) | ours / aer | max abs prob diff |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows + noisy:
        diff = f"{r['max_abs_prob_diff']:.1e}" if "max_abs_prob_diff" in r else "-"
        print(f"| {r['case']} | {r['ours_s']:.3f} | {r['aer_s']:.3f} | {r['ratio']:.2f} | {diff} |")
    if ghz:
        print(f"\n| case | time (s) | peak RSS (GiB) | state copy (s) | floor = {ghz['qubits']} x copy (s) | "
              f"time / floor | first touch of 4 GiB (s) | correct |\n"
              f"| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
              f"| {ghz['case']} | {ghz['ours_s']:.2f} | {ghz['peak_rss_gib']:.2f} | {ghz['state_copy_s']:.2f} | "
              f"{ghz['floor_s']:.1f} | {ghz['ratio_to_floor']:.2f} | {ghz['first_touch_s']:.1f} | {ghz['correct']} |")
    print(f"\n{meta}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"simulator-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({"meta": meta, "random": rows, "noisy": noisy, "ghz": ghz}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
