"""Shaped symbols: scalars, vectors and matrices with concrete or symbolic dimensions.

A shape is ``()`` for a scalar or ``(rows, cols)``; each dimension is a positive ``int`` or a
SymPy ``Symbol`` (integer, positive). Vectors are columns: ``x=3`` means ``3x1``. Names with
no declared shape are real scalars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdl.errors import ParseError, ShapeError
from symdl.registry import Registry

__all__ = [
    "ASSUMPTION_KINDS",
    "MAX_CONCRETE_DIM",
    "Dim",
    "Scope",
    "Shape",
    "dim_symbol",
    "format_shape",
    "parse_shape",
    "shape_of",
]

Dim: TypeAlias = "int | sp.Symbol"
Shape = tuple[Dim, ...]

#: The largest concrete dimension accepted for one axis of a declared matrix.
MAX_CONCRETE_DIM = 1024

#: Assumption kinds, what they mean, and which shapes they apply to.
ASSUMPTION_KINDS: dict[str, str] = {
    "positive": "every entry is positive",
    "negative": "every entry is negative",
    "nonzero": "every entry is non-zero",
    "symmetric": "a square matrix equal to its transpose",
    "spd": "a symmetric positive definite matrix",
    "orthogonal": "a square matrix with Q^T Q = I",
    "diagonal": "a square matrix with zero off-diagonal entries",
    "probability": "a vector of positive entries that sum to 1",
}
_SQUARE_KINDS = {"symmetric", "spd", "orthogonal", "diagonal"}

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DIM = rf"(?:\d+|{_NAME})"
_SHAPE_RE = re.compile(rf"^\s*({_DIM}?)\s*x\s*({_DIM})\s*$")
_ONE_DIM_RE = re.compile(rf"^\s*({_DIM})\s*$")


def dim_symbol(name: str) -> sp.Symbol:
    """The SymPy symbol for a symbolic dimension (a positive integer)."""
    return sp.Symbol(name, integer=True, positive=True)


def _dim(token: str, text: str) -> Dim:
    if token.isdigit():
        value = int(token)
        if not 1 <= value <= MAX_CONCRETE_DIM:
            raise ParseError(
                f"dimension {value} is outside 1..{MAX_CONCRETE_DIM}", text, text.find(token)
            )
        return value
    return dim_symbol(token)


def parse_shape(text: str) -> Shape:
    """Parse ``"3x4"``, ``"n x m"``, ``"3"`` (a 3-vector) or ``"1"``/``"scalar"``.

    >>> parse_shape("3x4")
    (3, 4)
    >>> parse_shape("n x 1")
    (n, 1)
    >>> parse_shape("5")
    (5, 1)
    """
    stripped = text.strip()
    if stripped in ("", "scalar", "()"):
        return ()
    match = _SHAPE_RE.match(text)
    if match and match.group(1):
        return (_dim(match.group(1), text), _dim(match.group(2), text))
    match = _ONE_DIM_RE.match(text)
    if match:
        return (_dim(match.group(1), text), 1)
    raise ParseError(
        "a shape is ROWSxCOLS with positive integers or names (3x4, n x m) or one dimension "
        "for a column vector (5, n)",
        text,
        0,
    )


def format_shape(shape: Shape) -> str:
    """``(3, 4)`` → ``'3×4'``; ``()`` → ``'scalar'``."""
    if not shape:
        return "scalar"
    return "×".join(str(d) for d in shape)


def shape_of(expr: sp.Basic) -> Shape:
    """The shape of a SymPy scalar or matrix expression."""
    if isinstance(expr, (MatrixExpr, sp.MatrixBase)):
        return tuple(expr.shape)
    return ()


@dataclass(frozen=True)
class Scope:
    """Declared shapes and assumptions of the names an expression may use.

    ``Scope.build({"W": "3x4"}, {"A": "spd"})`` declares ``W`` a 3×4 matrix and ``A`` a
    symmetric positive definite one (``A`` then needs a shape too). Every other name is a
    real scalar (positive if assumed ``positive``).
    """

    shapes: Mapping[str, Shape] = field(default_factory=dict)
    assume: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        shapes: Mapping[str, str | Shape] | None = None,
        assume: Mapping[str, str] | None = None,
    ) -> Scope:
        parsed: dict[str, Shape] = {}
        for name, spec in (shapes or {}).items():
            if not re.fullmatch(_NAME, name):
                raise ParseError(f"{name!r} is not a valid name", name, 0)
            parsed[name] = parse_shape(spec) if isinstance(spec, str) else _checked(spec, name)
        assumptions = dict(assume or {})
        for name, kind in assumptions.items():
            if not isinstance(name, str) or not re.fullmatch(_NAME, name):
                raise ParseError(f"{name!r} is not a valid name", str(name), 0)
            _KIND_NAMES.get(kind)  # unknown kinds raise, with a suggestion
            shape = parsed.get(name, ())
            if kind in _SQUARE_KINDS and (len(shape) != 2 or shape[0] != shape[1]):
                raise ShapeError(
                    f"assumption {kind!r} needs {name} to be a square matrix; "
                    f"declare its shape (e.g. {name}=3x3), got {format_shape(shape)}"
                )
            if kind == "probability" and (len(shape) != 2 or 1 not in shape):
                raise ShapeError(
                    f"assumption 'probability' needs {name} to be a vector (e.g. {name}=3), "
                    f"got {format_shape(shape)}"
                )
        return cls(parsed, assumptions)

    def shape(self, name: str) -> Shape:
        return self.shapes.get(name, ())

    def symbol(self, name: str) -> sp.Basic:
        """The SymPy object for ``name``: a ``MatrixSymbol`` or a real ``Symbol``."""
        shape = self.shape(name)
        if shape:
            return sp.MatrixSymbol(name, *shape)
        kind = self.assume.get(name)
        if kind == "positive":
            return sp.Symbol(name, positive=True)
        if kind == "negative":
            return sp.Symbol(name, negative=True)
        if kind == "nonzero":
            return sp.Symbol(name, real=True, nonzero=True)
        return sp.Symbol(name, real=True)

    def dims(self) -> tuple[sp.Symbol, ...]:
        """The symbolic dimensions used by declared shapes, in order of appearance."""
        seen: dict[sp.Symbol, None] = {}
        for shape in self.shapes.values():
            for d in shape:
                if isinstance(d, sp.Symbol):
                    seen.setdefault(d, None)
        return tuple(seen)


@dataclass(frozen=True)
class _Kind:
    name: str


_KIND_NAMES = Registry[_Kind]("assumption kind")
for _name in ASSUMPTION_KINDS:
    _KIND_NAMES.add(_Kind(_name))


def _checked(shape: Shape, name: str) -> Shape:
    shape = tuple(shape)
    if len(shape) == 1:
        shape = (shape[0], 1)
    if len(shape) not in (0, 2):
        raise ShapeError(f"{name}: shapes have 0 or 2 dimensions, got {shape!r}")
    out: list[Dim] = []
    for d in shape:
        if isinstance(d, sp.Integer):
            d = int(d)
        if isinstance(d, sp.Symbol):
            out.append(d)  # the caller's own symbol, so its expressions keep matching
        elif isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_CONCRETE_DIM:
            out.append(d)
        else:
            raise ShapeError(f"{name}: dimension {d!r} is not a positive integer or a symbol")
    return tuple(out)
