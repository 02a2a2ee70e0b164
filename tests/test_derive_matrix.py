"""The matrix calculus engine: a table of gradients (each proved), wrong variants (each
refuted by ``symdl check``), readable output, generated code, the CLI, and random
expressions whose engine gradient equals the entrywise gradient."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symdl import ParseError, ShapeError, UnsupportedError, check_derivative, check_identity
from symdl.cli import main
from symdl.derive.matrix import matrix_gradient
from symdl.ops import FUNCTIONS
from symdl.verify.claims import derivative_problem
from symdl.verify.precise import Evaluator

LINEAR = {"W": "m x n", "x": "n", "b": "m", "y": "m"}
MLP = {
    "W1": "h x n",
    "W2": "h x h",
    "W3": "m x h",
    "x": "n",
    "b1": "h",
    "b2": "h",
    "b3": "m",
    "y": "m",
}
MLP_TEXT = "sum((W3 @ tanh(W2 @ tanh(W1 @ x + b1) + b2) + b3 - y)**2)"

# (function, shapes, assumptions, variable, the textbook gradient)
TABLE = [
    ("sum((W @ x + b - y)**2)", LINEAR, {}, "W", "2*(W @ x + b - y) @ x.T"),
    ("sum((W @ x + b - y)**2)", LINEAR, {}, "b", "2*(W @ x + b - y)"),
    (
        "-sum(y * log_softmax(W @ x + b))",
        LINEAR,
        {"y": "probability"},
        "W",
        "(softmax(W @ x + b) - y) @ x.T",
    ),
    ("logdet(X)", {"X": "n x n"}, {}, "X", "inv(X).T"),
    ("tr(A @ X @ B)", {"A": "n x n", "X": "n x n", "B": "n x n"}, {}, "X", "A.T @ B.T"),
    ("x.T @ A @ x", {"A": "n x n", "x": "n"}, {}, "x", "(A + A.T) @ x"),
    ("norm(W)", {"W": "m x n"}, {}, "W", "W / norm(W)"),
    ("det(X)", {"X": "n x n"}, {}, "X", "det(X) * inv(X).T"),
    ("logsumexp(W @ x)", {"W": "m x n", "x": "n"}, {}, "W", "softmax(W @ x) @ x.T"),
    (
        "mean(sigmoid(W @ x))",
        {"W": "3 x n", "x": "n"},
        {},
        "x",
        "W.T @ (sigmoid(W @ x) * (1 - sigmoid(W @ x))) / 3",
    ),
    # concrete sizes: check_identity's code comparison cannot size a symbolic 𝟙 (see report)
    (
        "sum(inv(X) @ y)",
        {"X": "3 x 3", "y": "3"},
        {},
        "X",
        "-inv(X).T @ ones_like(y) @ y.T @ inv(X).T",
    ),
    ("sum(relu(W @ x))", {"W": "m x n", "x": "n"}, {}, "W", "heaviside(W @ x) @ x.T"),
    ("x.T @ A @ x", {"A": "n x n", "x": "n"}, {"A": "symmetric"}, "x", "2 * A @ x"),
    ("c * sum(x**3)", {"x": "n"}, {}, "c", "sum(x**3)"),
]


@pytest.mark.parametrize(
    "f, shapes, assume, wrt, want", TABLE, ids=[r[0] + " d" + r[3] for r in TABLE]
)
def test_table_of_gradients_each_proved(f, shapes, assume, wrt, want):
    g = matrix_gradient(f, wrt, shapes=shapes, assume=assume, timeout=30)
    assert g.verdict == "proved", str(g.report)
    same = check_identity(g.gradients[wrt], want, shapes=shapes, assume=assume)
    assert same.ok, str(same)


def test_deep_mlp_every_weight_and_bias_in_textbook_form():
    g = matrix_gradient(MLP_TEXT, "W1,b1,W2,b2,W3,b3", shapes=MLP, timeout=60)
    assert g.verdict in ("proved", "verified"), str(g.report)
    text = g.text()
    assert "z1 = W1 @ x + b1" in text
    assert "a1 = tanh(z1)" in text
    assert "dz1 = W2.T @ dz2 * (1 - a1**2)" in text
    assert "dL/dW1 = dz1 @ x.T" in text
    assert "dL/db1 = dz1" in text
    assert "PermuteDims" not in text and "ArrayTensorProduct" not in text


def test_softmax_cross_entropy_reads_as_p_minus_y():
    g = matrix_gradient(
        "-sum(y * log_softmax(W @ x + b))",
        "W",
        shapes=LINEAR,
        assume={"y": "probability"},
        check=False,
    )
    assert g.gradient_text("W") == "(softmax(W @ x + b) - y) @ x.T"


def test_latex_and_numpy_come_from_the_same_result():
    g = matrix_gradient("sum((W @ x + b - y)**2)", "W,b", shapes=LINEAR, check=False)
    tex = g.latex()
    assert r"\mathbf{x}^\top" in tex and r"\frac{\partial L}{\partial \mathbf{W}}" in tex
    assert "grad_W" in g.code.source and "grad_b" in g.code.source
    rng = np.random.default_rng(0)
    W, x, b, y = (
        rng.normal(size=(3, 2)),
        rng.normal(size=(2, 1)),
        rng.normal(size=(3, 1)),
        rng.normal(size=(3, 1)),
    )
    out = g.code(W=W, b=b, x=x, y=y)
    r = W @ x + b - y
    np.testing.assert_allclose(out["W"], 2 * r @ x.T, rtol=1e-13)
    np.testing.assert_allclose(out["b"], 2 * r, rtol=1e-13)


def test_generated_code_computes_shared_parts_once():
    g = matrix_gradient(MLP_TEXT, "W1,b1,W2,b2,W3,b3", shapes=MLP, check=False)
    assert g.code.source.count("np.tanh(") == 2  # one per layer, reused by every gradient


def test_generated_code_releases_each_intermediate_after_its_last_use():
    # keeping every layer alive to the end cost 13% against hand-written backprop
    g = matrix_gradient(MLP_TEXT, "W1,b1,W2,b2,W3,b3", shapes=MLP, check=False)
    lines = [line.strip() for line in g.code.source.splitlines()]
    for name in ("z1", "a1", "dz1"):
        assigned = lines.index(next(s for s in lines if s.startswith(f"{name} = ")))
        released = lines.index(f"del {name}")
        reads = re.compile(rf"=.*\b{name}\b")
        used = [i for i, s in enumerate(lines) if i != assigned and reads.search(s)]
        assert assigned < released and max(used) < released
    assert not any(s.startswith(("del grad_", "del W", "del x", "del y")) for s in lines)
    # the source, run as Python, gives what the callable gives
    rng = np.random.default_rng(1)
    sizes = {"n": 3, "h": 4, "m": 2}
    args = {}
    for name, shape in MLP.items():
        dims = [sizes.get(d.strip()) or int(d) for d in shape.split("x")]
        args[name] = rng.normal(size=(dims[0], dims[1] if len(dims) > 1 else 1))
    # the callable runs the source text; the steps' own closures give the same arrays
    from_source, from_closures = g.code(**args), g.code.stepwise(**args)
    for w in from_closures:
        np.testing.assert_array_equal(from_source[w], from_closures[w])


ATTENTION = {"Q": "n x k", "K": "n x k", "V": "n x k"}


@pytest.mark.parametrize("wrt", ["Q", "K", "V"])
def test_attention_with_softmax_over_all_entries(wrt):
    # softmax over every entry of QKᵀ/√d (row-wise softmax needs axis=, see the report)
    f = "sum(softmax((Q @ K.T) / sqrt(d)) @ V)"
    g = matrix_gradient(f, wrt, shapes=ATTENTION, assume={"d": "positive"}, check=False)
    r = check_derivative(
        f, wrt, g.gradient_text(wrt), shapes=ATTENTION, assume={"d": "positive"}, timeout=5
    )
    assert r.ok, str(r)


def test_a_product_with_the_ones_matrix_keeps_its_ones():
    # d/dV sum(P @ V) = Pᵀ 𝟙: printing the 𝟙 as a broadcast "1" would drop it
    g = matrix_gradient("sum(P @ V)", "V", shapes={"P": "n x n", "V": "n x k"}, check=False)
    assert g.gradient_text("V") == "P.T @ ones_like(V)"
    assert matrix_gradient("sum(x)", "x", shapes={"x": "n"}, check=False).text() == (
        "dL/dx = ones_like(x)"
    )


def test_a_constant_gradient_is_an_array_not_a_scalar():
    g = matrix_gradient("mean(x) * c", "x", shapes={"x": "3"}, check=False)
    assert g.gradient_text("x") == "c/3*ones_like(x)"
    assert check_derivative("mean(x) * c", "x", g.gradient_text("x"), shapes={"x": "3"}).ok


def test_hadamard_with_elementwise_latex():
    g = matrix_gradient("sum(tanh(W @ x))", "W", shapes={"W": "m x n", "x": "n"}, check=False)
    assert r"\odot" in g.latex() or r"\tanh" in g.latex()


@pytest.mark.parametrize(
    "f, wrt, shapes, error",
    [
        ("W @ x", "W", {"W": "m x n", "x": "n"}, ShapeError),
        ("sum(x)", "q", {"x": "n"}, ParseError),
        ("sum(x)", "x,x", {"x": "n"}, ParseError),
        ("sum(x)", "sum", {"x": "n"}, ParseError),
    ],
)
def test_bad_input_is_a_clear_error(f, wrt, shapes, error):
    with pytest.raises(error):
        matrix_gradient(f, wrt, shapes=shapes, check=False)


# -- wrong variants, refuted by `symdl check` ---------------------------------------------

SQUARE = ["--shape", "W=n x n", "--shape", "x=n", "--shape", "y=n"]
WRONG = [
    # transposed
    ("sum((W @ x - y)**2)", "W", "2*x @ (W @ x - y).T", SQUARE),
    # factor 2 lost
    ("sum((W @ x - y)**2)", "W", "(W @ x - y) @ x.T", SQUARE),
    # missing ⊙ σ'
    ("sum(sigmoid(W @ x))", "W", "ones_like(y) @ x.T", SQUARE),
    # W instead of Wᵀ
    (
        "sum(tanh(V @ tanh(W @ x)))",
        "W",
        "(V @ (1 - tanh(V @ tanh(W @ x))**2) * (1 - tanh(W @ x)**2)) @ x.T",
        [*SQUARE, "--shape", "V=n x n"],
    ),
]


@pytest.mark.parametrize(
    "f, wrt, claim, shapes", WRONG, ids=["transposed", "factor 2", "missing sigma'", "W not W.T"]
)
def test_wrong_variants_are_refuted_by_symdl_check(f, wrt, claim, shapes, capsys):
    code = main(["check", f, "--wrt", wrt, "--claim", claim, *shapes])
    assert code == 1, capsys.readouterr().out
    assert "refuted" in capsys.readouterr().out


@pytest.mark.parametrize(
    "f, wrt, claim, shapes", WRONG, ids=["transposed", "factor 2", "missing sigma'", "W not W.T"]
)
def test_the_engine_gradient_of_each_wrong_variant_passes(f, wrt, claim, shapes, capsys):
    declared = dict(s.split("=", 1) for s in shapes if "=" in s)
    g = matrix_gradient(f, wrt, shapes=declared, check=False)
    code = main(["check", f, "--wrt", wrt, "--claim", g.gradient_text(wrt), *shapes])
    assert code == 0, capsys.readouterr().out


# -- the CLI ------------------------------------------------------------------------------


def test_cli_text_prints_what_the_api_returns(capsys):
    args = ["grad", "sum((W @ x + b - y)**2)", "--wrt", "W,b"]
    shapes = ["--shape", "W=m x n", "--shape", "x=n", "--shape", "b=m", "--shape", "y=m"]
    assert main(args + shapes) == 0
    out = capsys.readouterr().out
    g = matrix_gradient("sum((W @ x + b - y)**2)", "W,b", shapes=LINEAR)
    assert out.startswith(g.text())
    assert str(g.report) in out


@pytest.mark.parametrize("fmt", ["latex", "numpy", "json"])
def test_cli_formats(fmt, capsys):
    assert main(["grad", "logdet(X)", "--wrt", "X", "--shape", "X=n x n", "--format", fmt]) == 0
    out = capsys.readouterr().out
    g = matrix_gradient("logdet(X)", "X", shapes={"X": "n x n"})
    if fmt == "latex":
        assert out.strip() == g.latex()
    elif fmt == "numpy":
        assert out.strip() == g.code.source
    else:
        data = json.loads(out)
        assert data["gradients"]["X"]["expanded"] == "inv(X).T"
        assert data["report"]["verdict"] == "proved"


def test_cli_bad_input_exits_3(capsys):
    assert main(["grad", "W @ x", "--wrt", "W", "--shape", "W=m x n", "--shape", "x=n"]) == 3
    assert "scalar" in capsys.readouterr().err


def test_cli_no_check_is_undecided(capsys):
    assert main(["grad", "sum(x**2)", "--wrt", "x", "--shape", "x=n", "--no-check"]) == 2


# -- random expressions ---------------------------------------------------------------------

UNARY = ["tanh", "sigmoid", "softplus", "sin", "gelu", "exp", "relu"]


def _vectors(shape: str, depth: int) -> st.SearchStrategy[str]:
    base = {"m": ["u", "(W @ x)", "(V.T @ x)"], "n": ["x", "(W.T @ u)", "(V @ u)"]}[shape]
    leaf = st.sampled_from(base)
    if depth == 0:
        return leaf
    sub = _vectors(shape, depth - 1)
    other = "n" if shape == "m" else "m"
    mat = "W" if shape == "m" else "V"
    return st.one_of(
        leaf,
        st.builds(
            lambda f, a: f"{f}({a})" if f != "exp" else f"exp({a}/4)", st.sampled_from(UNARY), sub
        ),
        st.builds(lambda a, b: f"({a} + {b})", sub, sub),
        st.builds(lambda a, b: f"({a} * {b})", sub, sub),
        st.builds(lambda a, b: f"({a} - c*{b})", sub, sub),
        st.builds(lambda a: f"({a})**2", sub),
        st.builds(lambda a: f"softmax({a})", sub),
        st.builds(lambda a: f"({mat} @ {a})", _vectors(other, depth - 1)),
    )


#: (before, after) around an entrywise function of a 1×1 product
ONE_BY_ONE_REDUCTIONS = [
    ("sum(", ")"),
    ("mean(", ")"),
    ("logsumexp(", ")"),
    ("-sum(log_softmax(", "))"),
    ("sum(softmax(", ")) * c"),
    ("sum(", "**3)"),
]

SCALARS = st.one_of(
    st.builds(lambda a: f"sum({a})", _vectors("m", 2)),
    st.builds(lambda a: f"logsumexp({a})", _vectors("n", 1)),
    st.builds(lambda a: f"norm({a})", _vectors("m", 1)),
    st.builds(lambda a, b: f"({a}).T @ ({b})", _vectors("m", 1), _vectors("m", 1)),
    st.builds(lambda a: f"-sum(u * log_softmax({a}))", _vectors("m", 1)),
    st.builds(lambda a: f"mean({a}) * c", _vectors("n", 1)),
    # an entrywise function of a 1×1 product, reduced
    st.builds(
        lambda r, f, a, b: f"{r[0]}{f}(({a}).T @ ({b})){r[1]}",
        st.sampled_from(ONE_BY_ONE_REDUCTIONS),
        st.sampled_from(UNARY),
        _vectors("m", 1),
        _vectors("m", 1),
    ),
)


#: Each example expands the function entry by entry at sizes ≤ 3: 25 examples by default,
#: 150 under ci.
@settings(max_examples=max(25, settings().max_examples // 2))
@given(
    SCALARS,
    st.sampled_from(["W", "V", "x", "u", "c"]),
    st.integers(2, 3),
    st.integers(1, 2),
    st.integers(0, 2**16),
)
def test_engine_gradient_equals_entrywise_gradient(f, wrt, m, n, seed):
    shapes = {"W": f"{m} x {n}", "V": f"{n} x {m}", "x": f"{n}", "u": f"{m}"}
    try:
        g = matrix_gradient(f, wrt, shapes=shapes, check=False)
    except ParseError:
        return  # wrt not used by this expression
    # the engine's gradient, and the text it prints for it read back by the parser
    for claimed in (g.gradients[wrt], g.gradient_text(wrt)):
        _assert_entrywise_equal(f, wrt, claimed, shapes, seed)


def _assert_entrywise_equal(f, wrt, claimed, shapes, seed):
    """``claimed`` equals the entrywise gradient of ``f`` at one random point, 30 digits."""
    problem = derivative_problem(f, wrt, claimed, shapes=shapes, assume=None)
    (side,) = problem.sides
    rng = np.random.default_rng(seed)
    point = {s: float(rng.uniform(-1.5, 1.5)) for s in side.instance.free_symbols()}
    point[sp.Symbol("c", real=True)] = float(rng.uniform(-1.5, 1.5))
    ev = Evaluator(point, dps=30)
    for t, c in zip(side.true, side.claimed):
        a, b = ev(t), ev(c)
        assert abs(a - b) <= 1e-20 * max(1, abs(a)), (f, wrt, claimed, a, b)


# -- entrywise functions of a 1×1 product ---------------------------------------------------
# SymPy's ElementwiseApplyFunction applies its function to a 1×1 matrix as a whole (σ(d)(1 −
# σ(d)) meets "1 − matrix", max(0, d) compares a matrix); symdl.nodes.Entrywise never does.

ONE_BY_ONE = {"W": "2 x 1", "u": "2"}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _gelu_slope(z):
    from scipy.special import ndtr

    return ndtr(z) + z * np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)


@pytest.mark.parametrize(
    "f, slope",
    [
        ("sum(sigmoid(W.T @ u))", lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
        ("logsumexp(gelu(W.T @ u))", _gelu_slope),  # logsumexp of one entry is that entry
    ],
)
def test_entrywise_function_of_a_one_by_one_product(f, slope):
    g = matrix_gradient(f, "W", shapes=ONE_BY_ONE)
    assert g.verdict == "proved", str(g.report)
    W, u = np.array([[0.3], [-1.2]]), np.array([[0.7], [0.4]])
    z = float((W.T @ u)[0, 0])
    want = u * slope(z)  # ∂/∂W f(Wᵀu) = u f'(Wᵀu)
    np.testing.assert_allclose(g.code(W=W, u=u)["W"], want, rtol=1e-13)
    r = check_derivative(f, "W", g.gradient_text("W"), shapes=ONE_BY_ONE, timeout=20)
    assert r.ok, str(r)


#: every elementwise function of the input language with one argument
ELEMENTWISE = sorted(
    n
    for n in FUNCTIONS.names()
    if FUNCTIONS.get(n).kind == "elementwise" and FUNCTIONS.get(n).arity == 1
)
_ARGUMENT = {"log": "(W.T @ u)**2 + 1", "sqrt": "(W.T @ u)**2 + 1"}  # a positive argument


def _outcome(f, shapes):
    """The engine's gradient by W and its text, or the error each gave."""
    try:
        g = matrix_gradient(f, "W", shapes=shapes, check=False)
    except UnsupportedError as err:  # heaviside, sign: δ has no NumPy code (any shape)
        return None, None, type(err)
    try:
        return g, g.gradient_text("W"), None
    except ValueError as err:  # piecewise slopes have no input-language form (any shape)
        return g, None, type(err)


