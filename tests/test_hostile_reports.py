"""Hostile text in proof titles, statements and errors reaches the report writers inert.

Every line of ``hostile_inputs.txt`` (plus markup aimed at each format: ``<script>``,
``\\write18``, ``\\input``, Markdown HTML blocks) is put where a proof author's text goes —
the title, the statement, the topic introduction and an error message — and rendered as
HTML, Markdown and LaTeX. HTML must escape it (no tag, no attribute, no fetch survives);
LaTeX must escape every backslash so no control sequence from the text is executed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from symdl.proofbook import Proof, ProofResult
from symdl.render.report_html import render_html
from symdl.render.report_latex import render_latex, tex_text
from symdl.render.report_markdown import render_markdown

CORPUS = [
    line
    for line in (Path(__file__).parent / "hostile_inputs.txt").read_text("utf-8").split("\n")
    if line and not line.startswith("#")
]
AIMED = [
    "<script>alert(1)</script>",
    '<img src=x onerror="fetch(`http://example.com`)">',
    "</style><style>@import url(http://example.com/x.css)</style>",
    r"\immediate\write18{touch /tmp/pwned}",
    r"\input{/etc/passwd}",
    r"\def\x{\x}\x",
    r"$\csname write18\endcsname$",
    "<details open><summary>x</summary><iframe src=http://example.com></iframe></details>",
    "```\n</pre><script>1</script>",
]
TEXTS = [*AIMED, *CORPUS]


def _results(text: str) -> list[ProofResult]:
    proof = Proof(
        title=text,
        statement=text,
        fn=lambda: [],
        references=(text,),
        tags=(text[:20],),
        topic="hostile",
        name="hostile",
        introduction=text,
    )
    return [ProofResult(proof, "error", error=text)]


BASELINE = render_html(_results("a harmless title"))


def _tags(html: str) -> list[str]:
    return sorted(t.lower() for t in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html))


@pytest.mark.parametrize("text", TEXTS, ids=[f"{i:03d}" for i in range(len(TEXTS))])
def test_html_escapes_hostile_text(text):
    html = render_html(_results(text))
    # the page has exactly the elements of a harmless page: nothing from the text is markup
    assert _tags(html) == _tags(BASELINE)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html)  # no event handler in a real tag
    assert not re.search(r"<[^>]*(src|href)\s*=\s*[\"']?https?:", html)


@pytest.mark.parametrize("text", TEXTS, ids=[f"{i:03d}" for i in range(len(TEXTS))])
def test_latex_escapes_every_backslash(text):
    escaped = tex_text(text)
    # a control word from the text survives only as \textbackslash{}word
    for word in ("write18", "input", "immediate", "csname", "def"):
        if "\\" + word in text:
            assert "\\" + word not in escaped
    book = render_latex(_results(text))
    assert r"\write18" not in book and r"\input{/etc" not in book


@pytest.mark.parametrize("text", AIMED)
def test_markdown_keeps_hostile_html_out_of_the_page(text):
    md = render_markdown(_results(text))
    for tag in ("<script", "<img", "<iframe"):
        if tag in text:
            assert tag not in md
