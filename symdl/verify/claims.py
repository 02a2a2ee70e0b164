"""The problem a check solves, built from the user's input: shapes, instances, truth.

A claim is either an identity ``lhs == rhs`` or a derivative ``d f / d wrt == claimed``.
Both are turned into pairs of explicit arrays — the two sides entry by entry at each
instance (concrete sizes) — which the checkers compare symbolically and numerically.
Gradients are in denominator layout (the shape of ``wrt``); the derivative of a vector by
a vector is the Jacobian ``J[i, j] = ∂f_i/∂wrt_j``; the derivative of an array by a scalar
is taken entry by entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symdl.errors import ParseError, UnsupportedError
from symdl.explicit import Instance, instances
from symdl.ops import FUNCTIONS
from symdl.parse import as_expression
from symdl.shapes import Scope, Shape, format_shape, shape_of
from symdl.unparse import to_text
from symdl.verify.sign_region import settled_kinks

__all__ = [
    "Problem",
    "Side",
    "derivative_problem",
    "identity_problem",
    "point_arrays",
    "residual_matrix",
]


@dataclass(frozen=True)
class Side:
    """Both sides of a claim at one instance, as explicit SymPy arrays (or 1×1 for scalars)."""

    instance: Instance
    true: sp.ImmutableMatrix  # what the claim should equal (the derivative, or the lhs)
    claimed: sp.ImmutableMatrix
    f: sp.Basic | None  # the lowered function, for derivative claims


@dataclass(frozen=True)
class Problem:
    kind: str  # "derivative" or "identity"
    text: str  # the claim in the input language
    scope: Scope
    expected: Shape
    got: Shape
    sides: tuple[Side, ...]
    f: sp.Basic  # the function (derivative) or the lhs (identity), unlowered
    claimed: sp.Basic
    wrt: str | None
    names: tuple[str, ...]  # every variable name, matrices first


def _scope_for(objs: list[object], shapes: Mapping | None, assume: Mapping | None) -> Scope:
    """The declared scope, extended by the SymPy objects passed in: the shapes of their
    MatrixSymbols, and the sign assumptions of their Symbols (``Symbol("v", positive=True)``
    means ``assume={"v": "positive"}``)."""
    declared: dict[str, object] = dict(shapes or {})
    kinds: dict[str, str] = dict(assume or {})
    dims = {
        d.name
        for obj in objs
        if isinstance(obj, sp.Basic)
        for m in obj.atoms(sp.MatrixSymbol)
        for d in sp.Tuple(*m.shape).free_symbols
    }
    for obj in objs:
        if isinstance(obj, sp.Basic):
            for m in obj.atoms(sp.MatrixSymbol):
                declared.setdefault(m.name, tuple(m.shape))
            for sym in obj.atoms(sp.Symbol):
                kind = _sign_kind(sym)
                if kind and sym.name not in dims and sym.name not in kinds:
                    kinds[sym.name] = kind
    return Scope.build(declared, kinds)  # type: ignore[arg-type]


def _sign_kind(sym: sp.Symbol) -> str | None:
    if sym.is_positive:
        return "positive"
    if sym.is_negative:
        return "negative"
    if sym.is_nonzero:
        return "nonzero"
    return None


def _canonical(e: sp.Basic, scope: Scope) -> sp.Basic:
    """``e`` with every scalar Symbol replaced by the scope's symbol of the same name, so a
    name means one variable however the caller built it (``Symbol("v", positive=True)``
    in ``f`` and ``"v"`` as ``wrt`` are the same ``v``)."""
    dims = {d.name for d in scope.dims()}
    for s in e.free_symbols:
        if isinstance(s, sp.Symbol) and s.name not in dims and (s.is_integer or s.is_rational):
            raise UnsupportedError(
                f"the variable {s.name} is declared {'integer' if s.is_integer else 'rational'};"
                " symdl's variables are real (its samples and proofs are over the reals)"
            )
    swap = {
        s: scope.symbol(s.name)
        for s in e.free_symbols
        if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy) and s.name not in dims
    }
    return e.xreplace({a: b for a, b in swap.items() if a != b}) if swap else e


def _names(exprs: list[sp.Basic], scope: Scope) -> tuple[str, ...]:
    dims = {d.name for d in scope.dims()}
    mats = sorted({m.name for e in exprs for m in e.atoms(sp.MatrixSymbol)})
    scalars = sorted(
        {s.name for e in exprs for s in e.free_symbols if isinstance(s, sp.Symbol)}
        - set(mats)
        - dims
    )
    return tuple(mats + scalars)


def _as_matrix(e: sp.Basic) -> sp.ImmutableMatrix:
    return e if isinstance(e, sp.ImmutableMatrix) else sp.ImmutableMatrix([[e]])


def identity_problem(
    lhs: object, rhs: object, *, shapes: Mapping | None, assume: Mapping | None
) -> Problem:
    scope = _scope_for([lhs, rhs], shapes, assume)
    left = _canonical(as_expression(lhs, scope), scope)
    right = _canonical(as_expression(rhs, scope), scope)
    text = f"{_show(left)} == {_show(right)}"
    expected, got = _scalar_if_1x1(shape_of(left)), _scalar_if_1x1(shape_of(right))
    names = _names([left, right], scope)
    sides: tuple[Side, ...] = ()
    if expected == got:
        built = []
        for inst in instances(scope, {n for n in names if scope.shape(n)}):
            t = inst.constrain(_entry_if_1x1(inst.lower(left)))
            c = inst.constrain(_entry_if_1x1(inst.lower(right)))
            built.append(Side(inst, _as_matrix(t), _as_matrix(c), None))
        sides = tuple(built)
    return Problem("identity", text, scope, expected, got, sides, left, right, None, names)


def derivative_problem(
    f: object,
    wrt: object,
    claimed: object,
    *,
    shapes: Mapping | None,
    assume: Mapping | None,
) -> Problem:
    scope = _scope_for([f, wrt, claimed], shapes, assume)
    fx = _canonical(as_expression(f, scope), scope)
    wrt_name = _wrt_name(wrt)
    var = scope.symbol(wrt_name)
    cx = _canonical(as_expression(claimed, scope), scope)
    names = _names([fx, cx, var], scope)
    if wrt_name not in names:
        names = (*names, wrt_name)
    f_shape, w_shape = _scalar_if_1x1(shape_of(fx)), shape_of(var)
    expected = _derivative_shape(f_shape, w_shape, wrt_name)
    got = _scalar_if_1x1(shape_of(cx)) if not expected else shape_of(cx)
    text = f"d/d{wrt_name} {_show(fx)} == {_show(cx)}"
    sides: tuple[Side, ...] = ()
    if got == expected or (not got and expected == (1, 1)):
        built = []
        for inst in instances(scope, {n for n in names if scope.shape(n)}):
            lowered = _entry_if_1x1(inst.lower(fx))
            truth = _gradient(lowered, inst, wrt_name, var, f_shape, w_shape)
            built.append(
                Side(
                    inst,
                    _as_matrix(inst.constrain(truth)),
                    _as_matrix(inst.constrain(inst.lower(cx))),
                    lowered,
                )
            )
        sides = tuple(built)
    return Problem("derivative", text, scope, expected, got, sides, fx, cx, wrt_name, names)


def _scalar_if_1x1(shape: Shape) -> Shape:
    """A 1×1 matrix (``x.T @ A @ x``) is a scalar, as NumPy users expect."""
    return () if shape == (1, 1) else shape


def _entry_if_1x1(e: sp.Basic) -> sp.Basic:
    return e[0, 0] if isinstance(e, sp.MatrixBase) and e.shape == (1, 1) else e


def _wrt_name(wrt: object) -> str:
    if isinstance(wrt, str):
        name = wrt.strip()
        if (
            not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)
            or name in FUNCTIONS
            or name
            in (
                "pi",
                "True",
                "False",
                "None",
            )
        ):
            raise ParseError(f"wrt must be the name of a variable, got {wrt!r}")
        return name
    if isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        return wrt.name
    raise TypeError(f"wrt must be a name, Symbol or MatrixSymbol, got {type(wrt).__name__}")


def _derivative_shape(f_shape: Shape, w_shape: Shape, wrt: str) -> Shape:
    if not f_shape:
        return w_shape
    if not w_shape:
        return f_shape
    if f_shape[1] == 1 and w_shape[1] == 1:
        return (f_shape[0], w_shape[0])
    raise UnsupportedError(
        f"the derivative of a {format_shape(f_shape)} array by the {format_shape(w_shape)} "
        f"array {wrt} is a 4-index tensor; check a scalar function (e.g. sum(...)) or a "
        "vector-valued one by a vector"
    )


def _gradient(
    lowered: sp.Basic, inst: Instance, wrt: str, var: sp.Basic, f_shape: Shape, w_shape: Shape
) -> sp.Basic:
    if not w_shape:
        if isinstance(lowered, sp.MatrixBase):
            return lowered.applyfunc(lambda v: sp.diff(v, var))
        # the same function with its kinks of constant sign settled: SymPy's derivative of
        # |min(0, 2 + sin x)| is defined nowhere, that of 0 is 0
        return sp.diff(settled_kinks(lowered), var)
    entries = inst.entries[wrt]
    if not f_shape:
        return sp.ImmutableMatrix(
            entries.rows, entries.cols, lambda i, j: sp.diff(lowered, entries[i, j])
        )
    flat_f, flat_w = list(lowered), list(entries)
    return sp.ImmutableMatrix(len(flat_f), len(flat_w), lambda i, j: sp.diff(flat_f[i], flat_w[j]))


def _show(e: sp.Basic) -> str:
    try:
        return to_text(e)
    except ValueError:
        return str(e)


def shape_reason(problem: Problem) -> str:
    """Why a claim of the wrong shape is wrong, in one sentence."""
    want, got = format_shape(problem.expected), format_shape(problem.got)
    what = "gradient" if problem.kind == "derivative" else "left side"
    reason = f"the claim has shape {got} but the {what} has shape {want}"
    if len(problem.expected) == 2 and problem.got == problem.expected[::-1]:
        reason += "; the claim has the transposed shape (a transpose is missing or extra)"
    if problem.kind == "derivative" and problem.expected:
        reason += " (gradients are in denominator layout: the shape of the variable)"
    return reason


def point_arrays(side: Side, point: Mapping[sp.Symbol, float], p: Problem) -> dict[str, Any]:
    """The named inputs at ``point``, as nested lists (matrices) or floats (scalars)."""
    out: dict[str, Any] = {}
    for name in p.names:
        m = side.instance.entries.get(name)
        if m is not None:
            out[name] = [[float(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
        else:
            sym = next((s for s in point if isinstance(s, sp.Symbol) and s.name == name), None)
            if sym is not None:
                out[name] = float(point[sym])
    return out


def residual_matrix(side: Side, residuals: tuple[sp.Basic, ...]) -> sp.Basic:
    """The residuals of ``side``'s entries, shaped as its value."""
    if side.true.shape == (1, 1):
        return residuals[0]
    return sp.ImmutableMatrix(*side.true.shape, list(residuals))
