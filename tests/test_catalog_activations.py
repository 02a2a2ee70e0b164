"""One suite over the activations registry: a new entry is tested automatically.

For every entry: the canonical derivative is proved equal to SymPy's, wrong derivatives
are refuted, the stable code passes the stability grid, the properties are re-established
and checked against samples and against textbook facts, and the LaTeX matches its golden
file (``SYMDL_UPDATE_GOLDEN=1 pytest tests/test_catalog_activations.py`` rewrites them).
"""

import math
import os
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symdl import check_derivative, check_identity
from symdl.catalog.activations import ACTIVATIONS, SELU_ALPHA, SELU_LAMBDA
from symdl.catalog.code import activation_code, limits_at_infinity
from symdl.catalog.entry import X
from symdl.catalog.show import activation_latex
from symdl.codegen import elementwise_function, numpy_function
from symdl.verify.precise import Evaluator
from symdl.verify.stability import probe

GOLDEN = Path(__file__).parent / "golden" / "latex"
ALL = list(ACTIVATIONS)
SCALAR = [a for a in ALL if not a.vector]
VECTOR = [a for a in ALL if a.vector]


def ids(entries):
    return [e.name for e in entries]


def value(expr, at, dps=40):
    return Evaluator({X: at}, dps=dps)(expr)


# ---- derivatives -------------------------------------------------------------------------


@pytest.mark.parametrize("entry", SCALAR, ids=ids(SCALAR))
def test_canonical_derivative_is_proved(entry):
    """With the parameters left symbolic: the identity holds for every parameter value."""
    report = check_derivative(entry.expr, X, entry.derivative)
    assert report.verdict == "proved", report


@pytest.mark.parametrize("entry", VECTOR, ids=ids(VECTOR))
def test_vector_jacobian_is_verified_at_two_sizes(entry):
    report = check_derivative(entry.expr, "z", entry.derivative)
    assert report.verdict in ("proved", "verified"), report
    assert any("n=2" in e.sizes and "n=3" in e.sizes for e in report.evidence), report


@pytest.mark.parametrize("entry", SCALAR, ids=ids(SCALAR))
@pytest.mark.parametrize("mistake", ["double", "negate", "plus one", "drop x"])
def test_wrong_derivatives_are_refuted(entry, mistake):
    d = entry.derivative
    wrong = {
        "double": 2 * d,
        "negate": -d,
        "plus one": d + 1,
        "drop x": d.subs(X, 0) if d.has(X) else d + X,  # a constant where it must vary
    }[mistake]
    report = check_derivative(entry.expr, X, wrong)
    assert report.verdict == "refuted", report


def test_softmax_jacobian_is_symmetric_but_log_softmax_is_not():
    """A transpose is not a mistake for a symmetric Jacobian, and is one otherwise."""
    soft, log_soft = ACTIVATIONS.get("softmax"), ACTIVATIONS.get("log_softmax")
    assert check_derivative(soft.expr, "z", soft.derivative.T).verdict in ("proved", "verified")
    assert check_derivative(log_soft.expr, "z", log_soft.derivative.T).verdict == "refuted"


def test_prelu_gradient_by_its_slope():
    grads = ACTIVATIONS.get("prelu").parameter_gradients()
    assert set(grads) == {"alpha"}
    assert check_identity(grads["alpha"], sp.Min(0, X)).ok


def test_aliases_resolve():
    assert ACTIVATIONS.get("silu") is ACTIVATIONS.get("swish")
    assert ACTIVATIONS.get("logistic") is ACTIVATIONS.get("sigmoid")


# ---- known closed forms ------------------------------------------------------------------

SQRT2PI = sp.sqrt(2 * sp.pi)
PHI1 = (1 + sp.erf(1 / sp.sqrt(2))) / 2  # Φ(1)
KNOWN = [
    ("sigmoid", 0, sp.Rational(1, 2), sp.Rational(1, 4)),
    ("tanh", 0, 0, 1),
    ("tanh", 1, sp.tanh(1), 1 - sp.tanh(1) ** 2),
    ("relu", -2, 0, 0),
    ("relu", 3, 3, 1),
    ("relu6", 7, 6, 0),
    ("leaky_relu", -2, sp.Rational(-2, 100), sp.Rational(1, 100)),
    ("prelu", -2, sp.Rational(-1, 2), sp.Rational(1, 4)),
    ("elu", -1, sp.exp(-1) - 1, sp.exp(-1)),
    ("selu", 1, SELU_LAMBDA, SELU_LAMBDA),
    ("selu", -1, SELU_LAMBDA * SELU_ALPHA * (sp.exp(-1) - 1), SELU_LAMBDA * SELU_ALPHA / sp.E),
    ("celu", -1, sp.exp(-1) - 1, sp.exp(-1)),
    ("gelu", 0, 0, sp.Rational(1, 2)),
    (
        "gelu",
        1,
        (1 + sp.erf(1 / sp.sqrt(2))) / 2,
        (1 + sp.erf(1 / sp.sqrt(2))) / 2 + 1 / SQRT2PI / sp.sqrt(sp.E),
    ),
    ("gelu_tanh", 0, 0, sp.Rational(1, 2)),
    ("softplus", 0, sp.log(2), sp.Rational(1, 2)),
    ("swish", 0, 0, sp.Rational(1, 2)),
    ("mish", 0, 0, sp.tanh(sp.log(2))),
    ("softsign", 1, sp.Rational(1, 2), sp.Rational(1, 4)),
    ("hard_sigmoid", 0, sp.Rational(1, 2), sp.Rational(1, 6)),
    ("hard_tanh", sp.Rational(1, 2), sp.Rational(1, 2), 1),
    ("identity", 5, 5, 1),
]


