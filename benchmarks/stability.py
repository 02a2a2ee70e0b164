"""Numerical stability of the catalogue's generated NumPy code, against mpmath.

Run: ``python -m benchmarks stability``. Writes a Markdown table and its JSON.

For every scalar activation (value and derivative, default parameters) and every scalar
loss (value and gradient by the prediction z, at each representative target y), the code
is probed on :data:`symdl.verify.stability.GRID` (±1e−300 … ±1e4, 0, ±inf, nan) against a
400-working-digit mpmath evaluation of the catalogue formula. Side by side, the same
formula compiled naively by ``sympy.lambdify`` (the peer; SciPy's ``expit``/``logaddexp``
are what "stable" means) on the same grid: how many grid points it gets wrong (relative
error above 1e−13 where the true value is a normal float, absolute above 1e−300 near
zero, a floating-point warning, or nan for a finite input).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import sympy as sp

from benchmarks.config import Config
from benchmarks.table import Table
from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.code import activation_code, limits_at_infinity
from symdl.catalog.entry import X, Z
from symdl.catalog.loss_code import LOSS_GRID, loss_code, loss_expr, targets
from symdl.catalog.losses import LOSSES
from symdl.verify.stability import GRID, probe
from symdl.verify.symbolic import elementary


def _limits(expr: sp.Expr, var: sp.Symbol = X) -> tuple[float, float] | None:
    found = limits_at_infinity(expr, var)
    if found is None:
        return None
    return tuple(float(v) if v.is_finite else math.copysign(math.inf, float(v)) for v in found)


def _naive(expr: sp.Expr, var: sp.Symbol = X):
    fn = sp.lambdify(var, elementary(expr), modules=["scipy", "numpy"])
    return lambda v: np.broadcast_to(np.asarray(fn(v), dtype=float), np.shape(v))


def run(config: Config) -> list[Table]:
    rows = []
    for entry in ACTIVATIONS:
        if entry.vector or (config.quick and entry.name != "sigmoid"):
            continue
        f, d = entry.at()
        for label, expr, derivative in (("f", f, False), ("f′", d, True)):
            limits = _limits(expr)
            ours = probe(activation_code(entry.name, derivative=derivative), expr, X, limits=limits)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peer = probe(_naive(expr), expr, X, limits=limits)
            rows.append((entry.name, label, ours, peer))
    for loss in LOSSES:
        if loss.vector or (config.quick and loss.name != "bce_logits"):
            continue
        for y in targets(loss.name):
            for label, gradient in (("L", False), ("∂L/∂z", True)):
                expr = loss_expr(loss.name, y, gradient=gradient)
                limits = _limits(expr, Z)
                code = loss_code(loss.name, y, gradient=gradient)
                ours = probe(code, expr, Z, limits=limits, grid=LOSS_GRID)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    peer = probe(_naive(expr, Z), expr, Z, limits=limits, grid=LOSS_GRID)
                rows.append((f"{loss.name} (y = {y})", label, ours, peer))
    table_rows = tuple(
        (name, label, f"{ours.worst_rel:.1e}", str(len(ours.failed_at)), str(len(peer.failed_at)))
        for name, label, ours, peer in rows
    )
    total = sum(len(o.failed_at) for _, _, o, _ in rows)
    total_peer = sum(len(p.failed_at) for _, _, _, p in rows)
    n = sum(o.points for _, _, o, _ in rows)
    notes = (
        f"grid: {len(GRID)} points (±1e-300 … ±1e4, 0, ±inf, nan); losses add 7 in (0, 1)",
        f"failing points of {n} probed: symdl {total}, lambdify {total_peer}.",
    )
    header = (
        "entry",
        "",
        "symdl worst rel. error",
        "symdl failing points",
        "lambdify failing points",
    )
    title = "Stability of the generated NumPy code on the float64 grid, against mpmath"
    data = {"points": n, "symdl failing": total, "lambdify failing": total_peer}
    return [Table("stability", title, header, table_rows, notes, data)]


def main() -> None:
    for table in run(Config()):
        print(table.markdown())


if __name__ == "__main__":
    main()
