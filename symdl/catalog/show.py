"""What ``symdl list`` and ``symdl show`` print: catalogue entries as text and LaTeX.

Everything shown is computed: the LaTeX is printed from the entry's SymPy expression, the
properties come from :mod:`symdl.catalog.properties` with the way each was established,
and the NumPy source is the stable code :mod:`symdl.catalog.code` generates.
"""

from __future__ import annotations

import difflib

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.catalog.entry import Activation, Loss
from symdl.catalog.losses import LOSSES
from symdl.catalog.properties import establish
from symdl.codegen import numpy_function
from symdl.errors import UnknownNameError
from symdl.nodes import FilledLike, LogSumExp, log_softmax_argument, sigmoid, softplus
from symdl.unparse import to_text

__all__ = [
    "activation_latex",
    "activation_table",
    "describe",
    "describe_activation",
    "describe_loss",
    "latex",
    "loss_latex",
    "loss_table",
]


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, taught symdl's vector nodes (softmax, diag, 𝟙)."""

    def _print_ElementwiseApplyFunction(self, e: ElementwiseApplyFunction) -> str:
        (var,), body = e.function.variables, e.function.expr
        inner = _softmax_argument(e)
        if inner is not None:
            if isinstance(inner, sp.Transpose):
                return rf"\operatorname{{softmax}}\left({self._print(inner.arg)}\right)^{{T}}"
            return rf"\operatorname{{softmax}}\left({self._print(inner)}\right)"
        applied = body.xreplace({var: sp.Symbol("{\\cdot}")})
        return rf"\left({self._print(applied)}\right)\circ\left({self._print(e.expr)}\right)"

    def _print_DiagMatrix(self, e: DiagMatrix) -> str:
        return rf"\operatorname{{diag}}\left({self._print(e.args[0])}\right)"

    def _print_FilledLike(self, e: FilledLike) -> str:
        return r"\mathbf{1}" if e.value == 1 else rf"{self._print(e.value)}\,\mathbf{{1}}"

    def _print_LogSumExp(self, e: LogSumExp) -> str:
        return rf"\operatorname{{logsumexp}}\left({self._print(e.arg)}\right)"

    def _print_OneMatrix(self, e: sp.OneMatrix) -> str:
        return r"\mathbf{1}"

    def _print_MatAdd(self, e: sp.MatAdd) -> str:
        terms = sorted(e.args, key=lambda t: _negated(t) is not None)
        text = self._print(terms[0])
        for t in terms[1:]:
            factors = _negated(t)
            text += " + " + self._print(t) if factors is None else " - " + self._product(factors)
        return text

    def _product(self, factors: tuple[sp.Basic, ...]) -> str:
        parts = [self._print(f) for f in factors]
        return " ".join(
            rf"\left({p}\right)" if isinstance(f, (sp.MatAdd, sp.Add)) else p
            for f, p in zip(factors, parts)
        )


def _negated(t: sp.Basic) -> tuple[sp.Basic, ...] | None:
    """The factors of ``−t`` when the product ``t`` has a negative scalar factor, else None."""
    if isinstance(t, sp.MatMul) and not isinstance(t.args[0], sp.MatrixExpr):
        head = t.args[0]
        if head.could_extract_minus_sign():
            rest = tuple(t.args[1:])
            return rest if -head == 1 else (-head, *rest)
    return None


def _softmax_argument(e: ElementwiseApplyFunction) -> sp.Basic | None:
    """``a`` when ``e`` is ``exp∘(a − logsumexp(a)·𝟙)``, the form ``softmax(a)`` parses to."""
    (var,), body = e.function.variables, e.function.expr
    return log_softmax_argument(e.expr) if body == sp.exp(var) else None


def latex(expr: sp.Basic) -> str:
    """LaTeX for a catalogue expression.

    >>> print(latex(ACTIVATIONS.get("tanh").derivative))
    1 - \\tanh^{2}{\\left(x \\right)}
    """
    return _Printer({"order": "none"}).doprint(expr)


def activation_latex(entry: Activation) -> str:
    """Two display lines: the definition and the canonical derivative (or Jacobian)."""
    var = "z" if entry.vector else "x"
    prime = r"\frac{\partial}{\partial z}" if entry.vector else "'"
    name = entry.latex
    first = rf"{name}({var}) = {latex(entry.expr)}"
    spelled = entry.expr.rewrite(sp.exp) if entry.expr.has(sigmoid, softplus) else entry.expr
    if spelled != entry.expr:
        first += rf" = {latex(spelled)}"
    if entry.vector:
        second = rf"{prime}{name}({var}) = {latex(entry.derivative)}"
    else:
        second = rf"{name}{prime}({var}) = {latex(entry.derivative)}"
    return first + "\n" + second + "\n"


