"""The pack's scripts, run as an agent runs them: ``python scripts/NAME.py FILE`` from an exported skill, offline.

Expected numbers come from the definitions (IonQ's published formula with the rates written out, the bit-order
rule), not from the code under test."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ionq_mcp.skills import load_pack
from ionq_mcp.skills._export import export_plugin
from ionq_mcp.skills._scripts import debiasing_decision
from ionq_mcp import circuits

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
TOFFOLI = [{"gate": "h", "target": 0}, {"gate": "h", "target": 1}, {"gate": "x", "controls": [0, 1], "target": 2}]


def _job(backend: str = "qpu.aria-1", shots: int = 1000, circuit: list | None = None, gateset: str = "qis",
         **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "shots": shots, "input": {"gateset": gateset, "qubits": 3,
                                                           "circuit": circuit or TOFFOLI}, **extra}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("scripts") / "plugin"
    export_plugin(dest)
    return dest


def _run(plugin: Path, skill: str, script: str, payload: Any, *args: str, tmp: Path) -> tuple[int, dict[str, Any]]:
    source = tmp / "input.json"
    source.write_text(json.dumps(payload))
    done = subprocess.run([sys.executable, f"scripts/{script}.py", str(source), *args], cwd=plugin / "skills" / skill,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_every_script_of_the_pack_is_covered_here():
    scripts = {f"{s.name}/{f.path}" for s in load_pack() for f in s.files if f.path.startswith("scripts/")}
    assert scripts == {"ionq-running-circuits/scripts/check_job.py", "ionq-controlling-cost/scripts/count_gates.py",
                       "ionq-reading-results/scripts/decode_results.py"}


def test_count_gates_prices_a_toffoli_job_by_the_published_formula(plugin, tmp_path):
    status, out = _run(plugin, "ionq-controlling-cost", "count_gates", _job(), tmp=tmp_path)
    assert status == 0
    # 2 h = two 1q gates; a 3-qubit Toffoli = 6*(3-2) = 6 two-qubit gates (IonQ's billing rule)
    assert (out["one_qubit_gates"], out["two_qubit_gates"]) == (2, 6)
    assert out["debiased"] is True  # QIS, QPU, >= 500 shots: IonQ's default
    expected = 97.50 + 0.000220 * 2 * 1000 + 0.000975 * 6 * 1000  # Aria, debiased minimum
    assert math.isclose(out["cost_usd"], expected, rel_tol=1e-9)
    assert math.isclose(out["per_qpu"]["qpu.aria-2"]["cost_usd"], expected, rel_tol=1e-9)
    assert set(out["per_qpu"]) == {b for b in circuits.BACKEND_QUBITS if b.startswith("qpu.")}


def test_count_gates_without_debiasing_and_on_the_simulator(plugin, tmp_path):
    off = _job(settings={"error_mitigation": {"debiasing": False}})
    status, out = _run(plugin, "ionq-controlling-cost", "count_gates", off, tmp=tmp_path)
    assert status == 0 and out["debiased"] is False
    assert math.isclose(out["cost_usd"], 12.4166 + 0.000220 * 2 * 1000 + 0.000975 * 6 * 1000, rel_tol=1e-9)
    status, out = _run(plugin, "ionq-controlling-cost", "count_gates", _job("simulator"), tmp=tmp_path)
    assert status == 0 and out["cost_usd"] == 0 and out["debiased"] is False
    assert out["per_qpu"]["qpu.aria-1"]["debiased"] is True  # the same job would be debiased on a QPU


def test_count_gates_reports_an_invalid_payload(plugin, tmp_path):
    status, out = _run(plugin, "ionq-controlling-cost", "count_gates",
                       _job(circuit=[{"gate": "gpi", "target": 0, "phase": 0.1}]), tmp=tmp_path)
    assert status == 1 and out["valid"] is False and "native" in out["problems"][0]


def test_check_job_lists_every_problem_with_its_path(plugin, tmp_path):
    bad = _job(shots=20_000, circuit=[{"gate": "h", "target": 5}, {"gate": "cnot", "target": 1}])
    status, out = _run(plugin, "ionq-running-circuits", "check_job", bad, tmp=tmp_path)
    assert status == 1
    paths = {p["path"] for p in out["problems"]}
    assert {"shots", "input.circuit[0]", "input.circuit[1].control"} <= paths


def test_check_job_warns_about_radians_in_native_gates(plugin, tmp_path):
    native = _job(backend="simulator", shots=100, gateset="native",
                  circuit=[{"gate": "gpi2", "target": 0, "phase": math.pi / 2}])
    status, out = _run(plugin, "ionq-running-circuits", "check_job", native, tmp=tmp_path)
    assert status == 0 and out["valid"] is True
    assert any("TURNS" in w for w in out["warnings"])
    fine = _job(backend="simulator", shots=100, gateset="native",
                circuit=[{"gate": "gpi2", "target": 0, "phase": 0.25}])
    assert _run(plugin, "ionq-running-circuits", "check_job", fine, tmp=tmp_path)[1]["warnings"] == []


def test_decode_results_puts_qubit_0_on_the_right(plugin, tmp_path):
    status, out = _run(plugin, "ionq-reading-results", "decode_results", {"1": 0.5, "4": 0.3, "6": 0.2},
                       "--qubits", "3", "--top", "2", "--shots", "1000", tmp=tmp_path)
    assert status == 0
    assert out["top"] == {"001": 0.5, "100": 0.3}  # 1 = qubit 0 set; 4 = qubit 2 set
    assert math.isclose(out["remaining_mass"], 0.2)
    assert out["p_one_per_qubit"] == {"q0": 0.5, "q1": 0.2, "q2": 0.5}
    assert out["counts"] == {"001": 500, "100": 300}


def test_decode_results_handles_multi_circuit_parents_and_refuses_bad_input(plugin, tmp_path):
    status, out = _run(plugin, "ionq-reading-results", "decode_results",
                       {"child-a": {"0": 0.5, "3": 0.5}, "child-b": {"2": 1.0}}, "--qubits", "2", tmp=tmp_path)
    assert status == 0 and out["children"]["child-a"]["top"] == {"00": 0.5, "11": 0.5}
    assert out["children"]["child-b"]["top"] == {"10": 1.0}
    status, out = _run(plugin, "ionq-reading-results", "decode_results", {"01": 1.0, "x": 0.0}, tmp=tmp_path)
    assert status == 1 and "decimal" in out["error"]
    status, out = _run(plugin, "ionq-reading-results", "decode_results", {"8": 1.0}, "--qubits", "3", tmp=tmp_path)
    assert status == 1 and "needs 4 qubits" in out["error"]


@pytest.mark.parametrize(("job", "debiased"), [
    (_job(shots=500), True),                                                  # QIS, QPU, >= 500: on by default
    (_job(shots=499), False),                                                 # too few shots
    (_job(shots=500, settings={"error_mitigation": {"debiasing": False}}), False),  # turned off
    (_job(shots=500, gateset="native", circuit=[{"gate": "gpi", "target": 0, "phase": 0.1}]), False),
    (_job(shots=500, gateset="native", circuit=[{"gate": "gpi", "target": 0, "phase": 0.1}],
          settings={"error_mitigation": {"debiasing": True}}), True),       # native: only when asked
    (_job("simulator", shots=5000), False),                                   # simulators never
    (_job("simulator", shots=5000, noise={"model": "aria-1"}), False),
])
def test_debiasing_follows_ionqs_defaults(job, debiased):
    assert debiasing_decision(job, circuits.parse_job(job))[0] is debiased
