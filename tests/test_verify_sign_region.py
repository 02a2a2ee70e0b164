"""The sign of an expression throughout a region of sign cases (symdl.verify.sign_region):
settled only where it holds at every point — checked at random points of the region —
and left open (None) wherever the expression changes sign there."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symdl.verify.sign_region import sign_on_region

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
t = sp.Symbol("t", positive=True)
half = sp.Rational(1, 2)


@pytest.mark.parametrize(
    ("a", "known", "sign"),
    [
        (sp.erfc(x) + 3, (), 1),  # interval enclosure (SymPy's assumptions do not know)
        (x**2 - 2 * x + 2, (), 1),  # a polynomial with no real root
        (-(t**2) - t, (), -1),  # assumptions of a case's variable
        (t**3 / (t + 1) - half, ((t - half, -1),), -1),  # 0 < t < 1/2 narrows the range
        (t + sp.cos(y), ((sp.cos(y), 1),), 1),  # a decided argument inside
        (t + sp.cos(y) + sp.exp(y), ((sp.cos(y) + sp.exp(y), 1),), 1),  # … inside a sum
        (sp.cos(y) - 1, ((1 - sp.cos(y), -1),), 1),  # decided before, as −b
        (t - 3, ((t - 3, 0),), 0),
    ],
    ids=str,
)
def test_signs_that_hold_everywhere_on_the_region_are_settled(a, known, sign):
    assert sign_on_region(a, known) == sign


@pytest.mark.parametrize(
    ("a", "known"),
    [
        (sp.erfc(x) - 1, ()),  # changes sign at 0
        (x**2 - 2, ()),
        (t**2 - 3 * t + 1, ()),  # two positive roots
        (t**3 / (t + 1) - half, ()),  # positive for large t
        (t**3 / (t + 1) - half, ((t - 2, -1),)),  # 0 < t < 2 still holds a root
        (t - sp.cos(y), ((sp.cos(y), 1),)),
        (t + sp.cos(y) - 1, ((sp.cos(y), 1),)),
        (x - y, ((x + y, 1),)),
    ],
    ids=str,
)
def test_signs_that_change_on_the_region_are_left_open(a, known):
    assert sign_on_region(a, known) is None


@given(
    st.lists(st.integers(-6, 6), min_size=2, max_size=4),
    st.integers(-4, 4),
    st.sampled_from([1, -1]),
    st.lists(st.fractions(min_value=1e-6, max_value=100), min_size=20, max_size=20),
)
def test_a_settled_sign_holds_at_random_points_of_the_region(coeffs, bound, side, offsets):
    # a random polynomial in x on the region side·(x − bound) > 0
    a = sum(c * x**i for i, c in enumerate(coeffs))
    known = ((x - bound, side),)
    sign = sign_on_region(sp.expand(a), known)
    if sign is None:
        return
    for offset in offsets:
        p = bound + side * sp.Rational(offset.numerator, offset.denominator)
        v = a.subs(x, p)  # exact
        assert v > 0 if sign == 1 else v < 0 if sign == -1 else v == 0, (a, p, v)


def test_real_parts_are_written_out_only_where_the_argument_is_real():
    from symdl.verify.sign_region import real_parts

    u = (2 + sp.sin(x)) ** sp.tanh(x)
    assert real_parts(sp.re(u)) == u and real_parts(sp.im(u)) == 0
    assert real_parts(sp.arg(sp.exp(x))) == 0
    assert real_parts(sp.arg(-1 - x**2)) == sp.pi
    # complex somewhere on the real line: kept
    for kept in (sp.re(sp.sqrt(x)), sp.im(sp.log(x)), sp.arg(sp.sin(x)), sp.im(x ** sp.tanh(x))):
        assert real_parts(kept) == kept


def test_sympys_derivative_of_the_modulus_of_a_real_power_is_proved():
    from symdl.verify.symbolic import decide_zero

    u = (2 + sp.sin(x)) ** sp.tanh(x)
    sympys = sp.diff(sp.Abs(u), x)
    assert sympys.has(sp.re)  # SymPy cannot tell that u is real
    ours = u * sp.diff(u, x) / sp.Abs(u)
    assert decide_zero([sympys - ours], timeout=30.0).zero is True
    # u > 0, so |u|' = u' is right too (one sign case) …
    assert decide_zero([sympys - sp.diff(u, x)], timeout=30.0).zero is True
    # … and a flipped sign, a factor 2 or the logarithmic derivative are not
    for wrong in (-ours, 2 * ours, sp.diff(u, x) / u):
        assert decide_zero([sympys - wrong], timeout=5.0).zero is not True


def test_a_variable_not_known_to_be_real_settles_nothing():
    from symdl.verify.sign_region import real_parts

    z = sp.Symbol("z")  # complex: z**2 + 1 is 0 at z = i, re(z) is not z
    assert sign_on_region(z**2 + 1, ()) is None
    assert real_parts(sp.re(z)) == sp.re(z) and real_parts(sp.im(sp.exp(z))) == sp.im(sp.exp(z))
