"""Result helpers checked against their definitions (bit order, largest-remainder rounding, top-k mass)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionq_mcp.client import ConfigurationError, bitstring, counts_from_probabilities, to_bitstrings, top_k


@given(n=st.integers(min_value=1, max_value=40), data=st.data())
def test_bitstring_puts_qubit_zero_rightmost(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=(1 << n) - 1))
    bits = bitstring(str(k), n)
    assert len(bits) == n
    # Definition: the key is sum(b_q * 2**q); qubit q is character n-1-q.
    for q in range(n):
        assert bits[n - 1 - q] == str((k >> q) & 1)


def test_bitstring_examples_and_bounds() -> None:
    assert bitstring(1, 3) == "001"  # only qubit 0 set
    assert bitstring(4, 3) == "100"  # only qubit 2 set
    with pytest.raises(ConfigurationError, match="num_qubits"):
        bitstring(8, 3)
    with pytest.raises(ConfigurationError, match="state"):
        bitstring(-1, 3)


def test_to_bitstrings_keeps_values_and_infers_width() -> None:
    assert to_bitstrings({"0": 0.5, "3": 0.5}, 2) == {"00": 0.5, "11": 0.5}
    assert to_bitstrings({"0": 0.5, "5": 0.5}) == {"000": 0.5, "101": 0.5}
    assert to_bitstrings({"1": 7}, 4) == {"0001": 7}


probability_maps = st.dictionaries(
    st.integers(min_value=0, max_value=1023).map(str),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    min_size=1,
    max_size=40,
).filter(lambda d: math.fsum(d.values()) > 1e-9)


@settings(max_examples=300)
@given(probs=probability_maps, shots=st.integers(min_value=0, max_value=1_000_000))
def test_counts_sum_exactly_to_shots_and_stay_within_one_of_the_exact_value(
    probs: dict[str, float], shots: int
) -> None:
    counts = counts_from_probabilities(probs, shots)
    assert sum(counts.values()) == shots
    total = math.fsum(probs.values())
    for key, p in probs.items():
        exact = p / total * shots
        c = counts.get(key, 0)
        assert math.floor(exact) <= c <= math.floor(exact) + 1
        assert abs(c - exact) < 1.0 + 1e-9
    assert all(c > 0 for c in counts.values())
    assert set(counts) <= set(probs)


def test_counts_largest_remainder_example() -> None:
    # Exact shares 3.333.., 3.333.., 3.333..: floors give 9, the leftover shot goes to the first on ties.
    assert counts_from_probabilities({"0": 1 / 3, "1": 1 / 3, "2": 1 / 3}, 10) == {"0": 4, "1": 3, "2": 3}
    # 0.55*10 = 5.5 and 0.45*10 = 4.5: equal remainders, the larger probability wins the spare shot.
    assert counts_from_probabilities({"a": 0.45, "b": 0.55}, 10) == {"a": 4, "b": 6}
    # Bell state: half and half.
    assert counts_from_probabilities({"0": 0.5, "3": 0.5}, 1001) in ({"0": 501, "3": 500}, {"0": 500, "3": 501})


def test_counts_reject_bad_input_naming_the_field() -> None:
    with pytest.raises(ConfigurationError, match="shots"):
        counts_from_probabilities({"0": 1.0}, -1)
    with pytest.raises(ConfigurationError, match=r"probabilities\['0'\]"):
        counts_from_probabilities({"0": -0.1, "1": 1.1}, 10)
    with pytest.raises(ConfigurationError, match="positive sum"):
        counts_from_probabilities({"0": 0.0}, 10)
    assert counts_from_probabilities({"0": 1.0}, 0) == {}


@given(
    dist=st.dictionaries(st.text(min_size=1, max_size=4), st.floats(min_value=0, max_value=1), max_size=30),
    k=st.integers(min_value=0, max_value=40),
)
def test_top_k_takes_the_largest_and_accounts_for_the_rest(dist: dict[str, float], k: int) -> None:
    result = top_k(dist, k)
    assert len(result.items) == min(k, len(dist))
    values = [v for _, v in result.items]
    assert values == sorted(values, reverse=True)
    rest = [v for key, v in dist.items() if key not in dict(result.items)]
    assert all(v <= min(values) for v in rest) if values else True
    assert result.remaining == pytest.approx(math.fsum(dist.values()) - math.fsum(values), abs=1e-9)


def test_top_k_example_and_bad_k() -> None:
    result = top_k({"0": 0.1, "1": 0.6, "2": 0.3}, 2)
    assert result.items == [("1", 0.6), ("2", 0.3)]
    assert result.remaining == pytest.approx(0.1)
    with pytest.raises(ConfigurationError, match="k:"):
        top_k({}, -1)
