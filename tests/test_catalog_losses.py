"""One suite over the losses registry: a new entry is tested automatically.

For every entry: the canonical gradient is proved (or verified) equal to the derivative,
wrong gradients are refuted, convexity in ``z`` is established and compared with the
textbook answer, the gradient matches high-precision numerical differentiation at random
parameters and points, and the generated NumPy code agrees with mpmath at moderate inputs.
"""

import dataclasses
import os
from functools import cache
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from symdl import check_derivative
from symdl.catalog.entry import Y, Z
from symdl.catalog.losses import (
    GAUSSIAN_NLL_VARIANCE_GRADIENT,
    LOSSES,
    TARGETS,
    VECTOR_SHAPES,
    convexity,
)
from symdl.catalog.show import loss_latex
from symdl.codegen import numpy_function
from symdl.errors import UnknownNameError
from symdl.explicit import Instance
from symdl.parse import parse
from symdl.shapes import Scope
from symdl.verify.admissible import conditions
from symdl.verify.precise import Evaluator

ALL = list(LOSSES)
SCALAR = [e for e in ALL if not e.vector]
VECTOR = [e for e in ALL if e.vector]


def ids(entries):
    return [e.name for e in entries]


def value(expr, z, y, dps=40):
    return Evaluator({Z: z, Y: y}, dps=dps)(sp.sympify(expr))


def claim(entry, mistake=None):
    """``check_derivative`` of the entry's gradient, or of a wrong one."""
    if entry.vector:
        g = entry.gradient_text
        wrong = {None: g, "double": f"2*({g})", "negate": f"-({g})"}[mistake]
        return check_derivative(
            entry.expr_text, "z", wrong, shapes=VECTOR_SHAPES, assume=entry.assume
        )
    g = entry.gradient
    wrong = {None: g, "double": 2 * g, "negate": -g}[mistake]
    return check_derivative(entry.expr, Z, wrong)


@cache
def lowered(name, size):
    """Vector entry ``name`` written out at n = ``size``: (f, gradient, z entries, y entries)."""
    entry = LOSSES.get(name)
    scope = Scope.build(VECTOR_SHAPES, entry.assume)
    (n,) = scope.dims()
    inst = Instance.build(scope, {n: size}, {"z", "y"})
    f, g = inst.lower(entry.expr), inst.lower(entry.gradient)
    return f, g, list(inst.entries["z"]), list(inst.entries["y"])


# ---- the registry ------------------------------------------------------------------------


def test_unknown_names_get_a_suggestion():
    with pytest.raises(UnknownNameError, match="did you mean 'hinge'"):
        LOSSES.get("hinje")


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
def test_entries_are_complete(entry):
    assert entry.latex and entry.domain and entry.doc
    assert entry.latex.count("{") == entry.latex.count("}")
    if entry.vector:
        assert entry.expr_text and entry.gradient_text
        assert parse(entry.expr_text, VECTOR_SHAPES) == entry.expr
        assert parse(entry.gradient_text, VECTOR_SHAPES) == entry.gradient
    else:
        assert entry.name in TARGETS
        assert entry.expr.free_symbols <= {Z, Y} | {p.symbol for p in entry.parameters}


def test_focal_cites_the_paper():
    assert "arXiv:1708.02002" in LOSSES.get("focal").reference


# ---- gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
def test_canonical_gradient_is_the_derivative(entry):
    """With the parameters left symbolic: the identity holds for every parameter value."""
    report = claim(entry)
    assert report.verdict in ("proved", "verified"), report


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
@pytest.mark.parametrize("mistake", ["double", "negate"])
def test_wrong_gradients_are_refuted(entry, mistake):
    report = claim(entry, mistake)
    assert report.verdict == "refuted", report


def test_finite_differences_run_for_softmax_cross_entropy():
    report = claim(LOSSES.get("softmax_ce"))
    fd = [e for e in report.evidence if e.method == "finite-differences"]
    assert fd and all(e.outcome == "agree" for e in fd), report


def test_gaussian_nll_gradient_by_the_variance_symbol():
    entry = LOSSES.get("gaussian_nll")
    (var,) = entry.parameters
    assert var.learnable
    report = check_derivative(entry.expr, var.symbol, GAUSSIAN_NLL_VARIANCE_GRADIENT)
    assert report.verdict == "proved", report


def test_gaussian_nll_gradient_by_the_variance():
    """The same claim in text, where ``var`` gets its positivity from ``assume``."""
    report = check_derivative(
        str(LOSSES.get("gaussian_nll").expr),
        "var",
        str(GAUSSIAN_NLL_VARIANCE_GRADIENT),
        assume={"var": "positive"},
    )
    assert report.verdict == "proved", report