@pytest.mark.parametrize("fn", ELEMENTWISE)
def test_every_elementwise_function_of_a_one_by_one_product(fn):
    # at W 2×1 (Wᵀu is 1×1) the engine does exactly as well as at W 2×3, and is right
    f = f"sum({fn}({_ARGUMENT.get(fn, 'W.T @ u')}))"
    g, text, err = _outcome(f, ONE_BY_ONE)
    general = _outcome(f, {"W": "2 x 3", "u": "2"})
    assert (g is None, text is None, err) == (general[0] is None, general[1] is None, general[2])
    if g is None:
        return
    for claimed in (g.gradients["W"], text) if text is not None else (g.gradients["W"],):
        _assert_entrywise_equal(f, "W", claimed, ONE_BY_ONE, seed=len(fn))
    W, u = np.array([[0.3], [-1.2]]), np.array([[0.7], [0.4]])
    assert np.all(np.isfinite(g.code(W=W, u=u)["W"]))


@pytest.mark.parametrize(
    "f, wrt, shapes",
    [
        ("sum(tanh(u.T @ A @ v))", "A", {"u": "m", "A": "m x n", "v": "n"}),
        ("sum(tanh(u.T @ A @ v))", "v", {"u": "m", "A": "m x n", "v": "n"}),
        ("mean(softplus(x.T @ x))", "x", {"x": "n"}),
        ("sum(relu(W.T @ u)**2)", "W", {"W": "m x 1", "u": "m"}),
        ("sum(softmax(sigmoid(W.T @ u)) * c)", "W", {"W": "m x 1", "u": "m"}),
        ("-sum(log_softmax(gelu(x.T @ x)))", "x", {"x": "n"}),
        ("logsumexp(sigmoid(x.T @ A @ x)**3)", "x", {"x": "n", "A": "n x n"}),
    ],
)
def test_one_by_one_products_through_reductions_and_powers_are_proved(f, wrt, shapes):
    g = matrix_gradient(f, wrt, shapes=shapes, timeout=30)
    assert g.verdict == "proved", str(g.report)
    r = check_derivative(f, wrt, g.gradient_text(wrt), shapes=shapes, timeout=20)
    assert r.ok, str(r)


