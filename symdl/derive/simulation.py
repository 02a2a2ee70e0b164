r"""Monte Carlo checks of the variance recursions on random networks.

``networks`` independent fully connected networks of constant ``width`` are drawn
(:math:`W^l_{ij} \sim N(0, \sigma_w^2/n)`, :math:`b^l_i \sim N(0, \sigma_b^2)`), each fed a
``batch`` of inputs with i.i.d. :math:`N(0, q_0)` coordinates. Per network and layer the
statistic is the average over units and inputs of :math:`(z^l_i)^2` (forward) and of
:math:`(\delta^l_i)^2` (backward, with :math:`\delta^L \sim N(0, 1)` injected at the top and
:math:`\delta^l = \phi'(z^l) \odot W^{l+1\,T}\delta^{l+1}`). The networks are independent, so
per layer the statistic's mean has a Student-t confidence interval; the level is
*simultaneous* over all layers and both directions (Bonferroni), so a prediction outside
any interval is evidence at the stated level, not one of many lucky misses.

The interval covers sampling error only. Named finite-width effects: the prediction is the
infinite-width limit; at width n the layer-l statistic is biased by O(l/n) where
:math:`q \mapsto E[\phi(\sqrt q z)^2]` is curved (zero for ReLU and linear units), and the
backward pass reuses the forward weights, which the prediction's gradient-independence
assumption ignores (Schoenholz et al. 2017, §4; Yang 2019). Deep ReLU statistics are
close to log-normal with :math:`\operatorname{Var}\log \approx 5l/n` (Hanin & Rolnick,
NeurIPS 2018), so the t-interval needs enough networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from symdl.catalog import Activation
from symdl.catalog.entry import X
from symdl.codegen import elementwise_function
from symdl.derive.gaussian import GaussianActivation, gaussian_activation
from symdl.derive.variance import VarianceProfile, propagate
from symdl.errors import SymdlError

__all__ = ["LayerCheck", "Simulation", "simulate"]


@dataclass(frozen=True)
class LayerCheck:
    """Prediction against the sample mean over networks, with its confidence interval."""

    layer: int
    predicted: float
    observed: float
    low: float
    high: float

    @property
    def inside(self) -> bool:
        return self.low <= self.predicted <= self.high


@dataclass(frozen=True)
class Simulation:
    """The simulation, its settings and the per-layer comparisons."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    width: int
    depth: int
    networks: int
    batch: int
    seed: int
    confidence: float  # simultaneous over all intervals
    forward: tuple[LayerCheck, ...]
    gradient: tuple[LayerCheck, ...]
    notes: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return all(c.inside for c in (*self.forward, *self.gradient))


def simulate(
    activation: str | Activation | GaussianActivation,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    depth: int,
    width: int = 500,
    networks: int = 50,
    batch: int = 8,
    q0: float = 1.0,
    seed: int = 0,
    confidence: float = 0.99,
    parameters: Mapping[str, object] | None = None,
    prediction: VarianceProfile | None = None,
) -> Simulation:
    """Draw the networks, measure, and compare with :func:`~symdl.derive.variance.propagate`.

    >>> sim = simulate("relu", sigma_w2=2.0, depth=3, width=50, networks=10, batch=2)
    >>> (sim.agrees, len(sim.forward))
    (True, 3)
    """
    act = gaussian_activation(activation, **(parameters or {}))
    if depth < 1 or width < 1 or networks < 3 or batch < 1:
        raise ValueError("need depth ≥ 1, width ≥ 1, networks ≥ 3 and batch ≥ 1")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if prediction is None:
        prediction = propagate(act, depth=depth, sigma_w2=sigma_w2, sigma_b2=sigma_b2, q0=q0)
    f = elementwise_function(act.expr, X, name=act.name)
    df = elementwise_function(act.derivative, X, name=act.name + "_grad")
    forward = np.empty((networks, depth))
    backward = np.empty((networks, depth))
    for s in range(networks):
        rng = np.random.default_rng(np.random.SeedSequence([seed, s]))
        try:
            with np.errstate(over="raise", invalid="raise"):
                forward[s], backward[s] = _one_network(
                    rng, f, df, width, depth, batch, sigma_w2, sigma_b2, q0
                )
        except FloatingPointError as err:
            raise SymdlError(
                f"the simulated network overflowed ({err}); σ_w² = {sigma_w2} makes the "
                f"signal explode over {depth} layers"
            ) from None
    # two directions × depth layers share the error budget 1 − confidence
    per_interval = 1 - (1 - confidence) / (2 * depth)
    t = float(stats.t.ppf(0.5 + per_interval / 2, networks - 1))
    fwd = _checks(forward, [s.q for s in prediction.layers], t)
    grad = _checks(backward, [s.gradient for s in prediction.layers], t)
    notes = (
        f"intervals: Student t with {networks - 1} degrees of freedom, simultaneous "
        f"{confidence:.0%} over {2 * depth} intervals (Bonferroni, each at "
        f"{per_interval:.5%})",
        f"finite width {width}: the prediction is the infinite-width limit; the bias is "
        f"O(l/n) where E[φ(√q z)²] is curved in q (none for ReLU/linear), plus the "
        "correlation of forward and backward weights ignored by the gradient prediction",
    )
    return Simulation(
        str(act), sigma_w2, sigma_b2, width, depth, networks, batch, seed, confidence,
        fwd, grad, notes,
    )  # fmt: skip


def _one_network(
    rng: np.random.Generator,
    f: object,
    df: object,
    n: int,
    depth: int,
    batch: int,
    sw: float,
    sb: float,
    q0: float,
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, batch)) * np.sqrt(q0)
    weights, slopes = [], []
    fwd = np.empty(depth)
    for layer in range(depth):
        w = rng.standard_normal((n, n)) * np.sqrt(sw / n)
        b = rng.standard_normal((n, 1)) * np.sqrt(sb)
        z = w @ x + b
        fwd[layer] = np.mean(z * z)
        weights.append(w)
        slopes.append(df(z))  # type: ignore[operator]
        x = f(z)  # type: ignore[operator]
    bwd = np.empty(depth)
    delta = rng.standard_normal((n, batch))
    bwd[depth - 1] = np.mean(delta * delta)
    for layer in range(depth - 2, -1, -1):
        delta = slopes[layer] * (weights[layer + 1].T @ delta)
        bwd[layer] = np.mean(delta * delta)
    return fwd, bwd


def _checks(samples: np.ndarray, predicted: list[float], t: float) -> tuple[LayerCheck, ...]:
    mean = samples.mean(axis=0)
    half = t * samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return tuple(
        LayerCheck(i + 1, float(p), float(m), float(m - h), float(m + h))
        for i, (p, m, h) in enumerate(zip(predicted, mean, half))
    )
