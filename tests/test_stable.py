"""The stable rewrite layer: every rule is an identity, and it removes the instability."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from sympy.codegen.cfunctions import expm1, log1p

from symdl import check_identity
from symdl.codegen import elementwise_function, numpy_function
from symdl.kernels import normal_cdf
from symdl.nodes import ndtr, sigmoid, softplus
from symdl.stable import stabilize
from symdl.strategies import expressions, points
from symdl.verify.stability import probe

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
p = sp.Symbol("p", positive=True)

# (unstable form, the form stabilize must produce)
REWRITES = [
    (1 - sigmoid(x), sigmoid(-x)),
    (3 - 3 * sigmoid(2 * x), 3 * sigmoid(-2 * x)),
    (sigmoid(x) * (1 - sigmoid(x)), sigmoid(x) * sigmoid(-x)),
    (1 + sp.tanh(x), 2 * sigmoid(2 * x)),
    (1 - sp.tanh(x), 2 * sigmoid(-2 * x)),
    (sp.Rational(1, 2) + sp.tanh(x) / 2, sigmoid(2 * x)),
    (1 - sp.tanh(x) ** 2, 4 * sigmoid(2 * x) * sigmoid(-2 * x)),
    (1 / (1 + sp.exp(-x)), sigmoid(x)),
    (sp.log(1 + sp.exp(x)), softplus(x)),
    (sp.log(sigmoid(x)), -softplus(-x)),
    (sp.log(1 - sigmoid(x)), -softplus(x)),
    (sp.exp(x) - 1, expm1(x)),
    (2 - 2 * sp.exp(x), -2 * expm1(x)),
    (sp.log(1 + x**2), log1p(x**2)),
    (1 + sp.erf(x), sp.erfc(-x, evaluate=False)),
    (1 - sp.erf(x), sp.erfc(x)),
    (1 + sp.erf(x / sp.sqrt(2)), 2 * ndtr(x)),
    (x * (1 - sp.erf(x / sp.sqrt(2))) / 2, x * ndtr(-x)),
    (y + 1 - sigmoid(x), y + sigmoid(-x)),  # the other terms of the sum are kept
]


@pytest.mark.parametrize(("unstable", "stable"), REWRITES, ids=[str(u) for u, _ in REWRITES])
def test_rewrite_produces_the_stable_form(unstable, stable):
    assert stabilize(unstable) == stable


@pytest.mark.parametrize(("unstable", "stable"), REWRITES, ids=[str(u) for u, _ in REWRITES])
def test_every_rewrite_is_an_identity(unstable, stable):
    report = check_identity(unstable.rewrite(sp.erf), stable.rewrite(sp.erf).rewrite(sp.exp))
    assert report.verdict in ("proved", "verified"), report


@pytest.mark.parametrize(
    "already",
    [x, sp.exp(x) + 1, sp.log(2 + x), sigmoid(x), 2 * sp.tanh(x) + 1, sp.log(p)],
    ids=str,
)
def test_stable_forms_are_left_alone(already):
    assert stabilize(already) == already


@given(st.sampled_from([u for u, _ in REWRITES]))
def test_stabilize_is_idempotent(unstable):
    once = stabilize(unstable)
    assert stabilize(once) == once


def test_matrix_expressions_pass_through():
    from symdl.parse import parse

    e = parse("sum(sigmoid(W @ v) * (1 - sigmoid(W @ v)))", {"W": "2x2", "v": "2"})
    f = numpy_function(e, ["W", "v"])
    W = np.array([[40.0, 0.0], [0.0, -40.0]])
    v = np.ones((2, 1))
    # naive 1 - σ(40) is 0 in float64; the stable form keeps σ(40)σ(−40)
    assert math.isclose(
        float(f(W, v)), 2 * float(sp.N(sigmoid(40) * sigmoid(-40), 20)), rel_tol=1e-14
    )


def test_naive_and_stable_softplus_on_the_grid():
    unstable = numpy_function(sp.log(1 + sp.exp(x)), ["x"], stable=False)
    stable = elementwise_function(sp.log(1 + sp.exp(x)), x, limits=(sp.S.Zero, sp.oo))
    assert not probe(unstable, sp.log(1 + sp.exp(x)), x).ok
    result = probe(stable, sp.log(1 + sp.exp(x)), x, limits=(0.0, math.inf))
    assert result.ok, result.failures


def test_probe_catches_a_wrong_function():
    """The probe is a checker too: a function off by one ulp-scale factor must fail it."""
    wrong = elementwise_function(sigmoid(x) * (1 + sp.Rational(1, 10**12)), x)
    assert not probe(wrong, sigmoid(x), x).ok


@given(st.floats(min_value=-38.0, max_value=8.0))
def test_normal_cdf_is_accurate(v):
    import mpmath

    with mpmath.workdps(50):
        true = mpmath.ncdf(mpmath.mpf(v))
    got = float(normal_cdf(v))
    if abs(true) >= np.finfo(float).tiny:
        assert abs(got - true) <= 8e-16 * abs(true)  # a few ulps
    else:  # subnormal results: a few units of the subnormal spacing 2**-1074
        assert abs(got - true) <= 8 * 2.0**-1074


def test_piecewise_propagates_nan_and_stays_quiet():
    relu6 = sp.Piecewise((0, x < 0), (x, x < 6), (6, True))
    f = numpy_function(relu6, ["x"])
    with np.errstate(all="raise"):
        out = f(np.array([np.nan, -1.0, 3.0, 10.0]))
    assert np.isnan(out[0])
    assert out[1:].tolist() == [0.0, 3.0, 6.0]
    elu = sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True))
    with np.errstate(all="raise"):  # exp(1e4) in the unused branch must not overflow loudly
        assert numpy_function(elu, ["x"])(np.array([1e4]))[0] == 1e4


@given(text=expressions(max_depth=3), data=st.data())
def test_stabilize_keeps_random_functions_and_is_idempotent(text, data):
    import mpmath

    from symdl.parse import parse
    from symdl.verify.precise import Evaluator

    f = parse(text)
    once = stabilize(f)
    assert stabilize(once) == once
    assume(f.free_symbols)
    (v,) = f.free_symbols
    at = data.draw(points(f, min_value=-30.0, max_value=30.0), label="x")
    with mpmath.workdps(40):
        want, got = (Evaluator({v: at}, dps=40)(e) for e in (f, once))
        assert abs(got - want) <= mpmath.mpf(10) ** -30 * max(1, abs(want))