def test_a_one_by_one_product_reads_as_a_textbook_writes_it():
    g = matrix_gradient("sum(sigmoid(x.T @ x))", "x", shapes={"x": "n"}, check=False)
    # (x.T @ x) is 1×1, its own transpose: the two halves of d(xᵀx) collect into 2x
    assert g.text() == "z1 = x.T @ x\na1 = sigmoid(z1)\ndz1 = (1 - a1)*a1\ndL/dx = 2*x @ dz1"
    assert g.gradient_text("x") == "2*x @ ((1 - sigmoid(x.T @ x))*sigmoid(x.T @ x))"
    assert r"\sigma\left(\mathbf{z}_{1}\right)" in g.latex()
    assert "special.expit(z1)" in g.code.source
    # a function's own parentheses are enough around its argument
    tex = matrix_gradient("sum(relu(W.T @ u))", "W", shapes=ONE_BY_ONE, check=False).latex()
    assert r"\theta\left(\mathbf{W}^\top \mathbf{u}\right)" in tex and r"\left(\left(" not in tex


def test_the_input_language_applies_kinked_functions_to_a_one_by_one_product():
    # max(0, d) used to compare the matrix Wᵀu itself ("not comparable")
    for fn in ("relu", "hard_tanh", "relu6"):
        f = f"sum({fn}(W.T @ u))"
        g = matrix_gradient(f, "W", shapes=ONE_BY_ONE, check=False)
        _assert_entrywise_equal(f, "W", g.gradients["W"], ONE_BY_ONE, seed=3)


