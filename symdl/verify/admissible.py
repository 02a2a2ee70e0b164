"""Random admissible points: inside the domain, away from kinks, generic unless assumed.

Scalars are drawn at several scales in turn (from 0.02 to 40), so a claim that holds only
near the origin meets a point where it fails. Admissible means inside the domain and no
narrower: ``log`` and fractional powers need a
positive argument, a division a non-zero one, ``logdet`` a positive determinant (its
lowered form is ``log`` of a polynomial, so the same rule covers it), and a point must
stay a margin away from every kink (``Max``, ``Abs``, ``Heaviside``, ``sign``, ``Piecewise``)
so that finite differences never straddle one. Samples are *generic*: an unconstrained
square matrix is never symmetric, diagonal or orthogonal, because a symmetric sample
hides exactly the transpose errors people make.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from symdl.explicit import Instance
from symdl.nodes import expand_catalog
from symdl.verify.precise import Evaluator, NotAdmissible

__all__ = ["Condition", "NoAdmissiblePoint", "conditions", "off_kinks_somewhere", "sample_points"]

#: Points keep at least this distance from a kink, a zero denominator or a domain edge,
#: measured in the value of the expression that vanishes there.
MARGIN = 0.05


class NoAdmissiblePoint(ArithmeticError):
    """Rejection sampling found no point satisfying the domain conditions."""


@dataclass(frozen=True)
class Condition:
    """``expr`` must be positive (``positive``), or stay away from zero (``nonzero``, ``kink``)."""

    expr: sp.Expr
    kind: str
    origin: str


def conditions(exprs: Iterable[sp.Basic]) -> tuple[Condition, ...]:
    """The domain conditions and kinks of scalar expressions (deduplicated, in order)."""
    found: dict[tuple[sp.Basic, str], Condition] = {}

    def add(expr: sp.Expr, kind: str, origin: str) -> None:
        if expr.is_number:
            return
        found.setdefault((expr, kind), Condition(expr, kind, origin))

    for root in exprs:
        for e in sp.preorder_traversal(expand_catalog(root)):
            if isinstance(e, sp.log):
                add(e.args[0], "positive", "log")
            elif isinstance(e, sp.Pow):
                if not e.exp.is_integer:
                    add(e.base, "positive", "fractional power")
                elif e.exp.is_negative:
                    add(e.base, "nonzero", "division")
            elif isinstance(e, (sp.Max, sp.Min)):
                args = e.args
                for i in range(len(args)):
                    for j in range(i + 1, len(args)):
                        add(args[i] - args[j], "kink", type(e).__name__)
            elif isinstance(e, (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta)):
                add(e.args[0], "kink", type(e).__name__)
            elif isinstance(e, sp.Piecewise):
                for _, cond in e.args:
                    if isinstance(cond, sp.core.relational.Relational):
                        add(cond.lhs - cond.rhs, "kink", "Piecewise")
    return tuple(found.values())


def satisfied(conds: Iterable[Condition], values: dict[sp.Symbol, float]) -> bool:
    ev = Evaluator(values, dps=20)
    try:
        for c in conds:
            v = ev(c.expr)
            if c.kind == "positive" and not v > MARGIN:
                return False
            if c.kind in ("nonzero", "kink") and not abs(v) > MARGIN:
                return False
    except (NotAdmissible, ZeroDivisionError, OverflowError, ValueError):
        return False
    return True


def off_kinks_somewhere(
    instance: Instance, exprs: Iterable[sp.Basic], rng: np.random.Generator
) -> bool:
    """True if some point meets every condition of ``exprs`` except the kinks' (their
    domain is not empty)."""
    exprs = list(exprs)
    conds = [c for c in conditions(exprs) if c.kind != "kink"]
    scalars = {s for e in exprs for s in e.free_symbols if isinstance(s, sp.Symbol)}
    try:
        sample_points(instance, scalars, conds, points=1, rng=rng)
    except NoAdmissiblePoint:
        return False
    return True


def sample_points(
    instance: Instance,
    scalars: Iterable[sp.Symbol],
    conds: Iterable[Condition],
    *,
    points: int,
    rng: np.random.Generator,
    max_tries: int = 400,
) -> list[dict[sp.Symbol, float]]:
    """``points`` admissible points: values (floats) for every entry and scalar symbol."""
    conds = tuple(conds)
    scalars = sorted(set(scalars), key=lambda s: s.name)
    out: list[dict[sp.Symbol, float]] = []
    tries = misses = 0
    while len(out) < points:
        tries += 1
        if tries > max_tries:
            hint = "; ".join(f"{c.origin}: {c.expr} {_need(c)}" for c in conds[:4])
            raise NoAdmissiblePoint(
                f"found {len(out)} admissible points in {max_tries} tries (conditions: {hint})"
            )
        values: dict[sp.Symbol, float] = {}
        # a scale whose points keep missing the domain (|z| > 3 for log σ(z)) is skipped
        scale = _SCALES[(len(out) + misses // 25) % len(_SCALES)]
        for s in scalars:
            values[s] = _scalar(s, rng, scale)
        for name, m in instance.entries.items():
            kind = instance.scope.assume.get(name)
            sample = _matrix(kind, m.shape, rng)
            for sym, v in zip(m, sample.ravel()):
                values[sym] = v if isinstance(v, mpmath.mpf) else float(v)
        if satisfied(conds, values):
            out.append(values)
        else:
            misses += 1
    return out


#: Digits of an orthogonal sample: far beyond any comparison, so ``QᵀQ = I`` holds there.
ORTHOGONAL_DPS = 120


def _orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal matrix, orthogonal to 120 digits (float64 would give 1e−16).

    Gram–Schmidt on a Gaussian matrix in mpmath; the entries stay mpf, so a claim that
    needs ``QᵀQ = I`` is not refuted by the sample's own rounding.
    """
    with mpmath.workdps(ORTHOGONAL_DPS):
        cols: list[list[mpmath.mpf]] = []
        for _ in range(n):
            v = [mpmath.mpf(float(g)) for g in rng.normal(size=n)]
            for c in cols:
                dot = mpmath.fsum(a * b for a, b in zip(v, c))
                v = [a - dot * b for a, b in zip(v, c)]
            norm = mpmath.sqrt(mpmath.fsum(a * a for a in v))
            cols.append([a / norm for a in v])
        return np.array([[cols[j][i] for j in range(n)] for i in range(n)], dtype=object)