def describe_activation(name: str) -> str:
    """Everything the catalogue knows about an activation, as text for the terminal."""
    entry = ACTIVATIONS.get(name)
    lines = [f"{entry.name} — {entry.doc}"]
    if entry.aliases:
        lines.append(f"aliases: {', '.join(entry.aliases)}")
    if entry.reference:
        lines.append(f"reference: {entry.reference}")
    var = "z" if entry.vector else "x"
    lines.append(f"f({var})  = {_text(entry.expr)}")
    label = "J(z)" if entry.vector else "f'(x)"
    lines.append(f"{label} = {_text(entry.derivative)}")
    for p in entry.parameters:
        learn = ", learnable" if p.learnable else ""
        lines.append(f"parameter {p.name} = {p.default} ({p.condition}{learn}) {p.doc}".rstrip())
    if entry.vector:
        lines.append("properties: vector-valued; see the formula and Jacobian above")
        code = numpy_function(entry.expr, ["z"], sizes={sp.Symbol("n", integer=True): 3})
        sources = [code.source]
    else:
        lines.append("properties (at the default parameters):")
        for key, value in establish(entry.name).items():
            lines.append(f"  {key:13s}{value}")
        sources = [activation_code(name).source, activation_code(name, derivative=True).source]
    lines.append("LaTeX:")
    lines.extend("  " + line for line in activation_latex(entry).splitlines())
    lines.append("NumPy (stable):")
    for src in sources:
        lines.extend("  " + line for line in src.splitlines())
    return "\n".join(lines)


def _text(expr: sp.Basic) -> str:
    try:
        return to_text(expr)
    except ValueError:  # Piecewise and other forms outside the input language
        return str(expr)


def activation_table() -> str:
    """One row per activation with its main properties (at default parameters)."""
    header = ("name", "range", "monotone", "smoothness", "Lipschitz", "zero-centred", "kinks")
    rows = [header]
    for entry in ACTIVATIONS:
        if entry.vector:
            rows.append(
                (
                    entry.name,
                    "(0, 1)ⁿ" if entry.name == "softmax" else "(−∞, 0)ⁿ",
                    "—",
                    "C^∞",
                    "—",
                    "—",
                    "none",
                )
            )
            continue
        p = establish(entry.name)
        lip = p.lipschitz.value
        rows.append(
            (
                entry.name,
                _short(p.range.value),
                str(p.monotone.value),
                str(p.smoothness.value),
                f"{float(lip):.4g}" if isinstance(lip, sp.Basic) and lip.is_number else str(lip),
                "yes" if p.zero_centred.value else "no",
                ", ".join(str(k) for k in p.kinks.value) or "none",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _short(rng: sp.Interval) -> str:
    def num(v: sp.Expr) -> str:
        if not v.is_finite:
            return "−∞" if v.is_extended_negative else "∞"
        return str(v) if v.is_Rational else f"{float(v):.4g}"

    left = "(" if rng.left_open or not rng.inf.is_finite else "["
    right = ")" if rng.right_open or not rng.sup.is_finite else "]"
    return f"{left}{num(rng.inf)}, {num(rng.sup)}{right}"


def loss_latex(entry: Loss) -> str:
    """The loss and its canonical gradient by ``z``, as two LaTeX display lines."""
    grad = r"\nabla_z L" if entry.vector else r"\frac{\partial L}{\partial z}"
    return rf"L(z, y) = {entry.latex}" + "\n" + rf"{grad} = {latex(entry.gradient)}" + "\n"


def describe_loss(name: str) -> str:
    """Everything the catalogue knows about a loss, as text for the terminal."""
    from symdl.catalog.losses import VECTOR_SHAPES, convexity

    entry = LOSSES.get(name)
    lines = [f"{entry.name} — {entry.doc}"]
    if entry.reference:
        lines.append(f"reference: {entry.reference}")
    if entry.vector:
        lines.append(f"L(z, y) = {entry.expr_text}    (z, y column vectors)")
        lines.append(f"∇_z L   = {entry.gradient_text}")
    else:
        lines.append(f"L(z, y) = {_text(entry.expr)}")
        lines.append(f"∂L/∂z   = {_text(entry.gradient)}")
    for p in entry.parameters:
        lines.append(f"parameter {p.name} = {p.default} ({p.condition}) {p.doc}".rstrip())
    if entry.domain:
        lines.append(f"domain: {entry.domain}")
    if entry.assume:
        lines.append("assumes: " + ", ".join(f"{k} {v}" for k, v in entry.assume.items()))
    lines.append(f"convex in z: {convexity(entry)}")
    lines.append("LaTeX:")
    lines.extend("  " + line for line in loss_latex(entry).splitlines())
    lines.append("NumPy (stable):")
    names = sorted({s.name for s in entry.at()[0].free_symbols})
    if entry.vector:
        n = sp.Symbol("n", integer=True, positive=True)
        code = numpy_function(entry.at()[0], list(VECTOR_SHAPES), sizes={n: 3}, name=entry.name)
    else:
        names = ["z", "y"] + [v for v in names if v not in ("z", "y")]
        code = numpy_function(entry.at()[0], names, name=entry.name)
    lines.extend("  " + line for line in code.source.splitlines())
    return "\n".join(lines)


def loss_table() -> str:
    """One row per loss: its gradient and whether it is convex in ``z`` (established)."""
    from symdl.catalog.losses import convexity

    rows = [("name", "gradient by z", "convex in z", "established by")]
    for entry in LOSSES:
        grad = entry.gradient_text if entry.vector else _text(entry.gradient)
        c = convexity(entry)
        convex = {True: "yes", False: "no"}.get(c.value, str(c.value))  # type: ignore[call-overload]
        rows.append((entry.name, _clip(grad, 48), convex, c.method))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(name: str) -> str:
    """``symdl show NAME``: an activation, or else a loss, described in full."""
    if name in ACTIVATIONS:
        return describe_activation(name)
    if name in LOSSES:
        return describe_loss(name)
    known = [*ACTIVATIONS.names(), *LOSSES.names()]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownNameError(f"no activation or loss named {name!r}{hint}")
