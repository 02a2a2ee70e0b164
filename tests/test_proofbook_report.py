"""The report writers: Markdown and HTML from the same results, links that resolve,
everything escaped, nothing fetched from the network."""

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from symdl.cli import main
from symdl.proofbook import Proof, ProofResult, discover, render_markdown, run_proofs
from symdl.render.report_html import render_html
from symdl.render.report_latex import render_latex, tex_text

PROOFS = Path(__file__).resolve().parent.parent / "proofs"

BOOK = '''
"""A chapter's introduction: <why> it matters.

Its second paragraph."""

from symdl import check_derivative, check_identity, proof

@proof("Square & cube", statement="d/dx x³ = 3x² <b>", references=["A paper (2020), §1"],
       tags=["calculus"])
def cube():
    return check_derivative("x**3", "x", "3*x**2")

@proof("Wrong", statement="x = x + 1")
def wrong():
    return check_identity("x", "x + 1")
'''


def results(tmp_path):
    (tmp_path / "calculus_basics.py").write_text(textwrap.dedent(BOOK))
    found = run_proofs(discover(tmp_path))
    slow = Proof("Slow one", "sleeps", lambda: [], topic="other", name="slow")
    broken = Proof("Broken one", "raises", lambda: [], topic="other", name="broken")
    return [
        *found,
        ProofResult(slow, "undecided", seconds=2.0, note="the proof's time budget ran out"),
        ProofResult(broken, "error", error="RuntimeError: <oops>"),
    ]


def test_html_links_resolve_and_text_is_escaped(tmp_path):
    html = render_html(results(tmp_path))
    ids = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= ids
    assert "3x² &lt;b&gt;" in html and "3x² <b>" not in html
    assert "Square &amp; cube" in html
    assert "RuntimeError: &lt;oops&gt;" in html
    assert "&lt;why&gt; it matters" in html and "Its second paragraph." in html
    for fetch in ("<link", "src=", "@import", "url("):
        assert fetch not in html  # nothing fetched (inline scripts only)


def test_html_has_contents_badges_and_evidence(tmp_path):
    html = render_html(results(tmp_path))
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Calculus basics" in html and "— 2 proofs, 1 hold" in html
    for verdict in ("proved", "refuted", "undecided", "error"):
        assert f'class="badge {verdict}"' in html
    assert "<th>worst rel err</th>" in html and "high-precision" in html
    assert "counterexample" in html  # the refuted check shows its full report
    assert "A paper (2020), §1" in html and "time budget ran out" in html


def test_markdown_mirrors_the_results(tmp_path):
    rs = results(tmp_path)
    text = render_markdown(rs)
    assert text.startswith("# The symdl proof book\n\n4 proofs: 1 proved, 1 undecided, ")
    assert "| [Calculus basics](#calculus-basics) | 2 | 1 |" in text
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    assert set(re.findall(r"\]\(#(calculus-basics-[^)]+)\)", text)) <= anchors
    assert "### Square & cube — proved" in text and "Error: RuntimeError: &lt;oops&gt;" in text
    assert "A chapter's introduction" in text
    for r in rs:
        for rep in r.reports:
            assert rep.claim in text


# -- LaTeX ----------------------------------------------------------------------------

MINE = [
    "activations",
    "architectures",
    "generative",
    "linear_algebra",
    "losses",
    "neurons",
    "optimisation",
    "probability",
    "regularisation",
]


def test_tex_text_escapes_and_maps():
    assert tex_text("50% & $x_1$ {#} ~^\\") == (
        r"50\% \& \$x\_1\$ \{\#\} \textasciitilde{}\^{}\textbackslash{}"
    )
    assert tex_text("∂L/∂W ≤ ‖W‖") == (
        r"\ensuremath{\partial}L/\ensuremath{\partial}W \ensuremath{\leq} "
        r"\ensuremath{\|}W\ensuremath{\|}"
    )
    assert tex_text("A⁻¹, x₁₂, ŷ, ᾱ, ő") == (
        r"A\textsuperscript{-1}, x\textsubscript{12}, \^{y}, \ensuremath{\bar{\alpha}}, \H{o}"
    )
    assert tex_text("☃") == r"\textbf{[U+2603]}"


def test_the_shipped_statements_need_no_unknown_characters():
    proofs = discover(*(PROOFS / f"{topic}.py" for topic in MINE))
    for p in proofs:
        for text in (p.title, p.statement, p.introduction, *p.references, *p.tags):
            assert "[U+" not in tex_text(text), (p.key, text)


def test_latex_document_is_ascii_and_balanced(tmp_path):
    tex = render_latex(results(tmp_path))
    assert tex.isascii()
    assert tex.count(r"\begin{document}") == 1 and tex.rstrip().endswith(r"\end{document}")
    unescaped = re.sub(r"\\[{}]", "", tex)
    assert unescaped.count("{") == unescaped.count("}")
    assert tex.count(r"\begin{longtable}") == tex.count(r"\end{longtable}")
    assert r"\section{Calculus basics}" in tex and r"\verdict{refuted}" in tex
    assert r"\textless{}oops\textgreater{}" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on PATH")
def test_the_pdf_compiles(tmp_path, capsys):
    (tmp_path / "proofs").mkdir()
    steps = (
        "\nfrom symdl.derive.steps import derive\n\n"
        "@proof('steps', statement='by steps')\n"
        "def steps():\n"
        "    return derive('sigmoid(x)', 'x')\n"
    )
    (tmp_path / "proofs" / "calculus.py").write_text(textwrap.dedent(BOOK) + steps)
    out = tmp_path / "report"
    code = main(["prove", str(tmp_path / "proofs"), "-o", str(out), "--format", "pdf"])
    assert code == 1  # the book has a refuted proof; the PDF is written all the same
    assert (out / "book.pdf").read_bytes().startswith(b"%PDF")
    assert "pdflatex failed" not in capsys.readouterr().err


def test_derivations_are_typeset_offline(tmp_path):
    from symdl.proofbook import DerivationRecord

    record = DerivationRecord(
        "proved",
        "Proved: every step and the final claim were checked.",
        "$$\\begin{aligned} a &= b \\end{aligned}$$",
        "\\begin{align*}\na &= b && \\text{(1) a rule}\\quad \\checkmark\n\\end{align*}",
        "\\begin{aligned} a &= b < c \\end{aligned}",
    )
    p = Proof("Steps", "s", lambda: [], topic="calculus", name="steps")
    rs = [ProofResult(p, "proved", derivations=(record,))]
    html = render_html(rs)
    assert "renderMathInElement" in html and "katex" in html
    assert '<div class="derivation">$$\\begin{aligned} a &amp;= b &lt; c' in html
    for fetch in ("<link", "<script src", "url(http", "@import"):
        assert fetch not in html
    assert "katex" not in render_html(results(tmp_path))  # no derivation: no KaTeX
    assert record.markdown in render_markdown(rs)
    assert record.latex in render_latex(rs)
