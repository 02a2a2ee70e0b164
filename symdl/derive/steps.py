r"""Scalar differentiation with named rules: :func:`derive` gives a :class:`Derivation`.

The line starts as :math:`\frac{d}{dx} f` and each step rewrites the first unevaluated
derivative in it by one rule: constant, sum (constant terms vanish), constant multiple,
power, product, quotient, chain ("let u = …") with the function's known derivative,
exponential :math:`a^u`, logarithmic differentiation (:math:`u^v = e^{v \log u}` for
:math:`u > 0`), the trigonometric, hyperbolic and inverse functions, erf, the catalogue
activations (their canonical derivatives), and the case-by-case rules of
:mod:`symdl.derive.steps_cases`. An expression that is one catalogue activation of the
variable is first written out by its definition, and the result is brought to the
catalogue's canonical form by checked algebra steps (:mod:`symdl.derive.steps_catalog`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT, run_with_budget
from symdl.derivation import Derivation, Step
from symdl.derive.steps_cases import cased_rule
from symdl.derive.steps_catalog import canonical_route, definition_of
from symdl.derive.steps_functions import known_derivative
from symdl.errors import ShapeError, SymdlError
from symdl.parse import parse

__all__ = ["derive", "rule_for"]

#: A derivation longer than this is refused rather than rendered (depth-6 trees need < 100).
MAX_STEPS = 400


@dataclass(frozen=True)
class Move:
    """One rule applied to ``d/dx g``: what replaces it, and how to show it."""

    rule: str
    formula: str
    value: sp.Basic
    bindings: tuple[tuple[str, sp.Basic], ...] = ()
    note: str = ""
    cases: tuple[Step, ...] = ()
    kinks: tuple[str, ...] = ()
    fallback: bool = False


def _d(g: sp.Basic, x: sp.Symbol) -> sp.Basic:
    return sp.Derivative(g, x) if g.has(x) else sp.Integer(0)


def rule_for(g: sp.Basic, x: sp.Symbol) -> Move:
    """The named rule for :math:`\\frac{d}{dx} g` and the value it gives.

    >>> x = sp.Symbol("x", real=True)
    >>> m = rule_for(x**3, x)
    >>> m.rule, m.value
    ('power rule', 3*x**2)
    """
    if not g.has(x):
        return Move("constant rule", r"c' = 0", sp.Integer(0))
    if g == x:
        return Move("variable rule", r"\frac{dx}{dx} = 1", sp.Integer(1))
    if isinstance(g, sp.Add):
        kept = [t for t in g.args if t.has(x)]
        note = "constant terms vanish" if len(kept) < len(g.args) else ""
        return Move("sum rule", r"(u + v)' = u' + v'", sp.Add(*[_d(t, x) for t in kept]), note=note)
    if isinstance(g, sp.Mul):
        return _product(g, x)
    if isinstance(g, sp.Pow):
        return _power(g, x)
    cased = cased_rule(g, x)
    if cased is not None:
        return Move(
            cased.rule,
            cased.formula,
            cased.value,
            cased.bindings,
            cases=cased.cases,
            kinks=cased.kinks,
        )
    known = known_derivative(g)
    if known is not None:
        (u,) = g.args
        if u == x:
            return Move(known.name, known.formula, known.derivative)
        return Move(
            f"chain rule with the {known.name}",
            r"\frac{d}{dx} f(u) = f'(u)\,\frac{du}{dx};\quad " + known.formula,
            known.derivative * _d(u, x),
            (("u", u),),
        )
    return Move(
        "SymPy's derivative (no named rule)",
        r"\text{computed by SymPy}",
        sp.diff(g, x),
        fallback=True,
    )


def _product(g: sp.Mul, x: sp.Symbol) -> Move:
    c, rest = g.as_independent(x, as_Add=False)
    if c != 1:
        return Move(
            "constant multiple rule", r"(c\,u)' = c\,u'", c * _d(rest, x), (("c", c), ("u", rest))
        )
    num, den = sp.fraction(g, exact=True)
    if den.has(x) and num != 1:
        return Move(
            "quotient rule",
            r"\left(\frac{u}{v}\right)' = \frac{u'v - uv'}{v^{2}}",
            (_d(num, x) * den - num * _d(den, x)) / den**2,
            (("u", num), ("v", den)),
        )
    u, v = g.args[0], sp.Mul(*g.args[1:])
    return Move(
        "product rule", r"(uv)' = u'v + uv'", _d(u, x) * v + u * _d(v, x), (("u", u), ("v", v))
    )


def _power(g: sp.Pow, x: sp.Symbol) -> Move:
    base, exponent = g.args
    if not exponent.has(x):
        n = exponent
        if base == x:
            return Move("power rule", r"(x^{n})' = n\,x^{n-1}", n * x ** (n - 1), (("n", n),))
        return Move(
            "chain rule with the power rule",
            r"\frac{d}{dx} u^{n} = n\,u^{n-1}\,\frac{du}{dx}",
            n * base ** (n - 1) * _d(base, x),
            (("u", base), ("n", n)),
        )
    if not base.has(x):
        return Move(
            "exponential rule",
            r"\frac{d}{dx} a^{u} = a^{u} \log a\,\frac{du}{dx} \quad (a > 0)",
            g * sp.log(base) * _d(exponent, x),
            (("a", base), ("u", exponent)),
        )
    return Move(
        "logarithmic differentiation",
        r"y = u^{v},\ \log y = v \log u \ \Rightarrow\ y' = y\,(v \log u)' \quad (u > 0)",
        g * sp.Derivative(exponent * sp.log(base), x),
        (("u", base), ("v", exponent)),
        note="for u > 0, where u^v = e^{v log u}",
    )


def _first_derivative(e: sp.Basic) -> sp.Derivative | None:
    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.Derivative):
            return node
    return None


def _symbol(expr: sp.Basic, wrt: object) -> sp.Symbol:
    if isinstance(wrt, sp.Symbol):
        name = wrt.name
    elif isinstance(wrt, str) and wrt.isidentifier():
        name = wrt
    else:
        raise SymdlError(f"wrt must be a variable name, got {wrt!r}")
    for s in expr.free_symbols:
        if isinstance(s, sp.Symbol) and s.name == name:
            return s
    return sp.Symbol(name, real=True)


def derive(
    expr: object,
    wrt: object,
    *,
    definitions: bool = True,
    simplify: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Derivation:
    r"""The derivative of a scalar expression by ``wrt``, step by step with named rules.

    ``expr`` is input-language text or a SymPy scalar. With ``definitions``, an
    expression that is one catalogue activation of the variable (``gelu(x)``) is first
    written out by its definition; with ``simplify``, the result is brought to the
    catalogue's canonical form (or simplified by SymPy within ``timeout`` seconds), one
    checked step at a time. The derivation is unchecked: call
    :meth:`~symdl.derivation.Derivation.verify`.

    >>> d = derive("x**x", "x")
    >>> d.result
    x**x*(log(x) + 1)
    >>> [s.rule for s in d.steps][:2]
    ['logarithmic differentiation', 'product rule']
    """
    f = parse(expr) if isinstance(expr, str) else sp.sympify(expr)
    if not isinstance(f, sp.Expr) or isinstance(f, sp.MatrixExpr) or f.is_Matrix:
        raise ShapeError(f"derive takes a scalar expression, got {type(f).__name__}")
    x = _symbol(f, wrt)
    steps: list[Step] = []
    line: sp.Basic = sp.Derivative(f, x)
    defined = definition_of(f, x) if definitions else None
    if defined is not None:
        steps.append(
            Step(
                rule=defined.rule,
                formula=defined.formula,
                before=line,
                after=sp.Derivative(defined.body, x),
                claim=(f, defined.body),
            )
        )
        line = steps[-1].after
    while (target := _first_derivative(line)) is not None:
        if len(steps) >= MAX_STEPS:
            raise SymdlError(f"the derivation of {f} needs more than {MAX_STEPS} steps")
        move = rule_for(target.expr, x)
        after = line.xreplace({target: move.value})
        steps.append(
            Step(
                rule=move.rule,
                formula=move.formula,
                before=line,
                after=after,
                bindings=move.bindings,
                claim=(target, move.value),
                note=move.note,
                cases=move.cases,
                kinks=move.kinks,
                fallback=move.fallback,
            )
        )
        line = after
    if simplify:
        steps.extend(_tidy(f, x, line, timeout=timeout))
    result = steps[-1].after if steps else sp.Integer(0)
    if not steps:
        steps.append(Step("constant rule", r"c' = 0", sp.Derivative(f, x), sp.Integer(0)))
    return Derivation(f, x, tuple(steps), result)


def _tidy(f: sp.Basic, x: sp.Symbol, raw: sp.Basic, *, timeout: float) -> list[Step]:
    route = canonical_route(f, x, raw)
    if route is not None:
        out, before = [], raw
        for rule, formula, form in route:
            out.append(Step(rule=rule, formula=formula, before=before, after=form))
            before = form
        return out
    try:
        simpler = run_with_budget(sp.simplify, raw, timeout=timeout)
    except SymdlError:
        # out of budget, or a catalogue function in the answer that cannot be sent back
        # from the child (it does not pickle): the derivation simply ends unsimplified
        return []
    if sp.count_ops(simpler) < sp.count_ops(raw):
        return [Step(rule="simplify", formula=r"\text{algebra}", before=raw, after=simpler)]
    return []
