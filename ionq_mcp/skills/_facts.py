"""Facts the skill pack states, read from the code that enforces them (never retyped).

Two outputs, both plain text:

* :func:`template_values`: ``{{name}}`` values that the hand-written ``SKILL.md`` templates quote inline (the
  debiasing floor, the QPU shot cap, the guard's defaults, ...);
* :func:`references`: the generated ``references/*.md`` files of each skill (gate tables, limits, prices, noise
  rates, timings, guard settings, the tool inventory, bit-order examples).

Sources: :mod:`ionq_mcp.circuits` (gates, limits, billing), :mod:`ionq_mcp.sandbox._costs` (prices),
:mod:`ionq_mcp.sandbox._noise` (noise rates), :mod:`ionq_mcp.sandbox._backends` (timings),
:mod:`ionq_mcp.guard` (spend policy), :mod:`ionq_mcp.catalog` (tools) and :mod:`ionq_mcp.client` (bit order).
This module runs when the pack is regenerated (``python -m ionq_mcp.skills._render``), never while serving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ionq_mcp import circuits, guard
from ionq_mcp.circuits import Gate, GateSpec

__all__ = ["check_billing_prose", "references", "template_values"]


def _usd(value: float) -> str:
    """Dollars as IonQ prints them: at least two decimals, no trailing zeros beyond (97.50, 12.4166, 0.00022)."""
    text = f"{value:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Circuits: gates and limits
# --------------------------------------------------------------------------------------------------------------


def _qubits(spec: GateSpec) -> str:
    if spec.targets is None:
        where = "`targets` (one or more)" if spec.name != "nop" else "optional `targets`"
    elif spec.targets == 1:
        where = "`target`"
    else:
        where = f"`targets` ({spec.targets})"
    if spec.needs_control:
        return f"`control`/`controls` (required) + {where}"
    if spec.controllable:
        return f"{where}; optional `control`/`controls`"
    return where


def _params(spec: GateSpec) -> str:
    if not spec.params:
        return "-"
    return ", ".join(f"`{k}`" if required else f"`{k}` (optional)" for k, required in spec.params.items())


def _gate_table(gateset: circuits.Gateset) -> str:
    rows = [(f"`{s.name}`", _qubits(s), _params(s), s.summary) for s in circuits.GATESETS[gateset].values()]
    return _table(("gate", "qubits", "parameters", "meaning"), rows)


def _gates_md() -> str:
    return f"""# IonQ gates (generated from `ionq_mcp/circuits.py`)

A gate is a JSON object: `{{"gate": NAME, ...qubits, ...parameters}}`. A single qubit may be written
`target`/`control`, several as `targets`/`controls` (never both forms for the same role). Qubit indices are
whole numbers from 0; every qubit of a gate must differ.

## QIS gates (`"gateset": "qis"`, the default): rotations in RADIANS

{_gate_table("qis")}

`not` and `cnot` are the same gate as `x`; `cnot` must name its control(s). Any single-target QIS gate with
`controls` of two or more qubits is a multi-controlled gate (Toffoli = `x` with two controls).

## Native gates (`"gateset": "native"`): angles in TURNS (1 turn = 2*pi radians)

{_gate_table("native")}

`ms` without `angle` is fully entangling ({circuits.NATIVE_GATES["ms"].summary.split("default ")[-1]} turns).
Native gates take no controls. A circuit uses one gateset: a QIS gate name in a native circuit (or the other way
round) is refused with a hint naming the right gateset.
"""


def _limits_md() -> str:
    backends = _table(("backend", "qubits", "kind"), (
        (f"`{b}`", n, "simulator (free)" if not circuits.is_qpu(b) else "QPU (billed)")
        for b, n in circuits.BACKEND_QUBITS.items()))
    noise = _table(("`noise.model`", "max qubits"), ((f"`{m}`", n) for m, n in circuits.NOISE_MODEL_QUBITS.items()))
    return f"""# Limits of a job (generated from `ionq_mcp/circuits.py`)

## Backends

{backends}

Connectivity is all-to-all on every trapped-ion QPU: no routing or swap insertion is needed.

## Shots

