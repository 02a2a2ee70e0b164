"""Interval enclosures: soundness first, then tightness, then the errors.

Soundness is checked against the 50-digit evaluator at random points of random boxes for
every scalar activation and its derivative (so a new catalogue entry is covered
automatically) and for a table of compositions; an enclosure that misses a true value is
the one bug this module must not have.
"""

import functools
import re
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.codegen.cfunctions import expm1, log1p

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.errors import SymdlError, UnsupportedError
from symdl.nodes import ndtr, sigmoid, softplus
from symdl.verify.interval import Bounds, OutsideDomain, bounds, enclose
from symdl.verify.precise import Evaluator, NotAdmissible

x = X
WIDE = (-60.0, 60.0)
POSITIVE = (1e-6, 60.0)

SCALAR = [a for a in ACTIVATIONS if not a.vector]
#: (name, expressions, the interval their boxes are drawn from)
TABLE = [(f"{a.name} and {a.name}'", a.at(), WIDE) for a in SCALAR]
TABLE += [
    (name, (expr,), domain)
    for name, expr, domain in [
        ("x**2", x**2, WIDE),
        ("even polynomial", x**4 - 3 * x**2 + x - 1, (-20.0, 20.0)),
        ("odd power", (x - 1) ** 3 - x**5 / 7, (-20.0, 20.0)),
        ("negative even power", (x - 1) ** -2, WIDE),
        ("negative odd power", 1 / (x + sp.Rational(1, 3)), WIDE),
        ("rational function", 1 / (1 + x**2), WIDE),
        ("gaussian", sp.exp(-(x**2) / 2), WIDE),
        ("exp of exp", sp.exp(sp.exp(x / 20) - x), WIDE),
        ("log-sum-exp", sp.log(1 + sp.exp(x)) - sp.log(2 + x**2), WIDE),
        ("log ∘ exp", sp.log(sp.exp(x) + sp.exp(-x)), WIDE),
        ("x log x", x * sp.log(x), POSITIVE),
        (
            "sqrt and powers",
            sp.sqrt(x) + x ** sp.Rational(3, 2) - x ** sp.Rational(-1, 3),
            POSITIVE,
        ),
        ("real power", x**sp.pi - sp.Float("2.5") ** (x / 10), POSITIVE),
        ("2**x", 2**x, WIDE),
        ("trig", sp.sin(3 * x) * sp.cos(x) + sp.sin(x) ** 2, WIDE),
        ("tan", sp.tan(x / 40), WIDE),
        ("hyperbolic", sp.tanh(x) * sp.sinh(x / 10) + sp.cosh(x / 10), WIDE),
        ("erf, erfc", sp.erf(x / 3) - sp.erfc(x), WIDE),
        ("erfc far out", sp.erfc(x) * sp.exp(x**2), (-10.0, 25.0)),
        ("sigmoid, softplus", sigmoid(2 * x) * softplus(-x) - softplus(x / 3), WIDE),
        ("ndtr, expm1, log1p", ndtr(x) + expm1(x / 10) - log1p(x**2), WIDE),
        ("Abs", sp.Abs(x - 1) - sp.Abs(x + 1) + sp.Abs(x) ** 3, WIDE),
        ("Max, Min", sp.Max(x, x**2 - 2) + sp.Min(sp.sin(x), sp.cos(x), x / 50), WIDE),
        ("Heaviside, sign", sp.Heaviside(x - 1) * x + sp.sign(x) + sp.Heaviside(x, 0), WIDE),
        ("Piecewise", sp.Piecewise((x**2, x < 1), (2 * x - 1, x <= 3), (sp.exp(-x), True)), WIDE),
        ("Piecewise with And", sp.Piecewise((0, (x > -1) & (x < 1)), (x, True)), WIDE),
        ("Piecewise with Or", sp.Piecewise((1, (x < -2) | (x > 2)), (x / 2, True)), WIDE),
        ("Piecewise, reversed", sp.Piecewise((-x, sp.Gt(0, x, evaluate=False)), (x, True)), WIDE),
        ("constants", sp.pi * x + sp.E - sp.sqrt(2) * sp.erf(sp.Rational(1, 3)), WIDE),
    ]
]


def value(expr, at):
    return Evaluator({X: at}, dps=50)(expr)


def _box(domain, centre, width, fractions):
    lo, hi = max(domain[0], centre - width), min(domain[1], centre + width)
    return lo, hi, [lo, hi] + [min(max(lo + t * (hi - lo), lo), hi) for t in fractions]


@functools.cache
def boxes(domain):
    """Boxes inside ``domain`` — wide, narrow, or a single point — with points inside them."""
    special = [c for c in (0.0, 1.0, -1.0, 3.0, -3.0, 6.0) if domain[0] <= c <= domain[1]]
    return st.builds(
        _box,
        st.just(domain),
        st.one_of(st.floats(*domain), st.sampled_from(special)),
        st.sampled_from([0.0, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 100.0]),
        st.lists(st.floats(0, 1), min_size=1, max_size=2),
    )


