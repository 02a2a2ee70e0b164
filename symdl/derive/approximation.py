r"""Universal approximation, constructively: networks built with a certified error bound.

The theorem (Cybenko 1989; Hornik 1991; Leshno et al. 1993) only says a network exists.
The constructions here build one and prove how good it is:

- :func:`relu_interpolation` — one hidden ReLU layer, :math:`h^2/8\cdot\max|f''|`;
- :func:`sigmoid_staircase` — any bounded monotone catalogue activation, modulus of
  continuity plus sigmoid tails;
- :func:`yarotsky_square`, :func:`yarotsky_product`, :func:`telgarsky_sawtooth` — deep
  ReLU networks whose error or piece count is computed exactly;
- :func:`deep_interpolation` — piecewise-quadratic interpolation whose quadratic parts are
  Yarotsky's deep squares;
- :func:`triangulation_interpolation` — f(x, y) on a triangulated rectangle, depth 4.

Each returns an :class:`Approximation`: the network (exact weights, NumPy arrays, JSON,
a forward function), the bound with its status (``proved`` or ``estimated``) and the
evidence, including a dense-grid and high-precision check of :math:`\|f - f_n\|_\infty`.
:func:`approximate` picks the construction by activation name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.derive.approximation_2d import triangulation_interpolation
from symdl.derive.approximation_certificate import Approximation, target
from symdl.derive.approximation_deep import (
    PieceCount,
    telgarsky_sawtooth,
    yarotsky_product,
    yarotsky_square,
)
from symdl.derive.approximation_network import Layer, Network
from symdl.derive.approximation_pieces import Piece, affine_pieces
from symdl.derive.approximation_quadratic import deep_interpolation
from symdl.derive.approximation_relu import relu_interpolation
from symdl.derive.approximation_sigmoid import sigmoid_staircase
from symdl.errors import UnsupportedError

__all__ = [
    "Approximation",
    "ConvergencePoint",
    "Layer",
    "Network",
    "Piece",
    "PieceCount",
    "affine_pieces",
    "approximate",
    "convergence",
    "deep_interpolation",
    "relu_interpolation",
    "sigmoid_staircase",
    "telgarsky_sawtooth",
    "triangulation_interpolation",
    "yarotsky_product",
    "yarotsky_square",
]


def approximate(
    f: str | sp.Expr,
    on: tuple[object, object],
    *,
    eps: float,
    activation: str = "relu",
    points: int | None = None,
    seed: int = 0,
) -> Approximation:
    """A network within ``eps`` of ``f`` on the interval ``on``, with its certificate.

    ``activation`` is ``relu`` (shallow interpolation), ``deep`` (deep ReLU,
    :func:`deep_interpolation`) or a bounded monotone catalogue activation (``sigmoid``,
    ``tanh``, ``softsign``, ``hard_sigmoid``, …) for the staircase. A target in ``x`` and
    ``y`` is interpolated on the square ``on × on`` (:func:`triangulation_interpolation`,
    ReLU only).

    >>> approximate("sin(x)", (0, "pi"), eps=1e-3).neurons
    36
    """
    a, b = on
    if sp.Symbol("y", real=True) in target(f, ("x", "y")).free_symbols:
        if activation != "relu":
            raise UnsupportedError(
                f"a target in x and y is built with ReLU interpolation only, not {activation}"
            )
        return triangulation_interpolation(f, ((a, b), (a, b)), eps=eps, seed=seed)
    if activation == "relu":
        return relu_interpolation(f, a, b, eps=eps, points=points, seed=seed)
    if activation == "deep":
        return deep_interpolation(f, a, b, eps=eps, points=points, seed=seed)
    ACTIVATIONS.get(activation)  # unknown names fail with a suggestion
    return sigmoid_staircase(f, a, b, eps=eps, activation=activation, points=points, seed=seed)


@dataclass(frozen=True)
class ConvergencePoint:
    """One construction at one target error: its size, bound and observed error."""

    construction: str  # the activation argument of :func:`approximate`
    eps: float
    neurons: int
    bound: float
    observed: float
    status: str


def convergence(
    f: str | sp.Expr,
    on: tuple[object, object],
    eps_values: Sequence[float],
    *,
    activations: Sequence[str] = ("relu", "sigmoid", "deep"),
    points: int | None = None,
) -> tuple[ConvergencePoint, ...]:
    """Error against network size: :func:`approximate` for each activation and ε.

    >>> [p.neurons for p in convergence("sin(x)", (0, "pi"), [1e-2, 1e-3], activations=["relu"])]
    [12, 36]
    """
    out = []
    for activation in activations:
        for eps in eps_values:
            r = approximate(f, on, eps=eps, activation=activation, points=points)
            out.append(ConvergencePoint(activation, eps, r.neurons, r.bound, r.observed, r.status))
    return tuple(out)
