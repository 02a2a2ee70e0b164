"""Combinations of sign cases that cannot occur (symdl.verify.sign_empty), and kinks of
constant sign settled (symdl.verify.sign_region.settled_kinks).

A region is shown empty only where no point has every decided argument of its sign: a
region built around a point — each argument given the sign it has there — is never
called empty. A kink is settled only where its argument keeps one sign everywhere, and
the settled expression has the original's value at every point."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdl.derivation import evaluate_derivatives
from symdl.nodes import softplus
from symdl.parse import parse
from symdl.verify import check_derivative
from symdl.verify.sign_cases import zero_by_cases
from symdl.verify.sign_empty import region_empty
from symdl.verify.sign_region import completed_square, settled_kinks

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
t = sp.Symbol("t", positive=True)
c = sp.Rational(43, 100)
Q = sp.exp(sp.sin(sp.Rational(1, 2))) / (1 + sp.exp(sp.sin(sp.Rational(1, 2))))


def mish(u: sp.Expr) -> sp.Expr:
    return u * sp.tanh(softplus(u))


EMPTY = [
    # one argument against the others after the case's substitutions
    ((t / 2 + sp.log(t**2 / 4 + 1), -1), (t / 2 - sp.log(t**2 / 4 + 1), -1)),
    # an argument written two ways, with opposite signs
    ((2 - sp.erf(x) / (x**2 + 1), 1), (2 - x * sp.erf(x) / (x**3 + x), -1)),
    # over one denominator the sign is plain: (t + 3x²)/(x² + 1) > 0
    ((t / (x**2 + 1) + 3 - 3 / (x**2 + 1), -1), (y, 1)),
    # a rational function of one variable with no root on t > 0
    ((t - 2 * t / (2 * t**2 + 2 * t + 5) + 1 - 2 / (4 * t**2 + 4 * t + 5), -1), (y, 1)),
    # mish(c − t) > c with c > 0, t > 0 cannot hold (mish(u) < c for u < c); the tail
    # t → ∞ is excluded by an enclosure that reaches infinity
    ((mish(c - t) - c, 1), (y, 1)),
    # sin + 2 < 0 anywhere
    ((sp.sin(sp.sqrt(1 + (y - sp.exp(x)) ** 2)) + 2, -1),),
    # a box cover: x > 1/2 and x² − x < −1/8 never hold together (x² − x ≥ −1/4 only)
    ((x - sp.Rational(1, 2), 1), (x**2 - x + sp.Rational(1, 8), -1), (x**3 - 2 * x, 1)),
    # a monotone tail: x − log(1 + x²) > 0 for x > 0 grows without bound
    ((x, 1), (x - sp.log(1 + x**2), -1)),
    # t³/(t + 1)³ > 1/2 needs t > 3.8, where t³/(t + 1)³ < q/(t² + 1) fails: on the tail
    # only t = 1/s, cancelled, bounds t³/(t + 1)³ = 1/(1 + s)³ away from 0
    (
        (t**3 / (t + 1) ** 3 - Q / (t**2 + 1), -1),
        (t**3 / (t + 1) ** 3 - sp.Rational(1, 2), 1),
    ),
    # t − p/2 + 1/(2 q) with q = s^tanh((t − 3)σ(3 − t)) = 1/p is t: t < 0 cannot hold
    (
        (
            t
            - (sp.sin(y) ** 2 + 2) ** sp.tanh((3 - t) * sp.exp(t)) / 2
            + 1 / (2 * (sp.sin(y) ** 2 + 2) ** sp.tanh((t - 3) * sp.exp(t))),
            -1,
        ),
        (y, 1),
    ),
    # an argument that is t written another way, twice: t < 0 against t > 0 (the two
    # copies must not vouch for each other)
    (
        (t - y / (x**2 + 1) + 2 * y / (2 * x**2 + 2), -1),
        (t - y / (x**2 + 1) + 2 * y / (2 * x**2 + 2), -1),
    ),
    # c = a + b with a, b > 0 and c < 0, where b and c − a are written differently
    (
        (x**2 * (sp.erf(x**2) + 1) - 2, 1),
        (5 * x / (2 * (sp.erf(y) ** 2 + 1)) + 2, 1),
        (x**2 * (sp.erf(x**2) + 1) + 5 * x / (2 * (sp.erf(y) ** 2 + 1)), -1),
    ),
]


@pytest.mark.parametrize("known", EMPTY, ids=str)
def test_combinations_that_cannot_occur_are_empty(known):
    assert region_empty(known)


NOT_EMPTY = [
    ((x, 1), (x - sp.Rational(1, 2), -1)),  # 0 < x < 1/2
    ((x**2 - x + sp.Rational(1, 8), -1), (x - sp.Rational(1, 2), 1)),  # just above 1/2
    ((mish(c - t) - c / 2, 1), (y, 1)),  # mish(c − t) > c/2 for small t
    ((x - sp.log(1 + x**2), -1),),  # every x < 0
    ((sp.sin(x) - sp.Rational(999, 1000), 1), (sp.cos(x), 1)),  # a narrow interval
    ((t - 10**6, 1), (sp.exp(-t) - sp.exp(-(10**6)), -1)),  # far out on the tail
    ((x - y, 1), (y - x + sp.Rational(1, 10**9), 1)),  # a thin strip
    # both hold at t = 1: 1/8 > 1/100, and 1/8 < q/2
    (
        (t**3 / (t + 1) ** 3 - Q / (t**2 + 1), -1),
        (t**3 / (t + 1) ** 3 - sp.Rational(1, 100), 1),
    ),
    (
        (x**2 * (sp.erf(x**2) + 1) - 2, 1),
        (5 * x / (2 * (sp.erf(y) ** 2 + 1)) + 2, 1),
        (x**2 * (sp.erf(x**2) + 1) + 5 * x / (2 * (sp.erf(y) ** 2 + 1)), 1),
    ),
]


@pytest.mark.parametrize("known", NOT_EMPTY, ids=str)
def test_combinations_that_occur_are_never_empty(known):
    assert not region_empty(known)


_ARGUMENTS = [
    x - y,
    x**2 - 2 * y,
    sp.sin(x) + y / 3,
    sp.exp(x) - 2,
    sp.log(1 + x**2) - y,
    sp.tanh(x * y) - sp.Rational(1, 3),
    x**3 - x + y,
    mish(x) - y,
]


@settings(max_examples=40)
@given(
    st.lists(st.sampled_from(_ARGUMENTS), min_size=1, max_size=4, unique=True),
    st.fractions(min_value=-4, max_value=4, max_denominator=50),
    st.fractions(min_value=-4, max_value=4, max_denominator=50),
)
def test_a_region_around_a_point_is_never_empty(arguments, px, py):
    point = {
        x: sp.Rational(px.numerator, px.denominator),
        y: sp.Rational(py.numerator, py.denominator),
    }
    known = []
    for a in arguments:
        value = a.xreplace(point).evalf(30)
        sign = 0 if value == 0 else 1 if value > 0 else -1
        known.append((a, sign))
    assert not region_empty(tuple(known))


@pytest.mark.parametrize(
    ("e", "settled"),
    [
        (sp.Abs(x**2 + 1), x**2 + 1),
        (sp.Max(sp.sin(x), 2, y), sp.Max(2, y)),
        (sp.Min(0, (2 + sp.sin(x)) ** sp.tanh(y)), 0),
        (sp.Heaviside(-sp.exp(x)), 0),
        (sp.sign(sp.erfc(x) + 1), 1),
        (sp.Abs(sp.Min(0, sp.exp(x))), 0),
    ],
    ids=str,
)
def test_kinks_of_constant_sign_are_settled(e, settled):
    assert settled_kinks(e) == settled


@pytest.mark.parametrize(
    "e",
    [sp.Abs(x), sp.Max(x, y), sp.Max(sp.sin(x), sp.Rational(1, 2)), sp.Heaviside(x**2 - 1)],
    ids=str,
)
def test_kinks_that_change_sign_are_kept(e):
    assert settled_kinks(e) == e


def test_a_variable_not_known_to_be_real_settles_nothing():
    z = sp.Symbol("z")
    assert settled_kinks(sp.Abs(z**2 + 1)) == sp.Abs(z**2 + 1)


@given(st.floats(min_value=-6, max_value=6, allow_nan=False))
def test_settled_kinks_keep_the_value(at):
    e = sp.Abs(sp.Min(0, 2 + sp.sin(x))) + sp.Max(sp.tanh(x), 2, x) * sp.sign(sp.exp(x) + x**2)
    settled = settled_kinks(e)
    assert settled != e
    assert float(settled.subs(x, at)) == pytest.approx(float(e.subs(x, at)), rel=1e-12)


def test_a_derivative_sympy_defines_nowhere_is_checked_on_the_settled_function():
    # min(0, 2 + sin x) is 0 everywhere: f is constant, but SymPy's derivative of f is
    # u u'/|u| with u ≡ 0, defined nowhere
    f = parse("softplus(abs(minimum(0, 2 + sin(x))))")
    assert evaluate_derivatives(sp.Derivative(f, x)) == 0
    assert check_derivative(f, "x", "0", points=4, timeout=20.0).verdict == "proved"
    wrong = check_derivative(f, "x", "cos(x)", points=4, timeout=20.0)
    assert wrong.verdict == "refuted"


def test_a_square_written_out_is_seen_whole():
    # SymPy writes sign(L² + 2Lu + u² + 1) for sign((u + L)² + 1): positive everywhere
    u, big = x - sp.exp(y), sp.log(1 + x**4)
    expanded = sp.expand(u**2 + 2 * u * big + big**2 + 1, deep=False)
    assert completed_square(expanded) == (u + big) ** 2 + 1
    assert zero_by_cases(sp.sign(expanded) - 1) is not None
    assert zero_by_cases(sp.sign(expanded - 2) - 1) is None  # (u + L)² − 1 changes sign
    assert completed_square(sp.sin(x) + 1) is None
