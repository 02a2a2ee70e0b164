r"""Second order: Hessian-vector products and the Hessian with respect to a vector.

The Hessian-vector product is reverse over reverse (Pearlmutter, *Fast exact
multiplication by the Hessian*, Neural Computation 1994): with :math:`\mathbf g =
\nabla_{\mathbf x} f` from one reverse sweep and a fresh vector :math:`\mathbf v`,
:math:`H\mathbf v = \nabla_{\mathbf x}(\mathbf g^\top \mathbf v)` is one more sweep. The
Hessian is read off :math:`H\mathbf v` as the matrix of that linear map, by the rules
:math:`\mathbf a \odot \mathbf v = \operatorname{diag}(\mathbf a)\mathbf v`,
:math:`\mathbf u\,(\mathbf a^\top \mathbf v) = (\mathbf u \mathbf a^\top)\mathbf v` and
:math:`\operatorname{sum}(\mathbf a \odot \mathbf v) = \mathbf a^\top \mathbf v` — so the
softmax cross-entropy gives :math:`\operatorname{diag}(\mathbf p) - \mathbf p\mathbf p^\top`.
Every result is checked: the Hessian as the Jacobian of the gradient, entrywise at small
concrete sizes, by :func:`symdl.verify.check_derivative`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from symdl.budget import DEFAULT_TIMEOUT
from symdl.derive.matrix_render import to_readable_text
from symdl.derive.matrix_rules import reverse_sweep
from symdl.derive.matrix_tidy import Tidy, factor_common
from symdl.errors import ParseError, ShapeError, UnsupportedError
from symdl.nodes import EntrySum
from symdl.ops import is_array
from symdl.parse import as_expression
from symdl.shapes import Scope, format_shape, shape_of
from symdl.verify.check import check_derivative
from symdl.verify.report import Report

__all__ = ["MatrixHessian", "matrix_hessian"]


@dataclass(frozen=True)
class MatrixHessian:
    """The gradient, the Hessian-vector product and (when read off) the Hessian of ``f``."""

    function: sp.Basic
    wrt: str
    gradient: sp.Basic
    direction: sp.MatrixSymbol  # the vector v of the product
    hvp: sp.Basic  # H v
    hessian: sp.Basic | None  # None when H v is not written as M v by the rules above
    report: Report

    @property
    def verdict(self) -> str:
        return self.report.verdict

    def text(self) -> str:
        lines = [
            f"grad = {to_readable_text(self.gradient)}",
            f"H @ {self.direction.name} = {to_readable_text(self.hvp)}",
        ]
        if self.hessian is not None:
            lines.append(f"H = {to_readable_text(self.hessian)}")
        return "\n".join(lines)


def matrix_hessian(
    f: object,
    wrt: str,
    *,
    shapes: Mapping[str, Any] | None = None,
    assume: Mapping[str, str] | None = None,
    check: bool = True,
    points: int = 4,
    precision: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = 0,
) -> MatrixHessian:
    r"""The Hessian of the scalar ``f`` with respect to the vector ``wrt``, and :math:`H\mathbf v`.

    >>> h = matrix_hessian("x.T @ A @ x", "x", shapes={"A": "n x n", "x": "n"}, check=False)
    >>> print(h.text())
    grad = (A + A.T) @ x
    H @ v = (A + A.T) @ v
    H = A + A.T
    """
    scope = Scope.build(shapes, assume)
    fx = as_expression(f, scope)
    if is_array(fx) and shape_of(fx) != (1, 1):
        raise ShapeError(
            f"the Hessian needs a scalar function, got shape {format_shape(shape_of(fx))}"
        )
    shape = scope.shape(wrt)
    if len(shape) != 2 or shape[1] != 1:
        raise ShapeError(
            f"the Hessian is taken with respect to a column vector; {wrt} has shape "
            f"{format_shape(shape)}"
        )
    x = scope.symbol(wrt)
    if x not in fx.atoms(sp.MatrixSymbol):
        raise ParseError(f"wrt names {wrt!r}, which the function does not use")
    tidy = Tidy(scope.assume)
    g = reverse_sweep(fx, [x], tidy=tidy).gradients[wrt]
    v = sp.MatrixSymbol(_fresh("v", fx), *shape)
    hv = reverse_sweep(tidy.matmul(tidy.transpose(g), v), [x], tidy=tidy).gradients[wrt]
    try:
        hessian = _linear_map(hv, v, tidy)
    except UnsupportedError:
        hessian = None
    if hessian is not None:
        hessian = factor_common(tidy(hessian))
    claim = f"Hessian of {to_readable_text(fx)} by {wrt}"
    if not check:
        report = Report("undecided", claim, "none", notes=("not checked (check=False)",))
    elif hessian is None:
        report = Report(
            "undecided",
            claim,
            "none",
            notes=("H v is not of the form M v by the engine's rules; no Hessian to check",),
        )
    else:
        r = check_derivative(
            g,
            wrt,
            hessian,
            shapes=scope.shapes,
            assume=scope.assume,
            points=points,
            precision=precision,
            timeout=timeout,
            seed=seed,
        )
        report = Report(
            r.verdict,
            claim,
            r.method,
            r.evidence,
            r.counterexample,
            r.entries,
            r.diagnosis,
            r.kinks,
            r.notes,
            r.difference,
        )
    return MatrixHessian(fx, wrt, factor_common(g), v, factor_common(hv), hessian, report)


def _fresh(stem: str, e: sp.Basic) -> str:
    taken = {s.name for s in e.atoms(sp.MatrixSymbol)} | {s.name for s in e.free_symbols}
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}{k}"
    return name


def _linear_map(e: sp.Basic, v: sp.MatrixSymbol, t: Tidy) -> sp.Basic:
    """``M`` with ``e = M v`` for an expression ``e`` linear in the column vector ``v``."""
    if e == v:
        return sp.Identity(v.shape[0])
    if not e.has(v):
        if isinstance(e, sp.ZeroMatrix):
            return sp.ZeroMatrix(e.shape[0], v.shape[0])
        raise UnsupportedError(f"{e} does not depend on {v.name}")
    if isinstance(e, sp.MatAdd):
        return (
            t.matadd(*[_linear_map(a, v, t) for a in e.args if a.has(v)])
            if all(a.has(v) for a in e.args)
            else _unsupported(e)
        )
    if isinstance(e, sp.MatMul):
        scalars = [a for a in e.args if not is_array(a)]
        mats = [a for a in e.args if is_array(a)]
        with_v = [i for i, m in enumerate(mats) if m.has(v)]
        scalar_v = [s for s in scalars if s.has(v)]
        if len(with_v) + len(scalar_v) != 1:
            _unsupported(e)
        coeff = sp.Mul(*[s for s in scalars if not s.has(v)])
        if scalar_v:  # u · (row v): the outer product u rowᵀ
            return t.matmul(coeff, *mats, _row(scalar_v[0], v, t))
        (i,) = with_v
        if i == len(mats) - 1:
            return t.matmul(coeff, *mats[:-1], _linear_map(mats[-1], v, t))
        if mats[i] == sp.Transpose(v):  # L vᵀ R = (L Rᵀ) v for a column R
            right = t.matmul(*mats[i + 1 :])
            return t.matmul(coeff, *mats[:i], t.transpose(right))
        _unsupported(e)
    if isinstance(e, sp.HadamardProduct) and e.shape[1] == 1:
        free = [a for a in e.args if not a.has(v)]
        (dep,) = [a for a in e.args if a.has(v)] or [None]
        if dep is None or len(free) != len(e.args) - 1:
            _unsupported(e)
        return _diag_times(t.hadamard(*free), _linear_map(dep, v, t), t)
    return _unsupported(e)


def _diag_times(a: sp.Basic, m: sp.Basic, t: Tidy) -> sp.Basic:
    """``diag(a) M``, with ``diag(a) 𝟙 = a`` so that ``diag(p)(I − 𝟙pᵀ) = diag(p) − ppᵀ``."""
    if isinstance(m, sp.MatAdd):
        return t.matadd(*[_diag_times(a, term, t) for term in m.args])
    if isinstance(m, sp.Identity):
        return DiagMatrix(a)
    if isinstance(m, sp.MatMul):
        scalars = [s for s in m.args if not is_array(s)]
        mats = [s for s in m.args if is_array(s)]
        if isinstance(mats[0], sp.OneMatrix) and mats[0].shape[1] == 1:
            return t.matmul(*scalars, a, *mats[1:])
    return t.matmul(DiagMatrix(a), m)


def _row(s: sp.Basic, v: sp.MatrixSymbol, t: Tidy) -> sp.Basic:
    """The row ``r`` with ``s = r v`` for a scalar ``s`` linear in ``v``."""
    if isinstance(s, sp.Add):
        return t.matadd(*[_row(a, v, t) for a in s.args])
    if isinstance(s, sp.Mul):
        dep = [a for a in s.args if a.has(v)]
        if len(dep) != 1:
            _unsupported(s)
        rest = sp.Mul(*[a for a in s.args if not a.has(v)])
        return t.matmul(rest, _row(dep[0], v, t))
    if isinstance(s, EntrySum):
        inner = s.arg
        if isinstance(inner, sp.HadamardProduct):
            free = [a for a in inner.args if not a.has(v)]
            dep = [a for a in inner.args if a.has(v)]
            if len(dep) == 1 and dep[0].shape[1] == 1:
                weights = t.hadamard(*free)
                return t.matmul(t.transpose(weights), _linear_map(dep[0], v, t))
        if inner.shape[1] == 1:
            return t.matmul(sp.OneMatrix(1, inner.shape[0]), _linear_map(inner, v, t))
    return _unsupported(s)


def _unsupported(e: sp.Basic) -> Any:
    raise UnsupportedError(f"not written as a linear map of the direction: {e}")
