"""The proof by induction over the reverse sweep, the let-form it works on, and the check
of the matrix engine built on them: right sweeps are proved, sweeps with one rule planted
wrong are never proved and are refuted by the values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from symdl import ops
from symdl.derive.matrix import matrix_gradient
from symdl.derive.matrix_check import check_gradients
from symdl.derive.matrix_induction import prove_sweep
from symdl.derive.matrix_letform import entries_of, let_form
from symdl.explicit import instances
from symdl.nodes import EntrySum
from symdl.shapes import Scope


def mlp_expression(depth):
    """``sum((W_L tanh(… tanh(W_1 x + b_1) …) + b_L − y)²)`` with symbolic width ``n``,
    built with the language's operations (deeper than the parser's nesting limit)."""
    shapes = {"x": "n", "y": "n"}
    shapes.update({f"W{i}": "n x n" for i in range(1, depth + 1)})
    shapes.update({f"b{i}": "n" for i in range(1, depth + 1)})
    scope = Scope.build(shapes)
    a = scope.symbol("x")
    for i in range(1, depth + 1):
        z = ops.add(ops.matmul(scope.symbol(f"W{i}"), a), scope.symbol(f"b{i}"))
        a = ops.elementwise(sp.tanh, z) if i < depth else z
    loss = EntrySum(ops.power(ops.sub(a, scope.symbol("y")), sp.Integer(2)))
    wrt = [f"{p}{i}" for i in range(1, depth + 1) for p in ("W", "b")]
    return loss, shapes, wrt


CASES = [
    ("sum((W @ x + b - y)**2)", {"W": "m x n", "x": "n", "b": "m", "y": "m"}, {}, "W,b"),
    (
        "-sum(y * log_softmax(W @ x + b, axis=0))",
        {"W": "m x n", "x": "n", "b": "m", "y": "m"},
        {"y": "probability"},
        "W,b",
    ),
    ("logdet(X)", {"X": "n x n"}, {}, "X"),
    ("det(X)", {"X": "n x n"}, {}, "X"),
    ("tr(A @ X @ B)", {"A": "p x m", "X": "m x n", "B": "n x p"}, {}, "X"),
    ("x.T @ A @ x", {"A": "n x n", "x": "n"}, {}, "x,A"),
    ("norm(W)", {"W": "m x n"}, {}, "W"),
    ("sum(sigmoid(W @ x))", {"W": "m x n", "x": "n"}, {}, "W"),
    ("sum(inv(X) @ y)", {"X": "2 x 2", "y": "2"}, {}, "X"),
    (
        "sum((W3 @ tanh(W2 @ tanh(W1 @ x + b1) + b2) + b3 - y)**2)",
        {
            "W1": "h x n",
            "W2": "k x h",
            "W3": "m x k",
            "x": "n",
            "b1": "h",
            "b2": "k",
            "b3": "m",
            "y": "m",
        },
        {},
        "W1,b1,W2,b2,W3,b3",
    ),
]
ATTENTION = (
    "sum(softmax((Q @ K.T) / sqrt(d), axis=1) @ V)",
    {"Q": "n x k", "K": "m x k", "V": "m x c"},
    {"d": "positive"},
    "Q,K,V",
)


def _sweep(f, shapes, assume, wrt):
    return matrix_gradient(f, wrt, shapes=shapes, assume=assume, check=False)


@pytest.mark.parametrize("f, shapes, assume, wrt", CASES, ids=[c[0] for c in CASES])
def test_right_sweeps_are_proved_at_every_instance(f, shapes, assume, wrt):
    g = _sweep(f, shapes, assume, wrt)
    for inst in instances(g.scope, set(shapes)):
        result = prove_sweep(g.function, g.sweep, inst, timeout=60)
        assert result.proved, result.detail


def test_attention_by_q_k_v_is_proved():
    g = matrix_gradient(*ATTENTION[:1], ATTENTION[3], shapes=ATTENTION[1], assume=ATTENTION[2])
    assert g.verdict == "proved", str(g.report)
    methods = [(e.method, e.outcome) for e in g.report.evidence]
    assert methods.count(("symbolic", "proved")) == 2  # at both instances
    assert ("high-precision", "agree") in methods and ("generated-code", "agree") in methods


@pytest.mark.parametrize("depth", [5, 8])
def test_deep_mlp_is_proved(depth):
    f, shapes, wrt = mlp_expression(depth)
    g = matrix_gradient(f, wrt, shapes=shapes)
    assert g.verdict == "proved", str(g.report)


def test_let_form_grows_linearly_in_depth():
    sizes = []
    for depth in (4, 8, 16):
        f, shapes, wrt = mlp_expression(depth)
        g = _sweep(f, shapes, {}, wrt)
        lf = let_form(g.function, instances(g.scope, set(shapes))[0], set())
        sizes.append(sum(sp.count_ops(e) for v in lf.local.values() for e in entries_of(v)))
    assert sizes[2] - sizes[1] == 2 * (sizes[1] - sizes[0])  # the same cost per layer


# -- wrong sweeps: one rule planted wrong ------------------------------------------------


def _plant(sweep, node, wrong):
    """``sweep`` with the adjoint of ``node`` (and the placeholder standing for it, and a
    gradient equal to it) replaced by ``wrong(adjoint)``."""
    old = sweep.adjoints[node]
    new = wrong(old)
    adjoints = {**sweep.adjoints, node: new}
    back = {h: (new if m == old else m) for h, m in sweep.back.items()}
    held = {w: (new if g == old else g) for w, g in sweep.held.items()}
    return dataclasses.replace(sweep, adjoints=adjoints, back=back, held=held, memo={})


def _node(sweep, text):
    (node,) = [n for n in sweep.adjoints if str(n) == text]
    return node


def _transpose_weight(e):
    # W2.T @ δ → W2 @ δ: the rule that sends δ through a layer with W instead of Wᵀ
    return e.replace(lambda t: isinstance(t, sp.Transpose) and t.arg.name == "W3", lambda t: t.arg)


WRONG = [
    ("sign flipped", "W1*x + b1", lambda e: sp.MatMul(-1, e)),
    ("factor 2 lost", "W1*x + b1", lambda e: sp.MatMul(sp.Rational(1, 2), e)),
    (
        "missing ⊙ σ′",
        "W1*x + b1",
        lambda e: next(a for a in e.args if isinstance(a, sp.MatrixSymbol)),
    ),
    ("W instead of Wᵀ", None, _transpose_weight),
]


@pytest.mark.parametrize("label, at, wrong", WRONG, ids=[w[0] for w in WRONG])
def test_a_planted_wrong_rule_is_never_proved_and_is_refuted(label, at, wrong):
    f, shapes, wrt = mlp_expression(3)
    g = _sweep(f, shapes, {}, wrt)
    sweep = g.sweep
    if at is None:  # the adjoint of tanh(z₂) is W₃ᵀ δ₃
        node = next(n for n in sweep.adjoints if "W3.T" in str(sweep.adjoints[n]))
    else:
        node = _node(sweep, at)
    planted = _plant(sweep, node, wrong)
    assert planted.adjoints[node] != sweep.adjoints[node]
    for inst in instances(g.scope, set(shapes)):
        assert not prove_sweep(g.function, planted, inst, timeout=30).proved
    report = check_gradients(
        g.function,
        g.wrt,
        planted,
        g.code,
        g.scope,
        label,
        points=2,
        precision=30,
        timeout=30,
        seed=0,
    )
    assert report.verdict == "refuted", str(report)
    assert any(e.method == "high-precision" and e.outcome == "differ" for e in report.evidence)


def test_a_transposed_gradient_of_a_square_weight_is_refuted():
    f, shapes, wrt = mlp_expression(3)
    g = _sweep(f, shapes, {}, wrt)
    held = {**g.sweep.held, "W2": sp.Transpose(g.sweep.held["W2"])}
    planted = dataclasses.replace(g.sweep, held=held, memo={})
    inst = instances(g.scope, set(shapes))[0]
    assert not prove_sweep(g.function, planted, inst, timeout=30).proved
    report = check_gradients(
        g.function,
        g.wrt,
        planted,
        g.code,
        g.scope,
        "W2ᵀ",
        points=1,
        precision=30,
        timeout=30,
        seed=0,
    )
    assert report.verdict == "refuted", str(report)


def test_a_dropped_dependence_is_not_proved():
    # the engine forgets the path through the second use of x: d/dx of xᵀAx taken as Aᵀx
    g = _sweep("x.T @ A @ x", {"A": "n x n", "x": "n"}, {}, "x")
    held = {"x": sp.MatMul(sp.Transpose(g.scope.symbol("A")), g.scope.symbol("x"))}
    planted = dataclasses.replace(g.sweep, held=held, memo={})
    for inst in instances(g.scope, {"A", "x"}):
        assert not prove_sweep(g.function, planted, inst, timeout=30).proved


def test_an_induction_out_of_time_is_not_proved():
    g = _sweep(*ATTENTION[:3], ATTENTION[3])
    inst = instances(g.scope, set(ATTENTION[1]))[0]
    result = prove_sweep(g.function, g.sweep, inst, timeout=0.0)
    assert not result.proved and "time" in result.detail


@settings(max_examples=12, deadline=None)
@given(
    depth=st.integers(1, 3),
    pick=st.integers(0, 10**6),
    factor=st.sampled_from([-1, 2, sp.Rational(1, 2), 3]),
)
def test_any_adjoint_scaled_wrong_is_never_proved(depth, pick, factor):
    f, shapes, wrt = mlp_expression(depth)
    g = _sweep(f, shapes, {}, wrt)
    nodes = [n for n in g.sweep.adjoints if n != g.function]
    node = nodes[pick % len(nodes)]
    planted = _plant(g.sweep, node, lambda e: factor * e)
    inst = instances(g.scope, set(shapes))[0]
    assert not prove_sweep(g.function, planted, inst, timeout=30).proved


def test_a_wrong_seed_is_not_proved():
    g = _sweep(*CASES[0])
    planted = _plant(g.sweep, g.function, lambda e: 2 * e)
    inst = instances(g.scope, set(CASES[0][1]))[0]
    result = prove_sweep(g.function, planted, inst, timeout=30)
    assert not result.proved and "sum(" in result.detail


# -- random expressions: the induction proves the engine, and the values agree ------------

UNARY = ["tanh", "sigmoid", "softplus", "sin", "gelu", "exp", "relu"]
RANDOM_SHAPES = {"W": "m x n", "V": "n x m", "x": "n", "u": "m"}


def _apply(f, a):
    return f"{f}({a})" if f != "exp" else f"exp({a}/4)"


def _vectors(shape, depth):
    base = {"m": ["u", "(W @ x)", "(V.T @ x)"], "n": ["x", "(W.T @ u)", "(V @ u)"]}[shape]
    leaf = st.sampled_from(base)
    if depth == 0:
        return leaf
    sub = _vectors(shape, depth - 1)
    other, mat = ("n", "W") if shape == "m" else ("m", "V")
    return st.one_of(
        leaf,
        st.builds(_apply, st.sampled_from(UNARY), sub),
        st.builds(lambda a, b: f"({a} + {b})", sub, sub),
        st.builds(lambda a, b: f"({a} * {b})", sub, sub),
        st.builds(lambda a, b: f"({a} - c*{b})", sub, sub),
        st.builds(lambda a: f"({a})**2", sub),
        st.builds(lambda a: f"softmax({a})", sub),
        st.builds(lambda a: f"({mat} @ {a})", _vectors(other, depth - 1)),
    )


RANDOM_SCALARS = st.one_of(
    st.builds(lambda a: f"sum({a})", _vectors("m", 2)),
    st.builds(lambda a: f"logsumexp({a})", _vectors("n", 1)),
    st.builds(lambda a: f"norm({a})", _vectors("m", 1)),
    st.builds(lambda a, b: f"({a}).T @ ({b})", _vectors("m", 1), _vectors("m", 1)),
    st.builds(lambda a: f"-sum(u * log_softmax({a}))", _vectors("m", 1)),
)


@settings(max_examples=15, deadline=None)
@given(f=RANDOM_SCALARS, wrt=st.sampled_from(["W", "V", "x", "u"]))
# found by this property on 2026-11-30: V[0, 1] against the entry of V.T it defines, with
# six forward nodes between them and the adjoints
@example(f="sum(((u - c*(W @ x)) * softmax((V.T @ x))))", wrt="x")
def test_random_expressions_are_proved_and_agree_in_value(f, wrt):
    from hypothesis import assume

    from symdl.derive.matrix_letvalues import let_point, sweep_program, sweep_values
    from symdl.errors import ParseError

    try:
        g = matrix_gradient(f, wrt, shapes=RANDOM_SHAPES, check=False)
    except ParseError:
        assume(False)  # wrt not used by this expression
    inst = instances(g.scope, set(RANDOM_SHAPES))[0]
    result = prove_sweep(g.function, g.sweep, inst, timeout=60)
    assert result.proved, (f, wrt, result.detail)
    lf = let_form(g.function, inst, {g.scope.symbol(wrt)})
    at = sweep_values(
        sweep_program(lf, g.sweep), let_point(lf, rng=np.random.default_rng(0)), precision=30
    )
    for a, b in zip(at.engine[wrt], at.true[wrt]):
        assert abs(a - b) <= 1e-20 * max(1, abs(b)), (f, wrt)