def test_focal_gradient_is_the_papers_for_alpha_one():
    """Lin et al.: dFL/dx = y(1 − p_t)^γ (γ p_t log p_t + p_t − 1), x_t = yx, p_t = σ(x_t)."""
    entry = LOSSES.get("focal")
    gamma, alpha = (p.symbol for p in entry.parameters)
    for label, unweighted in ((1, 1), (-1, 0)):  # the α giving α_t = 1; γ stays symbolic
        f = entry.expr.xreplace({alpha: unweighted, Y: label})
        pt = 1 / (1 + sp.exp(-label * Z))
        paper = label * (1 - pt) ** gamma * (gamma * pt * sp.log(pt) + pt - 1)
        report = check_derivative(f, Z, paper)
        assert report.verdict in ("proved", "verified"), report


# ---- known values ------------------------------------------------------------------------

LOG2 = sp.log(2)
KNOWN = [
    # (name, parameters, z, y, loss, gradient)
    ("mse", {}, sp.Rational(3, 2), sp.Rational(3, 2), 0, 0),
    ("mse", {}, 3, 1, 4, 4),
    ("mae", {}, -1, 2, 3, -1),
    ("huber", {}, 1, 0, sp.Rational(1, 2), 1),
    ("huber", {}, 3, 0, sp.Rational(5, 2), 1),
    ("huber", {}, -3, 0, sp.Rational(5, 2), -1),
    ("huber", {"delta": 2}, 0, 1, sp.Rational(1, 2), -1),
    ("bce", {}, sp.Rational(1, 2), sp.Rational(1, 3), LOG2, sp.Rational(2, 3)),
    ("bce", {}, sp.Rational(1, 4), 1, 2 * LOG2, -4),
    ("bce_logits", {}, 0, 1, LOG2, -sp.Rational(1, 2)),
    ("bce_logits", {}, 0, 0, LOG2, sp.Rational(1, 2)),
    ("focal", {"gamma": 0, "alpha": sp.Rational(1, 2)}, 0, 1, LOG2 / 2, -sp.Rational(1, 4)),
    ("focal", {}, 0, 1, LOG2 / 16, (-LOG2 - sp.Rational(1, 2)) / 16),
    ("focal", {}, 0, -1, 3 * LOG2 / 16, 3 * (LOG2 + sp.Rational(1, 2)) / 16),
    ("hinge", {}, 0, 1, 1, -1),
    ("hinge", {}, sp.Rational(1, 2), -1, sp.Rational(3, 2), 1),
    ("hinge", {}, 2, 1, 0, 0),
    ("squared_hinge", {}, 0, 1, 1, -2),
    ("squared_hinge", {}, sp.Rational(1, 2), -1, sp.Rational(9, 4), 3),
    ("gaussian_nll", {}, 5, 5, sp.log(2 * sp.pi) / 2, 0),
    (
        "gaussian_nll",
        {"var": 4},
        0,
        2,
        sp.log(8 * sp.pi) / 2 + sp.Rational(1, 2),
        -sp.Rational(1, 2),
    ),
]


@pytest.mark.parametrize(("name", "params", "at", "target", "loss", "grad"), KNOWN)
def test_known_values(name, params, at, target, loss, grad):
    f, g = LOSSES.get(name).at(**params)
    assert abs(value(f, at, target) - value(loss, 0, 0)) < 1e-35
    assert abs(value(g, at, target) - value(grad, 0, 0)) < 1e-35


@pytest.mark.parametrize("delta", [sp.Rational(1, 3), 1, 5])
@pytest.mark.parametrize("side", [1, -1])
def test_huber_is_continuous_where_it_turns_linear(delta, side):
    f, g = LOSSES.get("huber").at(delta=delta)
    edge, h = side * delta, mpmath.mpf(10) ** -30
    for expr in (f, g):
        inner = value(expr, edge - side * h, 0, dps=60)
        outer = value(expr, edge + side * h, 0, dps=60)
        assert abs(inner - outer) < 1e-25
    assert abs(value(f, edge, 0) - value(delta**2 / 2, 0, 0)) < 1e-35


def vector_value(name, zs, ys, dps=40):
    f, _, z_syms, y_syms = lowered(name, len(zs))
    return Evaluator({**dict(zip(z_syms, zs)), **dict(zip(y_syms, ys))}, dps=dps)(f)


HALF = sp.Rational(1, 2)


