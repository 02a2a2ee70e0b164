r"""A derivation by differentials in LaTeX, Markdown, HTML and terminal text.

Matrix notation follows :mod:`symdl.derive.matrix_render` (bold matrices, :math:`^\top`,
:math:`\odot`); on top of it the differential is :math:`\mathrm{d}\mathbf{W}`, a trace
:math:`\operatorname{tr}`, a sum of entries :math:`\operatorname{sum}` and an inverse
transposed :math:`\mathbf{X}^{-\top}`. The layout is the scalar derivations' (an
``align*`` block with each step's rule, general formula and check mark; a failed step
marked ``FAILED`` and the verdict stated above a derivation that is not sound), ending
with the identification :math:`\partial L/\partial\mathbf{W} = \mathbf{G}`. Text is the
input language, so every line can be pasted back into ``symdl check``.
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import TYPE_CHECKING

import sympy as sp

from symdl.derive.differentials_nodes import Direction, MatrixDifferential, ScalarDifferential
from symdl.derive.matrix_render import _Latex, _Readable, latex_name
from symdl.render.html import _page
from symdl.render.latex import latex_text, status_mark, verdict_sentence
from symdl.render.text import _from_latex, status_label

if TYPE_CHECKING:
    from symdl.derivation import Step
    from symdl.derive.differentials import DifferentialDerivation

__all__ = [
    "differential_html",
    "differential_latex",
    "differential_markdown",
    "differential_text",
]

_FUNCTIONS = (sp.Trace, sp.Determinant)


class _MatrixLatex(_Latex):  # type: ignore[misc]
    def _print_Direction(self, e: Direction) -> str:
        return rf"\mathrm{{d}}{latex_name(e.variable_name)}"

    def _differential(self, e: sp.Basic) -> str:
        arg = e.args[0]
        inner = self._print(arg)
        if isinstance(arg, _FUNCTIONS) or type(arg).__name__ == "EntrySum":
            return rf"\mathrm{{d}}\,{inner}"
        return rf"\mathrm{{d}}\left({inner}\right)"

    _print_MatrixDifferential = _differential
    _print_ScalarDifferential = _differential

    def _print_Trace(self, e: sp.Trace) -> str:
        return rf"\operatorname{{tr}}\left({self._print(e.arg)}\right)"

    def _print_Determinant(self, e: sp.Determinant) -> str:
        return rf"\det {self._wrapped(e.arg)}"

    def _print_Transpose(self, e: sp.Transpose) -> str:
        if isinstance(e.arg, sp.Inverse) and isinstance(e.arg.arg, sp.MatrixSymbol):
            return rf"{self._print(e.arg.arg)}^{{-\top}}"
        return super()._print_Transpose(e)  # type: ignore[no-any-return]

    def _wrapped(self, e: sp.Basic, atoms_only: bool = False) -> str:
        if isinstance(e, (MatrixDifferential, sp.Trace)):
            return self._print(e)  # type: ignore[no-any-return]
        return super()._wrapped(e, atoms_only)  # type: ignore[no-any-return]


def _tex(e: sp.Basic) -> str:
    return _MatrixLatex({"order": "none"}).doprint(e)  # type: ignore[no-any-return]


class _MatrixText(_Readable):  # type: ignore[misc]
    def text(self, e: sp.Basic) -> tuple[str, int]:
        if isinstance(e, (MatrixDifferential, ScalarDifferential)):
            return f"d({self.text(e.args[0])[0]})", 40
        return super().text(e)  # type: ignore[no-any-return]


def _txt(e: sp.Basic) -> str:
    printer = _MatrixText()
    printer.arrays = sorted(e.atoms(sp.MatrixSymbol), key=lambda m: m.name)
    return printer.text(e)[0]  # type: ignore[no-any-return]


def _final_status(dd: DifferentialDerivation) -> str:
    from symdl.derivation import mathematical_verdict

    if dd.final is None or dd.engine is None:
        return "unchecked"
    worst = {mathematical_verdict(dd.final), mathematical_verdict(dd.engine)}
    for v in ("refuted", "undecided", "verified"):
        if v in worst:
            return "failed" if v == "refuted" else v
    return "proved"


def _gradient_tex(dd: DifferentialDerivation) -> str:
    return rf"\frac{{\partial L}}{{\partial {_tex(dd.wrt)}}}"


_IDENTIFY = (
    r"\mathrm{d}L = \operatorname{tr}(\mathbf{G}^\top\mathrm{d}\mathbf{W}) \Rightarrow "
    r"\frac{\partial L}{\partial \mathbf{W}} = \mathbf{G}"
)


def _annotation(i: int, step: Step) -> str:
    parts = [rf"\text{{({i}) {latex_text(step.rule)}: }} {step.formula}"]
    if step.bindings:
        parts.append(r",\ ".join(rf"{latex_text(n)} = {_tex(v)}" for n, v in step.bindings))
    if step.note:
        parts.append(rf"\text{{({latex_text(step.note)})}}")
    mark = status_mark(step.status)
    if mark:
        parts.append(mark)
    return r"\quad ".join(parts)


def align_block(dd: DifferentialDerivation) -> str:
    r"""The ``align*`` block: :math:`\mathrm{d}L = …`, one row a step, the identification."""
    rows = [rf"L &= {_tex(dd.expr)} && \text{{the function}}"]
    rows.append(rf"\mathrm{{d}}L &= {_tex(dd.start)} && \text{{its differential}}")
    for i, step in enumerate(dd.steps, 1):
        rows.append(rf"&= {_tex(step.after)} && {_annotation(i, step)}")
    mark = status_mark(_final_status(dd))
    rows.append(
        rf"\Rightarrow\ {_gradient_tex(dd)} &= {_tex(dd.result)} && "
        rf"\text{{identification: }} {_IDENTIFY}" + (rf"\quad {mark}" if mark else "")
    )
    if not dd.sound:
        rows.insert(0, rf"& && \textbf{{{latex_text(verdict_sentence(dd))}}}")
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _title(dd: DifferentialDerivation) -> str:
    return f"The gradient of {_txt(dd.expr)} with respect to {dd.wrt.name}, by differentials"


def differential_latex(dd: DifferentialDerivation, *, standalone: bool = False) -> str:
    r"""The derivation in LaTeX; ``standalone`` wraps it in a document for ``pdflatex``."""
    block = align_block(dd)
    if not standalone:
        return block
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath,amssymb}",
            r"\begin{document}",
            rf"\section*{{{latex_text(_title(dd))}}}",
            latex_text(verdict_sentence(dd)),
            r"{\small",
            block,
            "}",
            r"\end{document}",
            "",
        ]
    )


def _cell(tex: str) -> str:
    return tex.replace("|", r"\vert ")


def differential_markdown(dd: DifferentialDerivation) -> str:
    """The derivation in Markdown with ``$$`` display math (GitHub style) and a step table."""
    lines = [
        f"**{_title(dd)}**",
        "",
        f"> {verdict_sentence(dd)}",
        "",
        "$$",
        align_block(dd).replace("{align*}", "{aligned}"),
        "$$",
        "",
        "| step | rule | general rule | check |",
        "|---:|---|---|---|",
    ]
    for i, step in enumerate(dd.steps, 1):
        label = status_label(step.status)
        if step.status == "failed":
            label = f"**{label}**"
        lines.append(f"| {i} | {step.rule} | ${_cell(step.formula)}$ | {label} |")
    result = f"{_gradient_tex(dd)} = {_tex(dd.result)}"
    lines += ["", f"Result: ${result}$ ({status_label(_final_status(dd))})", ""]
    return "\n".join(lines)


def _inline(tex: str) -> str:
    return html.escape(rf"\({tex}\)")


def differential_html(dd: DifferentialDerivation) -> str:
    """One self-contained page (KaTeX inlined, no network request)."""
    good = "sound" if dd.sound else "unsound"
    rows = []
    for i, step in enumerate(dd.steps, 1):
        css = ' class="failed"' if step.status == "failed" else ""
        rows.append(
            f"<tr{css}><td>{i}</td><td>{html.escape(step.rule)}</td>"
            f"<td>{_inline(step.formula)}</td>"
            f"<td>{html.escape(status_label(step.status))}</td></tr>"
        )
    result = f"{_gradient_tex(dd)} = {_tex(dd.result)}"
    return _page(
        _title(dd),
        [
            f'<p class="verdict {good}">{html.escape(verdict_sentence(dd))}</p>',
            f'<div class="derivation">$${html.escape(align_block(dd))}$$</div>',
            "<table><thead><tr><th>step</th><th>rule</th><th>general rule</th>"
            "<th>check</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            f"<p>Result: {_inline(result)}</p>",
        ],
    )


_TEXT_FORMS = [
    (r"\\operatorname\{(\w+)\}(?=\\mathbf)", r" \1 "),
    (r"\\operatorname\{(\w+)\}", r" \1"),
    (r"\\mathrm\{d\}", "d"),
    (r"\\mathbf\{([^{}]*)\}", r"\1"),
    (r"\^\\top", "ᵀ"),
    (r"\\odot", "⊙"),
    (r"\\circ ?", "∘"),
    (r"\\det", "det"),
    (r"\\text\{ ?for a \} ?1 \\times 1\\ a", " for 1×1 a"),
]


def _formula_text(tex: str) -> str:
    for pattern, repl in _TEXT_FORMS:
        tex = re.sub(pattern, repl, tex)
    return _from_latex(tex)


def differential_text(dd: DifferentialDerivation, *, width: int = 100) -> str:
    """The derivation as text no wider than ``width`` columns (long lines wrap)."""
    wrap = textwrap.TextWrapper(width=width, subsequent_indent=" " * 8, break_long_words=True)
    name = dd.wrt.name
    if not dd.checked:
        head = "UNCHECKED: no step has been verified (call .verify())"
    else:
        head = verdict_sentence(dd)
    lines = [_title(dd), head, "", *wrap.wrap(f"    dL = {_txt(dd.start)}")]
    for i, step in enumerate(dd.steps, 1):
        lines.extend(wrap.wrap(f"({i:>2}) = {_txt(step.after)}"))
        note = f" ({step.note})" if step.note else ""
        rule = f"       {step.rule}: {_formula_text(step.formula)}{note}"
        lines.extend(wrap.wrap(f"{rule}   [{status_label(step.status)}]"))
    lines += [
        "",
        *wrap.wrap(f"result: dL/d{name} = {_txt(dd.result)}"),
        f"identification: dL = tr(G.T @ d{name}) => dL/d{name} = G   "
        f"[{status_label(_final_status(dd))}]",
    ]
    if dd.final is not None and dd.engine is not None:
        lines.append(
            f"final claim (check_derivative): {dd.final.verdict}; "
            f"agreement with the matrix engine (symdl grad): {dd.engine.verdict}"
        )
    return "\n".join(line.rstrip() for line in lines)