def assert_contains(expr, lo, hi, points, *, dps=30):
    low, high = enclose(expr, {X: (lo, hi)}, dps=dps)
    for p in points:
        try:
            v = value(expr, p)
        except NotAdmissible:
            continue
        assert low <= v <= high, f"{expr} at x={p!r} is {v}, outside [{low}, {high}]"


# ---- soundness ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "exprs", "domain"), TABLE, ids=[t[0] for t in TABLE])
@given(data=st.data(), dps=st.sampled_from([12, 30]))
def test_enclosure_contains_true_values(name, exprs, domain, data, dps):
    lo, hi, points = data.draw(boxes(domain))
    for expr in exprs:
        assert_contains(expr, lo, hi, points, dps=dps)


@pytest.mark.parametrize(("name", "exprs", "domain"), TABLE, ids=[t[0] for t in TABLE])
def test_enclosure_exists_over_the_whole_domain(name, exprs, domain):
    for expr in exprs:
        low, high = enclose(expr, {X: domain})
        assert low <= value(expr, (domain[0] + domain[1]) / 2) <= high


@given(data=st.data())
def test_atan_encloses(data):
    """The evaluator has no atan, so the reference here is mpmath's, at 50 digits."""
    lo, hi, points = data.draw(boxes(WIDE))
    low, high = enclose(sp.atan(x**3 - x), {x: (lo, hi)})
    with mpmath.workdps(50):
        for p in points:
            assert low <= mpmath.atan(mpmath.mpf(p) ** 3 - mpmath.mpf(p)) <= high


def test_atan_where_mpmath_interval_atan2_rounds_inward():
    """Found by the property above: ``iv.atan2`` rounds a prec+4-bit value "outward"."""
    p = 25.26975860058471
    low, high = enclose(sp.atan(x**3 - x), {x: (p, p)})
    with mpmath.workdps(50):
        assert low <= mpmath.atan(mpmath.mpf(p) ** 3 - mpmath.mpf(p)) <= high


@given(entry=st.sampled_from(TABLE), data=st.data())
@settings(max_examples=25)  # each example runs a small bisection
def test_bounds_contain_true_values(entry, data):
    _, exprs, domain = entry
    expr = data.draw(st.sampled_from(exprs))
    lo, hi, points = data.draw(boxes(domain))
    b = bounds(expr, X, lo, hi, cells=4, refine=2)
    assert isinstance(b.lower, float) and isinstance(b.upper, float)
    for p in points:
        try:
            v = value(expr, p)
        except NotAdmissible:
            continue
        assert b.lower <= v <= b.upper, f"{expr} at {p}: {v} not in [{b.lower}, {b.upper}]"


@given(lo=st.decimals(-100, 100, places=6), width=st.decimals(0, 100, places=6))
def test_bounds_round_outward_to_floats(lo, width):
    """Decimal endpoints are not floats: the float bounds must still contain them exactly."""
    hi = lo + width
    b = bounds(x, x, str(lo), str(hi), cells=1, refine=0)
    assert Fraction(b.lower) <= Fraction(lo) and Fraction(hi) <= Fraction(b.upper)


def test_rational_endpoints_round_outward():
    b = bounds(x, x, sp.Rational(1, 3), sp.Rational(2, 3), cells=1, refine=0)
    assert Fraction(b.lower) <= Fraction(1, 3) and Fraction(2, 3) <= Fraction(b.upper)
    assert b.lower == pytest.approx(1 / 3) and b.upper == pytest.approx(2 / 3)


# ---- tightness ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry", SCALAR, ids=[a.name for a in SCALAR])
@given(at=st.floats(-60, 60))
def test_point_boxes_are_tight(entry, at):
    for expr in entry.at():
        low, high = enclose(expr, {X: (at, at)})
        assert high - low <= mpmath.mpf(10) ** -20 * (1 + abs(value(expr, at)))


def test_even_power_is_exact():
    assert enclose(x**2, {x: (-1, 2)}) == (0, 4)
    assert enclose(x**2, {x: (-3, -1)}) == (1, 9)
    assert enclose(x**3, {x: (-2, 1)}) == (-8, 1)


def test_refinement_removes_the_dependency_overestimate():
    """(x − 1)² written out: naive interval arithmetic sees x twice; cells converge to [0, 4]."""
    expr = sp.expand((x - 1) ** 2)
    low, high = enclose(expr, {x: (-1, 2)})
    assert low < -2 and high > 6
    coarse = bounds(expr, x, -1, 2, cells=8, refine=0)
    middle = bounds(expr, x, -1, 2, cells=8, refine=8)
    fine = bounds(expr, x, -1, 2, cells=8, refine=24)
    assert coarse.lower < middle.lower < fine.lower <= 0 <= 4 <= fine.upper <= coarse.upper
    assert fine.lower > -5e-3 and fine.upper < 4 + 5e-3


