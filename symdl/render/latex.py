r"""A derivation as LaTeX: an ``align*`` block with each step's rule, bindings and check.

Every line after the first reads ``&= \text{after} && \text{(k) rule: } \text{formula}``;
a case-by-case rule adds its cases and kinks as rows below it. A failed step is marked
``\textbf{FAILED}`` and a derivation that is not sound says so above the block. The
standalone document (``standalone=True``) compiles with ``pdflatex`` using only
``amsmath`` and ``amssymb``; the block alone also renders in KaTeX and Jupyter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp
from sympy.printing.latex import LatexPrinter

if TYPE_CHECKING:
    from symdl.derivation import Derivation, Step

__all__ = [
    "align_block",
    "derivation_latex",
    "latex_text",
    "math",
    "status_mark",
    "verdict_sentence",
]

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "−": "-",
    "′": "'",
    "≠": r"$\neq$",
    "·": r"$\cdot$",
    "σ": r"$\sigma$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
}


def latex_text(text: str) -> str:
    r"""``text`` safe inside ``\text{…}`` for pdflatex and KaTeX (ASCII out)."""
    out = "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)
    return out.encode("ascii", "replace").decode("ascii")


class _Printer(LatexPrinter):
    """SymPy's LaTeX with the unit step written :math:`H` (SymPy writes θ)."""

    def _print_Heaviside(self, expr: sp.Basic, exp: str | None = None) -> str:
        tex = rf"H\left({self._print(expr.args[0])}\right)"
        return f"{tex}^{{{exp}}}" if exp else tex


def math(expr: sp.Basic) -> str:
    """``expr`` in LaTeX (SymPy's printer; derivatives as :math:`\\frac{d}{dx}`)."""
    return _Printer().doprint(expr)


_MARK = {
    "proved": r"\checkmark",
    "verified": r"\checkmark",
    "failed": r"\textbf{FAILED}",
    "undecided": r"\textbf{undecided}",
    "unchecked": "",
}


def status_mark(status: str) -> str:
    return _MARK[status]


def verdict_sentence(d: Derivation) -> str:
    """One sentence on the derivation's standing (plain text)."""
    if not d.checked:
        return "Unchecked: no step has been verified."
    if d.failed_steps:
        which = ", ".join(map(str, d.failed_steps))
        return f"NOT SOUND: step {which} failed its check; the result is not established."
    if d.sound:
        return f"{d.verdict.capitalize()}: every step and the final claim were checked."
    return f"{d.verdict.capitalize()}: not every step could be decided."


def _annotation(i: int, step: Step) -> str:
    parts = [rf"\text{{({i}) {latex_text(step.rule)}: }} {step.formula}"]
    if step.bindings:
        parts.append(r",\ ".join(rf"{latex_text(n)} = {math(v)}" for n, v in step.bindings))
    if step.note:
        parts.append(rf"\text{{({latex_text(step.note)})}}")
    mark = status_mark(step.status)
    if mark:
        parts.append(mark)
    return r"\quad ".join(parts)


def align_block(d: Derivation) -> str:
    r"""The ``align*`` environment of the derivation (no document around it)."""
    rows = [rf"{math(sp.Derivative(d.expr, d.wrt))} &= {math(d.steps[0].after)} "]
    rows[0] += rf"&& {_annotation(1, d.steps[0])}"
    rows.extend(_extras(d.steps[0]))
    for i, step in enumerate(d.steps[1:], 2):
        rows.append(rf"&= {math(step.after)} && {_annotation(i, step)}")
        rows.extend(_extras(step))
    if not d.sound:  # the block alone (Jupyter) must not pass for a sound derivation
        rows.insert(0, rf"& && \textbf{{{latex_text(verdict_sentence(d))}}}")
    body = " \\\\\n".join(rows)
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


def _where(step: Step) -> str:
    return math(step.condition) if step.condition is not None else ""


def _extras(step: Step) -> list[str]:
    out = []
    for case in step.cases:
        mark = status_mark(case.status)
        out.append(
            rf"& && \qquad\text{{{latex_text(case.rule)} }} {_where(case)}"
            rf"\text{{: }} {case.formula}"
            rf"\ \Rightarrow\ {math(case.before)} = {math(case.after)}\quad {mark}"
        )
    for kink in step.kinks:
        out.append(rf"& && \qquad\text{{kink: {latex_text(kink)}}}")
    return out


def derivation_latex(d: Derivation, *, standalone: bool = False) -> str:
    r"""The derivation in LaTeX; ``standalone`` wraps it in a document for ``pdflatex``."""
    block = align_block(d)
    if not standalone:
        return block
    title = latex_text(f"The derivative of {sp.sstr(d.expr)} with respect to {d.wrt}")
    return "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{amsmath,amssymb}",
            r"\begin{document}",
            rf"\section*{{{title}}}",
            latex_text(verdict_sentence(d)),
            r"{\small",
            block,
            "}",
            r"\end{document}",
            "",
        ]
    )
