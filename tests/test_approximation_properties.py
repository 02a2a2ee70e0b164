"""Properties: the observed sup error never exceeds the certified bound on random targets."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from symdl.derive.approximation import (
    deep_interpolation,
    relu_interpolation,
    sigmoid_staircase,
    triangulation_interpolation,
)
from symdl.derive.approximation_certificate import within

#: Each example builds and checks a network; the ci profile runs more of them.
_MANY = 25 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 8
_FEW = 6 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 3

small = st.integers(-3, 3)


@st.composite
def smooth_targets(draw: st.DrawFn) -> str:
    """Polynomials, trigonometric and exponential compositions with small coefficients."""
    kind = draw(st.sampled_from(["poly", "trig", "exp", "composition"]))
    a, b, c = draw(small), draw(small), draw(small)
    if kind == "poly":
        return f"{a}*x**3 + {b}*x**2 + {c}*x + 1"
    if kind == "trig":
        return f"{a}*sin({b}*x + {c}) + cos(x)"
    if kind == "exp":
        return f"exp({b}*x/2) + {a}*x"
    return f"sin(exp(x/2) + {a}) * exp(-x**2*{abs(b)})"


intervals = st.sampled_from([(-1, 1), (0, 1), (0, "pi"), ("-1/2", 2)])
tolerances = st.sampled_from([1e-1, 1e-2, 1e-3])


@settings(max_examples=_MANY)
@given(smooth_targets(), intervals, tolerances)
def test_relu_bound_holds(text, interval, eps):
    r = relu_interpolation(text, *interval, eps=eps, points=2001)
    assert r.status == "proved"
    # the float64 grid may exceed a bound by its own rounding (a linear f has bound 0 and a
    # grid error of 4e-16); the 30-digit check may not
    assert within(r.observed, r.bound, 1e-12) and r.bound <= eps
    assert r.observed_precise <= r.bound
    assert r.verdict == "proved"


@settings(max_examples=_FEW)
@given(smooth_targets(), intervals, st.sampled_from(["sigmoid", "tanh", "hard_sigmoid"]))
def test_staircase_bound_holds(text, interval, activation):
    r = sigmoid_staircase(text, *interval, eps=0.1, activation=activation, points=2001)
    assert within(r.observed, r.bound, 1e-12) and r.bound <= 0.1
    assert r.observed_precise <= r.bound
    assert r.verdict == "proved"


@settings(max_examples=_FEW)
@given(smooth_targets(), intervals, st.sampled_from([1e-2, 1e-3]))
def test_deep_bound_holds(text, interval, eps):
    r = deep_interpolation(text, *interval, eps=eps, points=2001)
    assert within(r.observed, r.bound, 1e-12) and r.bound <= eps
    assert r.observed_precise <= r.bound
    assert r.verdict == "proved"


@st.composite
def smooth_targets_2d(draw: st.DrawFn) -> str:
    a, b, c = draw(small), draw(small), draw(small)
    return draw(
        st.sampled_from(
            [
                f"{a}*x**2 + {b}*x*y + {c}*y**2",
                f"sin({a}*x + {b}*y) + {c}",
                f"exp(({a}*x - {b}*y)/3)",
                f"x*y*cos({c}*x)",
            ]
        )
    )


@settings(max_examples=_FEW)
@given(smooth_targets_2d(), st.integers(1, 5))
def test_triangulation_bound_holds(text, n):
    r = triangulation_interpolation(text, n=n, points=65)
    assert within(r.observed, r.bound, 1e-12)
    assert r.observed_precise <= r.bound
    assert r.verdict == "proved"
