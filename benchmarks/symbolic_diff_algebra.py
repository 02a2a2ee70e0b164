"""The small algebra the symbolic differentiation benchmark writes each case in.

One case, written once against this interface, becomes a SymPy matrix expression with
symbolic dimensions (:class:`Symbolic`), explicit matrices of symbols in SymPy or
SymEngine (:class:`Explicit`) or a NumPy value (:class:`Numeric`, complex for the complex
step), so every tool differentiates the same function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp


class Symbolic:
    """SymPy matrix expressions (``MatrixSymbol``) with symbolic dimensions."""

    def __init__(self, shapes: dict[str, str], sizes: dict[str, int]) -> None:
        self.shapes, self.dims = (
            shapes,
            {d: sp.Symbol(d, integer=True, positive=True) for d in sizes},
        )

    def var(self, name: str) -> Any:
        parts = [self.dims[d.strip()] for d in self.shapes[name].split("x")]
        return sp.MatrixSymbol(name, parts[0], parts[1] if len(parts) > 1 else 1)

    def scalar(self, name: str) -> Any:
        return sp.Symbol(name, positive=True)

    def apply(self, fname: str, a: Any) -> Any:
        return a.applyfunc(getattr(sp, fname))

    def fn(self, fname: str, s: Any) -> Any:
        return getattr(sp, fname)(s)

    def sumsq(self, a: Any) -> Any:
        return sp.Trace(a.T @ a)

    def total(self, a: Any) -> Any:
        return sp.Trace(a @ sp.OneMatrix(a.shape[1], a.shape[0]))

    def had(self, a: Any, b: Any) -> Any:
        return sp.HadamardProduct(a, b)

    def shift(self, a: Any, s: Any) -> Any:
        return a - s * sp.OneMatrix(*a.shape)

    def det(self, a: Any) -> Any:
        return sp.Determinant(a)

    def trace(self, a: Any) -> Any:
        return sp.Trace(a)

    def entry(self, a: Any) -> Any:
        return a

    def softmax(self, s: Any) -> Any:
        e = self.apply("exp", s)
        return e / self.total(e)

    def rowsoftmax(self, s: Any) -> Any:
        e = self.apply("exp", s)
        sums = e @ sp.OneMatrix(s.shape[1], 1) @ sp.OneMatrix(1, s.shape[1])
        t = sp.Dummy("t")
        return sp.HadamardProduct(e, sums.applyfunc(sp.Lambda(t, 1 / t)))


class Explicit:
    """Explicit matrices of symbols ``W_i_j`` at concrete sizes, in SymPy or SymEngine."""

    def __init__(self, shapes: dict[str, str], sizes: dict[str, int], backend: Any) -> None:
        self.shapes, self.sizes, self.b = shapes, sizes, backend
        self.made: dict[str, Any] = {}

    def _matrix(self, rows: int, cols: int, entries: list[Any]) -> Any:
        return self.b.Matrix(rows, cols, entries)

    def entries(self, a: Any) -> list[Any]:
        return [a[i, j] for i in range(a.rows) for j in range(a.cols)]

    def var(self, name: str) -> Any:
        parts = [self.sizes[d.strip()] for d in self.shapes[name].split("x")]
        rows, cols = parts[0], parts[1] if len(parts) > 1 else 1
        symbols = [self.b.Symbol(f"{name}_{i}_{j}") for i in range(rows) for j in range(cols)]
        self.made[name] = self._matrix(rows, cols, symbols)
        return self.made[name]

    def scalar(self, name: str) -> Any:
        self.made[name] = self.b.Symbol(name)
        return self.made[name]

    def apply(self, fname: str, a: Any) -> Any:
        f = getattr(self.b, fname)
        return self._matrix(a.rows, a.cols, [f(e) for e in self.entries(a)])

    def fn(self, fname: str, s: Any) -> Any:
        return getattr(self.b, fname)(s)

    def sumsq(self, a: Any) -> Any:
        return sum((e**2 for e in self.entries(a)), self.b.Integer(0))

    def total(self, a: Any) -> Any:
        return sum(self.entries(a), self.b.Integer(0))

    def had(self, a: Any, c: Any) -> Any:
        pairs = zip(self.entries(a), self.entries(c))
        return self._matrix(a.rows, a.cols, [p * q for p, q in pairs])

    def shift(self, a: Any, s: Any) -> Any:
        return self._matrix(a.rows, a.cols, [e - s for e in self.entries(a)])

    def det(self, a: Any) -> Any:
        return a.det()

    def trace(self, a: Any) -> Any:
        return sum((a[i, i] for i in range(a.rows)), self.b.Integer(0))

    def entry(self, a: Any) -> Any:
        return a[0, 0]

    def softmax(self, s: Any) -> Any:
        e = self.apply("exp", s)
        t = self.total(e)
        return self._matrix(e.rows, e.cols, [v / t for v in self.entries(e)])

    def rowsoftmax(self, s: Any) -> Any:
        e = self.apply("exp", s)
        rows = [[e[i, j] for j in range(e.cols)] for i in range(e.rows)]
        return self._matrix(e.rows, e.cols, [v / sum(r) for r in rows for v in r])


class Numeric:
    """NumPy arrays (complex, for the complex step): the reference evaluation."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def var(self, name: str) -> Any:
        return self.values[name]

    scalar = var

    def apply(self, fname: str, a: Any) -> Any:
        return getattr(np, fname)(a)

    fn = apply

    def sumsq(self, a: Any) -> Any:
        return np.sum(a * a)

    def total(self, a: Any) -> Any:
        return np.sum(a)

    def had(self, a: Any, b: Any) -> Any:
        return a * b

    def shift(self, a: Any, s: Any) -> Any:
        return a - s

    def det(self, a: Any) -> Any:
        return np.linalg.det(a)

    def trace(self, a: Any) -> Any:
        return np.trace(a)

    def entry(self, a: Any) -> Any:
        return a[0, 0]

    def softmax(self, s: Any) -> Any:
        e = np.exp(s)
        return e / np.sum(e)

    def rowsoftmax(self, s: Any) -> Any:
        e = np.exp(s)
        return e / np.sum(e, axis=1, keepdims=True)
