"""Values that cancel to zero are judged against the size of their terms, not themselves.

The generated float64 code of ``(1 − 2l/(l+L)) + (1 − 2L/(l+L))`` leaves ~1e−16 where the
value is 0; relative to 0 that is an infinite error, relative to the terms (size 2) it is
rounding. Wrong claims near zero must still be refuted.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdl import check_identity, numpy_function, parse
from symdl.verify.numeric_code import magnitude

ZERO_SUMS = [
    ("(1 - 2*l/(l + L)) + (1 - 2*L/(l + L))", {}),
    ("(x + 1)**2 - x**2 - 2*x - 1", {}),
    ("sigmoid(x) + sigmoid(-x) - 1", {}),
    ("sum(softmax(z)) - 1", {"z": "4"}),
    ("tr(A @ B) - tr(B @ A)", {"A": "3x3", "B": "3x3"}),
]


@pytest.mark.parametrize(("text", "shapes"), ZERO_SUMS)
def test_an_identically_zero_value_passes(text, shapes):
    assert check_identity(text, "0", shapes=shapes).verdict in ("proved", "verified")


@pytest.mark.parametrize(("text", "shapes"), ZERO_SUMS)
@pytest.mark.parametrize("slip", ["1e-6", "-1e-9"])
def test_a_small_constant_is_still_refuted(text, shapes, slip):
    assert check_identity(text, slip, shapes=shapes).verdict == "refuted"


def test_magnitude_sums_absolute_terms():
    x, y = sp.symbols("x y", real=True)
    assert magnitude(x - 2 * y) == sp.Abs(x) + 2 * sp.Abs(y)
    assert magnitude(sp.exp(x - y)) == sp.Abs(sp.exp(x - y))  # inside a function: as is


def test_a_broadcast_minus_one_compiles():
    shapes = {"P": "3", "g": "3", "th": "3"}
    lhs = "eta*P*(g + lam*th) - (eta*P*g + eta*lam*th)"
    assert check_identity(lhs, "eta*lam*th*(P - 1)", shapes=shapes).verdict == "proved"
    f = numpy_function(parse("x - ones_like(P)", shapes), ["x", "P"])
    np.testing.assert_array_equal(f(2.0, np.zeros((3, 1))), np.ones((3, 1)))


def test_a_scalar_broadcast_over_symbolic_dims_compiles():
    shapes = {"x": "n"}
    assert check_identity("x + 1", "1 + x", shapes=shapes).verdict in ("proved", "verified")
    assert check_identity("x + 1", "2 + x", shapes=shapes).verdict == "refuted"


# ---- a mismatch is confirmed only past the digits a cancellation costs --------------------

X = sp.Symbol("x", real=True)


def _ndtr_cases():
    from symdl.nodes import ndtr

    phi = (1 + sp.erf(X / sp.sqrt(2))) / 2  # loses ~120 digits to cancellation at x ≈ −23
    return ndtr, phi


@pytest.mark.parametrize("times_x", [False, True])
def test_a_true_identity_whose_side_cancels_deeply_is_not_refuted(times_x):
    """(1 + erf(x/√2))/2 at x ≈ −23 is 1e−118 from terms of size 1: at 30 and even 60 digits
    it evaluates to 0, which once made symdl refute Φ(x) = (1 + erf(x/√2))/2."""
    ndtr, phi = _ndtr_cases()
    factor = X if times_x else 1
    report = check_identity(factor * ndtr(X), factor * phi)
    assert report.verdict in ("proved", "verified"), str(report)


def test_a_wrong_identity_with_a_deep_cancellation_is_still_refuted():
    ndtr, phi = _ndtr_cases()
    assert check_identity(ndtr(X), phi * (1 + sp.Rational(1, 10**6))).verdict == "refuted"


def test_catalogue_nodes_of_constants_are_comparable_real_numbers():
    """softplus(2·sin 2) evaluated through complex exponentials once carried a 1e−49
    imaginary part, so maximum(x, softplus(2*sin(2))) raised SymPy's 'not comparable'."""
    lhs = "maximum(x, log(1 + exp(sin(2))**2))"
    assert check_identity(lhs, "maximum(x, softplus(2*sin(2)))").verdict in ("proved", "verified")
    assert check_identity(lhs, "maximum(x, softplus(2*sin(2.001)))").verdict == "refuted"
