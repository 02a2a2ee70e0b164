r"""The proof book as a LaTeX document (``book.tex``) for pdfLaTeX with base packages only.

The statements are Unicode text; :func:`tex_text` turns them into LaTeX: Greek letters and
operators into math-mode macros, super- and subscript characters into
``\textsuperscript``/``\textsubscript`` runs, combining accents (x̂, ᾱ) into accent
commands, and LaTeX's special characters into their escapes. A character it does not know
is shown as ``[U+XXXX]`` rather than breaking the document. A proof's figures are
``\includegraphics`` of the PNG files in ``figures/`` beside ``book.tex`` (graphicx).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from symdl.render.report_figures import latex_figures
from symdl.render.report_markdown import by_topic, evidence_row, summary, topic_title

if TYPE_CHECKING:
    from symdl.proofbook.book import ProofResult
    from symdl.verify.report import Report

__all__ = ["render_latex", "tex_text"]

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\^{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "\n": " ",
}
_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "varsigma",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
_MATH = {chr(0x3B1 + i): "\\" + name for i, name in enumerate(_GREEK) if name != "omicron"}
_MATH.update({"ο": "o", "ϵ": r"\epsilon", "ε": r"\varepsilon", "ϕ": r"\phi", "φ": r"\varphi"})
_MATH.update(
    {
        "Γ": r"\Gamma",
        "Δ": r"\Delta",
        "Θ": r"\Theta",
        "Λ": r"\Lambda",
        "Ξ": r"\Xi",
        "Π": r"\Pi",
        "Σ": r"\Sigma",
        "Φ": r"\Phi",
        "Ψ": r"\Psi",
        "Ω": r"\Omega",
        "∂": r"\partial",
        "∇": r"\nabla",
        "∈": r"\in",
        "∉": r"\notin",
        "∏": r"\prod",
        "∑": r"\sum",
        "−": "-",
        "√": r"\surd",
        "∞": r"\infty",
        "≈": r"\approx",
        "≠": r"\neq",
        "≤": r"\leq",
        "≥": r"\geq",
        "≡": r"\equiv",
        "⊙": r"\odot",
        "⊗": r"\otimes",
        "‖": r"\|",
        "←": r"\leftarrow",
        "→": r"\rightarrow",
        "↦": r"\mapsto",
        "⇒": r"\Rightarrow",
        "⇔": r"\Leftrightarrow",
        "±": r"\pm",
        "×": r"\times",
        "¬": r"\neg",
        "·": r"\cdot",
        "∘": r"\circ",
        "⪰": r"\succeq",
        "⪯": r"\preceq",
        "≻": r"\succ",
        "ℝ": r"\mathbb{R}",
        "ℕ": r"\mathbb{N}",
        "⌊": r"\lfloor",
        "⌋": r"\rfloor",
        "⌈": r"\lceil",
        "⌉": r"\rceil",
        "∀": r"\forall",
        "∃": r"\exists",
        "∫": r"\int",
        "⊂": r"\subset",
        "⊆": r"\subseteq",
        "∪": r"\cup",
        "∩": r"\cap",
        "∅": r"\emptyset",
        "ℓ": r"\ell",
        "∝": r"\propto",
        "≪": r"\ll",
        "≫": r"\gg",
        "⟨": r"\langle",
        "⟩": r"\rangle",
        "°": r"^{\circ}",
    }
)
_TEXT = {
    "§": r"\S{}",
    "½": r"\ensuremath{\tfrac{1}{2}}",
    "¼": r"\ensuremath{\tfrac{1}{4}}",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "′": "'",
    "\u00a0": "~",
}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵀᵗˣⁿᵏⁱʲᵐᵈᵃᵇᶜᵉᵖʳˢᵘᵛʷʸᶻ", "0123456789+-=()Ttxnkijmdabceprsuvwyz"))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵤᵥ", "0123456789+-=()aeoxhklmnpstijuv"))
# combining mark → (text-mode accent, math-mode accent)
_ACCENTS = {
    "\u0302": (r"\^", r"\hat"),
    "\u0304": (r"\=", r"\bar"),
    "\u0303": (r"\~", r"\tilde"),
    "\u0301": (r"\'", r"\acute"),
    "\u0300": (r"\`", r"\grave"),
    "\u0308": (r"\"", r"\ddot"),
    "\u0307": (r"\.", r"\dot"),
    "\u030b": (r"\H", r"\acute"),
    "\u030c": (r"\v", r"\check"),
}


def _one(c: str) -> str:
    if c in _SPECIALS:
        return _SPECIALS[c]
    if c in _TEXT:
        return _TEXT[c]
    if c in _MATH:
        return rf"\ensuremath{{{_MATH[c]}}}"
    if " " <= c <= "~":
        return c
    return rf"\textbf{{[U+{ord(c):04X}]}}"


def tex_text(text: str) -> str:
    r"""Unicode text as LaTeX for pdfLaTeX (T1 encoding, amssymb).

    >>> print(tex_text("σ ∈ ℝ, x̂, Wᵀ, 5%"))
    \ensuremath{\sigma} \ensuremath{\in} \ensuremath{\mathbb{R}}, \^{x}, W\textsuperscript{T}, 5\%
    """
    chars = unicodedata.normalize("NFC", text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        for table, command in ((_SUPER, r"\textsuperscript"), (_SUB, r"\textsubscript")):
            if c in table:
                j = i
                while j < len(chars) and chars[j] in table:
                    j += 1
                run = "".join(table[k] for k in chars[i:j])
                out.append(f"{command}{{{run}}}")
                i = j
                break
        else:
            mark = chars[i + 1] if i + 1 < len(chars) else ""
            if mark in _ACCENTS:  # a letter followed by a combining accent: x̂
                out.append(_accented(c, mark))
                i += 2
                continue
            parts = unicodedata.normalize("NFD", c)
            known = c in _SPECIALS or c in _TEXT or c in _MATH
            if not known and len(parts) == 2 and parts[1] in _ACCENTS:  # precomposed: ŷ, ᾱ
                out.append(_accented(parts[0], parts[1]))
            else:
                out.append(_one(c))
            i += 1
    return "".join(out)


def _accented(base: str, mark: str) -> str:
    text_accent, math_accent = _ACCENTS[mark]
    if base in _MATH:
        return rf"\ensuremath{{{math_accent}{{{_MATH[base]}}}}}"
    if base.isascii() and base.isalpha():
        return f"{text_accent}{{{base}}}"
    return _one(base) + _one(mark)


def _code(text: str) -> str:
    """Program text in typewriter type, breakable after operators and commas."""
    escaped = tex_text(text)
    for op in ("*", "+", ",", "(", "@"):
        escaped = escaped.replace(op, op + r"\allowbreak{}")
    return rf"\texttt{{{escaped}}}"


_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2.2cm]{geometry}
\usepackage{longtable,array}
\usepackage{color}
\usepackage{graphicx}
\usepackage[hidelinks]{hyperref}
\definecolor{proved}{rgb}{0.11,0.50,0.23}
\definecolor{verified}{rgb}{0.18,0.43,0.71}
\definecolor{undecided}{rgb}{0.72,0.47,0.12}
\definecolor{refuted}{rgb}{0.75,0.22,0.17}
\definecolor{error}{rgb}{0.75,0.22,0.17}
\newcommand{\verdict}[1]{\textcolor{#1}{\textbf{\textsf{#1}}}}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5ex}
\sloppy
\title{The symdl proof book}
\author{checked by symdl}
\date{}
"""