* {circuits.MIN_SHOTS} to {circuits.MAX_SHOTS:,} shots per job (default {circuits.DEFAULT_SHOTS}).
* At most {circuits.MAX_QPU_SHOTS:,} shots on a QPU (IonQ's SDKs cap QPU jobs there; this server refuses more).
* Debiasing (`settings.error_mitigation.debiasing`) needs at least {circuits.MIN_DEBIASING_SHOTS} shots and a QPU.

## Simulator noise models (`noise: {{"model": ..., "seed": ...}}`, simulator only)

{noise}

A noise model caps the circuit at the size of the QPU it models. `seed` makes the sampling reproducible.

## Job types (`type`)

{_table(("type", "input"), (
        (f"`{circuits.CIRCUIT_JOB}` (default)", "`{gateset, qubits, circuit: [gate, ...]}`"),
        (f"`{circuits.MULTI_CIRCUIT_JOB}`", "`{gateset, qubits, circuits: [{name, circuit, gateset?}, ...]}`: "
                                            "one child job per circuit"),
        (f"`{circuits.QAOA_JOB}`", "`{problem_type: maxcut, problem}` + `external_settings`"),
        (" / ".join(f"`{t}`" for t in circuits.QUANTUM_FUNCTION_JOBS), "`{data, params}`"),
    ))}
"""


def _tools_md() -> str:
    from ionq_mcp.catalog import load_catalog

    def hints(op: object) -> str:
        if getattr(op, "read_only"):
            return "read-only"
        return "writes, destructive" if getattr(op, "destructive") else "writes"

    rows = [(f"`{op.name}`", op.capability, op.title, hints(op)) for op in load_catalog().operations]
    return f"""# The ionq-mcp tools (generated from `capabilities/*.yaml`)

{_table(("tool", "toolset", "what it does", "hints"), rows)}

Workflow tools (toolset `workflows`) do several API calls in one: prefer them. Every tool that spends or
destroys goes through the server's spend guard; the server may drop tools (`--read-only`, `--toolsets`,
`--tools`), so check `tools/list` before relying on one.
"""


# --------------------------------------------------------------------------------------------------------------
# Cost: prices, billing rules, guard
# --------------------------------------------------------------------------------------------------------------


def _billing_examples() -> list[tuple[str, int, int]]:
    """(description, 1q, 2q) of representative gates, counted by :func:`circuits.billable_gate_counts`."""
    examples: list[tuple[str, Gate]] = [
        ("`h` on one qubit", Gate("h", "qis", (0,))),
        ("`rz` on one qubit", Gate("rz", "qis", (0,), (), {"rotation": 0.5})),
        ("`cnot` (one control)", Gate("x", "qis", (1,), (0,))),
        ("`swap`", Gate("swap", "qis", (0, 1))),
        ("native `ms`", Gate("ms", "native", (0, 1), (), {"phases": (0.0, 0.0), "angle": 0.25})),
    ]
    for n in (3, 4, 5):
        examples.append((f"`x` with {n - 1} controls ({n} qubits)", Gate("x", "qis", (n - 1,), tuple(range(n - 1)))))
    for term in ("Z", "ZZ", "XYZ"):
        examples.append((f"`pauliexp` term `{term}`", Gate("pauliexp", "qis", tuple(range(len(term))), (),
                                                            {"terms": (term,), "coefficients": (1.0,), "time": 1.0})))
    examples.append(("`nop`", Gate("nop", "native", ())))
    return [(label, *circuits.billable_gate_counts([gate])) for label, gate in examples]


def _rates() -> dict[str, object]:
    from ionq_mcp.sandbox import default_rates

    return dict(default_rates().rates)


def _pricing_md() -> str:
    from ionq_mcp.sandbox import ARIA, RateTable

    rates = _rates()
    table = _table(("backend", "per 1q gate-shot", "per 2q gate-shot", "job minimum", "minimum, debiased"), (
        (f"`{b}`", _usd(r.cost_1q_gate), _usd(r.cost_2q_gate), _usd(r.job_cost_minimum),
         _usd(r.job_cost_minimum_error_mitigation)) for b, r in rates.items()))
    billing = _table(("gate", "billed 1q", "billed 2q"), _billing_examples())
    shots = circuits.MIN_DEBIASING_SHOTS
    bell = RateTable(rates={"qpu.aria-1": ARIA})
    examples = _table(("job on `qpu.aria-1`", "cost (USD)"), (
        (f"Bell (1 `h`, 1 `cnot`), 100 shots, not debiased",
         _usd(bell.cost("qpu.aria-1", one_q=1, two_q=1, shots=100, error_mitigation=False))),
        (f"Bell, {shots} shots, QIS: debiased by default",
         _usd(bell.cost("qpu.aria-1", one_q=1, two_q=1, shots=shots, error_mitigation=True))),
        (f"Bell, {shots} shots, debiasing turned off",
         _usd(bell.cost("qpu.aria-1", one_q=1, two_q=1, shots=shots, error_mitigation=False))),
        ("20 `h` + 40 `cnot`, 1,000 shots, debiased",
         _usd(bell.cost("qpu.aria-1", one_q=20, two_q=40, shots=1000, error_mitigation=True))),
    ))
    return f"""# Pricing (generated from `ionq_mcp/circuits.py` and `ionq_mcp/sandbox/_costs.py`)

    cost = job minimum + cost_1q_gate * 1q_gates * shots + cost_2q_gate * 2q_gates * shots   (USD)

