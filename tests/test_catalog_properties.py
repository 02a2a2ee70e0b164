"""Properties of every activation are established with evidence, and are true.

Two independent checks per property: a table of textbook facts, and samples of the
function and its derivative in high precision that the established value must be
consistent with (a range contains every sampled value, a Lipschitz constant bounds every
sampled slope, a monotone function has no negative sampled slope, …).
"""

import mpmath
import pytest
import sympy as sp

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.catalog.properties import establish
from symdl.verify.precise import Evaluator

SCALAR = [a for a in ACTIVATIONS if not a.vector]
SAMPLES = [k / 4 for k in range(-80, 81)] + [-1e3, -200.0, -60.0, 60.0, 200.0, 1e3]
TOL = mpmath.mpf(10) ** -20


def value(expr, at):
    return Evaluator({X: at}, dps=40)(expr)


@pytest.fixture(scope="module", params=SCALAR, ids=[a.name for a in SCALAR])
def established(request):
    entry = request.param
    return entry, establish(entry.name)


def test_every_property_has_a_method_and_evidence(established):
    _, props = established
    for key, prop in props.items():
        assert prop.method, key
        assert prop.evidence, key


def test_range_contains_every_sample(established):
    entry, props = established
    f, _ = entry.at()
    rng = props.range.value
    lo, hi = rng.inf, rng.sup
    low = value(lo, 0) if lo.is_finite else None  # the bounds themselves, in 40 digits
    high = value(hi, 0) if hi.is_finite else None
    for at in SAMPLES:
        v = value(f, at)
        with mpmath.workdps(40):  # the comparison itself in 40 digits, like the values
            if low is not None:
                assert v >= low - TOL * (1 + abs(v)), (at, v, rng)
            if high is not None:
                assert v <= high + TOL * (1 + abs(v)), (at, v, rng)


def test_lipschitz_constant_bounds_every_slope(established):
    entry, props = established
    _, d = entry.at()
    bound = mpmath.mpf(float(props.lipschitz.value))
    steepest = max(abs(value(d, at)) for at in SAMPLES)
    assert steepest <= bound * (1 + mpmath.mpf(10) ** -12)
    if props.lipschitz.method != "interval arithmetic":  # exact methods give the supremum
        assert steepest >= bound * (1 - mpmath.mpf(10) ** -2)


def test_monotonicity_agrees_with_sampled_slopes(established):
    entry, props = established
    _, d = entry.at()
    slopes = [value(d, at) for at in SAMPLES]
    if props.monotone.value in ("increasing", "non-decreasing"):
        assert min(slopes) >= 0
    elif props.monotone.value == "no":
        assert min(slopes) < 0


def test_kinks_are_where_the_derivative_jumps(established):
    entry, props = established
    f, _ = entry.at()
    g = sp.diff(f, X)
    h = mpmath.mpf(10) ** -12
    for k in props.kinks.value:
        at = mpmath.mpf(float(k))
        assert abs(value(g, at - h) - value(g, at + h)) > mpmath.mpf(10) ** -6


def test_zero_centred_means_f0_is_zero_and_both_signs(established):
    entry, props = established
    f, _ = entry.at()
    values = [value(f, at) for at in SAMPLES]
    centred = value(f, 0) == 0 and min(values) < 0 < max(values)
    assert props.zero_centred.value == centred


# textbook facts: (range as (lower, upper, left_open, right_open), monotone, smoothness,
# Lipschitz, zero-centred, kinks)
OO = sp.oo
FACTS = {
    "identity": ((-OO, OO), "increasing", "C^∞", 1, True, ()),
    "sigmoid": ((0, 1), "increasing", "C^∞", sp.Rational(1, 4), False, ()),
    "tanh": ((-1, 1), "increasing", "C^∞", 1, True, ()),
    "relu": ((0, OO), "non-decreasing", "C⁰", 1, False, (0,)),
    "relu6": ((0, 6), "non-decreasing", "C⁰", 1, False, (0, 6)),
    "leaky_relu": ((-OO, OO), "increasing", "C⁰", 1, True, (0,)),
    "prelu": ((-OO, OO), "increasing", "C⁰", 1, True, (0,)),
    "elu": ((-1, OO), "increasing", "C¹", 1, True, ()),
    "celu": ((-1, OO), "increasing", "C¹", 1, True, ()),
    "softplus": ((0, OO), "increasing", "C^∞", 1, False, ()),
    "softsign": ((-1, 1), "increasing", None, 1, True, ()),
    "hard_tanh": ((-1, 1), "non-decreasing", "C⁰", 1, True, (-1, 1)),
    "hard_sigmoid": ((0, 1), "non-decreasing", "C⁰", sp.Rational(1, 6), False, (-3, 3)),
    "gelu": ((None, OO), "no", "C^∞", None, True, ()),
    "swish": ((None, OO), "no", "C^∞", None, True, ()),
    "mish": ((None, OO), "no", "C^∞", None, True, ()),
}


@pytest.mark.parametrize("name", sorted(FACTS))
def test_textbook_facts(name):
    (lo, hi), monotone, smooth, lipschitz, centred, kinks = FACTS[name]
    props = establish(name)
    rng = props.range.value
    if lo is not None:
        assert abs(float(rng.inf) - float(lo)) < 1e-9 if lo != -OO else rng.inf == -OO
    assert abs(float(rng.sup) - float(hi)) < 1e-9 if hi != OO else rng.sup == OO
    assert props.monotone.value == monotone
    if smooth is not None:
        assert props.smoothness.value == smooth
    if lipschitz is not None:
        assert abs(float(props.lipschitz.value) - float(lipschitz)) < 1e-9
    assert props.zero_centred.value == centred
    assert [float(k) for k in props.kinks.value] == [float(k) for k in kinks]


def test_gelu_minimum_is_established():
    """GELU's minimum ≈ −0.17 at x ≈ −0.75 (Hendrycks & Gimpel 2016, fig. 1)."""
    rng = establish("gelu").range.value
    assert -0.1701 < float(rng.inf) < -0.1699