def _need(c: Condition) -> str:
    return "> 0" if c.kind == "positive" else "≠ 0"


#: Magnitude ranges for scalar samples, used in turn: a claim wrong only for large or
#: small inputs (``hard_tanh' = 1`` is wrong only for ``|x| > 1``, ``relu6' = 1`` only
#: above 6) must meet a point there.
_SCALES = ((0.2, 2.0), (2.0, 12.0), (0.02, 0.2), (0.2, 2.0), (12.0, 40.0))


def _scalar(s: sp.Symbol, rng: np.random.Generator, scale: tuple[float, float]) -> float:
    lo, hi = scale
    magnitude = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if s.is_positive:
        return magnitude
    if s.is_negative:
        return -magnitude
    return magnitude if rng.random() < 0.5 else -magnitude


def _matrix(kind: str | None, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    rows, cols = shape
    if kind == "positive":
        return rng.uniform(0.2, 2.0, size=shape)
    if kind == "negative":
        return -rng.uniform(0.2, 2.0, size=shape)
    if kind == "nonzero":
        return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if kind == "symmetric":
        b = rng.uniform(-1.5, 1.5, size=shape)
        return (b + b.T) / 2
    if kind == "spd":
        b = rng.uniform(-1.0, 1.0, size=shape)
        return b @ b.T + 0.5 * np.eye(rows)
    if kind == "orthogonal":
        return _orthogonal(rows, rng)
    if kind == "diagonal":
        d = rng.uniform(0.3, 2.0, size=rows) * rng.choice([-1.0, 1.0], size=rows)
        return np.diag(d)
    if kind == "probability":
        while True:
            p = rng.dirichlet(np.ones(rows * cols))
            if p.min() > 0.02:
                return p.reshape(shape)
    while True:
        m = rng.uniform(-1.5, 1.5, size=shape)
        if rows == cols and rows > 1:
            off = m - np.diag(np.diag(m))
            # generic: visibly non-symmetric and not diagonal-dominated
            if np.max(np.abs(m - m.T)) < 0.3 or np.max(np.abs(off)) < 0.3:
                continue
        return m
