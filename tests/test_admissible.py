"""Sample points are admissible (domain, kinks) and generic (no hidden symmetry)."""

import numpy as np
import pytest
import sympy as sp

from symdl.explicit import instances
from symdl.parse import parse
from symdl.shapes import Scope
from symdl.verify.admissible import (
    MARGIN,
    NoAdmissiblePoint,
    conditions,
    sample_points,
)
from symdl.verify.precise import Evaluator


def points_for(text, shapes=None, assume=None, n=8, seed=0):
    scope = Scope.build(shapes, assume)
    expr = parse(text, scope=scope)
    names = {m.name for m in expr.atoms(sp.MatrixSymbol)}
    inst = instances(scope, names)[0]
    lowered = inst.lower(expr)
    exprs = list(lowered) if isinstance(lowered, sp.MatrixBase) else [lowered]
    scalars = {s for e in exprs for s in e.free_symbols} - set(inst.free_symbols())
    conds = conditions(exprs)
    pts = sample_points(inst, scalars, conds, points=n, rng=np.random.default_rng(seed))
    return inst, conds, pts


def test_conditions_of_log_sqrt_division_and_kinks():
    a, b = sp.symbols("a b", real=True)
    found = {(c.kind, c.origin) for c in conditions([sp.log(a) + sp.sqrt(b) / (a - b)])}
    assert ("positive", "log") in found
    assert ("positive", "fractional power") in found
    assert ("nonzero", "division") in found
    kinks = {c.origin for c in conditions([sp.Max(0, a) + sp.Abs(b) + sp.Heaviside(a - b)])}
    assert {"Max", "Abs", "Heaviside"} <= kinks


def test_points_respect_the_domain_and_stay_away_from_kinks():
    _, conds, pts = points_for("log(a) + relu(b) + 1/(a - 2)")
    for p in pts:
        ev = Evaluator(p, dps=20)
        for c in conds:
            v = ev(c.expr)
            assert (v > MARGIN) if c.kind == "positive" else (abs(v) > MARGIN)


def test_logdet_points_have_positive_determinant():
    inst, _, pts = points_for("logdet(X)", {"X": "3x3"})
    X = inst.entries["X"]
    for p in pts:
        m = np.array([[p[X[i, j]] for j in range(3)] for i in range(3)])
        assert np.linalg.det(m) > 0


def _matrices(inst, name, pts):
    m = inst.entries[name]
    return [np.array([[p[m[i, j]] for j in range(m.cols)] for i in range(m.rows)]) for p in pts]


def test_unconstrained_samples_are_generic():
    inst, _, pts = points_for("sum(A)", {"A": "3x3"}, n=20)
    for a in _matrices(inst, "A", pts):
        assert np.max(np.abs(a - a.T)) > 0.2  # not symmetric
        assert np.max(np.abs(a - np.diag(np.diag(a)))) > 0.2  # not diagonal
        assert np.max(np.abs(a @ a.T - np.eye(3))) > 0.1  # not orthogonal


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("symmetric", lambda a: np.allclose(a, a.T)),
        ("spd", lambda a: np.allclose(a, a.T) and np.all(np.linalg.eigvalsh(a) > 0)),
        ("orthogonal", lambda a: np.allclose(a.T @ a, np.eye(len(a)))),
        ("diagonal", lambda a: np.allclose(a, np.diag(np.diag(a)))),
        ("positive", lambda a: np.all(a > 0)),
    ],
)
def test_assumptions_are_honoured(kind, check):
    inst, _, pts = points_for("sum(A)", {"A": "3x3"}, {"A": kind})
    assert all(check(a) for a in _matrices(inst, "A", pts))


def test_probability_vectors():
    inst, _, pts = points_for("sum(p)", {"p": "4"}, {"p": "probability"})
    for p in _matrices(inst, "p", pts):
        assert np.all(p > 0) and np.isclose(p.sum(), 1.0)


def test_positive_scalar_assumption():
    _, _, pts = points_for("a", None, {"a": "positive"})
    assert all(v > 0 for p in pts for v in p.values())


def test_an_empty_domain_is_reported():
    with pytest.raises(NoAdmissiblePoint):
        points_for("log(-a**2 - 1)")


# A claim right near the origin but wrong further out must meet a point where it fails:
# these were once "verified" because every sample had |x| < 2.
_x = sp.Symbol("x", real=True)
FAR_OUT_MISTAKES = [
    (sp.Piecewise((0, _x < -3), (_x / 6 + sp.S.Half, _x < 3), (1, True)), "1/6"),  # hard_sigmoid
    (sp.Piecewise((-1, _x < -1), (_x, _x < 1), (1, True)), "1"),  # hard_tanh
    (sp.Piecewise((0, _x < 0), (_x, _x < 6), (6, True)), "heaviside(x)"),  # relu6
    ("tanh(x/10)", "1/10"),  # a linearisation, valid only near 0
    ("x + exp(x - 20)", "1"),  # a term that matters only for large x
]


@pytest.mark.parametrize(("f", "claim"), FAR_OUT_MISTAKES, ids=str)
def test_claims_wrong_only_far_from_the_origin_are_refuted(f, claim):
    from symdl import check_derivative

    assert check_derivative(f, "x", claim).verdict == "refuted"


def test_scalar_samples_span_several_scales():
    (inst,) = instances(Scope.build({}, {}), [])
    pts = sample_points(inst, [_x], [], points=10, rng=np.random.default_rng(0))
    magnitudes = sorted(abs(p[_x]) for p in pts)
    assert magnitudes[0] < 0.2 and magnitudes[-1] > 12