@pytest.mark.parametrize(
    ("name", "zs", "ys", "want"),
    [
        ("softmax_ce", [0, 0, 0], [1, 0, 0], sp.log(3)),
        ("softmax_ce", [1, 0], [HALF, HALF], sp.log(1 + sp.E) - HALF),
        ("nll", [sp.Rational(1, 4), sp.Rational(3, 4)], [0, 1], sp.log(sp.Rational(4, 3))),
        ("kl", [sp.Rational(1, 5), sp.Rational(4, 5)], [sp.Rational(1, 5), sp.Rational(4, 5)], 0),
        ("kl", [HALF, HALF], [sp.Rational(1, 4), sp.Rational(3, 4)], 3 * sp.log(3) / 4 - LOG2),
    ],
)
def test_known_vector_values(name, zs, ys, want):
    exact = [value(sp.sympify(v), 0, 0, dps=60) for v in (*zs, *ys)]
    got = vector_value(name, exact[: len(zs)], exact[len(zs) :])
    assert abs(got - value(sp.sympify(want), 0, 0)) < 1e-35


# ---- convexity ---------------------------------------------------------------------------

CONVEX = {
    "mse": True,
    "mae": True,
    "huber": True,
    "bce": True,
    "bce_logits": True,
    "focal": False,  # γ = 2 on the logit (Lin et al. 2017)
    "hinge": True,
    "squared_hinge": True,
    "gaussian_nll": True,  # in the mean μ, at fixed σ²
    "softmax_ce": True,
    "nll": True,
    "kl": True,
}


@pytest.mark.parametrize("entry", ALL, ids=ids(ALL))
def test_convexity_is_established_as_the_textbooks_say(entry):
    assert entry.name in CONVEX, f"add the textbook convexity of {entry.name} to CONVEX"
    found = convexity(entry)
    assert found.value is CONVEX[entry.name], found
    assert found.method and found.evidence


def test_focal_is_not_convex_by_a_counterexample():
    found = convexity(LOSSES.get("focal"), gamma=2)
    assert found.value is False and found.method == "counterexample", found
    # independently: somewhere f'' < 0, found by a scan in high precision
    f, _ = LOSSES.get("focal").at(gamma=2)
    negative = False
    with mpmath.workdps(30):
        for label in (1, -1):
            for k in range(-80, 81):
                at = mpmath.mpf(k) / 10
                d2 = mpmath.diff(lambda t, lab=label: value(f, t, lab, dps=60), at, 2)
                negative = negative or d2 < -1e-6
    assert negative


def test_focal_without_focusing_is_the_convex_cross_entropy():
    found = convexity(LOSSES.get("focal"), gamma=0)
    assert found.value is True, found


def test_a_kink_that_bends_down_is_not_convex():
    """−|z − y| is linear on each piece; only the downward jump of f' shows it is concave."""
    concave = dataclasses.replace(LOSSES.get("mae"), expr=-sp.Abs(Z - Y))
    found = convexity(concave)
    assert found.value is False and "jumps down" in found.evidence, found


def test_softmax_ce_evidence_names_the_argument():
    found = convexity(LOSSES.get("softmax_ce"))
    assert "diag(p) − ppᵀ" in found.evidence and "n = 2, 3, 4" in found.method


# ---- random parameters and points (hypothesis) -------------------------------------------

PARAMETER_VALUES = {
    "delta": st.floats(min_value=0.1, max_value=5.0),
    "gamma": st.floats(min_value=0.0, max_value=5.0),
    "alpha": st.floats(min_value=0.01, max_value=0.99),
    "var": st.floats(min_value=0.1, max_value=5.0),
}


def targets(entry):
    t = TARGETS[entry.name]
    if isinstance(t, sp.FiniteSet):
        return st.sampled_from([int(v) for v in t])
    if t == sp.S.Reals:
        return st.floats(min_value=-10.0, max_value=10.0)
    return st.floats(min_value=float(t.inf), max_value=float(t.sup))


#: Where each scalar loss's prediction lives, when not on the whole line.
PREDICTIONS = {"bce": (0.01, 0.99)}


def predictions(entry):
    lo, hi = PREDICTIONS.get(entry.name, (-15.0, 15.0))
    return st.floats(min_value=lo, max_value=hi)


@st.composite
def cases(draw):
    """A scalar entry, parameter values, and a point (z, y) away from every kink."""
    entry = draw(st.sampled_from(SCALAR))
    params = {p.name: sp.Rational(draw(PARAMETER_VALUES[p.name])) for p in entry.parameters}
    at, target = draw(predictions(entry)), draw(targets(entry))
    f, g = entry.at(**params)
    for c in conditions([f]):
        if c.kind == "kink":
            assume(abs(value(c.expr, at, target, dps=20)) > 1e-6)
    return entry, f, g, at, target


