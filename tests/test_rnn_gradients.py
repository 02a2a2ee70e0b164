"""The Jacobian product ∂h_t/∂h_k of a recurrent network and its bound (Pascanu et al. 2013).

γ is established from the catalogue (never typed in); the bound holds on random
instances; understating γ makes the check report violations; the product formula is
proved by SymPy and matches finite differences, and a wrong product does not.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from symdl.catalog.code import activation_code
from symdl.derive.rnn_gradients import (
    _against_differences,
    prove_product,
    rnn_gradient_bound,
    rounding,
    sup_derivative,
)
from symdl.errors import SymdlError, UnknownNameError

SMALL = {"hidden": (2, 4), "steps": 6, "spectral_norm": (0.5, 1.5), "instances": 6}


@pytest.mark.parametrize(("activation", "gamma"), [("tanh", 1.0), ("sigmoid", 0.25)])
def test_gamma_is_the_established_supremum_of_the_derivative(activation, gamma):
    value, evidence = sup_derivative(activation)
    assert value == gamma
    assert "sympy" in evidence


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_bound_holds_on_random_instances(activation):
    result = rnn_gradient_bound(activation, **SMALL, seed=3)
    assert result.verdict == "verified", result.summary()
    assert result.violations == 0
    assert result.min_slack >= -rounding(4, 6)
    assert result.pairs == 2 * 2 * 6 * (6 * 7 // 2)
    assert result.product == "proved"
    assert result.jacobian_checks == 8 and result.jacobian_failures == 0


def test_the_tanh_bound_is_nearly_attained():
    # orthogonal W_hh and small drives put every φ' near 1: the bound is tight
    result = rnn_gradient_bound("tanh", **SMALL, seed=0)
    assert 0 <= result.min_slack < 1e-3


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_an_understated_gamma_is_refuted(activation):
    gamma = sup_derivative(activation)[0]
    result = rnn_gradient_bound(activation, **SMALL, gamma=gamma / 2)
    assert result.verdict == "refuted"
    assert result.violations > 0
    assert result.min_slack < 0
    assert result.claimed_gamma == gamma / 2 and result.gamma == gamma
    assert "checked with γ = " in result.summary()


def test_a_bound_attained_exactly_is_not_a_violation():
    # ReLU with an orthogonal W_hh and positive states: every product has norm exactly
    # σ^(t−k); float64 may land a few ulps above it
    result = rnn_gradient_bound("relu", hidden=(3, 8), steps=8, spectral_norm=1.0, instances=6)
    assert result.verdict == "verified"
    assert abs(result.min_slack) < 1e-13


def test_long_spans_neither_overflow_nor_underflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        result = rnn_gradient_bound(
            "tanh", hidden=3, steps=150, spectral_norm=(0.01, 40.0), instances=2
        )
    assert result.verdict == "verified"
    assert result.pairs == 2 * 2 * 150 * 151 // 2


def test_a_slightly_understated_gamma_is_refuted_too():
    result = rnn_gradient_bound("tanh", **SMALL, gamma=0.99)
    assert result.verdict == "refuted"


def test_an_overstated_gamma_holds_with_room():
    result = rnn_gradient_bound("tanh", **SMALL, gamma=2.0)
    assert result.verdict == "verified"
    assert result.min_slack > 0.4


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_the_product_formula_is_proved(activation):
    assert prove_product(activation, hidden=2, steps=3) == "proved"


def test_a_proof_out_of_time_is_undecided_not_a_hang():
    assert prove_product("softsign", hidden=2, steps=3, timeout=0.5) == "undecided"


def test_a_transposed_product_disagrees_with_finite_differences():
    rng = np.random.default_rng(0)
    n, steps = 3, 4
    w = rng.standard_normal((n, n))
    u = rng.standard_normal((steps, n))
    h0 = rng.standard_normal(n)
    phi, dphi = activation_code("tanh"), activation_code("tanh", derivative=True)
    h, right, wrong = h0, [], []
    for drive in u:
        a = w @ h + drive
        right.append(dphi(a)[:, None] * w)
        wrong.append(dphi(a)[:, None] * w.T)
        h = phi(a)
    assert _against_differences(phi, w, u, h0, right, np.random.default_rng(1))[0]
    assert not _against_differences(phi, w, u, h0, wrong, np.random.default_rng(1))[0]


def test_the_result_is_frozen_reproducible_and_states_the_equations():
    a = rnn_gradient_bound("tanh", hidden=2, steps=3, spectral_norm=1.0, instances=2, seed=7)
    b = rnn_gradient_bound("tanh", hidden=2, steps=3, spectral_norm=1.0, instances=2, seed=7)
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.verdict = "refuted"  # type: ignore[misc]
    texts = [e.text for e in a.equations]
    assert any("Π_(i=k+1..t) diag(tanh'(a_i)) W_hh" in t for t in texts)
    assert any("(γ σ_max(W_hh))^(t−k)" in t for t in texts)
    assert "Pascanu" in a.reference and "ICML 2013" in a.reference


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hidden": 0}, ValueError, "hidden"),
        ({"hidden": 2.5}, ValueError, "hidden"),
        ({"hidden": ()}, ValueError, "hidden"),
        ({"steps": 0}, ValueError, "steps"),
        ({"instances": True}, ValueError, "instances"),
        ({"spectral_norm": -1.0}, ValueError, "spectral_norm"),
        ({"spectral_norm": float("nan")}, ValueError, "spectral_norm"),
        ({"gamma": 0.0}, ValueError, "gamma"),
        ({"gamma": "1"}, ValueError, "gamma"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        rnn_gradient_bound("tanh", **kwargs)


def test_unknown_or_vector_activations_are_refused():
    with pytest.raises(UnknownNameError):
        rnn_gradient_bound("tanhh")
    with pytest.raises(SymdlError, match="not elementwise"):
        rnn_gradient_bound("softmax")
