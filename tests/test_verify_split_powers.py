"""Powers split by the terms of their exponents (symdl.verify.symbolic.split_powers): the
value never changes — at random points, bases of either sign, principal branches — and
``cancel`` then proves differences that ``expand`` could not finish, while a power off by
one factor of its base is never proved."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symdl.derivation import mathematical_verdict
from symdl.derive.steps import derive
from symdl.parse import parse
from symdl.verify import check_identity
from symdl.verify.symbolic import decide_zero, split_powers

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
u = 2 + sp.sin(x)

POWERS = [
    u ** (sp.tanh(y) - 1),
    u ** (sp.Rational(3, 2) + sp.tanh(y)),
    u ** (-2 * sp.tanh(y)),
    u ** sp.Rational(-5, 3),
    x ** (y - sp.Rational(1, 2)),  # a base of either sign: principal branches
    (x - y) ** (3 * sp.sqrt(2) * y + 1),
    sp.sqrt(1 + x**2) ** (x + 2),
]


@given(
    st.sampled_from(POWERS),
    st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3),
    st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3),
)
def test_splitting_changes_no_value(power, xv, yv):
    point = {x: sp.Float(xv, 30), y: sp.Float(yv, 30)}
    if power.base.subs(point).evalf(30) == 0:
        return
    before = complex(power.subs(point).evalf(30))
    after = complex(split_powers(power).subs(point).evalf(30))
    assert mpmath.almosteq(before, after, rel_eps=1e-20, abs_eps=1e-25), (power, point)


def test_a_power_is_one_generator_wherever_it_occurs():
    split = split_powers(u ** (sp.tanh(y) - 1) - u ** sp.tanh(y) / u)
    assert sp.cancel(sp.together(split)) == 0


@pytest.mark.parametrize(
    "wrong",
    [
        u ** (sp.tanh(y) - 1) - u ** sp.tanh(y),  # the factor 1/u dropped
        u ** (sp.tanh(y) + 1) - u ** sp.tanh(y) / u,  # the exponent's sign flipped
        u ** (2 * sp.tanh(y)) - u ** sp.tanh(y),  # a factor 2 lost
    ],
    ids=str,
)
def test_wrong_powers_are_never_zero(wrong):
    assert sp.cancel(sp.together(split_powers(wrong))) != 0
    assert decide_zero([wrong], timeout=20.0).zero is not True


@pytest.mark.parametrize(
    "text",
    [
        # smooth draws a 2026-11-30 derivation fuzz campaign left at "verified": the
        # symbolic step did not finish expanding them in 120 s
        "-(cos((-(mish((2 + sin(x))**(tanh(0.5))))) / (1 + ((-(mish(0.5))) / "
        "(1 + ((-(x)) / (1 + (y)**2))**2))**2)))",
        "(2 + sin(((((-3) / (1 + ((2 + sin(x))**(tanh(x)))**2)) * (((2 + sin(x))**(tanh(y)))"
        "**2))**2)**2))**(tanh(x))",
        "((mish(x)) / (1 + (sqrt(1 + ((2 + sin(x))**(tanh(cosh(sin(tanh(y))))))**2))**2)) "
        "/ (1 + (y)**2)",
    ],
)
def test_nested_powers_are_proved(text):
    f = parse(text)
    d = derive(f, "x", simplify=False)
    report = check_identity(d.result, sp.diff(f, x), points=4, timeout=20.0)
    assert mathematical_verdict(report) == "proved", report
