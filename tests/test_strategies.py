"""symdl.strategies: each strategy's guarantee checked over many draws, and bad arguments
raise InvalidArgument (never an empty strategy)."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import symdl
from symdl import strategies as S
from symdl.catalog import ACTIVATIONS
from symdl.catalog.entry import Activation, Loss
from symdl.catalog.properties import establish_kinks
from symdl.verify.admissible import conditions
from symdl.verify.safe_regions import safe_regions

EPS = np.finfo(np.float64).eps
SCALAR_ACTIVATIONS = [a.name for a in ACTIVATIONS if not a.vector]
MANY = max(100, settings().max_examples)


def _draws(strategy, n=MANY):
    """Every value ``strategy`` produces in ``n`` examples (drawn by hypothesis itself)."""
    out = []

    @settings(max_examples=n, database=None)
    @given(strategy)
    def collect(v):
        out.append(v)

    collect()
    return out


def _invalid(strategy):
    """Strategies are validated on use as well as when built: both must raise."""
    return pytest.raises(InvalidArgument)


# ---- catalogue entries -------------------------------------------------------------------


def test_activations_are_scalar_catalogue_entries():
    drawn = _draws(S.activations(), 60)
    assert all(isinstance(a, Activation) and not a.vector for a in drawn)
    assert len({a.name for a in drawn}) > 5


def test_vector_activations():
    assert {a.name for a in _draws(S.activations(vector=True), 30)} == {"softmax", "log_softmax"}


@pytest.mark.parametrize("kinks", [True, False])
def test_activations_by_kinks(kinks):
    drawn = {a.name for a in _draws(S.activations(kinks=kinks), 60)}
    assert drawn
    for name in drawn:
        assert bool(establish_kinks(ACTIVATIONS.get(name).at()[0]).value) == kinks
    assert ("relu" in drawn) == kinks


def test_losses_filter_by_vector():
    assert all(isinstance(v, Loss) for v in _draws(S.losses(), 30))
    assert all(v.vector for v in _draws(S.losses(vector=True), 30))
    assert not any(v.vector for v in _draws(S.losses(vector=False), 30))


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.activations(vector="yes"),
        lambda: S.activations(vector=True, kinks=True),
        lambda: S.activations(kinks=1),
        lambda: S.losses(vector=0),
    ],
)
def test_catalogue_strategies_reject_bad_arguments(call):
    with pytest.raises(InvalidArgument):
        call()


# ---- points ------------------------------------------------------------------------------


@given(x=S.points("relu"))
def test_relu_points_never_land_within_the_kink_margin(x):
    assert abs(x) >= 0.05
    assert np.isfinite(x)


@pytest.mark.parametrize("name", SCALAR_ACTIVATIONS)
def test_points_keep_away_from_every_established_kink(name):
    kinks = [float(k) for k in establish_kinks(ACTIVATIONS.get(name).at()[0]).value]
    for x in _draws(S.points(name, min_value=-8.0, max_value=8.0), 40):
        assert -8.0 <= x <= 8.0
        assert all(abs(Fraction(x) - Fraction(k)) >= Fraction(1, 20) for k in kinks), (x, kinks)


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("log(x)", lambda x: x >= 0.05),
        ("1/(x - 2)", lambda x: abs(Fraction(x) - 2) >= Fraction(1, 20)),
        ("sqrt(1 - x**2)", lambda x: -0.95 <= x <= 0.95),
        ("abs(x - 1/3)", lambda x: abs(Fraction(x) - Fraction(1, 3)) >= Fraction(1, 20)),
        ("log(x) + relu(x - 1)", lambda x: x >= 0.05 and abs(Fraction(x) - 1) >= Fraction(1, 20)),
    ],
)
def test_points_stay_inside_the_domain_and_off_its_edges(text, inside):
    # distances in exact arithmetic: 1/3 − 0.05 is not a float, and float rounding of the
    # test's own subtraction must not be blamed on the strategy
    for x in _draws(S.points(text, min_value=-5.0, max_value=5.0), 60):
        assert inside(x), (text, x)


def test_points_margin_is_exact_at_the_float_level():
    # the interval ends are rounded inwards: 1/3 + 0.05 is not a float
    r = safe_regions("abs(x - 1/3)", min_value=-1.0, max_value=1.0)
    (_, hi), (lo, _) = r.intervals
    assert sp.Rational(hi) <= sp.Rational(1, 3) - sp.Rational(1, 20)
    assert sp.Rational(lo) >= sp.Rational(1, 3) + sp.Rational(1, 20)


def test_points_with_kinks_allowed_reach_the_kink():
    near = S.counterexample(
        S.points("relu", min_value=-1.0, max_value=1.0, avoid_kinks=False), lambda x: abs(x) < 0.01
    )
    assert near is not None and abs(near) < 0.01


def test_points_take_an_entry_or_a_sympy_expression():
    x = sp.Symbol("t", real=True)
    assert all(v >= 0.05 for v in _draws(S.points(sp.log(x), max_value=3.0), 30))
    entry = ACTIVATIONS.get("hard_tanh")
    assert all(abs(abs(v) - 1) >= 0.05 for v in _draws(S.points(entry), 30))


@pytest.mark.parametrize(
    ("target", "options", "match"),
    [
        ("log(x)", {"max_value": 0.0}, "no float"),
        ("relu", {"min_value": -0.01, "max_value": 0.01}, "no float"),
        ("x*y", {}, "one variable"),
        ("softmax", {}, "vector-valued"),
        ("relu", {"margin": -1.0}, "margin"),
        ("relu", {"min_value": 1.0, "max_value": 0.0}, "greater than"),
        ("relu", {"min_value": float("nan")}, "finite"),
        ("relu(", {}, "relu"),
        (3.0, {}, "expected"),
        ("relu", {"avoid_kinks": "no"}, "avoid_kinks"),
    ],
)
def test_points_reject_bad_arguments(target, options, match):
    with pytest.raises(InvalidArgument, match=match):
        S.points(target, **options)


# ---- shapes and matrices -----------------------------------------------------------------


def test_shapes_respect_their_bounds():
    for s in _draws(S.shapes(min_dims=1, max_dims=2, min_side=2, max_side=4), 60):
        assert 1 <= len(s) <= 2 and all(2 <= d <= 4 for d in s)


@pytest.mark.parametrize(
    "options",
    [
        {"max_dims": 3},
        {"min_dims": 2, "max_dims": 1},
        {"min_side": 0},
        {"min_side": 3, "max_side": 2},
    ],
)
def test_shapes_reject_bad_arguments(options):
    with pytest.raises(InvalidArgument):
        S.shapes(**options)


@given(a=S.matrices((3, 3), kind="spd"))
def test_spd_matrices_always_pass_cholesky(a):
    np.linalg.cholesky(a)
    assert np.array_equal(a, a.T)
    assert np.linalg.cond(a) <= 1e3


@given(a=S.matrices(st.integers(1, 6), kind="spd", max_condition=10.0))
def test_spd_condition_bound_at_any_size(a):
    np.linalg.cholesky(a)
    assert np.linalg.cond(a) <= 10.0


@given(a=S.matrices(4, kind="invertible", max_condition=50.0))
def test_invertible_matrices_have_bounded_condition(a):
    assert np.linalg.cond(a) <= 50.0
    assert np.allclose(a @ np.linalg.inv(a), np.eye(4), atol=1e-10)


@given(a=S.matrices(4, kind="symmetric"))
def test_symmetric_matrices_are_exactly_symmetric(a):
    assert np.array_equal(a, a.T)


@given(
    q=S.matrices(
        st.tuples(st.integers(1, 5), st.integers(1, 5)).filter(lambda s: s[0] >= s[1]),
        kind="orthogonal",
    )
)
def test_orthogonal_matrices_have_orthonormal_columns(q):
    n, m = q.shape
    assert np.all(np.abs(q.T @ q - np.eye(m)) <= 10 * n * EPS)


@given(a=S.matrices(3, kind="diagonal"))
def test_diagonal_matrices(a):
    assert np.array_equal(a, np.diag(np.diag(a)))
    assert np.all(np.abs(np.diag(a)) >= 0.05)


@given(a=S.matrices((2, 5), min_value=-1.0, max_value=1.0))
def test_general_matrices_keep_their_bounds(a):
    assert a.shape == (2, 5) and np.all(np.abs(a) <= 1.0)


def test_general_square_matrices_are_not_always_symmetric():
    assert any(not np.array_equal(a, a.T) for a in _draws(S.matrices(3), 30))


@pytest.mark.parametrize(
    ("shape", "options"),
    [
        ((3, 3), {"kind": "hermitian"}),
        ((3, 2), {"kind": "spd"}),
        ((2, 3), {"kind": "orthogonal"}),
        ((3, 2), {"kind": "invertible"}),
        ((0, 3), {}),
        ((3,), {}),
        ("3x3", {}),
        ((3, 3), {"max_condition": 1.0}),
        ((3, 3), {"min_value": 2.0, "max_value": 1.0}),
        ((3, 3), {"max_value": float("inf")}),
    ],
)
def test_matrices_reject_bad_arguments(shape, options):
    with pytest.raises(InvalidArgument):
        S.matrices(shape, **options)


@given(p=S.probability_vectors(5))
def test_probability_vectors_sum_to_one(p):
    assert p.shape == (5,)
    assert np.all(p >= 0) and abs(p.sum() - 1) <= 5 * EPS


@given(p=S.probability_vectors(4, min_probability=0.2))
def test_probability_vectors_respect_min_probability(p):
    assert np.all(p >= 0.2) and abs(p.sum() - 1) <= 4 * EPS


def test_probability_vectors_reach_one_hot():
    hot = S.counterexample(S.probability_vectors(3), lambda p: np.max(p) == 1.0)
    assert hot is not None and sorted(hot.tolist()) == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("size", "m"), [(0, 0.0), (3, 0.5), (3, -0.1), (2.0, 0.0), (3, float("nan"))]
)
def test_probability_vectors_reject_bad_arguments(size, m):
    with pytest.raises(InvalidArgument):
        S.probability_vectors(size, min_probability=m)


# ---- expressions -------------------------------------------------------------------------


@given(text=S.expressions(variables=("x", "y"), max_depth=3))
def test_expressions_are_smooth_everywhere(text):
    e = symdl.parse(text)
    assert {s.name for s in e.free_symbols} <= {"x", "y"}
    assert "x" in text or "y" in text
    # no kink, pole or domain edge: every condition (a denominator 1 + b², a log of
    # 1 + b²) holds everywhere, so the function is C^∞ on all of ℝ²
    assert all(c.kind != "kink" and c.expr.is_positive for c in conditions([e])), text


def _depth(text: str) -> int:
    depth = best = 0
    for c in text:
        depth += c == "("
        depth -= c == ")"
        best = max(best, depth)
    return best


@pytest.mark.parametrize("max_depth", [0, 1, 2])
def test_expressions_respect_the_depth_bound(max_depth):
    drawn = _draws(S.expressions(max_depth=max_depth), 60)
    if max_depth == 0:
        assert set(drawn) <= {"x", *(f"({c})*x" for c in ("1", "2", "3", "(1/2)", "(3/2)"))}
    # each level adds at most three pairs of brackets (a/(1 + (b)**2)), plus the product
    # that gives a draw of constants its variable
    assert all(_depth(t) <= 3 * max_depth + 2 for t in drawn)


@pytest.mark.parametrize(
    "options",
    [
        {"variables": ()},
        {"variables": ("x y",)},
        {"variables": ("exp",)},
        {"max_depth": -1},
        {"max_depth": 9},
    ],
)
def test_expressions_reject_bad_arguments(options):
    with pytest.raises(InvalidArgument):
        S.expressions(**options)


# ---- variables ---------------------------------------------------------------------------


@given(
    v=S.variables(
        {"W": "m x n", "x": "n", "c": "", "A": "n x n", "p": "m"},
        assume={"c": "positive", "A": "spd", "p": "probability"},
        min_size=2,
        max_size=4,
    )
)
def test_variables_have_consistent_sizes_and_kinds(v):
    m, n = v["W"].shape
    assert v["x"].shape == (n,) and v["A"].shape == (n, n) and v["p"].shape == (m,)
    assert 2 <= m <= 4 and 2 <= n <= 4
    assert isinstance(v["c"], float) and v["c"] >= 0.05
    np.linalg.cholesky(v["A"])
    assert abs(v["p"].sum() - 1) <= 4 * EPS


@pytest.mark.parametrize(
    ("shapes", "options"),
    [
        ({"x": "n"}, {"min_size": 0}),
        ({"x": "n"}, {"min_size": 3, "max_size": 2}),
        ({"x": "n"}, {"assume": {"x": "unitary"}}),
        ({"x": "n x"}, {}),
    ],
)
def test_variables_reject_bad_arguments(shapes, options):
    with pytest.raises(InvalidArgument):
        S.variables(shapes, **options)


# ---- searching and profiles --------------------------------------------------------------


def test_counterexample_is_shrunk():
    found = S.counterexample(st.integers(0, 10**6), lambda n: n >= 1000)
    assert found == 1000


def test_counterexample_is_none_when_nothing_fails():
    assert S.counterexample(st.integers(0, 10), lambda n: n > 10, max_examples=50) is None


def test_profiles_are_registered_on_request():
    S.register_profiles()
    assert settings.get_profile("symdl-quick").max_examples == 25
    assert settings.get_profile("symdl-thorough").max_examples == 500
    with pytest.raises(InvalidArgument, match="symdl-quick"):
        S.load_profile("quick")