The simulator is free (noise models too). The job minimum is the higher one when the job is debiased.

## Rates

{table}

Aria's rates are IonQ's published gate-shot prices. IonQ publishes Forte only as "higher": the Forte rows are
the sandbox's assumption. A live `get_job_estimate` / `estimate_circuit_cost` answer (its `rate_information`)
is authoritative for your account; these numbers are for planning.

## Which gates are billed how

{billing}

Rule: a gate on one qubit is one 1q gate; on two qubits one 2q gate; on N >= 3 qubits (multi-controlled)
6*(N-2) 2q gates. A `pauliexp` term of weight 1 is one 1q gate, of weight w >= 2 is 2*(w-1) 2q gates.

## When a job is debiased (and pays the higher minimum)

* QPU, QIS gates, {shots} shots or more: debiased BY DEFAULT, unless the payload sets
  `settings.error_mitigation.debiasing` to `false`.
* QPU, native gates: not debiased unless the payload sets `debiasing: true` (and has >= {shots} shots).
* Fewer than {shots} shots: never debiased (and it cannot be turned on).
* Simulator, ideal or noisy: never debiased (the server refuses `debiasing: true` there).

A payload that says nothing about error mitigation is therefore a debiased job (minimum
{_usd(ARIA.job_cost_minimum_error_mitigation)} on Aria) when it is QIS on a QPU with >= {shots} shots.

## Worked examples (Aria rates)

{examples}
"""


def _guard_md() -> str:
    policy = guard.GuardPolicy()
    rows = (
        (f"`{guard.ENV_ALLOW_QPU}`", "`--allow-qpu`", "on" if policy.allow_qpu else "off",
         "QPU backends allowed at all; the simulator always is"),
        (f"`{guard.ENV_MAX_JOB_COST}`", "`--max-job-cost`", _usd(policy.max_job_cost_usd),
         "a job estimated above this (USD) is refused; also caps a QPU session's cost_limit"),
        (f"`{guard.ENV_DAILY_BUDGET}`", "`--daily-budget`", _usd(policy.daily_budget_usd),
         "rolling 24-hour spending limit (USD)"),
        (f"`{guard.ENV_CONFIRM_ABOVE}`", "`--confirm-above`", _usd(policy.confirm_above_usd),
         "the user is asked before a job estimated above this (USD); 0 = every paid job"),
        (f"`{guard.ENV_BULK_CONFIRM_ABOVE}`", "`--bulk-confirm-above`", policy.bulk_confirm_above,
         "the user is asked before bulk cancel/delete of more jobs than this"),
    )
    return f"""# The spend guard's settings (generated from `ionq_mcp.guard`)

The user sets these on the server (environment variable or `ionq-mcp serve` flag); an agent cannot change them.

