r"""High-precision values of a reverse sweep in let-form, against the true gradient.

At a random admissible point the let-form (:mod:`symdl.derive.matrix_letform`) is evaluated
node by node in topological order with mpmath, the true adjoints by scalar reverse
accumulation of SymPy's partial derivatives of the local definitions (Griewank & Walther,
*Evaluating Derivatives*, 2008, §3.2), and the engine's gradients by evaluating its
placeholders in the order the sweep created them. Every step works on one node's entries,
so the cost is linear in the size of the graph, not in the size of the function written
out entry by entry. A point is admissible when every local definition is inside its
domain (``log`` of a positive number, no division by zero, away from kinks), with the
margins of :mod:`symdl.verify.admissible`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.derive.matrix_letform import LetForm, entries_of, shaped_like
from symdl.derive.matrix_rules import Sweep
from symdl.verify.admissible import MARGIN, NoAdmissiblePoint, conditions, sample_points
from symdl.verify.precise import Evaluator, NotAdmissible

__all__ = ["GradientValues", "SweepProgram", "let_point", "sweep_program", "sweep_values"]


@dataclass(frozen=True)
class GradientValues:
    """At one point: the engine's gradient and the true one, entry by entry, per variable."""

    point: Mapping[sp.Symbol, float]
    engine: Mapping[str, tuple[mpmath.mpf, ...]]
    true: Mapping[str, tuple[mpmath.mpf, ...]]


def let_point(
    lf: LetForm, *, rng: np.random.Generator, max_tries: int = 200
) -> dict[sp.Symbol, Any]:
    """An admissible point: a value for every entry of the variables and every scalar,
    such that every local definition of the let-form is inside its domain."""
    conds = conditions([e for v in lf.local.values() for e in entries_of(v)])
    scalars = {
        s for s in lf.root.free_symbols if isinstance(s, sp.Symbol) and s not in lf.instance.sizes
    }
    for _ in range(max_tries):
        (point,) = sample_points(lf.instance, scalars, (), points=1, rng=rng)
        values: dict[sp.Basic, object] = dict(point)
        ev = Evaluator(values, dps=20)  # type: ignore[arg-type]
        try:
            for node in lf.nodes:  # the samples already carry the assumptions' structure
                if node in lf.local:
                    for s, e in zip(entries_of(lf.value[node]), entries_of(lf.local[node])):
                        values[s] = ev(e)
            if all(_holds(c, ev) for c in conds):
                return point  # type: ignore[return-value]
        except (NotAdmissible, ZeroDivisionError, OverflowError, ValueError):
            continue
    raise NoAdmissiblePoint(f"found no admissible point in {max_tries} tries")


def _holds(c: object, ev: Evaluator) -> bool:
    v = ev(c.expr)  # type: ignore[attr-defined]
    if c.kind == "positive":  # type: ignore[attr-defined]
        return bool(v > MARGIN)
    return bool(abs(v) > MARGIN)


@dataclass(frozen=True)
class SweepProgram:
    """The straight-line program that :func:`sweep_values` runs at each point: assignments
    ``symbol = expression`` in order (forward nodes, true adjoints, engine placeholders),
    then each variable's engine and true gradient entries. Built once per let-form."""

    steps: tuple[tuple[sp.Symbol, sp.Expr], ...]
    engine: Mapping[str, tuple[sp.Expr, ...]]
    true: Mapping[str, tuple[sp.Expr, ...]]


def sweep_program(lf: LetForm, sweep: Sweep) -> SweepProgram:
    """The program that evaluates ``sweep``'s gradients and the true ones on ``lf``."""
    steps: list[tuple[sp.Symbol, sp.Expr]] = []
    for node in lf.nodes:  # forward, in topological order
        if node in lf.local:
            steps += zip(entries_of(lf.value[node]), entries_of(lf.local[node]))  # type: ignore[arg-type]
    # the true adjoints, backwards: each node's from its users' (held as fresh symbols)
    bar: dict[sp.Basic, sp.Basic] = {}
    for v in reversed(lf.nodes):
        if v not in lf.depends:
            continue
        fresh = [sp.Dummy("g", real=True) for _ in entries_of(lf.value[v])]
        if v == lf.root:
            exprs: list[sp.Basic] = [sp.S.One] * len(fresh)
        else:
            exprs = entries_of(lf.true_adjoint(v, bar))
        steps += zip(fresh, exprs)  # type: ignore[arg-type]
        bar[v] = shaped_like(lf.value[v], fresh)  # type: ignore[arg-type]
    # the engine's placeholders, in the order the sweep made them
    extra: dict[str, sp.ImmutableMatrix] = {}
    for h in sorted(sweep.back, key=lambda h: int(h.name[len("_held") :])):
        meaning = sweep.back[h]
        if meaning in lf.value:
            extra[h.name] = lf.value[meaning]
            continue
        lowered = lf.lower(meaning, extra)
        fresh = [sp.Dummy("h", real=True) for _ in entries_of(lowered)]
        steps += zip(fresh, entries_of(lowered))  # type: ignore[arg-type]
        extra[h.name] = shaped_like(lowered, fresh)  # type: ignore[assignment]
    targets = lf.targets(sweep)
    engine = {w: tuple(entries_of(lf.lower(sweep.held[w], extra))) for w in targets}
    true = {w: tuple(entries_of(bar[n])) for w, n in targets.items()}
    return SweepProgram(tuple(steps), engine, true)  # type: ignore[arg-type]


def sweep_values(
    program: SweepProgram, point: Mapping[sp.Symbol, object], *, precision: int
) -> GradientValues:
    """The engine's and the true gradient of every variable at ``point``, at ``precision``
    digits, by running ``program``."""
    values: dict[sp.Basic, object] = dict(point)
    ev = Evaluator(values, dps=precision)  # type: ignore[arg-type]
    for symbol, expr in program.steps:
        values[symbol] = ev(expr)
    engine = {w: tuple(ev(e) for e in es) for w, es in program.engine.items()}
    true = {w: tuple(ev(e) for e in es) for w, es in program.true.items()}
    return GradientValues(dict(point), engine, true)  # type: ignore[arg-type]
