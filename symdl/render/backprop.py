r"""A network's backward pass (:class:`~symdl.derive.backprop.BackpropResult`) rendered.

Four forms, each with the layers and their shapes, the forward pass, the backward pass in
reverse order, the δ recursion when the network has ``dense → φ → dense``, and (when a
:class:`~symdl.derive.backprop_check.BackpropCheck` is given) the verdict of every check:

* :func:`backprop_text` — Unicode, lines of at most 100 columns;
* :func:`backprop_latex` — ``align*`` blocks; ``standalone=True`` gives a document that
  compiles with ``pdflatex`` (``amsmath``, ``amssymb``, ``geometry``);
* :func:`backprop_markdown` — headings, a table, display math;
* :func:`backprop_html` — one self-contained page (KaTeX inlined, as
  :mod:`symdl.render.html`), with the generated module.
"""

from __future__ import annotations

import html
import textwrap
from math import prod
from typing import TYPE_CHECKING

from symdl.derive.backprop_code import walk
from symdl.derive.backprop_network import shape_text
from symdl.render.html import _page
from symdl.render.latex import latex_text

if TYPE_CHECKING:
    from symdl.derive.backprop import BackpropResult
    from symdl.derive.backprop_check import BackpropCheck
    from symdl.derive.backprop_derivation import Line

__all__ = ["backprop_html", "backprop_latex", "backprop_markdown", "backprop_text"]

WIDTH = 100


def _title(res: BackpropResult) -> str:
    return f"Backpropagation through {res.network.describe()}"


def _verdict(check: BackpropCheck | None) -> str:
    if check is None:
        return "not checked (BackpropResult.check(), or symdl backprop --check)"
    failed = [label for label, r in check.reports if not r.ok]
    tail = f"; not confirmed: {', '.join(failed)}" if failed else ""
    return f"{check.verdict}: {len(check.reports)} checks{tail}"


def _layers(res: BackpropResult) -> list[tuple[str, str, str, str]]:
    """(label, layer, input → output shape, parameters) per block."""
    rows = []
    for step in walk(res.steps):
        params = ", ".join(f"{key} {shape_text(slot.shape)}" for key, slot in step.params)
        rows.append(
            (
                step.label,
                step.layer.describe(),
                f"{shape_text(step.in_shape)} → {shape_text(step.out_shape)}",
                params or "–",
            )
        )
    return rows


def _count(res: BackpropResult) -> int:
    return sum(prod(shape) for _, shape in res.parameters)


# ---- text -------------------------------------------------------------------------------


def backprop_text(res: BackpropResult, check: BackpropCheck | None = None) -> str:
    """Unicode text, at most 100 columns a line (long equations wrap)."""
    out = _wrap(_title(res), "")
    out.append(f"per-example input {shape_text(res.input_shape)}; {_count(res):,} parameters")
    out.append(_verdict(check))
    out += ["", "Layers"]
    rows = _layers(res)
    wide = min(30, max(len(layer) for _, layer, _, _ in rows))
    shapes_wide = min(24, max(len(shapes) for _, _, shapes, _ in rows))
    for label, layer, shapes, params in rows:
        row = f"{label:<10} {layer:<{wide}}  {shapes:<{shapes_wide}}  {params}"
        out += _wrap(row, "  ", "             ")
    for section in res.derivation:
        out += ["", section.title]
        for line in section.lines:
            out += _wrap(f"{line.label:<10} {line.equation.text}", "  ", "             ")
            if line.equation.note:
                out += _wrap(f"({line.equation.note})", "             ", "              ")
    if check is not None:
        out += ["", "Checks"]
        for label, report in check.reports:
            out += _wrap(f"{report.verdict:<9} {label}", "  ", "            ")
            if not report.ok:
                for text in str(report).splitlines()[1:]:
                    out += _wrap(text.strip(), "      ", "        ")
    return "\n".join(out) + "\n"


def _wrap(text: str, first: str, rest: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=first if rest is None else rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]


# ---- LaTeX ------------------------------------------------------------------------------

_MATH_CHARS = {
    "∂": r"\partial ",
    "ᵀ": r"^\top ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "⊙": r"\odot ",
    "×": r"\times ",
    "→": r"\to ",
    "φ": r"\varphi ",
    "‖": r"\|",
    "²": "^2",
    "½": r"\tfrac12",
    "–": "--",
    "—": "---",
}
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


def text_tex(text: str) -> str:
    """``text`` for a LaTeX text-mode context: the Unicode of symdl's notes as math."""
    out = []
    for ch in text:
        if ch in _MATH_CHARS:
            out.append(f"${_MATH_CHARS[ch]}$" if ch not in "–—" else _MATH_CHARS[ch])
        elif ch in _SUBSCRIPTS:
            out.append(f"$_{_SUBSCRIPTS.index(ch)}$")
        else:
            out.append(latex_text(ch))
    return "".join(out)