{_table(("environment variable", "flag", "default", "meaning"), rows)}

With the defaults, a debiased job (minimum {_usd(_rates()["qpu.aria-1"].job_cost_minimum_error_mitigation)} on
Aria) is above the per-job cap and is refused until the user raises `{guard.ENV_MAX_JOB_COST}` or the job turns
debiasing off.

Refusal messages name the setting and the numbers. Every state-changing call is written to the audit log.
"""


# --------------------------------------------------------------------------------------------------------------
# Backends: noise, timings, fidelities
# --------------------------------------------------------------------------------------------------------------


def _backends_md() -> str:
    from ionq_mcp.sandbox import TIMINGS
    from ionq_mcp.sandbox import NOISE_MODELS, expected_bell_fidelity

    noise = _table(("model", "1q error", "2q error", "readout error", "implied fidelities 1q / 2q / SPAM",
                    "Bell P(00)+P(11)"), (
        (f"`{m.name}`", m.p1q, m.p2q, m.readout,
         f"{1 - m.p1q:.6g} / {1 - m.p2q:.6g} / {1 - m.readout:.6g}", f"{expected_bell_fidelity(m):.4f}")
        for m in NOISE_MODELS.values()))
    def seconds(value: float) -> float:
        # The sandbox's timings were integer microseconds before they became float seconds (IonQ's unit); read
        # both, so the table (gate times in microseconds, T1/T2 in seconds) is the same either way.
        return value / 1e6 if isinstance(value, int) else value

    def us(value: float) -> str:
        return f"{seconds(value) * 1e6:.4g} us"

    timings = _table(("family", "1q gate", "2q gate", "readout", "reset", "T1", "T2"), (
        (name, us(t.one_q), us(t.two_q), us(t.readout), us(t.reset), f"{seconds(t.t1):g} s", f"{seconds(t.t2):g} s")
        for name, t in TIMINGS.items()))
    qubits = _table(("backend", "qubits", "noise model that emulates it"), (
        (f"`{b}`", n, "ideal" if not circuits.is_qpu(b) else f"`{b.removeprefix('qpu.')}`")
        for b, n in circuits.BACKEND_QUBITS.items()))
    return f"""# Backends (generated from `ionq_mcp/circuits.py` and `ionq_mcp/sandbox/`)

{qubits}

## Noise models (simulator `noise.model`)

Depolarizing error after every gate (probability per 1q / 2q gate) plus a symmetric readout bit flip. A
characterization's fidelity is 1 minus the error. The last column is what a Bell pair (`h`, `cnot`) should
show under each model, derived from the definitions: use it to judge whether a result looks right.

{noise}

Aria and Forte rates are IonQ's documented simulator noise; Harmony's and the readout rates are the sandbox's
assumptions. Real QPUs drift: read the current characterization before trusting these numbers.

## Gate and operation times (sandbox characterizations)

{timings}

A circuit's execution time per shot is roughly (1q gates x 1q time) + (2q gates x 2q time) + readout + reset.
"""


# --------------------------------------------------------------------------------------------------------------
# Results: bit order
# --------------------------------------------------------------------------------------------------------------


def _results_md() -> str:
    from ionq_mcp.client import bitstring

    def meaning(k: int, n: int) -> str:
        ones = [str(q) for q in range(n) if k >> q & 1]
        return ("qubit " if len(ones) == 1 else "qubits ") + " and ".join(ones) + " measured 1, the others 0"

    rows = [(f"`\"{k}\"`", n, f"`{bitstring(k, n)}`", meaning(k, n)) for k, n in ((1, 3), (4, 3), (3, 2), (6, 4))]
    return f"""# Reading IonQ results (generated from `ionq_mcp/client/_results.py`)

A result key is the decimal integer of the measured basis state with qubit 0 the LEAST significant bit.
As a bitstring (`format(k, "0{{n}}b")`), qubit 0 is the RIGHTMOST character.

{_table(("key", "qubits", "bitstring", "meaning"), rows)}

Keys of outcomes that never occurred are absent (probability 0). Values are probabilities that sum to 1 (up
to rounding); a histogram's values are counts that sum to the shots.

## Which numbers you get