@given(cases())
def test_gradient_matches_high_precision_differentiation(case):
    entry, f, g, at, target = case
    with mpmath.workdps(30):
        numeric = mpmath.diff(lambda t: value(f, t, target, dps=80), mpmath.mpf(at))
    claimed = value(g, at, target)
    assert abs(claimed - numeric) <= mpmath.mpf(10) ** -20 * (1 + abs(numeric)), entry.name


@given(cases())
def test_stable_code_agrees_with_mpmath(case):
    entry, f, g, at, target = case
    for expr in (f, g):
        code = numpy_function(expr, ["z", "y"])
        with np.errstate(all="raise", under="ignore"):  # underflow to 0 is judged by value
            got = float(code(np.float64(at), np.float64(target)))
        true = value(expr, at, target)
        assert abs(got - true) <= 1e-12 * abs(true) + 1e-14, (entry.name, expr, at, target)


def _on_simplex(weights):
    """Weights normalised in 60 digits, the last entry one minus the others: Σ = 1 exactly
    enough that a gradient needing Σ y = 1 (softmax(z) − y) holds to 1e-20."""
    with mpmath.workdps(60):
        total = mpmath.fsum(weights)
        head = [mpmath.mpf(v) / total for v in weights[:-1]]
        return [*head, 1 - mpmath.fsum(head)]


def probability_vectors(size):
    return st.lists(st.floats(min_value=0.05, max_value=1.0), min_size=size, max_size=size).map(
        _on_simplex
    )


@given(
    st.sampled_from(VECTOR),
    probability_vectors(3),
    probability_vectors(3),
    st.lists(st.floats(min_value=-10.0, max_value=10.0), min_size=3, max_size=3),
)
def test_vector_gradient_matches_high_precision_differentiation(entry, ys, ps, logits):
    f, g, z_syms, y_syms = lowered(entry.name, 3)
    zs = ps if entry.assume.get("z") == "probability" else logits
    point = {**dict(zip(z_syms, zs)), **dict(zip(y_syms, ys))}
    for i, zi in enumerate(z_syms):
        with mpmath.workdps(30):
            numeric = mpmath.diff(
                lambda t, zi=zi: Evaluator({**point, zi: t}, dps=80)(f), mpmath.mpf(point[zi])
            )
        claimed = Evaluator(point, dps=40)(g[i])
        assert abs(claimed - numeric) <= mpmath.mpf(10) ** -20 * (1 + abs(numeric))


@given(
    st.sampled_from(VECTOR),
    probability_vectors(3),
    probability_vectors(3),
    st.lists(st.floats(min_value=-30.0, max_value=30.0), min_size=3, max_size=3),
)
def test_vector_stable_code_agrees_with_mpmath(entry, ys, ps, logits):
    f, g, z_syms, y_syms = lowered(entry.name, 3)
    zs = ps if entry.assume.get("z") == "probability" else logits
    (n,) = Scope.build(VECTOR_SHAPES).dims()
    point = {**dict(zip(z_syms, zs)), **dict(zip(y_syms, ys))}
    z = np.array([float(v) for v in zs]).reshape(3, 1)
    y = np.array([float(v) for v in ys]).reshape(3, 1)
    with np.errstate(all="raise", under="ignore"):  # underflow to 0 is judged by value
        got_f = float(numpy_function(entry.expr, ["z", "y"], sizes={n: 3})(z, y))
        got_g = numpy_function(entry.gradient, ["z", "y"], sizes={n: 3})(z, y).ravel()
    true_f = Evaluator(point, dps=40)(f)
    assert abs(got_f - true_f) <= 1e-12 * abs(true_f) + 1e-14
    for got, want in zip(got_g, g):
        true = Evaluator(point, dps=40)(want)
        assert abs(got - true) <= 1e-12 * abs(true) + 1e-14


# ---- LaTeX -------------------------------------------------------------------------------

GOLDEN = Path(__file__).parent / "golden" / "latex" / "losses"


@pytest.mark.parametrize("entry", ALL, ids=[e.name for e in ALL])
def test_latex_matches_golden_file(entry):
    path = GOLDEN / f"{entry.name}.tex"
    text = loss_latex(entry)
    if os.environ.get("SYMDL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SYMDL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("entry", ALL, ids=[e.name for e in ALL])
def test_latex_is_balanced(entry):
    text = loss_latex(entry)
    assert text.count("{") == text.count("}")
    assert text.count(r"\left") == text.count(r"\right")
