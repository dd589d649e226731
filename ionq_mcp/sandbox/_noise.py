"""Noise models of the sandbox simulator: depolarizing gate errors plus symmetric readout error.

Rates (probabilities per gate / per measured bit):

================== ========= ========= ========= ==========================================================
model              p1q       p2q       readout   source
================== ========= ========= ========= ==========================================================
aria-1, aria-2     0.0005    0.0133    0.0039    IonQ's documented simulator noise (r1q, r2q); readout =
                                                 1 - SPAM fidelity 0.9961 of Aria's characterization
forte-1,           0.000267  0.00495   0.005     IonQ's documented simulator noise (r1q, r2q); readout =
forte-enterprise-1                               1 - SPAM fidelity 0.995 (our choice, Forte's published
                                                 SPAM is about 99.5 %)
harmony (-1, -2)   0.001     0.03      0.01      our choice: Harmony is retired and IonQ publishes no
                                                 simulator rates for it; values follow its published
                                                 fidelities (1q ~ 99.9 %, 2q ~ 97 %, SPAM ~ 99 %)
ideal              0         0         0         no noise
================== ========= ========= ========= ==========================================================

Meaning of a rate ``p`` on a gate acting on ``k`` qubits: with probability ``p`` a uniformly random
non-identity ``k``-qubit Pauli is applied after the gate (the "Pauli error probability" form of the depolarizing
channel). Readout: every measured bit flips independently with probability ``readout``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NOISE_MODELS", "NoiseModel", "expected_bell_fidelity", "noise_for_backend", "noise_model"]


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """Depolarizing error probability after 1q gates (``p1q``) and 2q+ gates (``p2q``), and the readout bit-flip
    probability (``readout``)."""

    name: str
    p1q: float
    p2q: float
    readout: float

    @property
    def is_ideal(self) -> bool:
        return self.p1q == 0 and self.p2q == 0 and self.readout == 0


_ARIA = (0.0005, 0.0133, 0.0039)
_FORTE = (0.000267, 0.00495, 0.005)
_HARMONY = (0.001, 0.03, 0.01)

NOISE_MODELS: dict[str, NoiseModel] = {
    name: NoiseModel(name, *rates)
    for name, rates in (
        ("ideal", (0.0, 0.0, 0.0)),
        ("aria-1", _ARIA),
        ("aria-2", _ARIA),
        ("forte-1", _FORTE),
        ("forte-enterprise-1", _FORTE),
        ("harmony", _HARMONY),
        ("harmony-1", _HARMONY),
        ("harmony-2", _HARMONY),
    )
}


def noise_model(name: str) -> NoiseModel:
    """The model called ``name`` (``ideal``, ``aria-1``, ...); ``ValueError`` naming the allowed ones otherwise."""
    try:
        return NOISE_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown noise model {name!r} (allowed: {', '.join(NOISE_MODELS)})") from None


def noise_for_backend(backend: str) -> NoiseModel:
    """The model that emulates a QPU backend: ``qpu.aria-1`` -> aria-1, ``qpu.forte-enterprise-1`` ->
    forte-enterprise-1; ``simulator`` -> ideal. ``ValueError`` for an unknown backend."""
    if backend == "simulator":
        return NOISE_MODELS["ideal"]
    name = backend.removeprefix("qpu.")
    if name not in NOISE_MODELS or name == "ideal":
        raise ValueError(f"no noise model for backend {backend!r} "
                         f"(allowed: simulator, {', '.join('qpu.' + m for m in NOISE_MODELS if m != 'ideal')})")
    return NOISE_MODELS[name]


def expected_bell_fidelity(model: NoiseModel) -> float:
    """Predicted P(00) + P(11) for the Bell circuit ``h q0; cnot q0 -> q1`` under ``model``, from the definitions.

    Derivation: a Pauli after ``h`` on q0 maps |+> to |+> or |-> (up to phase), which leaves the populations of
    the Bell outcome unchanged, so the 1q rate drops out. After the CNOT, 8 of the 15 non-identity two-qubit
    Paulis (exactly one factor in {X, Y}) move the state to the odd-parity outcomes: the pre-readout fidelity is
    ``g = 1 - 8/15 p2q``. Readout then keeps an even outcome even with probability ``(1-r)^2 + r^2`` and turns an
    odd one even with probability ``2 r (1-r)``.
    """
    g = 1 - model.p2q * 8 / 15
    r = model.readout
    return g * ((1 - r) ** 2 + r**2) + (1 - g) * 2 * r * (1 - r)
