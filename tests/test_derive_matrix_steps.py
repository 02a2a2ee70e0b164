"""Activations defined piece by piece, and steps, in the matrix engine: the gradients of
ReLU6, leaky ReLU, ELU and hard tanh print in the input language (as sums of unit steps,
``heaviside(u, h0)`` with NumPy's value at 0) and are proved; a step's derivative is 0 off
its jump, stated in the report; the printed text and the code agree with the function, and
wrong gradients are refuted."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdl import ParseError, check_derivative
from symdl.codegen import numpy_function
from symdl.derive.matrix import matrix_gradient
from symdl.parse import parse
from symdl.unparse import piecewise_as_steps, to_text

SHAPES = {"W": "3x4", "x": "4"}
d = sp.Symbol("d", real=True)
H = sp.Rational(1, 2)


@pytest.mark.parametrize(
    "piecewise",
    [
        sp.Piecewise((0, d < 0), (1, d < 6), (0, True)),  # relu6'
        sp.Piecewise((1, d > 0), (sp.Rational(1, 100), True)),  # leaky_relu'
        sp.Piecewise((1, d > 0), (sp.exp(d), True)),  # elu'
        sp.Piecewise((0, d < -1), (1, d < 1), (0, True)),  # hard_tanh'
        sp.Piecewise((0, d <= 0), (1, True)),
        sp.Piecewise((3, d >= 2), (d, d > -1), (-d, True)),
    ],
    ids=str,
)
def test_a_threshold_chain_is_the_same_sum_of_steps_everywhere(piecewise):
    steps = piecewise_as_steps(piecewise)
    assert steps is not None and not steps.has(sp.Piecewise)
    for v in [-7, -2, -1, -H, 0, H, 1, 2, 3, 6, 7]:  # every threshold included
        assert sp.simplify(steps.subs(d, v) - piecewise.subs(d, v)) == 0, v
    assert parse(to_text(steps)).equals(steps)


@pytest.mark.parametrize(
    "piecewise",
    [
        sp.Piecewise((1, d < 0), (2, d > 0), (3, True)),  # mixed directions
        sp.Piecewise((0, d < 6), (1, d < 0), (2, True)),  # thresholds out of order
        sp.Piecewise((0, d < sp.Symbol("c")), (1, True)),  # a threshold that is no number
        sp.Piecewise((0, d < 0), (1, d**2 < 4), (2, True)),  # two expressions
        sp.Piecewise((0, d < 0), (1, d > 3)),  # undefined for 0 <= d <= 3
    ],
    ids=str,
)
def test_other_piecewise_expressions_are_not_written_as_steps(piecewise):
    assert piecewise_as_steps(piecewise) is None


def test_heaviside_takes_numpys_value_at_zero():
    assert parse("heaviside(x)") == sp.Heaviside(sp.Symbol("x", real=True))
    at_0 = parse("heaviside(x, 0)")
    assert at_0.args[1] == 0 and to_text(at_0) == "heaviside(x, 0)"
    fn = numpy_function(at_0, ["x"])
    assert fn(np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]
    assert numpy_function(parse("heaviside(x)"), ["x"])(0.0) == 0.5
    assert "np.heaviside(x, 0)" in fn.source
    for bad, message in [
        ("heaviside(x, y)", "must be a real number"),
        ("heaviside(x, 0, 1)", "takes 1 or 2 arguments"),
        ("exp(x, 1)", "takes 1 argument"),
    ]:
        with pytest.raises(ParseError, match=message):
            parse(bad)


@pytest.mark.parametrize("activation", ["relu6", "leaky_relu", "elu", "hard_tanh"])
def test_piecewise_activations_have_printed_proved_gradients(activation):
    f = f"sum({activation}(W @ x))"
    g = matrix_gradient(f, "W", shapes=SHAPES)
    assert g.verdict == "proved", g.report
    text = g.gradient_text("W")
    assert "heaviside" in text and "Piecewise" not in text
    assert check_derivative(f, "W", text, shapes=SHAPES, timeout=60).verdict in (
        "proved",
        "verified",
    )
    wrong = text.replace("@ x.T", "@ (2*x).T")
    assert check_derivative(f, "W", wrong, shapes=SHAPES, timeout=60).verdict == "refuted"


@pytest.mark.parametrize(
    ("f", "gradient"),
    [
        ("sum(heaviside(W @ x) * (W @ x))", "heaviside(W @ x) @ x.T"),
        ("sum(sign(W @ x) * (W @ x)**2)", "2*(sign(W @ x) * (W @ x)) @ x.T"),
        ("sum(heaviside(W @ x))", "zeros_like(W)"),
    ],
)
def test_a_steps_derivative_is_zero_off_the_jump(f, gradient):
    g = matrix_gradient(f, "W", shapes=SHAPES)
    assert g.verdict == "proved", g.report
    assert g.gradient_text("W") == gradient
    assert any("off the jump" in n for n in g.report.notes)
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    assert np.isfinite(g.code(W=W, x=x)["W"]).all()
    assert check_derivative(f, "W", gradient, shapes=SHAPES, timeout=60).verdict in (
        "proved",
        "verified",
    )
    if gradient != "zeros_like(W)":
        assert check_derivative(f, "W", "-" + gradient, shapes=SHAPES).verdict == "refuted"