def _align(res: BackpropResult, lines: tuple[Line, ...], env: str) -> str:
    rows = []
    for line in lines:
        if line.note_tex:
            tag = rf" && \text{{{text_tex(line.label)}: with }} {line.note_tex}"
        else:
            note = line.label + (f": {line.equation.note}" if line.equation.note else "")
            tag = rf" && \text{{{text_tex(note)}}}" if note else ""
        rows.append(rf"{line.equation.lhs} &= {line.equation.rhs}{tag}")
    return "\n".join([rf"\begin{{{env}}}", " \\\\\n".join(rows), rf"\end{{{env}}}"])


def backprop_latex(
    res: BackpropResult,
    check: BackpropCheck | None = None,
    *,
    standalone: bool = False,
    display: bool = False,
) -> str:
    """The sections as ``align*`` blocks (``display``: one ``$$\\begin{aligned}`` block
    for notebooks); ``standalone`` wraps them in a document for pdflatex."""
    if display:
        lines = tuple(line for section in res.derivation for line in section.lines)
        return "$$" + _align(res, lines, "aligned") + "$$"
    body = []
    for section in res.derivation:
        body += [rf"\section*{{{text_tex(section.title)}}}", _align(res, section.lines, "align*")]
    if not standalone:
        return "\n".join(body) + "\n"
    rows = [" & ".join(text_tex(cell) for cell in row) + r" \\" for row in _layers(res)]
    head = [
        r"\documentclass{article}",
        r"\usepackage[margin=1.5cm,landscape]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\allowdisplaybreaks",
        r"\begin{document}",
        rf"\section*{{{text_tex(_title(res))}}}",
        text_tex(_verdict(check)) + r"\par",
        r"\begin{tabular}{llll}",
        r"layer & block & shapes & parameters \\ \hline",
        *rows,
        r"\end{tabular}",
    ]
    tail = []
    if check is not None:
        tail = [r"\section*{Checks}", r"\begin{itemize}"]
        tail += [rf"\item {text_tex(r.verdict)}: {text_tex(label)}" for label, r in check.reports]
        tail.append(r"\end{itemize}")
    return "\n".join([*head, *body, *tail, r"\end{document}"]) + "\n"


# ---- Markdown ---------------------------------------------------------------------------


def backprop_markdown(res: BackpropResult, check: BackpropCheck | None = None) -> str:
    """Headings, the layer table and every equation as display math."""
    out = [f"## {_md(_title(res))}", "", f"*{_md(_verdict(check))}*", ""]
    out += ["| layer | block | shapes | parameters |", "|---|---|---|---|"]
    out += [f"| {a} | `{b}` | {c} | {d} |" for a, b, c, d in _layers(res)]
    for section in res.derivation:
        out += ["", f"### {section.title}", ""]
        for line in section.lines:
            note = f" — {_md(line.equation.note)}" if line.equation.note else ""
            label = f"{line.label}{note}" if line.label else note.lstrip(" —")
            if label:
                out.append(label)
            out += ["", "$$", f"{line.equation.lhs} = {line.equation.rhs}", "$$", ""]
    if check is not None:
        out += ["### Checks", ""]
        out += [f"- **{r.verdict}** {_md(label)}" for label, r in check.reports]
    return "\n".join(out).rstrip("\n") + "\n"


def _md(text: str) -> str:
    for ch in "\\`*_[]|<>":
        text = text.replace(ch, "\\" + ch)
    return text


# ---- HTML -------------------------------------------------------------------------------


def backprop_html(res: BackpropResult, check: BackpropCheck | None = None) -> str:
    """One self-contained page: verdict, layers, the sections and the generated module."""
    good = "sound" if check is not None and check.ok else "unsound"
    body = [f'<p class="verdict {good}">{html.escape(_verdict(check))}</p>']
    body += ["<table><tr><th>layer</th><th>block</th><th>shapes</th><th>parameters</th></tr>"]
    body += [
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in _layers(res)
    ]
    body.append("</table>")
    for section in res.derivation:
        body += [f"<h2>{html.escape(section.title)}</h2>", "<table>"]
        for line in section.lines:
            tex = html.escape(rf"\({line.equation.lhs} = {line.equation.rhs}\)")
            note = html.escape(line.equation.note)
            if line.note_tex:
                note = "with " + html.escape(rf"\({line.note_tex}\)")
            body.append(f"<tr><td>{html.escape(line.label)}</td><td>{tex}</td><td>{note}</td></tr>")
        body.append("</table>")
    if check is not None:
        body += ["<h2>Checks</h2>", "<table>"]
        for label, r in check.reports:
            row = "" if r.ok else ' class="failed"'
            body.append(
                f"<tr{row}><td>{html.escape(r.verdict)}</td><td>{html.escape(label)}</td></tr>"
            )
        body.append("</table>")
    body += ["<h2>Generated NumPy</h2>", f"<pre>{html.escape(res.source)}</pre>"]
    return _page(_title(res), body)
