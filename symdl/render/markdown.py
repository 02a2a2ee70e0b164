"""A derivation as GitHub-flavoured Markdown: the verdict, the ``$$`` block, a step table.

GitHub renders ``$$ … $$`` with ``aligned``; the table lists every step's rule, general
formula, bindings and check, so a failed step is visible even where math does not render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from symdl.render.latex import align_block, math, verdict_sentence
from symdl.render.text import status_label

if TYPE_CHECKING:
    from symdl.derivation import Derivation

__all__ = ["derivation_markdown"]


def _cell(latex: str) -> str:
    # a bare | would end the table cell
    return latex.replace("|", r"\vert ")


def derivation_markdown(d: Derivation) -> str:
    """The derivation in Markdown with ``$$`` display math (GitHub style)."""
    block = align_block(d).replace("{align*}", "{aligned}")
    lines = [
        f"**The derivative of ${math(d.expr)}$ with respect to ${math(d.wrt)}$**",
        "",
        f"> {verdict_sentence(d)}",
        "",
        "$$",
        block,
        "$$",
        "",
        "| step | rule | general rule | bindings | check |",
        "|---:|---|---|---|---|",
    ]
    for i, step in enumerate(d.steps, 1):
        bindings = ", ".join(f"${n} = {_cell(math(v))}$" for n, v in step.bindings)
        label = status_label(step.status)
        if step.status == "failed":
            label = f"**{label}**"
        lines.append(f"| {i} | {step.rule} | ${_cell(step.formula)}$ | {bindings} | {label} |")
    lines += ["", f"Result: ${math(sp.Derivative(d.expr, d.wrt))} = {math(d.result)}$", ""]
    return "\n".join(lines)
