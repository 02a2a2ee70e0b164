"""A derivation as plain Unicode text for the terminal, readable in 100 columns.

Expressions print on one line (``σ(x)·(1 − σ(x))``, ``d/dx[…]``, superscript integer
powers); each step shows its number, the new line, the rule with its bindings, and its
check. A failed step is marked ``✗ FAILED`` and the header says the derivation is not
sound; an unchecked derivation says so.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from symdl.nodes import CatalogFunction, sigmoid, softplus

if TYPE_CHECKING:
    from symdl.derivation import Derivation, Step

__all__ = ["derivation_text", "status_label", "unicode"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_NAMES = {sp.Heaviside: "H", sp.sign: "sign", sp.log: "log", sp.exp: "exp", sigmoid: "σ"}


class _Unicode(StrPrinter):
    """One-line Unicode for SymPy expressions."""

    def _print_Derivative(self, e: sp.Derivative) -> str:
        (var, _), *_ = e.variable_count
        return f"d/d{self._print(var)}[{self._print(e.expr)}]"

    def _print_Pow(self, e: sp.Pow, rational: bool = False) -> str:
        base, exp = e.args
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=False)
        if exp == sp.S.Half:
            return f"√({self._print(base)})"
        if exp.is_Integer and exp > 0:
            return b + str(exp).translate(_SUPERSCRIPT)
        if exp == -1:
            return f"1/{b}"
        if exp.is_Integer:
            return f"1/{b}{str(-exp).translate(_SUPERSCRIPT)}"
        if exp.is_Atom and not exp.is_Rational:
            return f"{b}^{self._print(exp)}"
        return f"{b}^({self._print(exp)})"

    def _print_Mul(self, e: sp.Mul) -> str:
        return super()._print_Mul(e).replace("*", "·")

    def _print_Function(self, e: sp.Function) -> str:
        name = _NAMES.get(type(e))
        if isinstance(e, CatalogFunction):
            name = type(e).__name__
        if isinstance(e, softplus):
            name = "softplus"
        if name is None:
            return super()._print_Function(e)
        return f"{name}({', '.join(self._print(a) for a in e.args)})"

    def _print_Heaviside(self, e: sp.Heaviside) -> str:
        return f"H({self._print(e.args[0])})"

    def _print_Abs(self, e: sp.Abs) -> str:
        return f"|{self._print(e.args[0])}|"

    def _print_Exp1(self, e: sp.Basic) -> str:
        return "e"

    def _print_Pi(self, e: sp.Basic) -> str:
        return "π"

    def _print_Relational(self, e: sp.Basic) -> str:
        op = {">": ">", "<": "<", ">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}[e.rel_op]
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_Piecewise(self, e: sp.Piecewise) -> str:
        parts = []
        for value, cond in e.args:
            where = "otherwise" if cond is sp.true else f"if {self._print(cond)}"
            parts.append(f"{self._print(value)} {where}")
        return "{" + "; ".join(parts) + "}"


def unicode(expr: sp.Basic) -> str:
    """``expr`` on one line of Unicode.

    >>> unicode(sp.Symbol("x") ** 2 * sigmoid(sp.Symbol("x")))
    'x²·σ(x)'
    """
    return _Unicode({"order": "none"}).doprint(expr).replace(" - ", " − ")


_LATEX: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"\\frac\{d\}\{d ?(\w)\}", r"d/d\1 "),
    (r"\\t?frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: f"{_group(m[1])}/{_group(m[2])}"),
    (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\operatorname\{([^{}]*)\}", r"\1"),
    (r"\\text\{([^{}]*)\}", r"\1"),
    (r"\^\{([^{}]*)\}", r"^\1"),
    (r"\\(left|right|Big|textstyle)", ""),
    (r"\\(quad|qquad|,|;|:|!| )", " "),
    (r"\\lvert|\\rvert", "|"),
    # a bare group (not a command's argument, a script or a second argument): |{x}| → |x|
    (r"(?<![\\\w}^_])\{([^{}]*)\}", r"\1"),
]


def _group(text: str) -> str:
    return text if re.fullmatch(r"[\w.^-]+", text) else f"({text})"


_SYMBOLS = {
    r"\sigma": "σ",
    r"\tanh": "tanh",
    r"\sinh": "sinh",
    r"\cosh": "cosh",
    r"\sin": "sin",
    r"\cos": "cos",
    r"\tan": "tan",
    r"\arcsin": "arcsin",
    r"\arccos": "arccos",
    r"\arctan": "arctan",
    r"\log": "log",
    r"\pi": "π",
    r"\max": "max",
    r"\min": "min",
    r"\neq": "≠",
    r"\Rightarrow": "⇒",
    r"\cdot": "·",
    r"\sum": "Σ",
    r"\varphi": "φ",
    r"\Phi": "Φ",
}


def _from_latex(text: str) -> str:
    """A LaTeX rule formula as readable Unicode (the formulas symdl itself writes)."""
    for _ in range(4):  # nested braces unwrap from the inside out
        for pattern, repl in _LATEX:
            text = re.sub(pattern, repl, text)
    for name, sym in sorted(_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(name, sym)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r" {2,}", " ", text).strip()


def status_label(status: str) -> str:
    return {
        "proved": "✓ proved",
        "verified": "✓ verified",
        "failed": "✗ FAILED",
        "undecided": "? undecided",
        "unchecked": "· unchecked",
    }[status]


def _verdict_line(d: Derivation) -> str:
    if not d.checked:
        return "UNCHECKED: no step has been verified (call .verify())"
    if d.failed_steps:
        which = ", ".join(map(str, d.failed_steps))
        return f"NOT SOUND: step {which} failed its check; the result is not established"
    if d.sound:
        return f"{d.verdict}: every step and the final claim checked"
    return f"{d.verdict}: not every step could be decided; the result is not established"


def derivation_text(d: Derivation, *, width: int = 100) -> str:
    """The derivation as Unicode text no wider than ``width`` columns (long formulas wrap)."""
    wrap = textwrap.TextWrapper(width=width, subsequent_indent=" " * 8, break_long_words=True)
    var = unicode(d.wrt)
    lines = [
        f"d/d{var} {unicode(d.expr)}",
        _verdict_line(d),
        "",
        f"    d/d{var}[{unicode(d.expr)}]",
    ]
    for i, step in enumerate(d.steps, 1):
        lines.extend(wrap.wrap(f"({i:>2}) = {unicode(step.after)}"))
        lines.extend(_annotation(step, wrap))
    lines += ["", *wrap.wrap(f"result: d/d{var} {unicode(d.expr)} = {unicode(d.result)}")]
    if d.final is not None:
        lines.append(f"final claim (check_derivative): {d.final.verdict}")
    return "\n".join(line.rstrip() for line in lines)


def _annotation(step: Step, wrap: textwrap.TextWrapper) -> list[str]:
    bindings = ", ".join(f"{n} = {unicode(v)}" for n, v in step.bindings)
    head = f"       {step.rule}: {_from_latex(step.formula)}"
    if bindings:
        head += f"; let {bindings}"
    if step.note:
        head += f" ({step.note})"
    head += f"   [{status_label(step.status)}]"
    out = wrap.wrap(head)
    for case in step.cases:
        out.extend(
            wrap.wrap(
                f"         {case.rule} {unicode(case.condition)}: {_from_latex(case.formula)}, so "
                f"{unicode(case.before)} = {unicode(case.after)}   [{status_label(case.status)}]"
            )
        )
    for kink in step.kinks:
        out.extend(wrap.wrap(f"         kink: {kink}"))
    return out
