"""Rewrite expressions into forms whose floating-point evaluation is stable.

A formula that is exact on paper can lose every digit in float64: ``1 − σ(x)`` is 0 for
``x > 37`` although the true value is ``σ(−x)``; ``exp(x) − 1`` keeps no correct digit at
``x = 1e−17``; ``log(1 + exp(x))`` is ``inf`` at ``x = 1000``. :func:`stabilize` rewrites
such patterns, bottom-up, into equal expressions that evaluate accurately:

=========================  ==========================  ==================================
pattern                    rewritten to                why
=========================  ==========================  ==================================
``1 − σ(u)``               ``σ(−u)``                   cancellation for large ``u``
``1 ± tanh(u)``            ``2σ(±2u)``                 cancellation for large ``∓u``
``1 − tanh(u)²``           ``4σ(2u)σ(−2u)``            cancellation; ``cosh²`` overflows
``1/(1 + exp(−u))``        ``σ(u)``                    overflow of ``exp``
``log(1 + exp(u))``        ``softplus(u)``             overflow of ``exp``
``log(σ(u))``              ``−softplus(−u)``           underflow of ``σ``
``exp(u) − 1``             ``expm1(u)``                cancellation near 0
``log(1 + u)``             ``log1p(u)``                cancellation near 0
``1 ± erf(u)``             ``erfc(∓u)``, or ``2Φ(±x)``  cancellation in the tails
                           when ``u = x/√2``
=========================  ==========================  ==================================

Each rule is an identity (the test suite proves every one with the checker), so a rewritten
expression is the same function; :mod:`symdl.codegen` then prints ``σ`` as
``scipy.special.expit`` and ``softplus`` as ``np.logaddexp(0, ·)``.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symdl.nodes import Entrywise, ndtr, sigmoid, softplus

__all__ = ["RULES", "stabilize"]

Rule = Callable[[sp.Expr], sp.Expr | None]


def stabilize(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every unstable pattern of the table above rewritten, bottom-up.

    >>> x = sp.Symbol("x", real=True)
    >>> stabilize(sigmoid(x) * (1 - sigmoid(x)))
    sigmoid(-x)*sigmoid(x)
    >>> stabilize(sp.log(1 + sp.exp(x)))
    softplus(x)
    >>> stabilize(2 * (sp.exp(x) - 1))
    2*expm1(x)
    """
    if not expr.args or isinstance(expr, (sp.Symbol, sp.MatrixSymbol)):
        return expr
    args = tuple(stabilize(a) for a in expr.args)
    node = expr.func(*args) if args != expr.args else expr
    if isinstance(node, sp.MatrixExpr):
        fused = _fuse(node)
        return node if fused is None else stabilize(fused)
    if isinstance(node, sp.Expr):
        for rule in RULES:
            better = rule(node)
            if better is not None:
                return stabilize(better) if better != node else node
    return node


def _pairs(e: sp.Expr) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """For an Add with number part ``c``: each ``(c, r, others)`` with ``e = c(1 + r) + others``."""
    if not isinstance(e, sp.Add):
        return []
    c, rest = e.as_coeff_Add()
    if c == 0 or rest == 0:
        return []
    terms = sp.Add.make_args(rest)
    return [(c, t / c, rest - t) for t in terms]


def _signed(r: sp.Expr, cls: type) -> tuple[int, sp.Expr] | None:
    """``(s, u)`` when ``r = s·cls(u)`` with ``s = ±1``."""
    for s in (1, -1):
        if isinstance(s * r, cls):
            return s, (s * r).args[0]
    return None


def _one_plus(c: sp.Expr, r: sp.Expr) -> sp.Expr | None:
    """``c(1 + r)`` in a stable form, or None when ``r`` is not one of the patterns."""
    if (hit := _signed(r, sigmoid)) and hit[0] == -1:
        return c * sigmoid(-hit[1])  # c(1 − σ(u)) = c·σ(−u)
    if hit := _signed(r, sp.tanh):
        return 2 * c * sigmoid(2 * hit[0] * hit[1])  # c(1 ± tanh u) = 2c·σ(±2u)
    if (hit := _signed(r, sp.exp)) and hit[0] == -1:
        return -c * expm1(hit[1])  # c(1 − exp u) = −c·expm1(u)
    if hit := _signed(r, sp.erf):
        s, u = hit
        arg = sp.sqrt(2) * u
        if not arg.has(sp.sqrt(2)):  # u = x/√2 (GELU): c(1 ± erf u) = 2c·Φ(±x), exactly
            return 2 * c * ndtr(s * arg)
        # c(1 ± erf u) = c·erfc(∓u); unevaluated, or SymPy turns erfc(−u) into 2 − erfc(u)
        return c * sp.erfc(-s * u, evaluate=False)
    square = -r
    if isinstance(square, sp.Pow) and square.exp == 2 and isinstance(square.base, sp.tanh):
        u = square.base.args[0]
        return 4 * c * sigmoid(2 * u) * sigmoid(-2 * u)  # c(1 − tanh²u) = 4c·σ(2u)σ(−2u)
    return None


