"""Pictures of signal propagation: variance through depth, and the order-to-chaos diagram.

matplotlib is imported inside each function (it is the ``plot`` extra) with the Agg
backend, so nothing needs a display; each function writes a PNG and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_phase_diagram", "plot_variance"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("plots need matplotlib: pip install 'symdl[plot]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_variance(
    profiles: Sequence[Any],
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    simulation: Any = None,
) -> Path:
    """Forward variance q_l and gradient variance against depth (log scale), one line per
    :class:`~symdl.derive.variance.VarianceProfile`; simulated means with their intervals
    when a :class:`~symdl.derive.simulation.Simulation` is given."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(labels) if labels is not None else [p.activation for p in profiles]
    for profile, name in zip(profiles, names):
        layers = [s.layer for s in profile.layers]
        top.plot(layers, [s.q for s in profile.layers], label=name)
        bottom.plot(layers, [s.gradient for s in profile.layers], label=name)
    if simulation is not None:
        for axis, checks in ((top, simulation.forward), (bottom, simulation.gradient)):
            x = [c.layer for c in checks]
            mean = np.array([c.observed for c in checks])
            err = np.array(
                [[c.observed - c.low for c in checks], [c.high - c.observed for c in checks]]
            )
            label = f"simulation ({simulation.confidence:.0%} simultaneous)"
            axis.errorbar(x, mean, yerr=err, fmt="o", ms=3, capsize=2, color="k", label=label)
    top.set(title="forward: Var z^l", xlabel="layer l", yscale="log")
    bottom.set(title="backward: Var δ^l / Var δ^L", xlabel="layer l", yscale="log")
    for axis in (top, bottom):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_phase_diagram(
    activation: Any,
    path: str | Path,
    *,
    sigma_b2_max: float = 0.5,
    sigma_w2_max: float = 4.0,
    resolution: int = 40,
) -> Path:
    """χ₁ over the (σ_b², σ_w²) plane with the critical line χ₁ = 1 (parametric in q*).

    The colour is log χ₁ at the fixed point (float64 moments): below the line the ordered
    phase (χ₁ < 1, gradients vanish), above it the chaotic phase (χ₁ > 1, they explode).
    """
    from symdl.derive.gaussian import gaussian_activation, moment_float64, square_float64
    from symdl.derive.meanfield import critical_line

    act = gaussian_activation(activation)
    plt = _pyplot()
    sb_grid = np.linspace(0.0, sigma_b2_max, resolution)
    sw_grid = np.linspace(sigma_w2_max / resolution, sigma_w2_max, resolution)
    chi = np.full((resolution, resolution), np.nan)
    for j, sw in enumerate(sw_grid):
        for i, sb in enumerate(sb_grid):
            q = 1.0
            for _ in range(200):  # the length map converges fast off the critical line
                new = sw * square_float64(act, q) + sb
                if not np.isfinite(new) or new > 1e8:
                    break
                if abs(new - q) < 1e-10 * max(q, 1e-12) or new < 1e-12:
                    q = new
                    break
                q = new
            if np.isfinite(q) and q < 1e8:
                qq = max(q, 1e-9)
                chi[j, i] = sw * float(moment_float64(act, qq, "derivative_square").value)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    mesh = ax.pcolormesh(sb_grid, sw_grid, np.log(chi), cmap="coolwarm", vmin=-1, vmax=1,
                         shading="auto")  # fmt: skip
    fig.colorbar(mesh, ax=ax, label="log χ₁")
    # the critical line, parametric in q*: σ_w² = 1/E[φ'²], σ_b² = q* − E[φ²]/E[φ'²]
    (start,) = critical_line(act, [0.0], precision=12)
    line_b, line_w = [float(start.sigma_b2)], [float(start.sigma_w2)]
    for q in np.geomspace(1e-4, 50, 400):
        second = float(moment_float64(act, q, "square").value)
        deriv = float(moment_float64(act, q, "derivative_square").value)
        line_b.append(q - second / deriv)
        line_w.append(1 / deriv)
    keep = [
        i for i, (b, w) in enumerate(zip(line_b, line_w)) if b <= sigma_b2_max and w <= sigma_w2_max
    ]
    ax.plot([line_b[i] for i in keep], [line_w[i] for i in keep], "k-", lw=2, label="χ₁ = 1")
    ax.set(xlabel="σ_b²", ylabel="σ_w²", title=f"order to chaos: {act}",
           xlim=(0, sigma_b2_max), ylim=(sw_grid[0], sigma_w2_max))  # fmt: skip
    ax.text(0.05 * sigma_b2_max, 0.9 * sigma_w2_max, "chaotic", color="darkred")
    ax.text(0.7 * sigma_b2_max, 0.15 * sigma_w2_max, "ordered", color="navy")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
