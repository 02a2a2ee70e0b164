"""Matrix expressions at concrete sizes, entry by entry.

An :class:`Instance` fixes every symbolic dimension to an integer and gives each matrix
name a matrix of independent real entry symbols (``W[0,1]``). :meth:`Instance.lower` turns a
scalar or matrix expression into a plain SymPy scalar or ``ImmutableMatrix`` over those
entries, so that derivatives are ordinary partial derivatives and identities can be
decided entry by entry. Assumptions are applied afterwards by :meth:`Instance.constrain`,
which ties symmetric entries, zeroes off-diagonal ones and writes the last entry of a
probability vector as one minus the others — so differentiation always treats the
entries as independent (the Matrix Cookbook convention) and only the evaluation point
carries the structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from symdl.errors import UnsupportedError
from symdl.nodes import AxisLogSumExp, EntrySum, FilledLike, LogSumExp
from symdl.shapes import Scope, format_shape

__all__ = ["MAX_ENTRIES", "MAX_EXPANDED_SQUARE", "Instance", "instances"]

#: The most entry symbols one instance may create (all matrices together).
MAX_ENTRIES = 400
#: The largest square matrix whose determinant or inverse is expanded symbolically.
MAX_EXPANDED_SQUARE = 5


@dataclass(frozen=True)
class Instance:
    """One assignment of concrete sizes, with the entry symbols of every matrix."""

    scope: Scope
    sizes: Mapping[sp.Symbol, int]
    entries: Mapping[str, sp.ImmutableMatrix] = field(default_factory=dict)
    scalars: Mapping[str, sp.Symbol] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        scope: Scope,
        sizes: Mapping[sp.Symbol, int],
        names: set[str],
        *,
        max_entries: int = MAX_ENTRIES,
    ) -> Instance:
        """Entry symbols for ``names`` at ``sizes``; at most ``max_entries`` in all."""
        entries: dict[str, sp.ImmutableMatrix] = {}
        total = 0
        for name in sorted(names):
            shape = scope.shape(name)
            if not shape:
                continue
            rows, cols = (_concrete(d, sizes) for d in shape)
            total += rows * cols
            if total > max_entries:
                raise UnsupportedError(
                    f"expanding the matrices entry by entry needs more than {max_entries} "
                    "symbols; declare symbolic dimensions (e.g. W=n x n) so that symdl "
                    "checks at small sizes"
                )
            positive = scope.assume.get(name) == "positive"
            entries[name] = sp.ImmutableMatrix(
                rows,
                cols,
                lambda i, j, name=name, r=rows, c=cols, pos=positive: _entry_symbol(
                    name, i, j, r, c, pos
                ),
            )
        return cls(scope, dict(sizes), entries)

    def describe(self) -> str:
        """``'W 3×3, x 3×1'`` — the sizes this instance uses."""
        parts = [f"{n} {format_shape(m.shape)}" for n, m in self.entries.items()]
        dims = ", ".join(f"{d}={v}" for d, v in self.sizes.items())
        return (f"{dims}: " if dims else "") + ", ".join(parts)

    def free_symbols(self) -> list[sp.Symbol]:
        out: list[sp.Symbol] = []
        for m in self.entries.values():
            for v in m:
                if v not in out:
                    out.append(v)
        return out

    def lower(self, expr: sp.Basic) -> sp.Basic:
        """``expr`` with every matrix written out entry by entry."""
        lowered = _Lowering(self).visit(expr)
        return lowered.subs(self.sizes) if self.sizes else lowered

    def constraints(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitutions that impose the assumptions on the entry symbols."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for name, m in self.entries.items():
            kind = self.scope.assume.get(name)
            rows, cols = m.shape
            if kind in ("symmetric", "spd"):
                for i in range(rows):
                    for j in range(i + 1, cols):
                        subs[m[j, i]] = m[i, j]
            elif kind == "diagonal":
                for i in range(rows):
                    for j in range(cols):
                        if i != j:
                            subs[m[i, j]] = sp.S.Zero
            elif kind == "probability":
                flat = list(m)
                subs[flat[-1]] = 1 - sp.Add(*flat[:-1])
        return subs

    def constrain(self, expr: sp.Basic) -> sp.Basic:
        subs = self.constraints()
        return expr.xreplace(subs) if subs else expr


def instances(scope: Scope, names: set[str]) -> list[Instance]:
    """The instances to check a claim at: one if all dimensions are concrete, else two.

    Symbolic dimensions get distinct sizes (2, 3, 4, … then 3, 4, 5, …) so that a
    confusion of two dimensions shows up, and no size is 1, where a transpose is invisible.
    """
    dims = [d for d in scope.dims() if any(d in scope.shape(n) for n in names)]
    if not dims:
        return [Instance.build(scope, {}, names)]
    return [
        Instance.build(scope, {d: start + k for k, d in enumerate(dims)}, names) for start in (2, 3)
    ]


def _concrete(dim: object, sizes: Mapping[sp.Symbol, int]) -> int:
    if isinstance(dim, int):
        return dim
    value = sizes.get(dim)  # type: ignore[call-overload]
    if value is None:
        raise UnsupportedError(f"no size chosen for dimension {dim}")
    return value


def _entry_symbol(name: str, i: int, j: int, rows: int, cols: int, positive: bool) -> sp.Symbol:
    label = f"{name}[{i}]" if cols == 1 else f"{name}[{j}]" if rows == 1 else f"{name}[{i},{j}]"
    return sp.Symbol(label, positive=True) if positive else sp.Symbol(label, real=True)


class _Lowering:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.cache: dict[sp.Basic, sp.Basic] = {}

    def visit(self, e: sp.Basic) -> sp.Basic:
        hit = self.cache.get(e)
        if hit is None:
            hit = self._visit(e)
            self.cache[e] = hit
        return hit

    def size(self, d: object) -> int:
        return _concrete(d if isinstance(d, int) else _as_dim(d), self.instance.sizes)

    def _visit(self, e: sp.Basic) -> sp.Basic:
        if isinstance(e, sp.MatrixSymbol):
            try:
                return self.instance.entries[e.name]
            except KeyError:
                raise UnsupportedError(f"matrix {e.name} has no declared shape") from None
        if isinstance(e, sp.MatrixBase):
            return sp.ImmutableMatrix(e.rows, e.cols, [self.visit(v) for v in e])
        if isinstance(e, sp.OneMatrix):
            return sp.ImmutableMatrix.ones(self.size(e.rows), self.size(e.cols))
        if isinstance(e, sp.ZeroMatrix):
            return sp.ImmutableMatrix.zeros(self.size(e.rows), self.size(e.cols))
        if isinstance(e, sp.Identity):
            return sp.ImmutableMatrix.eye(self.size(e.rows))
        if isinstance(e, sp.MatAdd):
            parts = [self.visit(a) for a in e.args]
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return sp.ImmutableMatrix(total)
        if isinstance(e, sp.MatMul):
            result: sp.Basic = sp.S.One
            for a in (self.visit(a) for a in e.args):
                if isinstance(result, sp.MatrixBase) and isinstance(a, sp.MatrixBase):
                    result = result @ a
                else:
                    result = result * a
            return sp.ImmutableMatrix(result) if isinstance(result, sp.MatrixBase) else result
        if isinstance(e, sp.HadamardProduct):
            parts = [self.visit(a) for a in e.args]
            out = parts[0]
            for p in parts[1:]:
                out = out.multiply_elementwise(p)
            return sp.ImmutableMatrix(out)
        if isinstance(e, sp.HadamardPower):
            base, exp = self.visit(e.base), self.visit(e.exp)
            return base.applyfunc(lambda v: v**exp)
        if isinstance(e, sp.Transpose):
            return self.visit(e.arg).T
        if isinstance(e, sp.Inverse):
            m = self._square(e.arg, "inverse")
            return sp.ImmutableMatrix(m.adjugate() / m.det(method="berkowitz"))
        if isinstance(e, sp.Determinant):
            return self._square(e.arg, "determinant").det(method="berkowitz")
        if isinstance(e, FilledLike):
            rows, cols = self.visit(e.arg).shape
            return sp.ImmutableMatrix(rows, cols, [e.value] * (rows * cols))
        if isinstance(e, DiagMatrix):
            return sp.ImmutableMatrix(sp.diag(*list(self.visit(e.args[0]))))
        if isinstance(e, sp.Trace):
            return self.visit(e.arg).trace()
        if isinstance(e, (EntrySum, LogSumExp)):
            return e.func(self.visit(e.arg)).doit(deep=False)
        if isinstance(e, AxisLogSumExp):
            return AxisLogSumExp(self.visit(e.arg), e.axis).doit(deep=False)
        if isinstance(e, ElementwiseApplyFunction):
            f = e.function
            return self.visit(e.expr).applyfunc(lambda v: f(v))
        if isinstance(e, sp.MatrixExpr):
            raise UnsupportedError(f"cannot write {type(e).__name__} out entry by entry")
        if not e.args or not _has_matrix(e):
            return e
        return e.func(*[self.visit(a) for a in e.args])

    def _square(self, arg: sp.Basic, what: str) -> sp.ImmutableMatrix:
        m = self.visit(arg)
        if m.rows > MAX_EXPANDED_SQUARE:
            raise UnsupportedError(
                f"the {what} of a {m.rows}×{m.rows} matrix is too large to expand symbolically "
                f"(limit {MAX_EXPANDED_SQUARE}×{MAX_EXPANDED_SQUARE}); use symbolic dimensions"
            )
        return m


def _has_matrix(e: sp.Basic) -> bool:
    return any(isinstance(a, (sp.MatrixExpr, sp.MatrixBase)) for a in sp.preorder_traversal(e))


def _as_dim(d: object) -> sp.Symbol:
    if isinstance(d, sp.Integer):
        return int(d)  # type: ignore[return-value]
    return d  # type: ignore[return-value]