def test_piecewise_branches_are_narrowed_to_where_they_apply():
    hard_tanh, relu6 = ACTIVATIONS.get("hard_tanh").at()[0], ACTIVATIONS.get("relu6").at()[0]
    assert enclose(hard_tanh, {x: (-5, 5)}) == (-1, 1)
    assert enclose(relu6, {x: (-10, 10)}) == (0, 6)
    assert enclose(ACTIVATIONS.get("relu").at()[0], {x: (-3, 2)}) == (0, 2)


def test_sigmoid_derivative_peaks_at_a_quarter():
    b = bounds(ACTIVATIONS.get("sigmoid").at()[1], x, -50, 50)
    assert 0.25 <= b.upper < 0.25 + 1e-3
    assert 0 < b.lower <= value(ACTIVATIONS.get("sigmoid").at()[1], 50)


def test_tanh_derivative_peaks_at_one():
    b = bounds(ACTIVATIONS.get("tanh").at()[1], x, -50, 50)
    assert 1 <= b.upper < 1 + 1e-3
    assert 0 <= b.lower <= value(ACTIVATIONS.get("tanh").at()[1], 50)


def test_gelu_minimum_and_derivative_minimum():
    """GELU's minimum ≈ −0.16997 (at x ≈ −0.7518); its derivative's, Φ(−√2) − √2 φ(√2)."""
    f, d = ACTIVATIONS.get("gelu").at()
    with mpmath.workdps(30):
        f_min = value(f, mpmath.findroot(lambda t: value(d, t), -0.75))
    d_min = value(d, -mpmath.sqrt(2))
    assert f_min == pytest.approx(-0.1699712, abs=1e-7)
    assert d_min == pytest.approx(-0.1289041, abs=1e-7)
    for expr, least in ((f, f_min), (d, d_min)):
        b = bounds(expr, x, -10, 10)
        assert least - 1e-3 < b.lower <= least


def test_the_call_properties_makes():
    """``symdl.catalog.properties`` calls bounds(f, X, -SPAN, SPAN, cells=2000, refine=8)."""
    b = bounds(ACTIVATIONS.get("relu").at()[1], X, -50, 50, cells=2000, refine=8)
    assert isinstance(b, Bounds)
    assert (b.lower, b.upper, b.cells) == (0.0, 1.0, 2000)
    assert b.evidence == "mpmath.iv enclosure over 2000 cells of [-50, 50] at 30 digits"


def test_bounds_are_frozen():
    b = bounds(x, x, 0, 1, cells=1, refine=0)
    with pytest.raises(AttributeError):
        b.lower = 2.0  # type: ignore[misc]


# ---- unbounded and undefined -------------------------------------------------------------


def test_negative_powers_across_zero_are_unbounded():
    assert enclose(1 / x, {x: (-1, 1)}) == (-mpmath.inf, mpmath.inf)
    assert enclose(x**-2, {x: (-1, 2)}) == (mpmath.mpf(1) / 4, mpmath.inf)
    assert enclose(1 / x, {x: (2, 4)}) == (mpmath.mpf(1) / 4, mpmath.mpf(1) / 2)


@pytest.mark.parametrize(
    ("expr", "box", "words"),
    [
        (sp.log(x), (-1, 1), "log(x) is undefined where x <= 0"),
        (sp.log(x), (0, 1), "reaches [0.0, 1.0]"),
        (sp.log(1 - x**2), (0, 2), "log(1 - x**2)"),
        (log1p(x), (-2, 0), "log1p(x) is undefined where x <= -1"),
        (sp.sqrt(x), (-1, 4), "not real-valued"),
        (x**x, (0, 1), "not real-valued"),
        (sp.Piecewise((x, x < 0)), (1, 2), "no branch"),
    ],
)
def test_undefined_on_part_of_the_box(expr, box, words):
    with pytest.raises(OutsideDomain, match=re.escape(words)) as e:
        enclose(expr, {x: box})
    assert isinstance(e.value, SymdlError) and isinstance(e.value, NotAdmissible)


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        (sp.gamma(x), "gamma"),
        (sp.Function("g")(x), "g"),
        (sp.DiracDelta(x), "DiracDelta"),
        (sp.Symbol("y") * x, "symbol y"),
        (sp.EulerGamma * x, "EulerGamma"),
    ],
)
def test_unsupported_nodes_are_named(expr, words):
    with pytest.raises(UnsupportedError, match=words):
        enclose(expr, {x: (0, 1)})
    with pytest.raises(NotImplementedError):
        bounds(expr, x, 0, 1, cells=2, refine=0)


def test_invalid_intervals():
    with pytest.raises(ValueError, match="lo <= hi"):
        enclose(x, {x: (2, 1)})
    with pytest.raises(ValueError, match="finite"):
        bounds(x, x, 0, float("inf"))
    with pytest.raises(ValueError, match="cells"):
        bounds(x, x, 0, 1, cells=0)


def test_precision_is_restored():
    before = mpmath.iv.prec, mpmath.mp.prec
    enclose(sp.erf(x), {x: (0, 1)}, dps=60)
    with pytest.raises(OutsideDomain):
        enclose(sp.log(x), {x: (-1, 1)}, dps=60)
    assert (mpmath.iv.prec, mpmath.mp.prec) == before
