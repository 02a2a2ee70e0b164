"""A derivation as one self-contained HTML page that renders its math offline.

KaTeX 0.19.1 (MIT licence, ``symdl/render/assets/katex/LICENSE``) is inlined: its script,
its auto-render extension, and its stylesheet with every font embedded as a ``data:``
URI, so opening the page makes no network request and needs no other file. The page
shows the verdict (red when the derivation is not sound), the ``align*`` block and a
table of the steps; a failed step's row is marked.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import sympy as sp

from symdl.render.latex import align_block, latex_text, math, verdict_sentence
from symdl.render.text import status_label

if TYPE_CHECKING:
    from symdl.derivation import Derivation
    from symdl.derive.steps_softmax import SoftmaxJacobian

__all__ = ["derivation_html", "katex_head", "softmax_jacobian_html"]

_ASSETS = resources.files("symdl.render") / "assets" / "katex"


@cache
def katex_head() -> str:
    """``<style>`` and ``<script>`` elements with KaTeX and its fonts inlined."""
    css = (_ASSETS / "katex.min.css").read_text(encoding="utf-8")

    def font(match: re.Match[str]) -> str:
        name = match.group(1)
        data = (_ASSETS / "fonts" / f"{name}.woff2").read_bytes()
        encoded = base64.b64encode(data).decode("ascii")
        return f'src:url(data:font/woff2;base64,{encoded}) format("woff2")'

    # keep the woff2 source only, embedded; the woff/ttf fallbacks would be fetched
    css = re.sub(r'src:url\(fonts/([\w-]+)\.woff2\) format\("woff2"\)[^;}]*', font, css)
    if "url(fonts/" in css:
        raise RuntimeError("a KaTeX font was left as a file reference")
    js = (_ASSETS / "katex.min.js").read_text(encoding="utf-8")
    auto = (_ASSETS / "auto-render.min.js").read_text(encoding="utf-8")
    return "\n".join(
        [
            f"<style>{css}</style>",
            f"<script>{_script(js)}</script>",
            f"<script>{_script(auto)}</script>",
        ]
    )


def _script(code: str) -> str:
    return code.replace("</script", "<\\/script")


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 80rem; margin: 2rem auto; padding: 0 1rem; }
.verdict { padding: .5rem 1rem; border-radius: .3rem; }
.sound { background: #e6f4ea; } .unsound { background: #fce8e6; font-weight: bold; }
.derivation { overflow-x: auto; }
table { border-collapse: collapse; margin-top: 1rem; }
td, th { border: 1px solid #ccc; padding: .3rem .6rem; vertical-align: top; }
tr.failed { background: #fce8e6; font-weight: bold; }
"""

_RENDER = """
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [{left: "$$", right: "$$", display: true},
                 {left: "\\\\(", right: "\\\\)", display: false}],
    throwOnError: false
  });
});
"""


def _inline(tex: str) -> str:
    return html.escape(rf"\({tex}\)")


def derivation_html(d: Derivation) -> str:
    """The whole page (UTF-8 text); nothing in it refers to another file or to the network."""
    title = f"The derivative of {sp.sstr(d.expr)} with respect to {d.wrt}"
    good = "sound" if d.sound else "unsound"
    return _page(
        title,
        [f'<p class="verdict {good}">{html.escape(verdict_sentence(d))}</p>', *_section(d)],
    )


def softmax_jacobian_html(jac: SoftmaxJacobian) -> str:
    """The softmax Jacobian's page: both entries' derivations and the assembled matrix."""
    good = "sound" if jac.sound else "unsound"
    matrix = "unchecked" if jac.matrix is None else jac.matrix.verdict
    return _page(
        "The softmax Jacobian",
        [
            f'<p class="verdict {good}">{html.escape(jac.verdict)}: p_k = exp(z_k)/S, '
            f"S = Σ_k exp(z_k), n = {jac.n}</p>",
            f"<h2>Diagonal entry ({html.escape(jac.diagonal.verdict)})</h2>",
            *_section(jac.diagonal),
            f"<h2>Off-diagonal entry, every j ≠ i alike "
            f"({html.escape(jac.off_diagonal.verdict)})</h2>",
            *_section(jac.off_diagonal),
            "<h2>Assembled</h2>",
            f"<p>{_inline(_ASSEMBLED)}, {_inline(_ENTRY)}, checked for z of length n: "
            f"<strong>{html.escape(matrix)}</strong></p>",
        ],
    )


_ASSEMBLED = r"J = \operatorname{diag}(p) - p p^{\top}"
_ENTRY = r"J_{ij} = \partial p_i / \partial z_j"


def _section(d: Derivation) -> list[str]:
    """A derivation's ``align*`` block, its table of steps and its result."""
    rows = []
    for i, step in enumerate(d.steps, 1):
        bindings = ", ".join(_inline(f"{latex_text(n)} = {math(v)}") for n, v in step.bindings)
        css = ' class="failed"' if step.status == "failed" else ""
        rows.append(
            f"<tr{css}><td>{i}</td><td>{html.escape(step.rule)}</td>"
            f"<td>{_inline(step.formula)}</td><td>{bindings}</td>"
            f"<td>{html.escape(status_label(step.status))}</td></tr>"
        )
    return [
        f'<div class="derivation">$${html.escape(align_block(d))}$$</div>',
        "<table><thead><tr><th>step</th><th>rule</th><th>general rule</th>"
        "<th>bindings</th><th>check</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
        f"<p>Result: {_inline(f'{math(sp.Derivative(d.expr, d.wrt))} = {math(d.result)}')}</p>",
    ]


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style>",
            katex_head(),
            f"<script>{_RENDER}</script>",
            "</head><body>",
            f"<h1>{html.escape(title)}</h1>",
            *body,
            "</body></html>",
            "",
        ]
    )
