"""The matrix engine along one axis: row-wise softmax, log-softmax, log-sum-exp, sums, means.

Every gradient is checked by the engine's own check (entrywise at two sizes, and the
generated code against finite differences); the right closed forms pass ``symdl check``
and the usual wrong ones (the softmax VJP without its row-sum term, the other axis, a lost
``1/m``) are refuted by it. Single-head attention (Vaswani et al., 2017, §3.2.1) is
differentiated by ``Q``, ``K`` and ``V`` with symbolic dimensions.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from symdl.cli import main
from symdl.derive.matrix import matrix_gradient
from symdl.explicit import Instance
from symdl.parse import parse
from symdl.shapes import Scope
from symdl.verify.check import check_derivative, check_identity
from symdl.verify.gradcheck import gradcheck

ATTENTION = "sum(softmax((Q @ K.T) / sqrt(d), axis=1) @ V)"
ATTENTION_SHAPES = {"Q": "n x k", "K": "m x k", "V": "m x c"}


@pytest.fixture(scope="module")
def attention():
    return matrix_gradient(ATTENTION, "Q,K,V", shapes=ATTENTION_SHAPES, assume={"d": "positive"})


def _attention_by_hand(Q, K, V, d):
    """The textbook backward pass of ``sum(softmax(QKᵀ/√d, axis=1) V)``."""
    P = special.softmax(Q @ K.T / np.sqrt(d), axis=1)
    G = np.ones((Q.shape[0], V.shape[1])) @ V.T  # ∂L/∂P
    dS = P * (G - (G * P).sum(axis=1, keepdims=True)) / np.sqrt(d)
    return {"Q": dS @ K, "K": dS.T @ Q, "V": P.T @ np.ones((Q.shape[0], V.shape[1]))}


def test_attention_gradients_are_checked_for_symbolic_dims(attention):
    assert attention.verdict in ("proved", "verified"), str(attention.report)
    outcomes = {(e.method, e.outcome) for e in attention.report.evidence}
    assert ("high-precision", "agree") in outcomes
    assert ("generated-code", "agree") in outcomes
    assert all(e.outcome not in ("differ", "refuted") for e in attention.report.evidence)


def test_attention_reads_like_the_textbook(attention):
    n, c = sp.Symbol("n", integer=True, positive=True), sp.Symbol("c", integer=True, positive=True)
    p = sp.MatrixSymbol("p", n, sp.Symbol("m", integer=True, positive=True))
    assert attention.named["V"] == sp.MatMul(sp.Transpose(p), sp.OneMatrix(n, c))
    lines = attention.text().splitlines()
    assert lines[0] == "p = softmax(Q @ K.T / sqrt(d), axis=1)"
    assert lines[1].startswith("ds = p * (") and lines[1].endswith(") / sqrt(d)")
    assert lines[2:4] == ["dL/dQ = ds @ K", "dL/dK = ds.T @ Q"]
    latex = attention.latex()
    assert r"\operatorname{softmax}_{\mathrm{row}}" in latex
    assert r"\mathbf{1} \mathbf{1}^\top" in latex  # the row sums (G ⊙ P)𝟏𝟏ᵀ
    assert r"\frac{1}{\sqrt{d}}" in latex
    assert r"\frac{\partial L}{\partial \mathbf{V}} &= \mathbf{p}^\top \mathbf{1}" in latex
    for w in "QKV":  # every gradient prints as text symdl check reads back
        parse(attention.gradient_text(w), ATTENTION_SHAPES)


def test_attention_code_matches_the_hand_written_backward_pass(attention):
    rng = np.random.default_rng(7)
    Q, K, V = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 5))
    got = attention.code(K=K, Q=Q, V=V, d=2.0)
    want = _attention_by_hand(Q, K, V, 2.0)
    for w in "QKV":
        np.testing.assert_allclose(got[w], want[w], rtol=1e-12, atol=1e-14)


def test_attention_code_is_stable_at_large_scores(attention):
    rng = np.random.default_rng(8)
    Q, K, V = 30 * rng.normal(size=(3, 2)), 30 * rng.normal(size=(4, 2)), rng.normal(size=(4, 5))
    assert np.abs(Q @ K.T).max() > 1e3  # scores of 1e3: exp would overflow unshifted
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = attention.code(K=K, Q=Q, V=V, d=1.0)
        want = _attention_by_hand(Q, K, V, 1.0)
    for w in "QKV":
        assert np.all(np.isfinite(got[w]))
        np.testing.assert_allclose(got[w], want[w], rtol=1e-9, atol=1e-9 * np.abs(want[w]).max())


def test_attention_code_matches_finite_differences():
    g = matrix_gradient(ATTENTION, "Q,K,V", shapes=ATTENTION_SHAPES, check=False)
    rng = np.random.default_rng(9)
    Q, K, V = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    def f(Q, K, V):
        return float(special.softmax(Q @ K.T / np.sqrt(3.0), axis=1).__matmul__(V).sum())

    def grad(Q, K, V):
        out = g.code(K=K, Q=Q, V=V, d=3.0)
        return out["Q"], out["K"], out["V"]

    assert gradcheck(f, grad, Q, K, V).verdict == "verified"


# f, wrt's shape, the other array's shape: each reduction along each axis
ALONG = [
    ("sum(C * sum(A, axis=1))", "n"),
    ("sum(C * sum(A, axis=0))", "1 x m"),
    ("sum(C * mean(A, axis=1))", "n"),
    ("sum(C * mean(A, axis=0))", "1 x m"),
    ("sum(C * logsumexp(A, axis=1))", "n"),
    ("sum(C * logsumexp(A, axis=0))", "1 x m"),
    ("sum(C * softmax(A, axis=1))", "n x m"),
    ("sum(C * softmax(A, axis=0))", "n x m"),
    ("sum(C * log_softmax(A, axis=1))", "n x m"),
    ("sum(C * log_softmax(A, axis=-2))", "n x m"),
    ("sum(logsumexp(W @ X, axis=0))", None),
    ("-sum(Y * log_softmax(W @ X, axis=0))", None),
]


@pytest.mark.parametrize("f, c_shape", ALONG, ids=[a[0] for a in ALONG])
def test_gradient_along_an_axis_is_checked_entrywise(f, c_shape):
    if c_shape is None:
        shapes = {"W": "m x n", "X": "n x b", "Y": "m x b"}
        wrt = "W"
    else:
        shapes = {"A": "n x m", "C": c_shape}
        wrt = "A"
    g = matrix_gradient(f, wrt, shapes=shapes)
    assert g.verdict in ("proved", "verified"), str(g.report)
    outcomes = {(e.method, e.outcome) for e in g.report.evidence}
    assert ("high-precision", "agree") in outcomes
    assert ("generated-code", "agree") in outcomes
    parse(g.gradient_text(wrt), shapes)  # the gradient prints as input-language text


SOFTMAX_F = "sum(C * softmax(A, axis=1))"
ROW_SUMS = "sum(C * softmax(A, axis=1), axis=1) @ ones_like(sum(A, axis=0))"
FULL = ("A=n x m", "C=n x m")
COLUMN = ("A=n x m", "C=n")
# a claim cannot name a symbolic dimension (m in the text is a new scalar), so the mean
# is checked with a concrete number of columns
MEAN = ("A=n x 4", "C=n")
CLAIMS = [
    # function, claim, shapes, exit code of symdl check (0 holds, 1 refuted)
    (SOFTMAX_F, f"softmax(A, axis=1) * (C - {ROW_SUMS})", FULL, 0),
    (SOFTMAX_F, "softmax(A, axis=1) * C", FULL, 1),  # the row-sum term lost
    (  # axis 0 where axis 1 belongs
        SOFTMAX_F,
        "softmax(A, axis=0) * (C - ones_like(sum(A, axis=1)) @ "
        "sum(C * softmax(A, axis=0), axis=0))",
        FULL,
        1,
    ),
    (SOFTMAX_F, f"2 * softmax(A, axis=1) * (C - {ROW_SUMS})", FULL, 1),  # factor 2
    (
        "sum(C * log_softmax(A, axis=1))",
        "C - softmax(A, axis=1) * (sum(C, axis=1) @ ones_like(sum(A, axis=0)))",
        FULL,
        0,
    ),
    ("sum(C * log_softmax(A, axis=1))", "C - softmax(A, axis=1)", FULL, 1),  # Σ_j C_ij lost
    (
        "sum(C * logsumexp(A, axis=1))",
        "(C @ ones_like(sum(A, axis=0))) * softmax(A, axis=1)",
        COLUMN,
        0,
    ),
    (
        "sum(C * logsumexp(A, axis=1))",
        "(C @ ones_like(sum(A, axis=0))) * softmax(A, axis=0)",
        COLUMN,
        1,
    ),
    ("sum(C * mean(A, axis=1))", "C @ ones_like(sum(A, axis=0)) / 4", MEAN, 0),
    ("sum(C * mean(A, axis=1))", "C @ ones_like(sum(A, axis=0))", MEAN, 1),  # 1/m lost
    ("sum(C * sum(A, axis=0))", "ones_like(sum(A, axis=1)) @ C", ("A=n x m", "C=1 x m"), 0),
    ("sum(C * sum(A, axis=0))", "ones_like(sum(A, axis=1)).T @ C", ("A=n x m", "C=1 x m"), 3),
]


@pytest.mark.parametrize("f, claim, shapes, code", CLAIMS)
def test_symdl_check_along_an_axis(f, claim, shapes, code, capsys):
    exit_code = main(["check", f, "--wrt", "A", "--claim", claim, "--shape", *shapes])
    captured = capsys.readouterr()
    assert exit_code == code, captured.out + captured.err
    if code == 3:  # a transposed column of ones does not fit: a shape error, not a verdict
        assert "shapes" in captured.err
        return
    verdicts = ("proved", "verified") if code == 0 else ("refuted",)
    assert captured.out.split(":", 1)[0].strip() in verdicts, captured.out


def test_symdl_check_prints_what_check_derivative_returns(capsys):
    f, claim, shapes, _ = CLAIMS[1]
    report = check_derivative(f, "A", claim, shapes=dict(s.split("=") for s in shapes))
    main(["check", f, "--wrt", "A", "--claim", claim, "--shape", *shapes])
    assert report.verdict == "refuted"
    assert capsys.readouterr().out.startswith("refuted")


def test_log_softmax_code_is_stable_and_accurate_at_1e3():
    g = matrix_gradient("sum(C * log_softmax(A, axis=1))", "A", shapes={"A": "2x3", "C": "2x3"})
    assert g.verdict == "proved"
    assert "special.logsumexp" in g.code.source or "special.softmax" in g.code.source
    rng = np.random.default_rng(11)
    A, C = 1e3 * rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = g.code(A=A, C=C)["A"]
    with mpmath.workdps(50):
        want = np.zeros((2, 3))
        for i in range(2):
            z = [mpmath.mpf(float(v)) for v in A[i]]
            total = mpmath.fsum(mpmath.exp(v) for v in z)
            row = mpmath.fsum(mpmath.mpf(float(v)) for v in C[i])
            for j in range(3):
                want[i, j] = float(C[i, j] - mpmath.exp(z[j]) / total * row)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("f", ["logsumexp(A, axis=1)", "log_softmax(A, axis=0)"])
def test_forward_code_is_stable_at_1e3(f):
    from symdl.codegen import numpy_function

    e = parse(f, {"A": "3x4"})
    A = np.array([[1e3, -1e3, 5e2, 0.0], [-1e3, -1e3, -999.0, 1e3], [2e3, 0.0, -2e3, 1e3]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = np.asarray(numpy_function(e, ["A"])(A), dtype=float)
    axis = 1 if "axis=1" in f else 0
    with mpmath.workdps(50):  # the reference: each line's log-sum-exp in 50 digits
        lines = A if axis == 1 else A.T
        lse = [mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in r)) for r in lines]
        if f.startswith("logsumexp"):
            want = np.array([float(v) for v in lse]).reshape(got.shape)
        else:
            want = np.array(
                [[float(mpmath.mpf(v) - lse[i]) for v in r] for i, r in enumerate(lines)]
            )
            want = want if axis == 1 else want.T
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-15)


IDENTITIES = [
    ("sum(softmax(A, axis=1), axis=1)", "ones_like(sum(A, axis=1))", "verified"),
    ("logsumexp(A, axis=0)", "logsumexp(A.T, axis=1).T", "verified"),
    ("log_softmax(A, axis=1)", "log(softmax(A, axis=1))", "verified"),
    ("logsumexp(A, axis=0)", "logsumexp(A, axis=1).T", "refuted"),  # the other axis
    ("sum(softmax(A, axis=0), axis=1)", "ones_like(sum(A, axis=1))", "refuted"),
]


@pytest.mark.parametrize("lhs, rhs, verdict", IDENTITIES)
def test_identities_along_an_axis(lhs, rhs, verdict):
    assert check_identity(lhs, rhs, shapes={"A": "n x n"}).verdict == verdict


# Random compositions: an inner entrywise or matrix expression, a reduction along an axis,
# weighted by an array of the result's shape; the engine's gradient against the entrywise
# derivative (SymPy's diff of the written-out entries), at a random point in 30 digits.
INNER = ["A", "tanh(A)", "A * A", "2*A - B", "A @ B.T @ A", "sigmoid(A) * B"]
OUTER = ["softmax", "log_softmax", "logsumexp", "sum", "mean"]
RANDOM_SHAPES = {"A": "2x3", "B": "2x3", "C": "2x3", "R": "2x1", "S": "1x3"}


@settings(max_examples=25)
@given(
    inner=st.sampled_from(INNER),
    outer=st.sampled_from(OUTER),
    axis=st.sampled_from([0, 1, -1, -2]),
    seed=st.integers(0, 2**16),
)
def test_random_compositions_agree_with_the_entrywise_gradient(inner, outer, axis, seed):
    full = outer in ("softmax", "log_softmax")
    weight = "C" if full else ("R" if axis % 2 == 1 else "S")
    f = f"sum({weight} * {outer}({inner}, axis={axis}))"
    g = matrix_gradient(f, "A", shapes=RANDOM_SHAPES, check=False)
    scope = Scope.build(RANDOM_SHAPES)
    inst = Instance.build(scope, {}, set(RANDOM_SHAPES))
    lowered = inst.lower(parse(f, scope=scope))
    engine = inst.lower(g.gradients["A"])
    rng = np.random.default_rng(seed)
    point = {s: sp.Rational(int(rng.integers(-2000, 2000)), 1000) for s in inst.free_symbols()}
    a = inst.entries["A"]
    for i in range(2):
        for j in range(3):
            want = sp.diff(lowered, a[i, j]).xreplace(point).evalf(30)
            got = engine[i, j].xreplace(point).evalf(30)
            assert abs(got - want) <= sp.Float(1e-25) * max(1, abs(want)), (f, i, j)


def test_cross_entropy_along_the_class_axis_reads_like_the_textbook():
    g = matrix_gradient(
        "-sum(y * log_softmax(W @ x + b, axis=0))",
        "W",
        shapes={"W": "m x n", "x": "n", "b": "m", "y": "m"},
        assume={"y": "probability"},
    )
    assert g.verdict == "proved", str(g.report)
    assert g.text() == "dL/dW = (softmax(W @ x + b, axis=0) - y) @ x.T"  # 𝟏ᵀy = 1 folded


def test_softmax_cross_entropy_hessian_along_an_axis_is_diag_p_minus_p_pt():
    from symdl.derive.matrix_hessian import matrix_hessian

    h = matrix_hessian(
        "-sum(y * log_softmax(z, axis=0))",
        "z",
        shapes={"z": "n", "y": "n"},
        assume={"y": "probability"},
    )
    assert h.verdict in ("proved", "verified"), str(h.report)
    assert h.text().splitlines()[-1] == (
        "H = diag(softmax(z, axis=0)) - softmax(z, axis=0) @ softmax(z, axis=0).T"
    )


def test_sums_of_a_diagonal_matrix_fold_to_its_vector():
    from sympy.matrices.expressions.diagonal import DiagMatrix

    from symdl.derive.matrix_tidy import Tidy

    v = sp.MatrixSymbol("v", 3, 1)
    M = sp.MatrixSymbol("M", 3, 2)
    t = Tidy()
    assert t.matmul(sp.OneMatrix(1, 3), DiagMatrix(v), M) == sp.MatMul(sp.Transpose(v), M)
    assert t.matmul(M.T, DiagMatrix(v), sp.OneMatrix(3, 1)) == sp.MatMul(M.T, v)
    values = {v: sp.Matrix([1, -2, 5]), M: sp.Matrix([[1, 2], [3, 4], [5, 6]])}
    d = sp.diag(1, -2, 5)
    row = t.matmul(sp.OneMatrix(1, 3), DiagMatrix(v), M).subs(values).doit()
    column = t.matmul(M.T, DiagMatrix(v), sp.OneMatrix(3, 1)).subs(values).doit()
    assert sp.Matrix(row) == sp.ones(1, 3) * d * values[M]
    assert sp.Matrix(column) == values[M].T * d * sp.ones(3, 1)
