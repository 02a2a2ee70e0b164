r"""Inverted dropout (Srivastava et al. 2014; the 1/(1 − p) scaling at training time).

With a keep-mask :math:`\mathbf M`, each entry drawn :math:`m\sim\mathrm{Bernoulli}(1-p)`
(kept with probability :math:`1-p`),

.. math::

    \mathbf Y = \frac{\mathbf X\odot\mathbf M}{1-p},\qquad
    \frac{\partial L}{\partial\mathbf X} = \frac{\partial L}{\partial\mathbf Y}\odot
    \frac{\mathbf M}{1-p}.

The mask is data (drawn once per forward pass, not differentiated). The scaling makes the
layer an identity in expectation, so nothing changes at test time: per entry
:math:`\mathbb E[y] = x` and :math:`\operatorname{Var}[y] = x^2\,p/(1-p)`;
:func:`dropout_moments` derives both from the Bernoulli distribution with SymPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.errors import ShapeError
from symdl.verify import Evidence, Report

__all__ = ["Dropout", "DropoutMoments", "dropout_moments"]


def drop_probability(value: object) -> float:
    """``value`` as a float in [0, 1), or a :class:`ValueError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"dropout's probability p must be a number in [0, 1), not {value!r}")
    p = float(value)
    if not (math.isfinite(p) and 0.0 <= p < 1.0):
        raise ValueError(f"dropout's probability p must be in [0, 1), not {value!r}")
    return p


class Dropout(Block):
    kind = "dropout"
    letter = "D"

    def __init__(self, p: float = 0.5) -> None:
        self.p = drop_probability(p)

    @property
    def args(self) -> tuple[object, ...]:
        return (self.p,)

    def _scale_exact(self) -> Any:
        """1/(1 − p) with p the exact value of its float."""
        return 1 / (1 - sp.Rational(self.p))

    def output_shape(self, shape: Shape) -> Shape:
        if not shape:
            raise ShapeError(f"{self.describe()} takes an array per example, not a scalar")
        return shape

    def data(self, shape: Shape) -> tuple[Slot, ...]:
        return (
            Slot(
                "M",
                shape,
                r"\mathbf{M}",
                "M",
                init="mask",
                keep=1.0 - self.p,
                doc=f"keep-mask, entries Bernoulli(1 − p), p = {self.p!r}",
            ),
        )

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        m, mt = w.data_tex["M"], w.data_text["M"]
        return (
            Equation(
                w.y_tex,
                rf"\frac{{1}}{{1 - {self.p!r}}}\,{w.x_tex} \odot {m}",
                f"{w.y_text} = {w.x_text} ⊙ {mt} / (1 − {self.p!r})",
                "inverted dropout; M has Bernoulli(1 − p) entries, so E[Y] = X",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        m, mt = w.data_tex["M"], w.data_text["M"]
        return (
            Equation(
                w.gx_tex(),
                rf"\frac{{1}}{{1 - {self.p!r}}}\,{w.gy_tex()} \odot {m}",
                f"{w.gx_text()} = ({w.gy_text()}) ⊙ {mt} / (1 − {self.p!r})",
                "the same mask as the forward pass",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        return [f"{w.y} = {w.x} * {w.data['M']} * {1.0 / (1.0 - self.p)!r}"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        return [f"{w.gx} = {w.gy} * {w.data['M']} * {1.0 / (1.0 - self.p)!r}"]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return x * data["M"] * self._scale_exact()

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        return gy * data["M"] * self._scale_exact(), {}


@dataclass(frozen=True)
class DropoutMoments:
    r"""The mean and variance of one dropout output entry :math:`y` given its input
    :math:`x`, over the mask entry :math:`m\sim\mathrm{Bernoulli}(1-p)`, as derived, and
    the two claims :math:`\mathbb E[y] = x` and :math:`\operatorname{Var}[y] = x^2p/(1-p)`
    checked against them."""

    inverted: bool
    output: sp.Expr
    expectation: sp.Expr
    variance: sp.Expr
    expectation_claim: Report
    variance_claim: Report


def dropout_moments(*, inverted: bool = True) -> DropoutMoments:
    r"""Derive :math:`\mathbb E[y]` and :math:`\operatorname{Var}[y]` for
    :math:`y = x\,m/(1-p)` (``inverted``) or :math:`y = x\,m` (the original dropout of
    Srivastava et al. 2014, which rescales at test time instead), with
    :math:`m\sim\mathrm{Bernoulli}(1-p)`, by SymPy's ``sympy.stats`` (the expectation
    over the two outcomes of :math:`m`, exactly), and check the inverted-dropout claims
    :math:`\mathbb E[y] = x` and :math:`\operatorname{Var}[y] = x^2 p/(1-p)` against them.

    A claim whose difference from the derived moment simplifies to 0 for symbolic
    :math:`x` and :math:`p\in(0,1)` is ``proved``; otherwise a rational point where the
    difference is exactly nonzero refutes it.

    >>> dropout_moments().variance_claim.verdict
    'proved'
    >>> dropout_moments(inverted=False).expectation_claim.verdict
    'refuted'
    """
    from sympy.stats import Bernoulli, E, variance

    x = sp.Symbol("x", real=True)
    p = sp.Symbol("p", positive=True)
    m = Bernoulli("m", 1 - p)
    y = x * m / (1 - p) if inverted else x * m
    mean = sp.factor(sp.simplify(E(y)))
    var = sp.factor(sp.simplify(variance(y)))
    form = "x·m/(1 − p)" if inverted else "x·m"
    return DropoutMoments(
        inverted=bool(inverted),
        output=y,
        expectation=mean,
        variance=var,
        expectation_claim=_moment_claim(f"E[{form}] = x", mean, x, x, p),
        variance_claim=_moment_claim(f"Var[{form}] = x²·p/(1 − p)", var, x**2 * p / (1 - p), x, p),
    )


def _moment_claim(
    claim: str, derived: sp.Expr, claimed: sp.Expr, x: sp.Symbol, p: sp.Symbol
) -> Report:
    difference = sp.simplify(derived - claimed)
    if difference == 0:
        evidence = Evidence(
            "symbolic", "proved", "the derived moment minus the claim simplifies to 0"
        )
        return Report("proved", claim, "symbolic", (evidence,))
    for point in ({x: 1, p: sp.Rational(1, 2)}, {x: 2, p: sp.Rational(1, 3)}):
        value = difference.subs(point)
        if value.is_number and value != 0:
            detail = (
                f"at x = {point[x]}, p = {point[p]}: derived {derived.subs(point)}, "
                f"claimed {claimed.subs(point)}"
            )
            return Report(
                "refuted",
                claim,
                "symbolic",
                (Evidence("symbolic", "differ", detail, points=1),),
                counterexample={str(k): str(v) for k, v in point.items()},
                diagnosis=(detail,),
            )
    return Report(
        "undecided",
        claim,
        "symbolic",
        (Evidence("symbolic", "inconclusive", f"difference {difference} not decided"),),
    )


LAYERS.add(
    LayerKind(
        "dropout",
        Dropout,
        "dropout(p)",
        "inverted dropout: zero each entry with probability p, scale the rest by 1/(1 − p) "
        "(training mode; the mask is data)",
        examples=(((0.5,), {}, (3,)), ((0.2,), {}, (2, 2))),
        reference="Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, Dropout: a "
        "simple way to prevent neural networks from overfitting, JMLR 15 (2014)",
    )
)
