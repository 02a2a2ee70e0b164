"""Gaussian expectations: every closed form against quadrature, and the reverse checks."""

import math

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symdl.catalog import ACTIVATIONS
from symdl.derive.gaussian import (
    cross_moment,
    gaussian_activation,
    moment,
    moment_float64,
)
from symdl.derive.gaussian_closed import closed_form
from symdl.errors import UnknownNameError, UnsupportedError

CLOSED = [
    ("identity", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.2}),
    ("prelu", {}),
    ("prelu", {"alpha": -0.5}),
    ("elu", {}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("celu", {"alpha": 2}),
]
KINDS = ["mean", "square", "derivative_square"]
SCALAR = [a.name for a in ACTIVATIONS if not a.vector]


@pytest.mark.parametrize("name, params", CLOSED)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("q", [0.05, 7.5])
def test_closed_form_matches_quadrature(name, params, kind, q):
    act = gaussian_activation(name, **params)
    exact = moment(act, q, kind, precision=30)
    numeric = moment(act, q, kind, precision=30, method="quadrature")
    assert exact.method == "closed form" and numeric.method == "quadrature"
    assert abs(exact.value - numeric.value) <= 1e-27 * max(1, abs(exact.value))


@pytest.mark.parametrize("name, params", CLOSED)
@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("c", [-0.95, 0.3, 0.999])
def test_cross_closed_form_matches_two_dimensional_rule(name, params, derivative, c):
    act = gaussian_activation(name, **params)
    exact = cross_moment(act, 0.7, 1.9, c, derivative=derivative)
    numeric = cross_moment(act, 0.7, 1.9, c, derivative=derivative, method="numeric")
    assert numeric.method == "gauss-legendre 2d"
    assert abs(float(exact.value) - float(numeric.value)) <= numeric.error + 1e-15


def test_relu_correlation_is_the_arc_cosine_kernel():
    # Cho & Saul (2009), degree 1: k(c) = (√(1 − c²) + (π − arccos c)c)/(2π) at q = 1
    for c in (-1.0, -0.4, 0.0, 0.5, 1.0):
        want = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / (2 * math.pi)
        assert float(cross_moment("relu", 1, 1, c).value) == pytest.approx(want, rel=1e-14)
    assert str(closed_form(gaussian_activation("relu"), "square")) == "q/2"


def test_a_wrong_closed_form_is_caught_by_quadrature():
    # He et al.'s q/2 is right; q/2 off by one part in a million, or q (the linear-unit
    # value), is not — quadrature separates them by far more than its error
    numeric = moment("relu", 2.0, "square", method="quadrature")
    assert abs(numeric.value - 1) <= numeric.error
    for wrong in (mpmath.mpf(1) * (1 + 1e-6), mpmath.mpf(2)):
        assert abs(numeric.value - wrong) > 1e6 * numeric.error


@pytest.mark.parametrize("name", SCALAR)
def test_float64_rule_agrees_with_mpmath_for_every_activation(name):
    for kind in KINDS:
        fast = moment_float64(name, 0.8, kind)
        slow = moment(name, 0.8, kind, precision=20, method="quadrature")
        assert abs(float(fast.value) - float(slow.value)) <= fast.error + slow.error


@given(
    name=st.sampled_from(["tanh", "gelu", "swish", "hard_tanh", "softplus", "elu"]),
    q=st.floats(min_value=0.01, max_value=20),
    c=st.floats(min_value=-1, max_value=1),
)
def test_cross_moment_properties(name, q, c):
    # E[φ(u₁)φ(u₂)] is bounded by E[φ²] (Cauchy–Schwarz) and equals it at c = 1
    square = float(moment_float64(name, q, "square").value)
    cross = cross_moment(name, q, q, c)
    assert abs(float(cross.value)) <= square + cross.error + 1e-12
    at_one = cross_moment(name, q, q, 1.0)
    assert abs(float(at_one.value) - square) <= at_one.error + 1e-12


def test_limit_at_zero_variance():
    # E[relu'(√q z)²] → 1/2 as q → 0⁺ (half the mass on each side of the kink)
    assert moment("relu", 0, "derivative_square").value == mpmath.mpf(1) / 2
    assert moment("tanh", 0, "derivative_square").value == 1


def test_kinks_found_from_the_catalogue():
    assert gaussian_activation("hard_tanh").kinks == (-1.0, 1.0)
    assert gaussian_activation("relu6").kinks == (0.0, 6.0)
    assert gaussian_activation("tanh").kinks == ()


def test_bad_input_is_a_clear_error():
    with pytest.raises(UnknownNameError, match="did you mean 'gelu'"):
        gaussian_activation("gleu")
    with pytest.raises(UnsupportedError, match="vector-valued"):
        gaussian_activation("softmax")
    with pytest.raises(ValueError, match="finite real number"):
        gaussian_activation("leaky_relu", alpha="nan")
    with pytest.raises(ValueError, match="q must be"):
        moment("tanh", -1.0)
    with pytest.raises(ValueError, match="kind"):
        moment("tanh", 1.0, "cube")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="c ≤ 1"):
        cross_moment("tanh", 1, 1, 1.5)


@pytest.mark.parametrize("text", ["erf(x)", "2*erf(3*x)", "x**3 - x", "x + x**2/2"])
def test_expression_closed_forms(text):
    # Williams (1997) for erf, Isserlis moments for polynomials — against quadrature
    act = gaussian_activation(text)
    assert act.family in ("erf", "polynomial")
    for kind in KINDS:
        exact = moment(act, 0.7, kind)
        numeric = moment(act, 0.7, kind, method="quadrature")
        assert exact.closed_form
        assert abs(exact.value - numeric.value) <= 1e-27 * max(1, abs(exact.value))
    for c in (-0.5, 0.3, 0.99):
        for derivative in (False, True):
            exact = cross_moment(act, 0.7, 1.4, c, derivative=derivative)
            numeric = cross_moment(act, 0.7, 1.4, c, derivative=derivative, method="numeric")
            assert exact.closed_form
            assert abs(float(exact.value) - float(numeric.value)) <= numeric.error + 1e-14


def test_expressions_without_closed_form_use_quadrature():
    act = gaussian_activation("relu(x) - gelu(x)")
    assert act.family == "" and act.kinks == (0.0,)
    assert moment(act, 1.0).method == "quadrature"
    with pytest.raises(ValueError, match="scalar in x alone"):
        gaussian_activation("x*y")
    with pytest.raises(TypeError, match="catalogue"):
        gaussian_activation("erf(x)", alpha=1)


def test_exact_zero_from_a_closed_form():
    # asin(0) is SymPy's exact 0, evaluated through the fallback path
    assert float(cross_moment("erf(x)", 1.0, 1.0, 0.0).value) == 0.0


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "swish", "mish", "elu"])
def test_float64_rules_are_stable_at_huge_variance(name):
    # the stable NumPy forms: no overflow warning (an error under this suite's settings)
    for q in (1e4, 1e10):
        assert math.isfinite(float(moment_float64(name, q, "square").value))
        assert math.isfinite(float(cross_moment(name, q, q, 0.5).value))
