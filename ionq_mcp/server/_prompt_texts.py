"""Prompt texts served by the prompt registry (:mod:`._prompts`).

``PROMPTS[name] = (description, arguments, render)``; ``arguments`` are ``(name, description, required)``
tuples and ``render(arguments) -> str`` returns the text of one user message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["PROMPTS"]


def _run_circuit_safely(arguments: dict[str, str]) -> str:
    circuit = arguments.get("circuit") or "(describe or paste the circuit in IonQ JSON)"
    backend = arguments.get("backend") or "the best backend for it"
    shots = arguments.get("shots") or "100"
    return f"""Run this quantum circuit safely on {backend} with {shots} shots:

{circuit}

Follow these steps and show me the numbers at each one:
1. Write the job in IonQ JSON (QIS gates use radians; native gates use turns). If anything is ambiguous,
   ask me before going on.
2. Call estimate_circuit_cost to get the billable gate counts, the cost formula and the predicted queue time.
3. Call compare_backends with the same job and summarise the table: status, qubits, queue time, 1q/2q/SPAM
   fidelities and cost. Recommend a backend and say why. The simulator is free; QPUs cost money.
4. Before any paid submission, tell me the estimated cost and wait for my explicit yes. The server's spend
   guard may also ask me to confirm; if it refuses, explain its message and what I would have to change.
5. Call run_circuit. If it returns a job id without results (timeout), continue with wait_for_job and
   then get_job_results.
6. Read the results: the most likely bitstrings (qubit 0 is the rightmost bit), the remaining mass, and
   whether they match what the circuit should produce. Report the actual cost."""


def _inspect_backend(arguments: dict[str, str]) -> str:
    backend = arguments.get("backend") or "every backend"
    return f"""Inspect {backend} on the IonQ Quantum Cloud and give me a short report:
1. Status: call get_backend (or list_backends) and report status, degraded flag, qubits and the average
   queue time (milliseconds on the wire; convert to minutes).
2. Characterization: call get_backend_characterizations (most recent first) and get_backend_characterization
   for the latest one. Report median 1q, 2q and SPAM fidelities, T1/T2 and gate times, and how old the
   calibration is.
3. Queue: compare the queue time with the other backends (list_backends) and say whether now is a good time
   to submit.
Do not submit any job."""


PROMPTS: dict[str, tuple[str, Sequence[tuple[str, str, bool]], Callable[[dict[str, str]], str]]] = {
    "run_circuit_safely": (
        "Estimate, compare backends, confirm the cost with the user, run a circuit and read its results.",
        [
            ("circuit", "The circuit: IonQ JSON, or a description such as 'Bell pair'", True),
            ("backend", "Preferred backend (simulator, qpu.aria-1, ...); optional", False),
            ("shots", "Number of shots; default 100", False),
        ],
        _run_circuit_safely,
    ),
    "inspect_backend": (
        "Report a backend's status, latest characterization (fidelities, timings) and queue.",
        [("backend", "Backend name, e.g. qpu.aria-1; omit for all backends", False)],
        _inspect_backend,
    ),
}
