"""Matrix gradients by differentials: every line checked, the result equal to the matrix
engine's, a corrupted step caught, golden LaTeX (``SYMDL_UPDATE_GOLDEN=1 pytest
tests/test_derive_differentials.py`` rewrites it), and ``symdl derive --by differentials``."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp

from symdl.cli import main
from symdl.derivation import mathematical_verdict
from symdl.derive.differentials import DifferentialDerivation, derive_by_differentials
from symdl.derive.differentials_check import check_line
from symdl.derive.differentials_nodes import Direction, MatrixDifferential, ScalarDifferential
from symdl.errors import ParseError, ShapeError, UnsupportedError
from symdl.shapes import Scope
from symdl.verify import check_identity

GOLDEN = Path(__file__).parent / "golden" / "derivations"
NET = {"W": "3x2", "x": "2", "b": "3", "v": "3"}

#: name → (function, variable, shapes, the gradient as the textbook writes it)
ACCEPTANCE = {
    "least_squares": (
        "sum((W @ x - y)**2)",
        "W",
        {"W": "m x n", "x": "n", "y": "m"},
        "2*(W @ x - y) @ x.T",
    ),
    "quadratic_form": ("x.T @ A @ x", "x", {"x": "3", "A": "3x3"}, "(A + A.T) @ x"),
    "trace_linear": ("tr(A @ X)", "X", {"A": "3x3", "X": "3x3"}, "A.T"),
    "trace_quadratic": ("tr(X.T @ A @ X)", "X", {"A": "3x3", "X": "3x2"}, "(A + A.T) @ X"),
    "logdet": ("logdet(X)", "X", {"X": "n x n"}, "inv(X).T"),
    "det": ("det(X)", "X", {"X": "3x3"}, "det(X)*inv(X).T"),
    "trace_inverse": (
        "tr(inv(X) @ A)",
        "X",
        {"X": "2x2", "A": "2x2"},
        "-(inv(X) @ A @ inv(X)).T",
    ),
    "tanh_layer_W": (
        "sum(tanh(W @ x + b) * v)",
        "W",
        NET,
        "(v * (1 - tanh(W @ x + b)**2)) @ x.T",
    ),
    "tanh_layer_b": ("sum(tanh(W @ x + b) * v)", "b", NET, "v * (1 - tanh(W @ x + b)**2)"),
    "sigmoid_layer": (
        "sum(sigmoid(W @ x) * v)",
        "W",
        {"W": "3x2", "x": "2", "v": "3"},
        "(v * sigmoid(W @ x) * (1 - sigmoid(W @ x))) @ x.T",
    ),
    "frobenius": ("norm(X)**2", "X", {"X": "3x4"}, "2*X"),
    "mean": ("mean(W @ x)", "W", {"W": "2x3", "x": "3"}, "ones_like(W @ x) @ x.T / 2"),
}


@pytest.fixture(scope="module")
def checked() -> dict[str, DifferentialDerivation]:
    return {
        name: derive_by_differentials(f, w, shapes=s).verify(points=4)
        for name, (f, w, s, _) in ACCEPTANCE.items()
    }


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_every_line_checks_and_the_gradient_is_the_textbook_one(checked, name):
    dd = checked[name]
    assert dd.sound, dd.text()
    assert all(s.status in ("proved", "verified") for s in dd.steps)
    assert all(s.check is not None and s.check.line.ok for s in dd.steps)
    assert dd.final is not None and mathematical_verdict(dd.final) in ("proved", "verified")
    assert dd.engine is not None and mathematical_verdict(dd.engine) in ("proved", "verified")
    _, _, shapes, want = ACCEPTANCE[name]
    assert check_identity(dd.result, want, shapes=shapes, points=4).ok


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_lines_form_one_chain_from_dL_to_the_trace_form(checked, name):
    dd = checked[name]
    assert dd.steps[0].before == dd.start
    for prev, step in zip(dd.steps, dd.steps[1:]):
        assert step.before == prev.after
    assert dd.steps[-1].after == dd.trace_form
    assert not dd.steps[-1].after.has(ScalarDifferential, MatrixDifferential)


def test_least_squares_is_the_issue_derivation(checked):
    dd = checked["least_squares"]
    rules = [s.rule for s in dd.steps]
    assert "sum of a Hadamard product as a trace" in rules
    assert "cyclic property of the trace" in rules
    # symbolic dimensions: checked entrywise at two sizes, which is evidence, not a proof
    assert dd.verdict == "verified"
    assert all(s.status == "verified" for s in dd.steps)
    assert str(dd.result) == "2*(W*x - y)*x.T"


def test_concrete_sizes_are_proved(square):
    done = square.verify(points=4)
    assert done.verdict == "proved"
    assert all(s.status == "proved" for s in done.steps)


def test_each_named_rule_appears(checked):
    rules = {s.rule for dd in checked.values() for s in dd.steps}
    for rule in (
        "product rule",
        "differential of a transpose",
        "differential of a trace",
        "differential of the inverse",
        "differential of the determinant (Jacobi's formula)",
        "differential of the log-determinant",
        "entrywise function (tanh)",
        "moving a Hadamard factor out of the trace",
        "trace of the transpose",
        "linearity of the trace",
        "sum of entries as a trace",
    ):
        assert rule in rules, rule


# ---- a wrong step is caught ---------------------------------------------------------------


def _corrupt(dd: DifferentialDerivation, k: int, after: sp.Basic) -> DifferentialDerivation:
    """Step ``k`` ends at ``after`` and the next step starts from it (a consistent chain
    with one wrong equality)."""
    steps = list(dd.steps)
    steps[k] = replace(steps[k], after=after)
    if k + 1 < len(steps):
        steps[k + 1] = replace(steps[k + 1], before=after)
    return replace(dd, steps=tuple(steps))


def _rule_index(dd: DifferentialDerivation, rule: str) -> int:
    return next(i for i, s in enumerate(dd.steps) if s.rule == rule)


@pytest.fixture(scope="module")
def square() -> DifferentialDerivation:
    return derive_by_differentials(
        "sum((W @ x - y)**2)", "W", shapes={"W": "2x2", "x": "2", "y": "2"}
    )


@pytest.mark.parametrize(
    "corruption",
    ["sign flip", "factor 2", "transpose of dW", "transposed gradient"],
)
def test_corrupted_line_fails(square, corruption):
    k = _rule_index(square, "cyclic property of the trace")
    line = square.steps[k].after
    dvar = square.direction
    bad = {
        "sign flip": -line,
        "factor 2": 2 * line,
        "transpose of dW": line.xreplace({dvar: sp.Transpose(dvar)}),
        "transposed gradient": None,
    }[corruption]
    if bad is None:  # the last line and the result claim Gᵀ instead of G
        wrong = sp.Transpose(square.result)
        last = replace(square.steps[-1], after=sp.Trace(sp.MatMul(sp.Transpose(wrong), dvar)))
        done = replace(square, result=wrong, steps=(*square.steps[:-1], last)).verify(points=4)
        assert done.steps[-1].status == "failed"
        assert done.final is not None and done.final.verdict == "refuted"
        assert done.engine is not None and done.engine.verdict == "refuted"
        assert not done.sound
        return
    done = _corrupt(square, k, bad).verify(points=4)
    assert done.steps[k].status == "failed"
    assert k + 1 in done.failed_steps
    assert not done.sound
    assert "NOT SOUND" in done.text() and "FAILED" in done.text()
    assert r"\textbf{FAILED}" in done.latex()
    assert "**✗ FAILED**" in done.markdown()
    assert 'class="failed"' in done.html()


def test_missing_product_rule_term_fails():
    dd = derive_by_differentials("x.T @ A @ x", "x", shapes={"x": "3", "A": "3x3"})
    k = _rule_index(dd, "product rule")
    after = dd.steps[k].after
    assert isinstance(after, sp.MatAdd)
    done = _corrupt(dd, k, after.args[0]).verify(points=4)
    assert done.steps[k].status == "failed"
    assert not done.sound


def test_a_wrong_rule_claim_fails_even_when_the_line_holds(square):
    k = _rule_index(square, "constant factors")
    step = square.steps[k]
    node, new = step.claim
    steps = list(square.steps)
    steps[k] = replace(step, claim=(node, 2 * new))
    done = replace(square, steps=tuple(steps)).verify(points=4)
    assert done.steps[k].check.line.ok
    assert done.steps[k].status == "failed"


def test_a_step_that_does_not_continue_the_chain_fails(square):
    steps = list(square.steps)
    steps[2] = replace(steps[2], before=steps[0].before)
    done = replace(square, steps=tuple(steps)).verify(points=4)
    assert done.steps[2].detached and done.steps[2].status == "failed"


# ---- the check uses no rule: wrong rules of the differential are refuted -------------------


@pytest.mark.parametrize(
    ("claim", "ok"),
    [
        (lambda X, dX: -X.I * dX * X.I, True),
        (lambda X, dX: X.I * dX * X.I, False),  # sign
        (lambda X, dX: -X.I * dX.T * X.I, False),  # transpose
        (lambda X, dX: -dX * X.I, False),  # a missing factor
    ],
)
def test_check_line_decides_rules_of_the_inverse(claim, ok):
    scope = Scope.build({"X": "2x2"})
    X = scope.symbol("X")
    dX = Direction("dX", 2, 2)
    report = check_line(
        MatrixDifferential(X.I), claim(X, dX), scope, dX, points=4, precision=30, timeout=20, seed=0
    )
    assert report.verdict == ("proved" if ok else "refuted"), report


def test_check_line_decides_jacobis_formula():
    scope = Scope.build({"X": "n x n"})
    X = scope.symbol("X")
    dX = Direction("dX", *X.shape)
    det = sp.Determinant(X)
    good = det * sp.Trace(X.I * dX)
    opts = {"points": 4, "precision": 30, "timeout": 20, "seed": 0}
    assert check_line(ScalarDifferential(det), good, scope, dX, **opts).verdict == "verified"
    missing = sp.Trace(X.I * dX)
    assert check_line(ScalarDifferential(det), missing, scope, dX, **opts).verdict == "refuted"


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "wrt", "shapes", "error"),
    [
        ("logsumexp(W @ x)", "W", {"W": "2x3", "x": "3"}, UnsupportedError),
        ("sum(W)*s", "s", {"W": "2x3"}, UnsupportedError),
        ("W @ x", "W", {"W": "2x3", "x": "3"}, ShapeError),
        ("sum(W)", "V", {"W": "2x3", "V": "2x2"}, ParseError),
        ("sum(W) + sum(V)", "W,V", {"W": "2x3", "V": "2x2"}, ParseError),
        ("sum(W * dW)", "W", {"W": "2x3", "dW": "2x3"}, UnsupportedError),
        ("sum(abs(W))**W[0]", "W", {"W": "2x3"}, ParseError),
    ],
)
def test_unsupported_input_is_a_clear_error(f, wrt, shapes, error):
    with pytest.raises(error):
        derive_by_differentials(f, wrt, shapes=shapes)


def test_unchecked_derivation_says_so(square):
    assert square.verdict == "unchecked" and not square.sound
    assert "UNCHECKED" in square.text()


# ---- rendering ------------------------------------------------------------------------------


def test_latex_matches_golden_file(checked):
    path = GOLDEN / "least_squares_differentials.tex"
    text = checked["least_squares"].latex(standalone=True)
    if os.environ.get("SYMDL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SYMDL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_matrix_notation(checked):
    tex = checked["tanh_layer_W"].latex()
    for piece in (r"\mathrm{d}\mathbf{W}", r"\odot", r"^\top", r"\operatorname{tr}", r"\mathbf{x}"):
        assert piece in tex, piece
    assert r"\mathbf{X}^{-\top}" in checked["logdet"].latex()
    assert r"\det \mathbf{X}" in checked["det"].latex()


def test_renderers_agree_and_fit(checked):
    dd = checked["tanh_layer_W"]
    text = dd.text()
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "dL/dW = " in text and "[✓ proved]" in text
    assert dd._repr_latex_() == dd.latex()
    assert "$$" in dd.markdown() and "| 1 |" in dd.markdown()
    page = dd.html()
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.split("<style>")[0]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")
def test_standalone_latex_compiles(checked, tmp_path):
    for name in ("least_squares", "tanh_layer_W", "trace_inverse"):
        (tmp_path / "d.tex").write_text(checked[name].latex(standalone=True), encoding="utf-8")
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not on PATH")
def test_html_renders_in_headless_chromium(checked, tmp_path):
    page = tmp_path / "d.html"
    page.write_text(checked["tanh_layer_W"].html(), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="katex' in dom.stdout
    assert 'class="katex-error"' not in dom.stdout


# ---- the CLI --------------------------------------------------------------------------------

_CLI = ["derive", "sum((W @ x - y)**2)", "--wrt", "W", "--shape", "W=3x2", "x=2", "y=3"]


def test_cli_prints_what_the_api_returns(capsys):
    assert main([*_CLI, "--by", "differentials", "--timeout", "20"]) == 0
    out = capsys.readouterr().out
    want = derive_by_differentials(
        "sum((W @ x - y)**2)", "W", shapes={"W": "3x2", "x": "2", "y": "3"}
    ).verify(timeout=20)
    assert out.strip() == want.text().strip()


def test_cli_latex_and_no_check(capsys, tmp_path):
    target = tmp_path / "g.tex"
    assert main([*_CLI, "--by", "differentials", "--format", "latex", "-o", str(target)]) == 0
    assert r"\mathrm{d}\mathbf{W}" in target.read_text(encoding="utf-8")
    assert main([*_CLI, "--by", "differentials", "--no-check"]) == 2
    capsys.readouterr()


def test_cli_default_path_is_unchanged(capsys):
    assert main(_CLI) == 3
    assert "differentiates by a scalar" in capsys.readouterr().err


def test_cli_unsupported_is_exit_3(capsys):
    args = ["derive", "logsumexp(W @ x)", "--wrt", "W", "--shape", "W=2x3", "x=3"]
    assert main([*args, "--by", "differentials"]) == 3
    assert "no rule" in capsys.readouterr().err


@pytest.mark.parametrize("f", ["sum(relu(x.T @ x))", "sum(sigmoid(x.T @ x))"])
def test_entrywise_function_of_a_one_by_one_product(f):
    # SymPy's own entrywise node applies f to a 1×1 matrix as a whole (relu raised
    # "Function defined only for Real Values"); symdl's Entrywise keeps it entry by entry
    d = derive_by_differentials(f, "x", shapes={"x": "n"}).verify()
    assert not d.failed_steps
    assert d.verdict in ("proved", "verified")
    assert "final claim (check_derivative): proved" in d.text() or "relu" in f
