"""Initialisation schemes, derived: He, Glorot, LeCun, PReLU-He, SELU, init_for."""

import mpmath
import pytest
import sympy as sp

from symdl.derive.initialisation import (
    N_IN,
    N_OUT,
    glorot,
    he,
    init_for,
    lecun,
    selu_constants,
)
from symdl.derive.variance import propagate

# Klambauer et al. (2017): λ₀₁ and α₀₁ to 31 digits
with mpmath.workdps(40):
    LAMBDA = mpmath.mpf("1.0507009873554804934193349852946")
    ALPHA = mpmath.mpf("1.6732632423543772848170429916717")


def test_selu_constants_from_the_fixed_point_equations_to_30_digits():
    c = selu_constants(precision=32)
    with mpmath.workdps(40):
        assert abs(c.lambda_ - LAMBDA) < mpmath.mpf(10) ** -30
        assert abs(c.alpha - ALPHA) < mpmath.mpf(10) ** -30
    assert abs(c.mean_residual) < 1e-30 and abs(c.variance_residual) < 1e-30
    assert c.closed_form_agreement < 1e-30
    assert mpmath.nstr(c.lambda_, 20) == "1.0507009873554804934"
    assert mpmath.nstr(c.alpha, 20) == "1.6732632423543772848"
    # Klambauer et al. (2017), Theorem 1: J(0, 1) = [[0, 0.088834], [0, 0.782648]], norm 0.7877
    (j11, j12), (j21, j22) = c.jacobian
    assert (j11, j21) == (0.0, 0.0)
    assert round(j12, 6) == 0.088835 and round(j22, 6) == 0.782648
    assert round(c.spectral_norm, 4) == 0.7877


def test_wrong_selu_constants_fail_the_equations():
    from symdl.derive.gaussian import gaussian_activation, moment

    for lam, alpha in ((LAMBDA, ALPHA * (1 + 1e-9)), (LAMBDA * 1.001, ALPHA), (1, 1.6733)):
        act = gaussian_activation(
            "selu", **{"lambda": sp.Float(lam, 40), "alpha": sp.Float(alpha, 40)}
        )
        mean = moment(act, 1, "mean", precision=30).value
        var = moment(act, 1, "square", precision=30).value - 1
        assert max(abs(mean), abs(var)) > 1e-12


def test_named_schemes():
    a = sp.Symbol("alpha", real=True)
    assert sp.simplify(lecun().variance - 1 / N_IN) == 0
    assert sp.simplify(glorot().variance - 2 / (N_IN + N_OUT)) == 0
    assert sp.simplify(he().variance - 2 / N_IN) == 0
    assert sp.simplify(he("leaky_relu").variance - 2 / ((1 + a**2) * N_IN)) == 0
    assert sp.simplify(he("leaky_relu", alpha=0.2).variance - sp.Rational(25, 13) / N_IN) == 0
    # not the off-by-a-factor neighbours
    assert sp.simplify(he().variance - 1 / N_IN) != 0
    assert sp.simplify(glorot().variance - 1 / (N_IN + N_OUT)) != 0
    with pytest.raises(ValueError, match="rectifier"):
        he("tanh")


def test_glorot_is_the_compromise():
    # equal widths: both conditions hold; unequal: the forward and backward gains straddle 1
    v = glorot().variance
    assert v.subs({N_IN: 100, N_OUT: 100}) * 100 == 1
    fwd, bwd = (v * N_IN).subs({N_IN: 100, N_OUT: 300}), (v * N_OUT).subs({N_IN: 100, N_OUT: 300})
    assert fwd < 1 < bwd and sp.simplify((fwd + bwd) / 2 - 1) == 0


@pytest.mark.parametrize(
    "name, params, want",
    [("relu", {}, 2), ("leaky_relu", {"alpha": 0.2}, sp.Rational(2) / sp.Rational(26, 25)),
     ("identity", {}, 1), ("prelu", {"alpha": -0.5}, sp.Rational(8, 5))],
)  # fmt: skip
def test_init_for_rectifiers_recovers_he(name, params, want):
    init = init_for(name, parameters=params)
    assert init.method == "closed form"
    with mpmath.workdps(40):
        exact = mpmath.mpf(sp.N(want, 40))
        assert abs(init.forward_sigma_w2 - exact) < 1e-28
        assert abs(init.backward_sigma_w2 - exact) < 1e-28


@pytest.mark.parametrize("name", ["tanh", "gelu", "swish"])
def test_init_for_preserves_the_forward_signal(name):
    init = init_for(name, q=1.0, sigma_b2=0.1, precision=20)
    sw = float(init.forward_sigma_w2)
    profile = propagate(name, depth=6, sigma_w2=sw, sigma_b2=0.1, q0=0.9 / sw)
    assert all(abs(s.q - 1) < 1e-12 for s in profile.layers)
    back = propagate(name, depth=4, sigma_w2=float(init.backward_sigma_w2), sigma_b2=0.1,
                     q0=(1 - 0.1) / float(init.backward_sigma_w2))  # fmt: skip
    assert back.layers[0].q == pytest.approx(1.0, rel=1e-12)
    # the backward factor σ_w²·E[φ'(z¹)²] between layers 1 and 2 is exactly 1 at q₁ = 1
    ratio = back.layers[0].gradient / back.layers[1].gradient
    assert ratio == pytest.approx(1.0, rel=1e-12)


def test_selu_init_is_one():
    init = init_for("selu", precision=25)
    assert abs(init.forward_sigma_w2 - 1) < 1e-23


def test_init_for_bad_input():
    with pytest.raises(ValueError, match="sigma_b2 < q"):
        init_for("tanh", q=1.0, sigma_b2=2.0)
