"""Renderers of derivations: text in 100 columns, LaTeX that compiles, Markdown, a
self-contained HTML page (KaTeX inlined, nothing fetched), and ``symdl derive``."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
import sympy as sp

from symdl.cli import main
from symdl.derive.steps import derive
from symdl.render.html import katex_head
from symdl.render.latex import latex_text
from symdl.render.text import unicode

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def relu_product():
    return derive("x*relu(x) + x**x", "x").verify(points=4)


def test_text_fits_in_100_columns(relu_product):
    text = relu_product.text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "product rule" in text and "logarithmic differentiation" in text
    assert "let u = x, v = Max(0, x)" in text
    assert "✓ proved" in text and "FAILED" not in text


def test_unicode_expressions():
    x = sp.Symbol("x", real=True)
    assert unicode(sp.Derivative(x**2, x)) == "d/dx[x²]"
    assert unicode(sp.sqrt(1 + x**2)) == "√(1 + x²)"
    assert unicode(1 / (1 + sp.exp(-x))) == "1/(1 + exp(-x))"
    assert unicode(sp.Abs(x) * sp.Heaviside(x)) == "|x|·H(x)"


def test_latex_text_escapes():
    assert latex_text("a_b & 50% ^ u′ − v") == r"a\_b \& 50\% \textasciicircum{} u' - v"
    assert latex_text("é").isascii()


def test_latex_block_is_balanced(relu_product):
    tex = relu_product.latex()
    assert tex.startswith(r"\begin{align*}") and tex.endswith(r"\end{align*}")
    assert tex.count("{") == tex.count("}")
    assert tex.count(r"\left") == tex.count(r"\right")
    assert r"\checkmark" in tex and r"\text{case }" in tex


def test_markdown_has_display_math_and_a_step_table(relu_product):
    md = relu_product.markdown()
    assert md.count("$$") == 2 and r"\begin{aligned}" in md
    rows = [line for line in md.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == len(relu_product.steps)
    for row in rows:  # a bare | inside math would split the cell
        assert row.count(" | ") == 4


def test_html_is_self_contained(relu_product):
    page = relu_product.html()
    assert "katex" in page and "renderMathInElement" in page
    assert "url(fonts/" not in page and page.count("data:font/woff2;base64,") == 20
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    outside = set(re.findall(r"https?://[\w./-]+", page))
    assert outside <= {"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg"}
    assert "@import" not in page


def test_katex_head_is_cached():
    assert katex_head() is katex_head()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")
def test_standalone_latex_compiles(tmp_path):
    from symdl.derive.steps_softmax import softmax_jacobian

    docs = [
        derive(text, wrt).verify(points=4).latex(standalone=True)
        for text, wrt in [("sigmoid(x)", "x"), ("relu(x)", "x"), ("x**x", "x"), ("abs(x)*y", "x")]
    ]
    docs.append(softmax_jacobian(n=3).verify(points=4).latex(standalone=True))
    for tex in docs:
        (tmp_path / "d.tex").write_text(tex, encoding="utf-8")
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:]
        assert (tmp_path / "d.pdf").stat().st_size > 1000


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path, relu_product):
    page = tmp_path / "d.html"
    page.write_text(relu_product.html(), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="katex' in dom.stdout  # KaTeX ran
    assert 'class="katex-error"' not in dom.stdout  # and met no math it could not parse
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # a blank page compresses to almost nothing; the rendered math does not
    assert len(zlib.compress(data)) > 5000


# ---- symdl derive -------------------------------------------------------------------------


def test_cli_text_matches_the_api(capsys):
    assert main(["derive", "x**x", "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == derive("x**x", "x").verify().text().strip()


@pytest.mark.parametrize(("fmt", "marker"), [("latex", r"\documentclass"), ("md", "$$")])
def test_cli_formats(capsys, fmt, marker):
    assert main(["derive", "relu(x)", "--wrt", "x", "--format", fmt]) == 0
    assert marker in capsys.readouterr().out


def test_cli_writes_html(tmp_path, capsys):
    out = tmp_path / "relu.html"
    assert main(["derive", "relu(x)", "--wrt", "x", "--format", "html", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_no_check_is_exit_2(capsys):
    assert main(["derive", "x**2", "--wrt", "x", "--no-check"]) == 2
    assert "UNCHECKED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "x +", "--wrt", "x"],
        ["derive", "sum(W)", "--wrt", "W", "--shape", "W=2x2"],
        ["derive", "x**2", "--wrt", "2x"],
        ["derive", "x**2", "--wrt", "x", "--timeout", "0"],
    ],
)
def test_cli_bad_input_is_exit_3(capsys, argv):
    assert main(argv) == 3
    assert capsys.readouterr().err.strip()


def test_cli_softmax_jacobian(capsys):
    assert main(["derive", "softmax(z)", "--wrt", "z", "--shape", "z=n"]) == 0
    out = capsys.readouterr().out
    assert "∂p_1/∂z_2" in out and "verified" in out
    assert main(["derive", "softmax(z)", "--wrt", "z", "--shape", "z=n", "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<h1>The softmax Jacobian</h1>" in page
    assert "Diagonal entry (proved)" in page and "Off-diagonal entry" in page
    assert page.count('<div class="derivation">') == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    outside = set(re.findall(r"https?://[\w./-]+", page))
    assert outside <= {"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg"}


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\frac{x}{\left|{x}\right| + 1}", "x/(|x| + 1)"),
        (r"\frac{1}{\left(\left|{x}\right| + 1\right)^{2}}", "1/((|x| + 1)^2)"),
        (r"\sigma(x) = \frac{1}{1 + e^{-x}}", "σ(x) = 1/(1 + e^-x)"),
    ],
)
def test_rule_formulas_read_as_unicode_with_nested_groups(latex, text):
    # softsign's definition printed "fracx|x| + 1": a bare group inside a fraction's
    # argument kept the fraction from unwrapping
    from symdl.render.text import _from_latex

    assert _from_latex(latex) == text
