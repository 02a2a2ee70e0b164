"""The proof book as one self-contained HTML page: nothing is fetched from the network.

A table of contents by topic, a summary table with verdict badges, then each proof: its
statement, tags and references, its step-by-step derivations typeset by KaTeX (inlined,
with its fonts, only when the book has a derivation), and for each check the claim and
an evidence table; a check that did not hold shows its full report (counterexample,
entries, diagnosis). A proof's figures are embedded as base64 PNG ``data:`` URIs (or
their notes, when they could not be drawn). Statements are Unicode text. Everything
taken from a proof or a report is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from symdl.render.html import katex_head
from symdl.render.report_figures import html_figures
from symdl.render.report_markdown import by_topic, evidence_row, summary, topic_title

if TYPE_CHECKING:
    from symdl.proofbook.book import ProofResult
    from symdl.verify.report import Report

__all__ = ["render_html"]

_STYLE = """
body { font: 16px/1.5 Georgia, 'Times New Roman', serif; color: #1d1d1f; margin: 0;
       background: #fdfdfb; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 2rem 4rem; }
nav.toc { background: #f3f2ee; border: 1px solid #e1dfd8; padding: 0.5rem 1.5rem;
          border-radius: 6px; }
nav.toc li { margin: 0.15rem 0; }
h1 { font-size: 2rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #e1dfd8; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { margin: 0 0 0.4rem; font-size: 1.15rem; }
section.proof { border: 1px solid #e1dfd8; border-radius: 6px; padding: 0.8rem 1.2rem;
                margin: 1.2rem 0; background: #fff; }
.statement { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.95rem;
             background: #f7f7f4; padding: 0.5rem 0.8rem; border-left: 3px solid #8a8; }
.meta { color: #555; font-size: 0.9rem; }
.badge { display: inline-block; font: bold 0.75rem/1.6 sans-serif; padding: 0 0.5rem;
         border-radius: 0.8rem; color: #fff; vertical-align: middle; text-transform: uppercase;
         letter-spacing: 0.03em; }
.proved { background: #1b7f3b; } .verified { background: #2f6db5; }
.undecided { background: #b7791f; } .refuted, .error { background: #c0392b; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.85rem; width: 100%; }
th, td { border: 1px solid #e1dfd8; padding: 0.2rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f2ee; font-family: sans-serif; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.85rem; }
pre { background: #f7f7f4; padding: 0.5rem; overflow-x: auto; }
.claim { margin-top: 0.8rem; }
div.derivation { overflow-x: auto; }
a { color: #2f5d8a; }
p.intro { font-style: italic; color: #333; }
figure.plot { margin: 1rem 0; text-align: center; }
figure.plot img { max-width: 100%; height: auto; border: 1px solid #e1dfd8; }
figure.plot figcaption, p.figure-note { font-size: 0.9rem; color: #444; }
p.figure-note { background: #fbf5e6; border-left: 3px solid #b7791f; padding: 0.4rem 0.8rem; }
"""


def _badge(verdict: str) -> str:
    return f'<span class="badge {escape(verdict)}">{escape(verdict)}</span>'


def _anchor(r: ProofResult) -> str:
    return escape(f"{r.proof.topic}-{r.proof.name}".replace("_", "-").lower())


def _topic_anchor(topic: str) -> str:
    return escape("topic-" + topic.replace("_", "-").lower())


def render_html(results: Sequence[ProofResult]) -> str:
    """The whole book as one HTML document (UTF-8, inline CSS, nothing fetched)."""
    groups = by_topic(results)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>The symdl proof book</title>",
        f"<style>{_STYLE}{_FOCUS_STYLE}</style>",
        *_math_head(results),
        f"<script>{_FOCUS}</script>",
        "</head><body><main>",
        '<p class="focus-back"><a href="#">← the whole book</a></p>',
        "<h1>The symdl proof book</h1>",
        f"<p>{escape(summary(results))} Every claim below was checked by symdl: "
        "<b>proved</b> means a symbolic computation showed the difference is identically "
        "zero; <b>verified</b> means 30-digit evaluation at random admissible points and "
        "finite differences of the generated NumPy code agree.</p>",
        '<nav class="toc"><h2 style="border:0;margin-top:0.5rem">Contents</h2><ul>',
    ]
    for topic, rs in groups.items():
        holding = sum(r.ok for r in rs)
        out.append(
            f'<li><a href="#{_topic_anchor(topic)}">{escape(topic_title(topic))}</a> '
            f"— {len(rs)} proofs, {holding} hold</li>"
        )
    out.append("</ul></nav>")
    out += _summary_table(results)
    for topic, rs in groups.items():
        out.append(f'<h2 id="{_topic_anchor(topic)}">{escape(topic_title(topic))}</h2>')
        for paragraph in rs[0].proof.introduction.split("\n\n"):
            if paragraph.strip():
                out.append(f'<p class="intro">{escape(paragraph)}</p>')
        for r in rs:
            out += _proof_section(r)
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


_RENDER_MATH = """
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div.derivation").forEach(function (el) {
    renderMathInElement(el, {delimiters: [{left: "$$", right: "$$", display: true}],
                             throwOnError: false});
  });
});
"""


#: ``index.html#only=ID`` shows the proof ``ID`` alone (a link to one proof, a page to
#: print or screenshot); any other address shows the whole book
_FOCUS = """
function symdlFocus() {
  var m = location.hash.match(/^#only=(.+)$/);
  var target = m ? document.getElementById(decodeURIComponent(m[1])) : null;
  document.body.classList.toggle("focused", target !== null);
  document.querySelectorAll("section.proof.shown").forEach(function (el) {
    el.classList.remove("shown");
  });
  if (target) { target.classList.add("shown"); window.scrollTo(0, 0); }
}
document.addEventListener("DOMContentLoaded", symdlFocus);
window.addEventListener("hashchange", symdlFocus);
"""
_FOCUS_STYLE = """
div.derivation { overflow-x: auto; }
.focus-back { display: none; }
body.focused main > * { display: none; }
body.focused main > section.proof.shown, body.focused main > .focus-back { display: block; }
"""


def _math_head(results: Sequence[ProofResult]) -> list[str]:
    """KaTeX, inlined, only when some proof shows a derivation's math."""
    if not any(r.derivations for r in results):
        return []
    return [katex_head(), f"<script>{_RENDER_MATH}</script>"]


def _summary_table(results: Sequence[ProofResult]) -> list[str]:
    out = [
        "<h2>Summary</h2><table><tr><th>topic</th><th>proof</th><th>verdict</th>"
        "<th>checks</th><th>seconds</th></tr>"
    ]
    for r in results:
        out.append(
            f"<tr><td>{escape(topic_title(r.proof.topic))}</td>"
            f'<td><a href="#{_anchor(r)}">{escape(r.proof.title)}</a></td>'
            f"<td>{_badge(r.verdict)}</td><td class=num>{len(r.reports)}</td>"
            f"<td class=num>{r.seconds:.2f}</td></tr>"
        )
    out.append("</table>")
    return out


def _proof_section(r: ProofResult) -> list[str]:
    p = r.proof
    out = [
        f'<section class="proof" id="{_anchor(r)}">',
        f"<h3>{escape(p.title)} {_badge(r.verdict)}</h3>",
        f'<div class="statement">{escape(p.statement)}</div>',
    ]
    meta = []
    if p.tags:
        meta.append("Tags: " + ", ".join(escape(t) for t in p.tags))
    meta.append(f"{r.seconds:.2f} s" + (" (cached result)" if r.cached else ""))
    out.append(f'<p class="meta">{" · ".join(meta)}</p>')
    if p.references:
        out.append('<ul class="meta">')
        out += [f"<li>{escape(ref)}</li>" for ref in p.references]
        out.append("</ul>")
    if r.error:
        out.append(f"<p><b>Error:</b> <code>{escape(r.error)}</code></p>")
    if r.note:
        out.append(f"<p><b>Note:</b> {escape(r.note)}</p>")
    for d in r.derivations:
        out += [
            f'<p class="meta">{escape(d.sentence)}</p>',
            f'<div class="derivation">$${escape(d.align)}$$</div>',
        ]
    out += html_figures(r)
    for i, rep in enumerate(r.reports, 1):
        out += _check(i, rep)
    out.append("</section>")
    return out


def _check(i: int, rep: Report) -> list[str]:
    out = [
        f'<p class="claim">Check {i} {_badge(rep.verdict)} <code>{escape(rep.claim)}</code></p>',
        "<table><tr><th>method</th><th>outcome</th><th>detail</th><th>points</th>"
        "<th>worst rel err</th><th>tolerance</th></tr>",
    ]
    for ev in rep.evidence:
        method, outcome, detail, points, worst, tol = (escape(c) for c in evidence_row(ev))
        out.append(
            f"<tr><td>{method}</td><td>{outcome}</td><td>{detail}</td>"
            f"<td class=num>{points}</td><td class=num>{worst}</td><td class=num>{tol}</td></tr>"
        )
    out.append("</table>")
    if not rep.ok:
        out.append(f"<pre>{escape(str(rep))}</pre>")
    out += [f'<p class="meta">Note: {escape(n)}</p>' for n in rep.notes]
    return out
