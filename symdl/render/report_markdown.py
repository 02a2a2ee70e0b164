"""The proof book as Markdown: a summary, a table of contents by topic, then each proof.

Each proof shows its statement, tags and references, its step-by-step derivations (math
in ``$$`` blocks), and for every check its claim and an evidence table (method, outcome,
points, worst relative error, tolerance); a check that did not hold shows the full report
(counterexample, worst entries, diagnosis). A proof's figures are images linked from the
``figures/`` folder beside the book (see :mod:`symdl.render.report_figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from symdl.render.report_figures import markdown_figures

if TYPE_CHECKING:
    from symdl.proofbook.book import ProofResult
    from symdl.verify.report import Evidence

__all__ = ["by_topic", "evidence_row", "render_markdown", "summary", "topic_title"]


def topic_title(topic: str) -> str:
    """``linear_algebra`` → ``Linear algebra``."""
    text = topic.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Proofs"


def by_topic(results: Sequence[ProofResult]) -> dict[str, list[ProofResult]]:
    """The results grouped by topic, topics in the order they first appear."""
    groups: dict[str, list[ProofResult]] = {}
    for r in results:
        groups.setdefault(r.proof.topic, []).append(r)
    return groups


def summary(results: Sequence[ProofResult]) -> str:
    """``20 proofs: 12 proved, 8 verified.`` (verdicts from strongest to weakest)."""
    order = ("proved", "verified", "undecided", "refuted", "error")
    counts = {v: sum(r.verdict == v for r in results) for v in order}
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{len(results)} proofs: {parts or 'none'}."


def evidence_row(ev: Evidence) -> tuple[str, ...]:
    """(method, outcome, detail, points, worst rel err, tolerance) as text."""
    worst = f"{ev.worst_error:.1e}" if ev.worst_error is not None else ""
    tol = f"{ev.tolerance:.1e}" if ev.tolerance is not None else ""
    points = str(ev.points) if ev.points else ""
    return (ev.method, ev.outcome, ev.detail, points, worst, tol)


def _anchor(r: ProofResult) -> str:
    return f"{r.proof.topic}-{r.proof.name}".replace("_", "-").lower()


def _text(text: str) -> str:
    """A proof author's text with its angle brackets escaped: Markdown passes raw HTML
    through to the page, so ``<script>`` in a title must arrive as text."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Sequence[ProofResult]) -> str:
    """The whole book as one Markdown document."""
    groups = by_topic(results)
    lines = ["# The symdl proof book", "", summary(results), "", "## Contents", ""]
    lines += ["| topic | proofs | holding |", "|---|---|---|"]
    for topic, rs in groups.items():
        link = f"[{topic_title(topic)}](#{topic.replace('_', '-').lower()})"
        lines.append(f"| {link} | {len(rs)} | {sum(r.ok for r in rs)} |")
    lines += ["", "| topic | proof | verdict | method | seconds |", "|---|---|---|---|---|"]
    for r in results:
        method = "; ".join(sorted({rep.method for rep in r.reports})) or r.error or r.note
        lines.append(
            f"| {r.proof.topic} | [{_cell(r.proof.title)}](#{_anchor(r)}) | **{r.verdict}** "
            f"| {_cell(method)} | {r.seconds:.2f} |"
        )
    for topic, rs in groups.items():
        lines += ["", f"## {topic_title(topic)}"]
        if rs[0].proof.introduction:
            lines += ["", _text(rs[0].proof.introduction)]
        for r in rs:
            lines += _proof_section(r)
    return "\n".join(lines) + "\n"


def _proof_section(r: ProofResult) -> list[str]:
    p = r.proof
    lines = ["", f'<a id="{_anchor(r)}"></a>', "", f"### {_text(p.title)} — {r.verdict}", ""]
    lines += [_text(p.statement), ""]
    if p.tags:
        lines.append(f"Tags: {_text(', '.join(p.tags))}.")
    for ref in p.references:
        lines.append(f"- Reference: {_text(ref)}")
    if r.error:
        lines += ["", f"Error: {_text(r.error)}"]
    if r.note:
        lines += ["", f"Note: {_text(r.note)}"]
    for d in r.derivations:
        lines += ["", d.markdown]
    lines += markdown_figures(r)
    for i, rep in enumerate(r.reports, 1):
        lines += ["", f"**Check {i}: {rep.verdict}** — `{rep.claim}`", ""]
        lines += ["| method | outcome | detail | points | worst rel err | tolerance |"]
        lines += ["|---|---|---|---|---|---|"]
        for ev in rep.evidence:
            lines.append("| " + " | ".join(_cell(c) for c in evidence_row(ev)) + " |")
        if not rep.ok:
            lines += ["", "```", str(rep), "```"]
        for note in rep.notes:
            lines += ["", f"Note: {note}"]
    return lines
