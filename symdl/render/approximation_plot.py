"""Pictures of approximation constructions (matplotlib, Agg backend, imported lazily).

:func:`plot_approximation` draws f against f_n and the error |f − f_n| with the certified
bound drawn in; :func:`plot_convergence` draws error against hidden neurons, log–log, one
line per construction.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from symdl.codegen import numpy_function
from symdl.derive.approximation import Approximation, ConvergencePoint
from symdl.derive.approximation_certificate import target

__all__ = ["plot_approximation", "plot_convergence"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_approximation(result: Approximation, path: str | Path, *, points: int = 2001) -> Path:
    """Write a two-panel figure: f and f_n, then |f − f_n| with the bound (and ε) drawn in."""
    plt = _pyplot()
    names = list(result.network.inputs)
    expr = target(result.target, names)
    f = numpy_function(expr, names)
    if len(names) == 1:
        ((a, b),) = result.domain
        xs = np.linspace(float(a), float(b), points)
        want = np.broadcast_to(np.asarray(f(xs), dtype=float), xs.shape)
        got = result.network.forward(xs)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
        top.plot(xs, want, label=f"f(x) = {result.target}", linewidth=2.2, color="0.6")
        top.plot(xs, got, label=f"f_n ({result.neurons} neurons)", linewidth=1, color="C0")
        top.legend(loc="best")
        top.set_title(textwrap.fill(result.construction, 90), fontsize=9)
        bottom.semilogy(xs, np.maximum(np.abs(want - got), 1e-300), color="C0", linewidth=0.8)
        bottom.axhline(result.bound, color="C3", label=f"{result.status} bound {result.bound:.3g}")
        if result.eps is not None:
            bottom.axhline(result.eps, color="0.3", linestyle=":", label=f"ε = {result.eps:g}")
        bottom.set_ylim(max(result.observed * 1e-4, 1e-300), max(result.bound, result.eps or 0) * 3)
        bottom.set_xlabel("x")
        bottom.set_ylabel("|f − f_n|")
        bottom.legend(loc="lower right")
    else:
        (a, b), (c, d) = result.domain
        xs, ys = np.meshgrid(
            np.linspace(float(a), float(b), 201), np.linspace(float(c), float(d), 201)
        )
        err = np.abs(np.broadcast_to(f(xs, ys), xs.shape) - result.network.forward(xs, ys))
        fig, ax = plt.subplots(figsize=(6, 5))
        image = ax.pcolormesh(xs, ys, err, shading="auto")
        fig.colorbar(image, ax=ax, label="|f − f_n|")
        ax.set_title(
            f"{textwrap.fill(result.construction, 70)}\n"
            f"max {err.max():.3g} ≤ {result.status} bound {result.bound:.3g}",
            fontsize=9,
        )
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_convergence(
    series: Sequence[ConvergencePoint], path: str | Path, *, title: str = ""
) -> Path:
    """Error against hidden neurons, log–log: the certified bound (line) and observed (dots)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    labels = sorted({p.construction for p in series}, key=[p.construction for p in series].index)
    for i, label in enumerate(labels):
        rows = sorted((p for p in series if p.construction == label), key=lambda p: p.neurons)
        n = [p.neurons for p in rows]
        ax.loglog(n, [p.bound for p in rows], "-", color=f"C{i}", label=f"{label}: bound")
        ax.loglog(
            n,
            [p.observed for p in rows],
            "o",
            color=f"C{i}",
            markersize=4,
            label=f"{label}: observed",
        )
    ax.set_xlabel("hidden neurons")
    ax.set_ylabel("sup |f − f_n|")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
