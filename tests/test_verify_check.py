"""``check_derivative`` and ``check_identity``: tables of true and wrong claims, kinks,
domains, the time budget, the report contract, and properties over random functions.

A false ``proved``/``verified`` is the worst bug a checker can have and a false
``refuted`` the second worst, so both tables assert the verdict exactly; where the
diagnosis has a name for the mistake (sign, factor, transpose, missing factor, confined
error) the table asserts that it is named.
"""

from __future__ import annotations

import dataclasses
import json
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symdl
from symdl import check_derivative, check_identity
from symdl.strategies import expressions

#: Checks take 0.05–5 s each, so properties over them run a fifth of the profile's examples
#: (10 by default, 60 under HYPOTHESIS_PROFILE=ci).
CHECK_EXAMPLES = max(10, settings().max_examples // 5)

SYMBOLIC_SIZES = ("n=2", "n=3")


def _param(*values, id=None, bug=None):
    marks = [pytest.mark.xfail(strict=True, reason=f"bug: {bug}")] if bug else []
    return pytest.param(*values, id=id, marks=marks)


# -- true claims -------------------------------------------------------------------------

TRUE_DERIVATIVES = [
    # (f, wrt, claim, shapes, assume)
    ("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))", {}, {}),
    ("tanh(x)", "x", "1 - tanh(x)**2", {}, {}),
    ("softplus(x)", "x", "sigmoid(x)", {}, {}),
    ("exp(x)*sin(x)", "x", "exp(x)*(sin(x) + cos(x))", {}, {}),
    ("log(1 + x**2)", "x", "2*x/(1 + x**2)", {}, {}),
    ("erf(x)", "x", "2/sqrt(pi)*exp(-x**2)", {}, {}),
    ("relu(x)", "x", "heaviside(x)", {}, {}),
    ("abs(x)", "x", "sign(x)", {}, {}),
    ("sqrt(x)", "x", "1/(2*sqrt(x))", {}, {"x": "positive"}),
    ("log(x)", "x", "1/x", {}, {"x": "positive"}),
    ("x**3", "x", "3*x**2", {}, {}),
    ("1/x", "x", "-1/x**2", {}, {}),
    ("x*y", "x", "y", {}, {}),
    ("sin(x*y)", "y", "x*cos(x*y)", {}, {}),
    ("maximum(x, y)", "x", "heaviside(x - y)", {}, {}),
    ("sum(x**2)", "x", "2*x", {"x": "3"}, {}),
    ("mean(x**2)", "x", "x/2", {"x": "4"}, {}),
    ("sum(x*y)", "x", "y", {"x": "3", "y": "3"}, {}),
    ("norm(x)", "x", "x/norm(x)", {"x": "3"}, {}),
    ("norm(x)**2", "x", "2*x", {"x": "3"}, {}),
    ("logsumexp(x)", "x", "softmax(x)", {"x": "4"}, {}),
    ("W @ x", "x", "W", {"W": "3x2", "x": "2"}, {}),
    (
        "sum(tanh(W @ x + b))",
        "W",
        "(1 - tanh(W @ x + b)**2) @ x.T",
        {"W": "3x2", "x": "2", "b": "3"},
        {},
    ),
    (
        "sum(sigmoid(W @ x))",
        "x",
        "W.T @ (sigmoid(W @ x)*(1 - sigmoid(W @ x)))",
        {"W": "3x2", "x": "2"},
        {},
    ),
    ("x.T @ A @ x", "x", "(A + A.T) @ x", {"A": "3x3", "x": "3"}, {}),
    ("x.T @ A @ x", "x", "2*A @ x", {"A": "3x3", "x": "3"}, {"A": "symmetric"}),
    (
        "sum((W @ x - y)**2)",
        "W",
        "2*(W @ x - y) @ x.T",
        {"W": "3x3", "x": "3x1", "y": "3x1"},
        {},
    ),
    ("logdet(X)", "X", "inv(X).T", {"X": "3x3"}, {}),
    ("logdet(X)", "X", "inv(X)", {"X": "3x3"}, {"X": "spd"}),
    ("logdet(X)", "X", "inv(X)", {"X": "2x2"}, {"X": "symmetric"}),
    ("det(X)", "X", "det(X)*inv(X).T", {"X": "2x2"}, {}),
    ("sum(inv(X))", "X", "-(inv(X).T @ ones_like(X) @ inv(X).T)", {"X": "2x2"}, {}),
    ("tr(A @ X)", "X", "A.T", {"A": "3x3", "X": "3x3"}, {}),
    ("tr(X.T @ X)", "X", "2*X", {"X": "3x2"}, {}),
    ("tr(A @ X @ B)", "X", "A.T @ B.T", {"A": "2x2", "X": "2x2", "B": "2x2"}, {}),
    ("sum(p*log(p))", "p", "log(p) + 1", {"p": "3"}, {"p": "probability"}),
]

TRUE_SYMBOLIC_DIMS = [
    (
        "sum((W @ x - y)**2)",
        "W",
        "2*(W @ x - y) @ x.T",
        {"W": "n x n", "x": "n x 1", "y": "n x 1"},
        {},
    ),
    ("x.T @ A @ x", "x", "(A + A.T) @ x", {"A": "n x n", "x": "n"}, {}),
    ("x.T @ A @ x", "x", "2*A @ x", {"A": "n x n", "x": "n"}, {"A": "symmetric"}),
    ("tr(A @ X)", "X", "A.T", {"A": "n x m", "X": "m x n"}, {}),
    ("logdet(X)", "X", "inv(X).T", {"X": "n x n"}, {}),
]

TRUE_IDENTITIES = [
    # (lhs, rhs, shapes, assume)
    _param("tanh(x)", "2*sigmoid(2*x) - 1", {}, {}),
    _param("softplus(x) - softplus(-x)", "x", {}, {}),
    _param("sigmoid(-x)", "1 - sigmoid(x)", {}, {}),
    _param("inv(inv(X))", "X", {"X": "2x2"}, {}),
    _param("det(A @ B)", "det(A)*det(B)", {"A": "2x2", "B": "2x2"}, {}),
    _param("tr(A @ B)", "tr(B @ A)", {"A": "3x2", "B": "2x3"}, {}),
    _param("(A @ B).T", "B.T @ A.T", {"A": "n x m", "B": "m x n"}, {}),
    _param("logsumexp(x)", "log(sum(exp(x)))", {"x": "3"}, {}),
    _param("sum(softmax(x))", "1", {"x": "3"}, {}),
    _param("A.T", "A", {"A": "3x3"}, {"A": "symmetric"}),
    _param("exp(log(x))", "x", {}, {"x": "positive"}),
    _param("sqrt(x**2)", "abs(x)", {}, {}),
    _param("sum(p)", "1", {"p": "4"}, {"p": "probability"}),
    _param("Q.T @ Q @ x", "x", {"Q": "3x3", "x": "3"}, {"Q": "orthogonal"}, id="QtQx"),
    _param(
        "Q.T @ Q",
        "diag(ones_like(x))",
        {"Q": "2x2", "x": "2"},
        {"Q": "orthogonal"},
        id="QtQ-is-identity",
    ),
    _param(
        "tr(X @ Q @ Q.T)",
        "tr(X)",
        {"X": "2x2", "Q": "2x2"},
        {"Q": "orthogonal"},
        id="trace-invariant-under-QQt",
    ),
]


@pytest.mark.parametrize(("f", "wrt", "claim", "shapes", "assume"), TRUE_DERIVATIVES)
def test_true_derivatives_are_proved(f, wrt, claim, shapes, assume):
    report = check_derivative(f, wrt, claim, shapes=shapes, assume=assume)
    assert report.verdict == "proved", str(report)
    assert report.ok
    assert report.counterexample is None
    methods = {ev.method: ev.outcome for ev in report.evidence}
    assert methods["symbolic"] == "proved"
    assert methods["high-precision"] == "agree"


@pytest.mark.parametrize(("f", "wrt", "claim", "shapes", "assume"), TRUE_SYMBOLIC_DIMS)
def test_true_derivatives_with_symbolic_dims_name_their_sizes(f, wrt, claim, shapes, assume):
    report = check_derivative(f, wrt, claim, shapes=shapes, assume=assume)
    # An entrywise proof at two sizes is evidence, not a proof for every n: 'verified',
    # or 'proved' only if the evidence names the sizes it covers.
    assert report.verdict in ("proved", "verified"), str(report)
    symbolic = [ev for ev in report.evidence if ev.method == "symbolic"]
    assert symbolic
    assert symbolic[0].outcome == "proved"
    for size in ("2", "3"):
        assert f"n={size}" in symbolic[0].sizes, symbolic[0].sizes
    assert any("instantiated" in n for n in report.notes), report.notes
    assert "n=2" in str(report) and "n=3" in str(report)


def test_the_same_claim_at_concrete_sizes_is_proved():
    shapes = {"W": "3x3", "x": "3x1", "y": "3x1"}
    report = check_derivative("sum((W @ x - y)**2)", "W", "2*(W @ x - y) @ x.T", shapes=shapes)
    assert report.verdict == "proved"
    symbolic = next(ev for ev in report.evidence if ev.method == "symbolic")
    assert "W 3×3" in symbolic.sizes


@pytest.mark.parametrize(("lhs", "rhs", "shapes", "assume"), TRUE_IDENTITIES)
def test_true_identities_hold(lhs, rhs, shapes, assume):
    report = check_identity(lhs, rhs, shapes=shapes, assume=assume)
    assert report.verdict in ("proved", "verified"), str(report)
    if any(" x " in str(s) for s in shapes.values()):
        assert report.verdict == "verified"  # symbolic dims: not a proof for every size


def test_verified_without_a_symbolic_proof():
    # SymPy does not reduce x·H(x) + max(0, x) − 2·max(0, x); the numbers corroborate it.
    report = check_derivative("x*relu(x)", "x", "2*relu(x)")
    assert report.verdict in ("proved", "verified"), str(report)
    if report.verdict == "verified":
        outcomes = {ev.method: ev.outcome for ev in report.evidence}
        assert outcomes["high-precision"] == "agree"
        assert outcomes["finite-differences"] == "agree"


# -- wrong claims ------------------------------------------------------------------------

_W33 = {"W": "3x3", "x": "3", "y": "3"}
_DENSE = {"W": "2x1", "x": "1", "b": "2"}

WRONG_DERIVATIVES = [
    # (f, wrt, claim, shapes, assume, a phrase the diagnosis must contain, or None)
    _param("sigmoid(x)", "x", "sigmoid(x)*(1 + sigmoid(x))", {}, {}, None, id="sigm-plus"),
    _param(
        "sigmoid(x)", "x", "2*sigmoid(x)*(1 - sigmoid(x))", {}, {}, "equals 2 times", id="sigm-2x"
    ),
    _param("tanh(x)", "x", "1 + tanh(x)**2", {}, {}, None, id="tanh-plus"),
    _param("tanh(x)", "x", "tanh(x)**2 - 1", {}, {}, "wrong sign", id="tanh-sign"),
    _param("x**3", "x", "3*x**2/2", {}, {}, "equals 1/2 times", id="cube-half"),
    _param("sum((W @ x - y)**2)", "W", "(W @ x - y) @ x.T", _W33, {}, "1/2 times", id="lsq-half"),
    _param("sum((W @ x - y)**2)", "W", "2*x @ (W @ x - y).T", _W33, {}, "transposed", id="lsq-T"),
    _param(
        "sum((W @ x - y)**2)", "W", "-2*(W @ x - y) @ x.T", _W33, {}, "wrong sign", id="lsq-sign"
    ),
    _param(
        "sum((W @ x - y)**2)",
        "W",
        "2*x @ (W @ x - y).T",
        {"W": "n x n", "x": "n", "y": "n"},
        {},
        "transposed",
        id="lsq-T-symbolic-n",
    ),
    _param("logdet(X)", "X", "inv(X)", {"X": "2x2"}, {}, "transposed", id="logdet-T"),
    _param("det(X)", "X", "det(X)*inv(X)", {"X": "2x2"}, {}, "transposed", id="det-T"),
    _param("tr(A @ X)", "X", "A", {"A": "3x3", "X": "3x3"}, {}, "transposed", id="trace-T"),
    _param("tr(X.T @ X)", "X", "X", {"X": "3x2"}, {}, "1/2 times", id="frob-half"),
    _param("mean(x**2)", "x", "2*x", {"x": "8"}, {}, "equals 8 times", id="mean-forgot-1/batch"),
    _param(
        "sum(x**2)",
        "x",
        "2*x/8",
        {"x": "8"},
        {},
        "1/8 (one over 8, e.g. 1/batch)",
        id="extra-1/batch",
    ),
    _param("sin(x**2)", "x", "cos(x**2)", {}, {}, "missing factor of x", id="chain-sin"),
    _param("exp(x*y)", "x", "exp(x*y)", {}, {}, "missing a factor of y", id="chain-exp-y"),
    _param("exp(2*x)", "x", "exp(2*x)", {}, {}, "1/2 times", id="chain-const"),
    _param("sum(x**3)", "x", "3*x", {"x": "3"}, {}, "elementwise factor of x", id="power-rule"),
    _param("log(x)", "x", "1/x**2", {}, {"x": "positive"}, "missing a factor of x", id="log-x2"),
    _param("sqrt(x)", "x", "1/sqrt(x)", {}, {"x": "positive"}, "equals 2 times", id="sqrt-2x"),
    _param("erf(x)", "x", "exp(-x**2)", {}, {}, "0.886227 times", id="erf-constant"),
    _param("x*sin(x)", "x", "x*cos(x)", {}, {}, None, id="product-missing-term"),
    _param("exp(x)*sin(x)", "x", "exp(x)*cos(x)", {}, {}, None, id="product-missing-term-2"),
    _param("sum((W @ x - y)**2)", "x", "2*W @ (W @ x - y)", _W33, {}, None, id="lsq-x-T"),
    _param(
        "sum(tanh(W @ x + b))", "W", "(1 - tanh(W @ x + b)) @ x.T", _DENSE, {}, None, id="dense"
    ),
    _param(
        "x.T @ A @ x",
        "x",
        "2*A @ x",
        {"A": "3x3", "x": "3"},
        {},
        None,
        id="quadratic-needs-symmetric",
    ),
    _param("x.T @ A @ x", "x", "A @ x", {"A": "3x3", "x": "3"}, {}, None, id="quadratic-half"),
    _param("relu(x)", "x", "1", {}, {}, None, id="relu-1"),
    _param("abs(x)", "x", "1", {}, {}, None, id="abs-1"),
    _param("minimum(maximum(x, -1), 1)", "x", "1", {}, {}, None, id="hard-tanh-1"),
    _param("softplus(x)", "x", "sigmoid(-x)", {}, {}, None, id="softplus-mirror"),
    _param("logsumexp(x)", "x", "exp(x)", {"x": "3"}, {}, None, id="lse-unnormalised"),
    _param("norm(x)", "x", "x", {"x": "3"}, {}, None, id="norm-unnormalised"),
    _param("x*y", "x", "x", {}, {}, None, id="wrong-variable"),
    _param("sin(x*y)", "y", "y*cos(x*y)", {}, {}, None, id="wrong-inner-derivative"),
    _param("sum(x*y)", "x", "0*y", {"x": "3", "y": "3"}, {}, "identically zero", id="zero"),
    _param(
        "tr(A @ X) + tr(X)",
        "X",
        "A.T",
        {"A": "3x3", "X": "3x3"},
        {},
        "confined to the diagonal",
        id="diagonal",
    ),
    _param(
        "sum(inv(X))",
        "X",
        "-(inv(X) @ ones_like(X) @ inv(X))",
        {"X": "2x2"},
        {},
        "transposed",
        id="inverse-T",
    ),
    _param("x**2", "x", "2*x*(1 + 1e-12)", {}, {}, None, id="off-by-1e-12"),
    _param(
        "sigmoid(x)",
        "x",
        "sigmoid(x)*(1 - sigmoid(x))*(1 + 1e-12)",
        {},
        {},
        None,
        id="sigmoid-off-by-1e-12",
    ),
]


@pytest.mark.parametrize(("f", "wrt", "claim", "shapes", "assume", "named"), WRONG_DERIVATIVES)
def test_wrong_derivatives_are_refuted(f, wrt, claim, shapes, assume, named):
    report = check_derivative(f, wrt, claim, shapes=shapes, assume=assume)
    assert report.verdict == "refuted", str(report)
    assert not report.ok
    assert report.counterexample
    assert report.diagnosis, "a refutation always says where the sides differ"
    assert report.diagnosis[0].startswith("at the counterexample")
    hp = next(ev for ev in report.evidence if ev.method == "high-precision")
    assert hp.outcome == "differ"
    assert "confirmed at 60" in hp.detail
    if named is not None:
        assert any(named in d for d in report.diagnosis), report.diagnosis


@pytest.fixture(scope="module")
def logdet_transposed():
    return check_derivative("logdet(X)", "X", "inv(X)", shapes={"X": "3x3"})


def test_logdet_transpose_counterexample_is_not_symmetric(logdet_transposed):
    report = logdet_transposed
    assert report.verdict == "refuted"
    X = np.array(report.counterexample["X"], dtype=float)
    assert X.shape == (3, 3)
    assert np.max(np.abs(X - X.T)) > 0.1, "a symmetric sample would hide the transpose"
    assert np.linalg.det(X) > 0, "the counterexample must be in logdet's domain"
    inv = np.linalg.inv(X)
    assert not np.allclose(inv, inv.T)  # the claim really is wrong at this X
    assert report.diagnosis[-1] == "the claim equals the true gradient transposed"


def test_claims_true_only_for_symmetric_matrices():
    shapes = {"A": "3x3", "x": "3"}
    assert check_derivative("x.T @ A @ x", "x", "2*A @ x", shapes=shapes).verdict == "refuted"
    sym = check_derivative("x.T @ A @ x", "x", "2*A @ x", shapes=shapes, assume={"A": "symmetric"})
    assert sym.verdict == "proved"


@pytest.mark.parametrize(
    ("f", "claim", "sign"),
    [("relu(x)", "1", -1), ("abs(x)", "1", -1), ("abs(x)", "-1", 1), ("relu(-x)", "-1", 1)],
)
def test_claims_wrong_on_part_of_the_line_meet_a_point_there(f, claim, sign):
    report = check_derivative(f, "x", claim)
    assert report.verdict == "refuted", str(report)
    assert sign * report.counterexample["x"] > 0


def test_clipped_claim_is_refuted_outside_the_clip():
    report = check_derivative("minimum(maximum(x, -1), 1)", "x", "1")
    assert report.verdict == "refuted"
    assert abs(report.counterexample["x"]) > 1


def test_off_by_a_tiny_factor_is_refuted_at_30_digits():
    report = check_derivative("x**2", "x", "2*x*(1 + 1e-12)")
    assert report.verdict == "refuted"
    assert "rel err 1e-12" in report.diagnosis[0]
    worst = report.entries[0]
    assert worst.rel_error == pytest.approx(1e-12, rel=1e-3)
    assert worst.abs_error > worst.tolerance


def test_off_by_a_factor_reports_the_factor():
    report = check_derivative("x**3", "x", "x**2*3/7")
    assert report.verdict == "refuted"
    assert "the claim equals 1/7 (one over 7, e.g. 1/batch) times the true gradient" in (
        report.diagnosis
    )


@pytest.mark.parametrize(
    ("f", "claim", "shapes", "reason"),
    [
        (
            "sum((W @ x - y)**2)",
            "2*x @ (W @ x - y).T",
            {"W": "3x2", "x": "2", "y": "3"},
            "the claim has shape 2×3 but the gradient has shape 3×2; the claim has the "
            "transposed shape",
        ),
        ("sum(x**2)", "2*x.T", {"x": "3"}, "transposed shape"),
        ("sum(W)", "ones_like(x)", {"W": "3x2", "x": "3"}, "shape 3×1 but the gradient has"),
    ],
)
def test_wrong_shapes_are_refuted_with_the_shape_reason(f, claim, shapes, reason):
    wrt = "W" if "W" in shapes else "x"
    report = check_derivative(f, wrt, claim, shapes=shapes)
    assert report.verdict == "refuted"
    assert report.method == "shape"
    assert any(reason in d for d in report.diagnosis), report.diagnosis
    assert report.evidence[0].method == "shape"


WRONG_IDENTITIES = [
    ("tanh(x)", "2*sigmoid(x) - 1", {}, {}),
    ("sigmoid(-x)", "sigmoid(x) - 1", {}, {}),
    ("det(A + B)", "det(A) + det(B)", {"A": "2x2", "B": "2x2"}, {}),
    ("(A @ B).T", "A.T @ B.T", {"A": "3x3", "B": "3x3"}, {}),
    ("A.T", "A", {"A": "3x3"}, {}),
    ("sqrt(x**2)", "x", {}, {}),
    ("inv(A @ B)", "inv(A) @ inv(B)", {"A": "2x2", "B": "2x2"}, {}),
]


@pytest.mark.parametrize(("lhs", "rhs", "shapes", "assume"), WRONG_IDENTITIES)
def test_wrong_identities_are_refuted(lhs, rhs, shapes, assume):
    report = check_identity(lhs, rhs, shapes=shapes, assume=assume)
    assert report.verdict == "refuted", str(report)


def test_sqrt_of_square_is_refuted_at_a_negative_point():
    report = check_identity("sqrt(x**2)", "x")
    assert report.verdict == "refuted"
    assert report.counterexample["x"] < 0


# -- kinks -------------------------------------------------------------------------------


def test_relu_heaviside_is_proved_with_the_kink_reported():
    report = check_derivative("relu(x)", "x", "heaviside(x)")
    assert report.verdict == "proved"
    (kink,) = report.kinks
    assert kink.location == "x = 0"
    assert (kink.left, kink.right) == (0.0, 1.0)
    assert kink.claimed == 0.5  # heaviside(0) = 1/2, a valid subgradient
    assert kink.inside is True
    assert "kink at x = 0" in str(report)


def test_abs_sign_is_proved_with_the_kink_reported():
    report = check_derivative("abs(x)", "x", "sign(x)")
    assert report.verdict == "proved"
    (kink,) = report.kinks
    assert (kink.left, kink.right, kink.claimed, kink.inside) == (-1.0, 1.0, 0.0, True)


def test_shifted_kink_is_located():
    report = check_derivative("relu(x - 2)", "x", "heaviside(x - 2)")
    assert report.verdict == "proved"
    assert [k.location for k in report.kinks] == ["x = 2"]


def test_claim_outside_the_one_sided_derivatives_at_a_kink_is_refuted():
    # 4h² − 3h is h for h ∈ {0, 1} (so right away from 0) but −1/2 at the kink.
    report = check_derivative("relu(x)", "x", "4*heaviside(x)**2 - 3*heaviside(x)")
    assert report.verdict == "refuted"
    assert report.method == "one-sided derivatives at a kink"
    (kink,) = report.kinks
    assert kink.inside is False
    assert kink.claimed == -0.5
    assert "outside the one-sided derivatives [0, 1]" in report.diagnosis[0]


def test_kink_counterexample_is_a_point():
    report = check_derivative("relu(x)", "x", "4*heaviside(x)**2 - 3*heaviside(x)")
    assert report.counterexample == {"x": 0}


# -- domains -----------------------------------------------------------------------------


@pytest.mark.parametrize("assumptions", [{}, {"x": "positive"}])
def test_log_is_checked_on_its_domain(assumptions):
    assert check_derivative("log(x)", "x", "1/x", assume=assumptions).verdict == "proved"
    wrong = check_derivative("log(x)", "x", "1/x**2", assume=assumptions)
    assert wrong.verdict == "refuted"
    assert wrong.counterexample["x"] > 0


def test_log_of_a_negated_variable_samples_negative_points():
    report = check_derivative("log(-x)", "x", "-1/x**2")
    assert report.verdict == "refuted"
    assert report.counterexample["x"] < 0


def test_sqrt_counterexample_is_admissible():
    report = check_derivative("sqrt(x)", "x", "1/sqrt(x)")
    assert report.verdict == "refuted"
    assert report.counterexample["x"] > 0


def test_inverse_counterexample_is_invertible():
    report = check_derivative(
        "sum(inv(X))", "X", "-(inv(X) @ ones_like(X) @ inv(X))", shapes={"X": "2x2"}
    )
    assert report.verdict == "refuted"
    assert abs(np.linalg.det(np.array(report.counterexample["X"]))) > 0.05


def test_logdet_sampling_stays_admissible():
    report = check_derivative("logdet(X)", "X", "2*inv(X).T", shapes={"X": "3x3"}, points=12)
    assert report.verdict == "refuted"
    assert np.linalg.det(np.array(report.counterexample["X"])) > 0
    hp = next(ev for ev in report.evidence if ev.method == "high-precision")
    assert hp.points >= 12
    assert "equals 2 times" in report.diagnosis[-1]


@pytest.mark.parametrize(("f", "claim"), [("1", "0"), ("y", "0"), ("x - x", "0")])
def test_derivative_of_a_function_free_of_the_variable(f, claim):
    assert check_derivative(f, "x", claim).verdict == "proved"


@pytest.mark.parametrize(
    ("f", "claim", "assumptions"),
    [("log(x)", "1/x", {"x": "negative"}), ("log(-1 - x**2)", "-2*x/(1 + x**2)", {})],
)
def test_no_admissible_point_is_undecided_never_proved(f, claim, assumptions):
    report = check_derivative(f, "x", claim, assume=assumptions)
    assert report.verdict == "undecided"
    assert not report.ok
    assert "admissible" in report.evidence[0].detail


# -- the budget --------------------------------------------------------------------------


def test_a_tiny_budget_gives_no_false_proof_and_no_hang():
    shapes = {"W": "4x4", "x": "4", "y": "4"}
    start = time.monotonic()
    report = check_derivative(
        "sum(softmax(W @ x)*y)",
        "W",
        "(softmax(W @ x)*y - softmax(W @ x)*sum(softmax(W @ x)*y)) @ x.T",
        shapes=shapes,
        timeout=0.05,
    )
    elapsed = time.monotonic() - start
    assert report.verdict in ("proved", "verified", "undecided"), str(report)
    symbolic = next(ev for ev in report.evidence if ev.method == "symbolic")
    # usually a timeout; whatever happened, 'proved' needs a finished symbolic proof
    assert symbolic.outcome in ("timeout", "proved", "inconclusive"), str(report)
    if symbolic.outcome != "proved":
        assert report.verdict in ("verified", "undecided"), str(report)
    assert elapsed < 60


def test_a_tiny_budget_still_refutes_a_wrong_claim():
    shapes = {"W": "4x4", "x": "4", "y": "4"}
    report = check_derivative(
        "sum(softmax(W @ x)*y)",
        "W",
        "x @ (softmax(W @ x)*y - softmax(W @ x)*sum(softmax(W @ x)*y)).T",
        shapes=shapes,
        timeout=0.05,
    )
    assert report.verdict == "refuted"  # the numbers alone decide it, no symbolic step needed


@pytest.mark.parametrize("bad", [{"points": 0}, {"precision": 10}])
def test_bad_options_are_value_errors(bad):
    with pytest.raises(ValueError):
        check_derivative("x**2", "x", "2*x", **bad)


def test_bad_wrt_is_a_value_error():
    with pytest.raises(ValueError, match="wrt must be the name of a variable"):
        check_derivative("x**2", "x + 1", "2*x")


def test_unparseable_claim_is_a_parse_error():
    with pytest.raises(symdl.ParseError):
        check_derivative("x**2", "x", "__import__('os').system('true')")


# -- the report contract -----------------------------------------------------------------


@pytest.fixture(scope="module")
def refuted():
    return check_derivative(
        "sum((W @ x - y)**2)", "W", "2*x @ (W @ x - y).T", shapes=_W33, points=4
    )


@pytest.fixture(scope="module")
def proved():
    return check_derivative("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))")


def test_report_is_frozen(refuted):
    with pytest.raises(dataclasses.FrozenInstanceError):
        refuted.verdict = "proved"
    with pytest.raises(dataclasses.FrozenInstanceError):
        refuted.evidence[0].outcome = "agree"


@pytest.mark.parametrize("which", ["refuted", "proved"])
def test_report_json_round_trips(which, request):
    report = request.getfixturevalue(which)
    data = json.loads(report.to_json())
    for key in ("verdict", "method", "evidence", "counterexample", "diagnosis"):
        assert key in data
    assert data["verdict"] == report.verdict
    assert data["method"] == report.method
    assert data["diagnosis"] == list(report.diagnosis)
    assert [e["method"] for e in data["evidence"]] == [e.method for e in report.evidence]
    assert data == json.loads(json.dumps(report.to_dict(), default=str))


def test_refuted_json_holds_the_counterexample_as_numbers(refuted):
    data = json.loads(refuted.to_json())
    W = np.array(data["counterexample"]["W"], dtype=float)
    assert W.shape == (3, 3)
    assert np.asarray(data["counterexample"]["x"], dtype=float).shape == (3, 1)


@pytest.mark.parametrize("which", ["refuted", "proved"])
def test_str_starts_with_the_verdict(which, request):
    report = request.getfixturevalue(which)
    assert str(report).startswith(f"{report.verdict}: ")
    assert report.claim in str(report).splitlines()[0]


def test_refuted_report_lists_worst_entries(refuted):
    assert refuted.entries
    for e in refuted.entries:
        assert isinstance(e.index, tuple) and len(e.index) == 2
        for value in (e.claimed, e.true, e.abs_error, e.rel_error, e.tolerance):
            assert isinstance(value, float)
        assert e.abs_error == pytest.approx(abs(e.claimed - e.true))
        assert e.abs_error > e.tolerance
    rels = [e.rel_error for e in refuted.entries]
    assert rels == sorted(rels, reverse=True)
    text = str(refuted)
    assert "worst entries:" in text
    assert "tolerance" in text and "rel err" in text
    assert "diagnosis: the claim equals the true gradient transposed" in text
    assert "counterexample:" in text


def test_proved_report_has_no_counterexample(proved):
    assert proved.counterexample is None
    assert proved.entries == ()
    assert proved.diagnosis == ()


# -- properties over random functions ----------------------------------------------------

#: Smooth scalar functions of x (C^∞ on ℝ, bounded enough for float64 code): symdl's own
#: strategy, nested two deep.
functions = expressions(variables=("x",), max_depth=2)


def _derivative(text: str) -> sp.Basic:
    f = symdl.parse(text)
    x = next((s for s in f.free_symbols if s.name == "x"), sp.Symbol("x", real=True))
    return sp.diff(f, x)


@settings(max_examples=CHECK_EXAMPLES)
@given(f=functions, expand=st.booleans())
def test_property_true_derivatives_hold(f, expand):
    # functions free of x crash (see test_derivative_of_a_function_free_of_the_variable)
    assume(any(s.name == "x" for s in symdl.parse(f).free_symbols))
    d = _derivative(f)
    claim = symdl.to_text(sp.expand(d) if expand else d)
    report = check_derivative(f, "x", claim)
    assert report.verdict in ("proved", "verified"), str(report)


_TERMS = ["1", "x", "x**2/4", "sin(x)", "sigmoid(x)"]
_factors = st.fractions(min_value=-4, max_value=4, max_denominator=8).filter(lambda q: q != 1)


@st.composite
def perturbations(draw, d: sp.Basic) -> str:
    text = symdl.to_text(d)
    kind = draw(st.sampled_from(["factor", "term", "sign", "tiny"]))
    if kind == "factor":
        q: Fraction = draw(_factors)
        return f"({q.numerator}/{q.denominator})*({text})"
    if kind == "term":
        c = draw(st.sampled_from(["1", "-1", "3", "(1/10)", "(-5/2)"]))
        return f"({text}) + {c}*({draw(st.sampled_from(_TERMS))})"
    if kind == "sign":
        return f"-({text})"
    return f"(1 + 1e-9)*({text})"


@settings(max_examples=CHECK_EXAMPLES)
@given(f=functions, data=st.data())
def test_property_perturbed_derivatives_are_refuted(f, data):
    d = _derivative(f)
    assume(sp.simplify(d) != 0)  # a perturbation of an identically-zero derivative is none
    claim = data.draw(perturbations(d), label="claim")
    report = check_derivative(f, "x", claim)
    assert report.verdict == "refuted", str(report)


def test_real_and_imaginary_parts_that_sympy_diff_writes_are_evaluated():
    # sympy.diff writes d|u|/dx with re(u) and im(u) when it cannot show u real: here
    # u = (2 + sin x)**tanh x, real because 2 + sin x ≥ 1. Both the high-precision side and
    # the generated code evaluate them, so the true claim is decided and a wrong one refuted.
    x = sp.Symbol("x", real=True)
    u = (2 + sp.sin(x)) ** sp.tanh(x)
    f = sp.Abs(u)
    true = sp.sign(u) * sp.diff(u, x)
    derivative = sp.diff(f, x)
    assert derivative.has(sp.re, sp.im)
    right = check_identity(true, derivative, points=4, timeout=10.0)
    assert right.verdict in ("proved", "verified")
    assert all(e.outcome != "inconclusive" for e in right.evidence)
    assert check_identity(2 * true, derivative, points=4, timeout=10.0).verdict == "refuted"


_x = sp.Symbol("x", real=True)


def test_kinks_excluded_proves_derivatives_that_differ_only_at_the_kink():
    # SymPy's d/dx max(x, 0) is heaviside(x) with heaviside(0) = 1/2; a rule may write 0
    sympys = sp.diff(sp.Max(_x, 0), _x)
    claim = sp.Heaviside(_x, 0)
    everywhere = check_identity(sympys, claim, points=4, timeout=20.0)
    assert everywhere.verdict == "verified"  # true off the kink, false at it: no proof
    off = check_identity(sympys, claim, points=4, timeout=20.0, kinks="excluded")
    assert off.verdict == "proved" and off.method == "symbolic, away from kinks"
    assert any("nothing is claimed at the kinks" in n for n in off.notes)
    assert "away from the kinks" in str(off)


@pytest.mark.parametrize(
    "claim",
    [sp.Heaviside(-_x), 2 * sp.Heaviside(_x), sp.Heaviside(_x - 1), -sp.Heaviside(_x)],
    ids=str,
)
def test_kinks_excluded_still_refutes_wrong_derivatives(claim):
    report = check_identity(sp.diff(sp.Max(_x, 0), _x), claim, points=4, kinks="excluded")
    assert report.verdict == "refuted", report


def test_kinks_must_be_included_or_excluded():
    with pytest.raises(ValueError, match="kinks"):
        check_identity("abs(x)", "x", kinks="ignored")  # type: ignore[arg-type]


def test_no_admissible_point_leaves_only_a_symbolic_proof():
    # min(|x|, relu(x)) ties for x > 0 and is 0, under abs, for x < 0: every x is a kink,
    # so nothing can be sampled; SymPy's derivative equals the engine's, symbolically
    from symdl.derive.steps import derive
    from symdl.parse import parse

    f = parse("abs(softsign(abs(abs(minimum(abs(x), relu(x))))))")
    result = derive(f, "x", simplify=False).result
    sympys = sp.diff(f, _x)
    right = check_identity(result, sympys, timeout=20.0)
    assert right.verdict == "proved" and right.method == "symbolic"
    assert "the proof is symbolic only" in right.notes[0]
    for wrong in (2 * result, -result, result + 1):  # nothing to sample, nothing proved
        assert check_identity(wrong, sympys, timeout=20.0).verdict == "undecided"