@pytest.mark.parametrize(("name", "at", "f_value", "d_value"), KNOWN)
def test_known_closed_forms(name, at, f_value, d_value):
    f, d = ACTIVATIONS.get(name).at()
    assert abs(value(f, at) - value(sp.sympify(f_value), 0)) < 1e-35
    assert abs(value(d, at) - value(sp.sympify(d_value), 0)) < 1e-35


def test_selu_constants_to_thirty_digits():
    # Klambauer et al. 2017, eq. 14: λ₀₁ ≈ 1.0507009873554804934193349852946,
    # α₀₁ ≈ 1.6732632423543772848170429916717
    assert mpmath.nstr(value(SELU_LAMBDA, 0), 30) == "1.05070098735548049341933498529"
    assert mpmath.nstr(value(SELU_ALPHA, 0), 30) == "1.67326324235437728481704299167"


# ---- numerical stability -----------------------------------------------------------------


def _limits(expr):
    found = limits_at_infinity(expr)
    if found is None:
        return None
    return tuple(float(v) if v.is_finite else (math.inf if v > 0 else -math.inf) for v in found)


@pytest.mark.parametrize("entry", SCALAR, ids=ids(SCALAR))
@pytest.mark.parametrize("which", ["value", "derivative"])
def test_stable_code_passes_the_grid(entry, which):
    f, d = entry.at()
    expr = f if which == "value" else d
    code = activation_code(entry.name, derivative=which == "derivative")
    result = probe(code, expr, X, limits=_limits(expr))
    assert result.ok, "\n".join(result.failures)
    assert result.points >= 30


@pytest.mark.parametrize("entry", SCALAR, ids=ids(SCALAR))
def test_limits_at_infinity_are_found(entry):
    """Every scalar activation has limits SymPy can find, so ±inf inputs are tested too."""
    f, d = entry.at()
    assert limits_at_infinity(f) is not None
    assert limits_at_infinity(d) is not None


@pytest.mark.parametrize("entry", VECTOR, ids=ids(VECTOR))
@pytest.mark.parametrize("scale", [1e-300, 1e-8, 1.0, 30.0, 700.0, 1e4])
def test_vector_code_is_stable(entry, scale):
    n = sp.Symbol("n", integer=True, positive=True)
    code = numpy_function(entry.expr, ["z"], sizes={n: 3})
    z = np.array([[scale], [0.0], [-scale]])
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        got = code(z)
    with mpmath.workdps(60):
        zs = [mpmath.mpf(v) for v in z.ravel()]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zs))
        true = [mpmath.exp(v - lse) if entry.name == "softmax" else v - lse for v in zs]
    for g, t in zip(got.ravel(), true):
        if abs(t) >= np.finfo(float).tiny:
            assert abs(g - t) <= 1e-13 * abs(t)
        else:
            assert abs(g - t) <= 1e-300


# ---- parameters (hypothesis) -------------------------------------------------------------

PARAMETRISED = [a for a in SCALAR if a.parameters and a.name != "selu"]


@given(
    st.sampled_from(PARAMETRISED),
    st.floats(min_value=0.05, max_value=5.0),
    st.floats(min_value=-20.0, max_value=20.0).filter(lambda v: abs(v) > 1e-3),
)
def test_derivative_matches_high_precision_differentiation(entry, p, at):
    values = {q.name: sp.Rational(p) for q in entry.parameters}
    f, d = entry.at(**values)
    with mpmath.workdps(80):  # central difference, h = 1e-15: truncation error ~ 1e-30
        t, h = mpmath.mpf(at), mpmath.mpf(10) ** -15
        numeric = (value(f, t + h, dps=80) - value(f, t - h, dps=80)) / (2 * h)
    assert abs(value(d, at) - numeric) <= mpmath.mpf(10) ** -25 * (1 + abs(numeric))


@given(
    st.sampled_from(PARAMETRISED),
    st.floats(min_value=0.05, max_value=5.0),
    st.floats(min_value=-60.0, max_value=60.0),
)
def test_stable_code_with_parameters(entry, p, at):
    values = {q.name: sp.Rational(p) for q in entry.parameters}
    f, _ = entry.at(**values)
    code = elementwise_function(f, X)  # finite inputs only: the limits at ±inf are not needed
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        got = float(code(np.array([at]))[0])
    true = value(f, at, dps=400)
    if abs(true) >= np.finfo(float).tiny:
        assert abs(got - true) <= 1e-13 * abs(true)
    else:
        assert abs(got - true) <= 1e-300


# ---- LaTeX -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
def test_latex_matches_golden_file(entry):
    path = GOLDEN / f"{entry.name}.tex"
    text = activation_latex(entry)
    if os.environ.get("SYMDL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SYMDL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
def test_latex_is_balanced(entry):
    text = activation_latex(entry)
    assert text.count("{") == text.count("}")
    assert text.count(r"\left") == text.count(r"\right")


@pytest.mark.parametrize("entry", SCALAR, ids=ids(SCALAR))
def test_edge_of_the_exponent_range_is_as_documented(entry):
    """Below x ≈ −708 exp(x) is subnormal. Results there keep 1e−13 relative accuracy,
    except values under 1e−290 built from a subnormal factor, which keep 1e−300 absolute
    accuracy (the README's known limit)."""
    from symdl.verify.stability import EDGE

    for which in ("value", "derivative"):
        f, d = entry.at()
        expr = f if which == "value" else d
        code = activation_code(entry.name, derivative=which == "derivative")
        for at in EDGE:
            got = float(code(np.array([at]))[0])
            true = value(expr, at, dps=400)
            rel_ok = abs(true) > 0 and abs(got - true) <= 1e-13 * abs(true)
            small_ok = abs(true) < 1e-290 and abs(got - true) <= 1e-300
            assert rel_ok or small_ok or got == true, (which, at, got, true)
