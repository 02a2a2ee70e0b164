"""The high-precision evaluator (symdl.verify.precise) on SymPy's real and imaginary parts.

``sympy.diff`` writes :math:`|u|'` with ``re(u) + I*im(u)`` where it cannot show ``u``
real. With ``u`` real, ``im(u)`` is an exact 0 and so is ``I*im(u)``: such expressions
evaluate to their real values. A value that is genuinely complex is never returned as if
it were real.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symdl.errors import UnsupportedError
from symdl.parse import parse
from symdl.verify import check_identity
from symdl.verify.precise import Evaluator

x = sp.Symbol("x", real=True)


def value(e: sp.Basic, at: float = 0.75) -> mpmath.mpf:
    return Evaluator({x: mpmath.mpf(at)}, dps=30)(e)


@given(st.floats(min_value=-5, max_value=5, allow_nan=False))
def test_real_and_imaginary_parts_of_a_real_value(at):
    u = (2 + sp.sin(x)) ** sp.tanh(x)
    written = sp.erf(sp.re(u) + sp.I * sp.im(u)) * (sp.re(u) - sp.I * sp.im(u))
    assert value(written, at) == value(sp.erf(u) * u, at)


@pytest.mark.parametrize(
    "e",
    [x + sp.I, sp.I * x, sp.exp(sp.I * x), sp.log(x + sp.I), sp.sqrt(x - 2 + sp.I)],
    ids=str,
)
def test_complex_values_are_refused(e):
    with pytest.raises(UnsupportedError):
        value(e)


def test_a_complex_intermediate_with_a_real_result_is_exact():
    assert value((x + sp.I) * (x - sp.I)) == value(x**2 + 1)


def test_sympy_derivative_with_imaginary_parts_is_checked():
    # a draw of the derivation fuzz: SymPy's derivative keeps re(v) + I*im(v) for the
    # real v = (2 + sin|erf(u)|)**tanh(1/2)
    f = parse("abs(erf((2 + sin(abs(erf((2 + sin(0.5))**(tanh(x))))))**(tanh(0.5))))")
    assert sp.diff(f, x).has(sp.I)
    right = sp.diff(f, x).subs(sp.I, 0)
    assert check_identity(sp.diff(f, x), right, points=4, timeout=20.0).verdict == "proved"
    wrong = check_identity(sp.diff(f, x), 2 * right, points=4, timeout=20.0)
    assert wrong.verdict == "refuted"
