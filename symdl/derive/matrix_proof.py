r"""Claims over symbolic dimensions, decided for every size by the matrix engine.

A claimed gradient :math:`G` of a scalar :math:`f` by :math:`W` holds for all sizes when
:math:`G - \nabla_W f` is the zero matrix by the rules of matrix algebra, with
:math:`\nabla_W f` from the reverse-mode engine (whose rules are identities for every size)
and the difference reduced by SymPy's canonical forms of sums and products (distributing
products over sums, collecting like terms) after every entrywise function of one argument
is written as a single map (``1·𝟙 − tanh∘Z ⊙ tanh∘Z`` and ``(d ↦ 1 − d²)∘(tanh∘Z)`` both
become ``(d ↦ 1 − tanh²d)∘Z``). Each rewriting is an identity for every size. Only a
difference that reduces to the zero matrix decides anything; any other outcome leaves the
claim to the entrywise checks.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symdl.derive.matrix_rules import reverse_sweep
from symdl.derive.matrix_tidy import Tidy, factor_common
from symdl.errors import UnsupportedError
from symdl.nodes import Entrywise, FilledLike
from symdl.ops import is_array
from symdl.shapes import Scope

__all__ = ["equal_for_all_sizes", "gradient_for_all_sizes"]


def gradient_for_all_sizes(f: sp.Basic, wrt: str, scope: Scope) -> sp.Basic | None:
    """The engine's gradient of the scalar ``f`` by ``wrt``, or None where it has no rule."""
    if is_array(f) and f.shape != (1, 1):
        return None
    try:
        sweep = reverse_sweep(f, [scope.symbol(wrt)], tidy=Tidy(scope.assume))
    except UnsupportedError:
        return None
    return sweep.gradients[wrt]


def equal_for_all_sizes(a: sp.Basic, b: sp.Basic, scope: Scope) -> bool:
    """True when ``a − b`` reduces to zero by matrix algebra (False means: not shown)."""
    if is_array(a) != is_array(b):
        if is_array(a) and a.shape == (1, 1):
            a = sp.Trace(a)
        elif is_array(b) and b.shape == (1, 1):
            b = sp.Trace(b)
        else:
            return False
    tidy = Tidy(scope.assume)
    a, b = _ones(a), _ones(b)
    try:
        if not is_array(a):
            return bool(sp.expand(tidy(a) - tidy(b)) == 0)
        if a.shape != b.shape:
            return False
        reduced = tidy(sp.MatAdd(a, sp.MatMul(-1, b)))
        for _ in range(3):
            reduced = _Entrywise()(factor_common(reduced)).doit()
            if _is_zero(reduced):
                return True
            reduced = sp.expand(reduced).doit()
            if _is_zero(reduced):
                return True
        return False
    except (TypeError, ValueError, AttributeError, NotImplementedError):
        return False


def _ones(e: sp.Basic) -> sp.Basic:
    """``ones_like(A)`` (and ``full_like``) as a multiple of the all-ones matrix of A's shape."""
    filled = e.atoms(FilledLike)
    if not filled:
        return e
    return e.xreplace({f: sp.MatMul(f.value, sp.OneMatrix(*f.shape)).doit() for f in filled})


def _is_zero(e: sp.Basic) -> bool:
    if isinstance(e, sp.ZeroMatrix) or e == 0:
        return True
    return isinstance(e, ElementwiseApplyFunction) and e.function.expr == 0


class _Entrywise:
    """Writes each entrywise function of one array argument as one map ``(d ↦ body)∘Z``."""

    def __init__(self) -> None:
        self.d = sp.Dummy("e", real=True)

    def __call__(self, e: sp.Basic) -> sp.Basic:
        if not e.args or isinstance(e, (sp.Symbol, sp.MatrixSymbol, sp.Lambda)):
            return e
        if is_array(e):
            found = self.form(e)
            if found is not None and found[1] is not None and found[0] != self.d:
                body, arg = sp.expand(found[0]), found[1]
                if body == 0:
                    return sp.ZeroMatrix(*e.shape)
                slope = sp.expand(body / self.d)
                if not slope.has(self.d):  # linear: c·Z
                    return sp.MatMul(slope, self(arg)).doit()
                return Entrywise(sp.Lambda(self.d, body), self(arg))
            if found is not None and found[1] is None:
                return sp.MatMul(sp.expand(found[0]), sp.OneMatrix(*e.shape)).doit()
        if isinstance(e, ElementwiseApplyFunction):
            return Entrywise(e.function, self(e.expr))
        return e.func(*[self(a) for a in e.args])

    def form(self, e: sp.Basic) -> tuple[sp.Expr, sp.Basic | None] | None:
        """``(body, Z)`` with ``e = (d ↦ body)∘Z`` (``Z`` None for a constant array)."""
        if isinstance(e, sp.OneMatrix):
            return sp.S.One, None
        if isinstance(e, sp.ZeroMatrix):
            return sp.S.Zero, None
        if isinstance(e, ElementwiseApplyFunction):
            (var,), body = e.function.variables, e.function.expr
            inner = self.form(e.expr)
            if inner is None:
                return body.xreplace({var: self.d}), e.expr
            return body.xreplace({var: inner[0]}), inner[1]
        if isinstance(e, sp.HadamardPower) and not is_array(e.exp) and not e.exp.has(self.d):
            inner = self.form(e.base)
            return None if inner is None else (inner[0] ** e.exp, inner[1])
        if isinstance(e, sp.MatMul):
            scalars = [a for a in e.args if not is_array(a)]
            mats = [a for a in e.args if is_array(a)]
            if scalars and len(mats) == 1:
                inner = self.form(mats[0])
                return None if inner is None else (sp.Mul(*scalars) * inner[0], inner[1])
        if isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
            parts = [self.form(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            args = {p[1] for p in parts if p is not None and p[1] is not None}
            if len(args) > 1:
                return None
            bodies = [p[0] for p in parts if p is not None]
            body = sp.Add(*bodies) if isinstance(e, sp.MatAdd) else sp.Mul(*bodies)
            return body, (args.pop() if args else None)
        return self.d, e
