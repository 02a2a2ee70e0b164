"""Generated NumPy code: agrees with high-precision values, and is numerically stable."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from symdl.codegen import numpy_function
from symdl.errors import UnsupportedError
from symdl.explicit import instances
from symdl.parse import parse
from symdl.shapes import Scope
from symdl.verify.precise import Evaluator

SHAPES = {"W": "3x2", "x": "2", "y": "3", "A": "3x3", "z": "4"}
CASES = [
    "sum((W @ x - y)**2)",
    "sum(tanh(W @ x) * y)",
    "logdet(A @ A.T + 3)",
    "tr(inv(A) @ A.T)",
    "det(A) * norm(y)",
    "sum(softmax(z) * z)",
    "logsumexp(z) - mean(z)",
    "sum(sigmoid(W @ x)) + sum(softplus(y))",
    "sum(relu(y)) + sum(abs(z)) + sum(heaviside(z))",
    "sum(maximum(y, 0.5) + minimum(y, -0.5))",
    "sum(erf(z) + sqrt(z**2 + 1) + exp(-z))",
    "a**b + sin(a)*cos(b) - tan(a/4) + sinh(b) / cosh(a)",
]


@pytest.mark.parametrize("text", CASES)
def test_generated_code_matches_high_precision(text):
    scope = Scope.build(SHAPES)
    expr = parse(text, scope=scope)
    names = sorted({m.name for m in expr.atoms(sp.MatrixSymbol)})
    scalars = sorted(s.name for s in expr.free_symbols if isinstance(s, sp.Symbol))
    inst = instances(scope, set(names))[0]
    rng = np.random.default_rng(3)
    env, point = {}, {}
    for name in names:
        m = inst.entries[name]
        value = rng.uniform(0.3, 1.5, size=m.shape) * rng.choice([-1, 1], size=m.shape)
        env[name] = value
        point.update({sym: float(v) for sym, v in zip(m, value.ravel())})
    for s in scalars:
        env[s] = float(rng.uniform(0.5, 1.5))
        point[sp.Symbol(s, real=True)] = env[s]
    code = numpy_function(expr, names + scalars)
    with np.errstate(all="raise", under="ignore"):
        got = float(np.asarray(code(**env)).reshape(()))
    want = Evaluator(point, dps=30)(inst.lower(expr))
    assert abs(got - float(want)) <= 1e-12 * max(1.0, abs(float(want)))


@pytest.mark.parametrize("x", [-1000.0, -50.0, 0.0, 50.0, 1000.0])
def test_stable_forms_never_overflow(x):
    scope = Scope.build({"z": "3"})
    # underflow to 0 is the right answer far in the tails; anything else is an error
    with np.errstate(all="raise", under="ignore"):
        for text in ("sigmoid(a)", "softplus(a)"):
            f = numpy_function(parse(text), ["a"])
            got = float(f(x))
            exact = Evaluator({sp.Symbol("a", real=True): x}, dps=40)(parse(text))
            assert got == pytest.approx(float(exact), rel=1e-15, abs=1e-300)
        z = np.array([[x], [0.0], [-x]])
        soft = numpy_function(parse("softmax(z)", scope=scope), ["z"])(z)
        assert np.all(np.isfinite(soft)) and np.isclose(soft.sum(), 1.0)
        lse = numpy_function(parse("logsumexp(z)", scope=scope), ["z"])(z)
        with mpmath.workdps(30):
            ref = mpmath.log(sum(mpmath.exp(v) for v in (x, 0.0, -x)))
        assert float(lse) == pytest.approx(float(ref), rel=1e-15)


def test_logdet_of_a_negative_determinant_raises():
    f = numpy_function(parse("logdet(A)", {"A": "2x2"}), ["A"])
    with pytest.raises(FloatingPointError):
        f(np.array([[0.0, 1.0], [1.0, 0.0]]))


def test_source_is_readable_numpy():
    f = numpy_function(parse("sigmoid(W @ x)", {"W": "2x2", "x": "2"}), ["W", "x"], name="g")
    assert f.source == "def g(W, x):\n    return special.expit((W @ x))"


def test_complex_safe_code_accepts_complex_input():
    f = numpy_function(parse("sigmoid(a) + softplus(a)"), ["a"], complex_safe=True)
    h = 1e-20
    value = f(0.3 + 1j * h)
    s = 1 / (1 + np.exp(-0.3))
    assert abs(value.imag / h - (s * (1 - s) + s)) < 1e-15  # σ' + softplus' = σ(1 − σ) + σ


def test_missing_argument_is_a_clear_error():
    f = numpy_function(parse("a + b"), ["a", "b"])
    with pytest.raises(TypeError, match="missing values for b"):
        f(1.0)


def test_unknown_node_is_unsupported():
    with pytest.raises(UnsupportedError):
        numpy_function(sp.gamma(sp.Symbol("a")), ["a"])


@pytest.mark.parametrize(
    "text",
    [
        "sum(A @ (B * C))",  # printed A @ B*C, which Python reads as (A @ B)*C
        "sum((A * B)**2)",  # printed A*B**2
        "sum(2 * A.T @ (sigmoid(B) * (1 - sigmoid(B))))",
        "sum(-A @ B)",
        "sum((-A)**2 @ B)",
        "sum(A @ (B / C))",
    ],
)
def test_printed_source_means_what_the_callable_computes(text):
    from symdl.derive.layers.source import compile_function

    expr = parse(text, shapes={"A": "3 x 3", "B": "3 x 3", "C": "3 x 3"})
    fn = numpy_function(expr, ["A", "B", "C"])
    rng = np.random.default_rng(0)
    A, B, C = (rng.uniform(0.5, 1.5, size=(3, 3)) for _ in range(3))
    printed = compile_function(fn.source, "f")  # symdl's own text, as shown to users
    np.testing.assert_allclose(printed(A, B, C), fn(A, B, C), rtol=1e-14)