def _sums(e: sp.Expr) -> sp.Expr | None:
    for c, r, others in _pairs(e):
        better = _one_plus(c, r)
        if better is not None:
            return better + others
    return None


def _logistic(e: sp.Expr) -> sp.Expr | None:
    # 1/(1 + exp(−u)) → σ(u)
    if not (isinstance(e, sp.Pow) and e.exp == -1):
        return None
    for c, r, others in _pairs(e.base):
        if c == 1 and others == 0 and isinstance(r, sp.exp):
            return sigmoid(-r.args[0])
    return None


def _log_rules(e: sp.Expr) -> sp.Expr | None:
    # log σ(u) = −softplus(−u);  log(1 + exp(u)) = softplus(u);  log(1 + r) = log1p(r)
    if not isinstance(e, sp.log):
        return None
    arg = e.args[0]
    if isinstance(arg, sigmoid):
        return -softplus(-arg.args[0])
    if isinstance(arg, sp.Add):
        c, rest = arg.as_coeff_Add()
        if c == 1 and rest != 0:
            return softplus(rest.args[0]) if isinstance(rest, sp.exp) else log1p(rest)
    return None


def _elementwise(t: sp.Basic) -> tuple[sp.Expr, sp.Dummy, sp.Expr, sp.Basic] | None:
    """``(k, d, body, A)`` for a term ``k·(d ↦ body)∘A`` with a number ``k``."""
    k: sp.Expr = sp.S.One
    if isinstance(t, sp.MatMul) and len(t.args) == 2 and t.args[0].is_number:
        k, t = t.args
    if isinstance(t, ElementwiseApplyFunction):
        (d,), body = t.function.variables, t.function.expr
        return k, d, body, t.expr
    return None


def _constant(t: sp.Basic) -> sp.Expr | None:
    """``c`` for a broadcast constant ``c·𝟙``."""
    if isinstance(t, sp.OneMatrix):
        return sp.S.One
    if isinstance(t, sp.MatMul) and len(t.args) == 2 and isinstance(t.args[1], sp.OneMatrix):
        return t.args[0] if t.args[0].is_number else None
    return None


def _fuse(e: sp.MatrixExpr) -> sp.MatrixExpr | None:
    """Merge elementwise maps of one argument, so the scalar rules see the whole formula.

    ``c·𝟙 + k·(d ↦ f(d))∘A`` becomes ``(d ↦ c + k·f(d))∘A``; ``(f∘A) ⊙ (g∘A)`` becomes
    ``(d ↦ f(d)·g(d))∘A``; ``(f∘A)^k`` becomes ``(d ↦ f(d)^k)∘A``; ``f∘(g∘A)`` becomes
    ``(d ↦ f(g(d)))∘A``.
    """
    if isinstance(e, ElementwiseApplyFunction) and isinstance(e.expr, ElementwiseApplyFunction):
        (d,), outer = e.function.variables, e.function.expr
        (d2,), inner = e.expr.function.variables, e.expr.function.expr
        return Entrywise(sp.Lambda(d2, outer.xreplace({d: inner})), e.expr.expr)
    if isinstance(e, sp.MatAdd):
        constants = [c for c in map(_constant, e.args) if c is not None]
        maps = [m for m in map(_elementwise, e.args) if m is not None]
        if (
            constants
            and len({m[3] for m in maps}) == 1
            and len(maps) + len(constants) == len(e.args)
        ):
            _, d, _, arg = maps[0]
            body = sp.Add(*constants) + sp.Add(*(m[0] * m[2].xreplace({m[1]: d}) for m in maps))
            return Entrywise(sp.Lambda(d, body), arg)
    if isinstance(e, sp.HadamardPower) and e.exp.is_number:
        m = _elementwise(e.base)
        if m is not None and m[0] == 1:
            return Entrywise(sp.Lambda(m[1], m[2] ** e.exp), m[3])
    if isinstance(e, sp.HadamardProduct):
        found = [_elementwise(t) for t in e.args]
        factors = [m for m in found if m is not None and m[0] == 1]
        if len(factors) == len(found) and len({m[3] for m in factors}) == 1:
            d, arg = factors[0][1], factors[0][3]
            body = sp.Mul(*(m[2].xreplace({m[1]: d}) for m in factors))
            return Entrywise(sp.Lambda(d, body), arg)
    return None


#: The rewrite rules in the order they are tried on each node.
RULES: tuple[Rule, ...] = (_logistic, _sums, _log_rules)