ONE_COLUMN = ["--shape", "W=2 x 1", "--shape", "u=2", "--shape", "x=2"]
WRONG_ONE_BY_ONE = [
    # missing ⊙ σ′
    ("sum(sigmoid(W.T @ u))", "W", "u"),
    ("sum(sigmoid(W.T @ u))", "W", "u @ sigmoid(W.T @ u)"),
    # factor 2 lost
    ("sum((W.T @ u)**2)", "W", "u @ (W.T @ u)"),
    ("sum(sigmoid(x.T @ x))", "x", "x @ (sigmoid(x.T @ x) * (1 - sigmoid(x.T @ x)))"),
    # sign flipped
    ("sum(tanh(W.T @ u))", "W", "-u @ (1 - tanh(W.T @ u)**2)"),
]


@pytest.mark.parametrize(
    "f, wrt, claim",
    WRONG_ONE_BY_ONE,
    ids=["no sigma' (u)", "sigma not sigma'", "factor 2 (W)", "factor 2 (x.T x)", "sign"],
)
def test_wrong_gradients_of_a_one_by_one_product_are_refuted(f, wrt, claim, capsys):
    code = main(["check", f, "--wrt", wrt, "--claim", claim, *ONE_COLUMN])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "refuted" in out


@pytest.mark.parametrize("f, wrt", sorted({(f, w) for f, w, _ in WRONG_ONE_BY_ONE}))
def test_the_engine_gradient_of_a_one_by_one_product_passes_symdl_check(f, wrt, capsys):
    g = matrix_gradient(f, wrt, shapes={"W": "2 x 1", "u": "2", "x": "2"}, check=False)
    code = main(["check", f, "--wrt", wrt, "--claim", g.gradient_text(wrt), *ONE_COLUMN])
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("f", "shapes"),
    [
        ("sum(C * mean(A, axis=1))", {"A": "n x m", "C": "n"}),
        ("mean((W @ x - y)**2)", {"W": "m x n", "x": "n", "y": "m"}),
        ("sum(A) / n + mean(A)", {"A": "n x m"}),
    ],
)
def test_source_text_reads_a_dimension_used_as_a_number_from_the_arguments(f, shapes):
    # the printed code once folded 1/m into the text as 1/997 (a stand-in size), so the
    # source users copy was wrong while the closures were right; the callable now runs the
    # source itself, and both agree with the closures at sizes unlike any stand-in
    wrt = sorted(shapes)[0]
    g = matrix_gradient(f, wrt, shapes=shapes, check=False)
    assert "0.00100" not in g.code.source
    rng = np.random.default_rng(0)
    sizes = {"n": 2, "m": 3}
    args = {}
    for name, shape in shapes.items():
        dims = [sizes[d.strip()] for d in shape.split("x")]
        args[name] = rng.normal(size=(dims[0], dims[1] if len(dims) > 1 else 1))
    from_source, from_closures = g.code(**args), g.code.stepwise(**args)
    np.testing.assert_allclose(from_source[wrt], from_closures[wrt], rtol=1e-14)