def render_latex(results: Sequence[ProofResult]) -> str:
    """The whole book as one LaTeX document (pdfLaTeX, base packages only)."""
    out = [_PREAMBLE, r"\begin{document}", r"\maketitle", tex_text(summary(results)) + "\n"]
    out += [r"\tableofcontents", ""]
    out += _summary_table(results)
    for topic, rs in by_topic(results).items():
        out.append(rf"\section{{{tex_text(topic_title(topic))}}}")
        for paragraph in rs[0].proof.introduction.split("\n\n"):
            if paragraph.strip():
                out.append(r"\emph{" + tex_text(paragraph) + "}\n")
        for r in rs:
            out += _proof(r)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def _summary_table(results: Sequence[ProofResult]) -> list[str]:
    out = [
        r"\section*{Summary}",
        r"\begin{longtable}{p{0.2\textwidth}p{0.52\textwidth}ll}",
        r"topic & proof & verdict & seconds\\ \hline\endhead",
    ]
    for r in results:
        out.append(
            f"{tex_text(topic_title(r.proof.topic))} & {tex_text(r.proof.title)} & "
            rf"\verdict{{{r.verdict}}} & {r.seconds:.2f}\\"
        )
    out.append(r"\end{longtable}")
    return out


def _proof(r: ProofResult) -> list[str]:
    p = r.proof
    out = [
        rf"\subsection{{{tex_text(p.title)}}}",
        rf"\verdict{{{r.verdict}}} \quad {tex_text(p.statement)}" + "\n",
    ]
    if p.tags:
        out.append(r"\textit{Tags:} " + tex_text(", ".join(p.tags)) + "\n")
    if p.references:
        out.append(r"\begin{itemize}")
        out += [r"\item " + tex_text(ref) for ref in p.references]
        out.append(r"\end{itemize}")
    if r.error:
        out.append(r"\textbf{Error:} " + _code(r.error) + "\n")
    if r.note:
        out.append(r"\textbf{Note:} " + tex_text(r.note) + "\n")
    for d in r.derivations:
        out += [tex_text(d.sentence) + "\n", d.latex]
    out += latex_figures(r, tex_text)
    for i, rep in enumerate(r.reports, 1):
        out += _check(i, rep)
    return out


def _check(i: int, rep: Report) -> list[str]:
    out = [
        rf"\textbf{{Check {i}}} \verdict{{{rep.verdict}}}: " + _code(rep.claim) + "\n",
        r"{\small\begin{longtable}{p{0.13\textwidth}p{0.09\textwidth}p{0.42\textwidth}rll}",
        r"method & outcome & detail & points & worst & tolerance\\ \hline",
    ]
    for ev in rep.evidence:
        out.append(" & ".join(tex_text(c) for c in evidence_row(ev)) + r"\\")
    out.append(r"\end{longtable}}")
    if not rep.ok:
        lines = [_code(line) for line in str(rep).splitlines()]
        out.append(r"{\small " + r"\\".join(lines) + "}\n")
    out += [r"\textit{Note:} " + tex_text(n) + "\n" for n in rep.notes]
    return out
