"""The figures of the proof book in each report format, and the files they live in.

The HTML page embeds each picture as a base64 ``data:`` URI, so it stays one
self-contained file. The Markdown and LaTeX books link to PNG files in a ``figures/``
folder beside them: :func:`figure_files` lists those files (relative path → bytes) for
the writer, and :func:`figure_path` is the name both sides agree on. A figure without a
picture (matplotlib absent, a plotter that failed) is shown as its title and the note
that says why, in every format.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from symdl.proofbook.book import ProofResult

__all__ = [
    "FIGURE_FOLDER",
    "figure_files",
    "figure_path",
    "html_figures",
    "latex_figures",
    "markdown_figures",
]

#: A figure's size in book.tex: the text's width, but at most half a page high.
_SIZE = r"width=0.9\textwidth,height=0.45\textheight,keepaspectratio"

#: The folder, beside ``book.md`` and ``book.tex``, that holds the figures' PNG files.
FIGURE_FOLDER = "figures"


def figure_path(result: ProofResult, index: int) -> str:
    """``figures/<topic>-<name>-<digest>-<index>.png``: only ``[a-z0-9-]`` in the stem
    (safe in a URL and in LaTeX), and distinct for distinct proofs (the digest of the
    proof's key tells apart keys that differ only in characters left out)."""
    key = result.proof.key
    stem = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:60] or "proof"
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{FIGURE_FOLDER}/{stem}-{digest}-{index}.png"


def figure_files(results: Sequence[ProofResult]) -> dict[str, bytes]:
    """The PNG files the Markdown and LaTeX books link to: relative path → bytes."""
    return {
        figure_path(r, i): f.png for r in results for i, f in enumerate(r.figures, 1) if f.drawn
    }


def html_figures(result: ProofResult) -> list[str]:
    """Each figure as ``<figure>`` with the PNG inlined, or its note in its place."""
    out = []
    for f in result.figures:
        title = escape(f.title)
        caption = f"<b>{title}.</b> {escape(f.caption)}" if f.caption else f"<b>{title}.</b>"
        if f.drawn:
            data = base64.b64encode(f.png).decode("ascii")
            out += [
                '<figure class="plot">',
                f'<img alt="{title}" src="data:image/png;base64,{data}">',
                f"<figcaption>{caption}</figcaption>",
                "</figure>",
            ]
        else:
            out.append(f'<p class="figure-note">{caption} Figure {escape(f.note)}</p>')
    return out


def _md(text: str) -> str:
    """Text for Markdown: angle brackets escaped (raw HTML passes through), and the
    brackets that would end an image's alt text."""
    return (
        text.replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace("\n", " ")
    )


def markdown_figures(result: ProofResult) -> list[str]:
    """Each figure as an image linked from ``figures/`` with its caption, or its note."""
    out: list[str] = []
    for i, f in enumerate(result.figures, 1):
        caption = f"*{_md(f.title)}.* {_md(f.caption)}".rstrip()
        if f.drawn:
            out += ["", f"![{_md(f.title)}]({figure_path(result, i)})", "", caption]
        else:
            out += ["", f"{caption} Figure {_md(f.note)}"]
    return out


def latex_figures(result: ProofResult, tex_text: Callable[[str], str]) -> list[str]:
    """Each figure as ``\\includegraphics`` of its file in ``figures/``, centred, with its
    caption (not a float: it stays inside its proof), or its note in its place.
    ``tex_text`` is the report's Unicode-to-LaTeX text conversion."""
    out: list[str] = []
    for i, f in enumerate(result.figures, 1):
        caption = rf"\textbf{{{tex_text(f.title)}.}} {tex_text(f.caption)}".rstrip()
        if f.drawn:
            out += [
                r"\begin{center}",
                rf"\includegraphics[{_SIZE}]{{{figure_path(result, i)}}}\\[0.5ex]",
                r"{\small " + caption + "}",
                r"\end{center}",
                "",
            ]
        else:
            out.append(r"{\small " + caption + " Figure " + tex_text(f.note) + "}\n")
    return out