* Ideal simulator: exact probabilities, one calculation, no sampling (shots do not change them).
* Noisy simulator and QPU: frequencies over the shots (sampling noise ~ 1/sqrt(shots)).
* Debiased QPU jobs run as several variants (different qubit maps). `get_job_probabilities` averages them;
  with `sharpen=true` each variant votes for its most likely outcome instead (good for one expected
  answer, wrong for a distribution). Per-variant probabilities, histograms and shot lists have their own tools.
* Multi-circuit jobs: the parent's probabilities are keyed by child job id; `get_job_results` gives one entry
  per child.
* `run_circuit` and `get_job_results` return `bitstrings` (top-k, qubit 0 rightmost), `remaining_mass` (mass
  of the outcomes not shown), `total_mass`, and `counts` for sampled jobs.
"""


def references() -> dict[str, dict[str, str]]:
    """Skill name -> reference file name -> Markdown text."""
    return {
        "ionq-running-circuits": {"gates.md": _gates_md(), "limits.md": _limits_md(), "tools.md": _tools_md()},
        "ionq-controlling-cost": {"pricing.md": _pricing_md(), "guard.md": _guard_md()},
        "ionq-choosing-backends": {"backends.md": _backends_md()},
        "ionq-reading-results": {"results.md": _results_md()},
    }


def template_values() -> dict[str, str]:
    """Values the SKILL.md templates quote as ``{{name}}``."""
    from ionq_mcp.client import IDEMPOTENCY_METADATA_KEY

    rates = _rates()
    aria = rates["qpu.aria-1"]
    policy = guard.GuardPolicy()
    return {
        "min_debiasing_shots": str(circuits.MIN_DEBIASING_SHOTS),
        "max_qpu_shots": f"{circuits.MAX_QPU_SHOTS:,}",
        "max_shots": f"{circuits.MAX_SHOTS:,}",
        "default_shots": str(circuits.DEFAULT_SHOTS),
        "simulator_qubits": str(circuits.BACKEND_QUBITS[circuits.SIMULATOR]),
        "qpu_backends": ", ".join(f"`{b}`" for b in circuits.BACKEND_QUBITS if circuits.is_qpu(b)),
        "aria_minimum": _usd(aria.job_cost_minimum),
        "aria_minimum_debiased": _usd(aria.job_cost_minimum_error_mitigation),
        "aria_1q": _usd(aria.cost_1q_gate),
        "aria_2q": _usd(aria.cost_2q_gate),
        "max_job_cost": _usd(policy.max_job_cost_usd),
        "daily_budget": _usd(policy.daily_budget_usd),
        "confirm_above": _usd(policy.confirm_above_usd),
        "allow_qpu_default": "on" if policy.allow_qpu else "off",
        "idempotency_key": IDEMPOTENCY_METADATA_KEY,
        "env_allow_qpu": guard.ENV_ALLOW_QPU,
        "env_max_job_cost": guard.ENV_MAX_JOB_COST,
        "env_confirm_above": guard.ENV_CONFIRM_ABOVE,
        "toffoli_2q": str(circuits.billable_gate_counts([Gate("x", "qis", (2,), (0, 1))])[1]),
    }


def check_billing_prose() -> None:
    """The pricing reference states the billing rules in words; fail generation if the code disagrees."""
    for n in range(1, 8):
        gate = Gate("x", "qis", (n - 1,), tuple(range(n - 1)))
        expected = (1, 0) if n == 1 else (0, 1) if n == 2 else (0, 6 * (n - 2))
        if circuits.billable_gate_counts([gate]) != expected:
            raise AssertionError(f"billing of a {n}-qubit gate changed: update the prose in _facts._pricing_md")
    for weight in range(1, 6):
        gate = Gate("pauliexp", "qis", tuple(range(weight)), (), {"terms": ("Z" * weight,), "coefficients": (1.0,),
                                                                    "time": 1.0})
        expected = (1, 0) if weight == 1 else (0, 2 * (weight - 1))
        if circuits.billable_gate_counts([gate]) != expected:
            raise AssertionError("billing of pauliexp changed: update the prose in _facts._pricing_md")
