r"""Batch normalisation (training mode) and layer normalisation, as blocks.

Batch norm on a batch :math:`\mathbf X\in\mathbb R^{B\times n}` normalises each feature
with the statistics of the batch (Ioffe & Szegedy 2015, Alg. 1):

.. math::

    \boldsymbol\mu = \tfrac1B\mathbf X^\top\mathbf 1,\quad
    \boldsymbol\sigma^2 = \tfrac1B\big((\mathbf X - \mathbf 1\boldsymbol\mu^\top)^{\odot 2}
    \big)^\top\mathbf 1,\quad
    \hat{\mathbf X} = (\mathbf X - \mathbf 1\boldsymbol\mu^\top)
    \operatorname{diag}(\boldsymbol\sigma^2 + \epsilon)^{-1/2},\quad
    \mathbf Y = \hat{\mathbf X}\operatorname{diag}(\boldsymbol\gamma)
    + \mathbf 1\boldsymbol\beta^\top

(the variance is the biased one, :math:`1/B`). With :math:`\mathbf G = \partial L/\partial
\mathbf Y` and :math:`\mathbf D = \partial L/\partial\hat{\mathbf X} = \mathbf G
\operatorname{diag}(\boldsymbol\gamma)`, the backward pass in compact form is

.. math::

    \frac{\partial L}{\partial\mathbf X} = \tfrac1B\big(B\mathbf D - \mathbf 1\mathbf 1^\top
    \mathbf D - \hat{\mathbf X}\operatorname{diag}(\mathbf 1^\top(\mathbf D\odot\hat{\mathbf X}))
    \big)\operatorname{diag}(\boldsymbol\sigma^2+\epsilon)^{-1/2},\quad
    \frac{\partial L}{\partial\boldsymbol\gamma} = (\mathbf G\odot\hat{\mathbf X})^\top\mathbf 1,
    \quad \frac{\partial L}{\partial\boldsymbol\beta} = \mathbf G^\top\mathbf 1,

and :func:`~symdl.derive.layers.batch_norm_steps.batch_norm_steps` computes the
step-by-step form of Ioffe & Szegedy (2015),
Sec. 3 (through :math:`\partial\ell/\partial\sigma^2` and :math:`\partial\ell/\partial\mu`).
Its :math:`\partial\ell/\partial\mu` has a second term, :math:`\partial\ell/\partial\sigma^2
\cdot\sum_i -2(x_i-\mu)/m`, which vanishes identically because :math:`\sum_i(x_i - \mu) = 0`.

``batch_norm2d(c)`` does the same per channel of a ``(c, h, w)`` input, with statistics
over the batch and both spatial axes (:math:`m = Bhw`). Layer norm (Ba, Kiros & Hinton
2016) normalises each example over its :math:`n` features instead (each token of a
``(T, n)`` sequence, over the last axis): the same formulas with the roles of the two
axes exchanged (:math:`m = n`), :math:`\boldsymbol\gamma,\boldsymbol\beta` still per
feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.errors import ShapeError

__all__ = ["DEFAULT_EPS", "BatchNorm", "BatchNorm2d", "LayerNorm", "positive_float"]

#: ε of PyTorch's BatchNorm1d/LayerNorm
DEFAULT_EPS = 1e-5


def positive_float(value: object, what: str) -> float:
    """``value`` as a finite positive float, or a :class:`ValueError` saying which argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a positive number, not {value!r}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise ValueError(f"{what} must be a finite positive number, not {value!r}")
    return out


def _rsqrt(a: Any) -> Any:
    """Entrywise :math:`a^{-1/2}` on a float array or an object array of SymPy terms."""
    if np.asarray(a).dtype == object:
        return np.vectorize(lambda v: 1 / sp.sqrt(v), otypes=[object])(a)
    return 1.0 / np.sqrt(a)


def _eps(eps: float, like: Any) -> Any:
    """ε as an exact rational (the float64's value) in symbolic work, else the float."""
    return sp.Rational(eps) if np.asarray(like).dtype == object else eps


class _Normalisation(Block):
    """Shared by the three: statistics over ``_stat_axes``, γ and β on the feature axis."""

    letter = "H"
    _name = ""

    def __init__(self, n: int, eps: float = DEFAULT_EPS) -> None:
        self.n = positive_int(n, f"{self.kind}'s size")
        self.eps = positive_float(eps, f"{self.kind}'s epsilon")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n,) if self.eps == DEFAULT_EPS else (self.n, self.eps)

    def _rank(self) -> int:
        return 1

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != self._rank() or shape[0] != self.n:
            want = f"({self.n},)" if self._rank() == 1 else f"({self.n}, h, w)"
            raise ShapeError(
                f"{self.describe()} takes inputs of shape {want} per example, but its input "
                f"has shape {shape_text(shape)}"
            )
        return shape

    def input_shape(self) -> Shape | None:
        return (self.n,) if self._rank() == 1 else None

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        # γ drawn near 1 but not at 1, so a check sees a rule that forgets γ
        return (
            Slot("gamma", (self.n,), r"\boldsymbol{\gamma}", "γ", init="uniform", doc="scale"),
            Slot("beta", (self.n,), r"\boldsymbol{\beta}", "β", init="zeros", doc="shift"),
        )

    # the axes of a batch-first array the statistics run over, and those γ's gradient sums
    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        return (0,) if ndim == 2 else (0, 2, 3)

    def _param_sum_axes(self, ndim: int) -> tuple[int, ...]:
        return (0,) if ndim == 2 else (0, 2, 3)

    def _along(self, ndim: int) -> str:
        """Indexing that puts a per-channel vector on axis 1 of a batch-first array."""
        return "" if ndim == 2 else "[:, None, None]"

    # ---- code -----------------------------------------------------------------------

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, x, nd = w.tmp, w.x, 1 + len(shape)
        ax = self._stat_axes(nd)
        along = self._along(nd)
        return [
            f"{t}mu = {x}.mean(axis={ax}, keepdims=True)",
            f"{t}xc = {x} - {t}mu",
            f"{t}var = ({t}xc * {t}xc).mean(axis={ax}, keepdims=True)",
            f"{t}rstd = 1.0 / np.sqrt({t}var + {self.eps!r})",
            f"{t}xhat = {t}xc * {t}rstd",
            f"{w.y} = {t}xhat * {w.params['gamma']}{along} + {w.params['beta']}{along}",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, nd = w.tmp, 1 + len(shape)
        ax, pax = self._stat_axes(nd), self._param_sum_axes(nd)
        along = self._along(nd)
        lines = [
            f"{w.grads['gamma']} = ({w.gy} * {t}xhat).sum(axis={pax})",
            f"{w.grads['beta']} = {w.gy}.sum(axis={pax})",
        ]
        if w.gx:
            lines += [
                f"{t}d = {w.gy} * {w.params['gamma']}{along}",
                f"{t}m = {w.x}.size // {t}mu.size",
                f"{w.gx} = ({t}rstd / {t}m) * ({t}m * {t}d - {t}d.sum(axis={ax}, keepdims=True)"
                f" - {t}xhat * ({t}d * {t}xhat).sum(axis={ax}, keepdims=True))",
            ]
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """The classic mistakes in a normalisation's backward pass, for
        :func:`symdl.testing.check_layer` to name."""
        if not w.gx:
            return {}
        right = self.backward_code(w, shape)
        t, ax = w.tmp, self._stat_axes(1 + len(shape))
        head, formula = right[:-1], right[-1]
        mean_term = f" - {t}d.sum(axis={ax}, keepdims=True)"
        var_term = f" - {t}xhat * ({t}d * {t}xhat).sum(axis={ax}, keepdims=True)"
        gamma = f"{w.gy} * {w.params['gamma']}{self._along(1 + len(shape))}"
        return {
            "forgets the term that flows back through the mean μ": [
                *head,
                formula.replace(mean_term, ""),
            ],
            "forgets the term that flows back through the variance σ²": [
                *head,
                formula.replace(var_term, ""),
            ],
            "treats the mean and the variance as constants (∂L/∂X = γ ⊙ ∂L/∂Y / σ)": [
                *head,
                f"{w.gx} = {t}rstd * {t}d",
            ],
            "forgets the scale γ in ∂L/∂X": [
                *(line.replace(gamma, w.gy) for line in head),
                formula,
            ],
        }

    # ---- the explicit rule ----------------------------------------------------------

    def _statistics(self, x: Any) -> tuple[Any, Any, Any, int]:
        ax = self._stat_axes(x.ndim)
        m = int(np.prod([x.shape[a] for a in ax]))
        mu = x.sum(axis=ax, keepdims=True) / m
        xc = x - mu
        var = (xc * xc).sum(axis=ax, keepdims=True) / m
        rstd = _rsqrt(var + _eps(self.eps, x))
        return xc, rstd, xc * rstd, m

    def _on_axis1(self, v: Any, ndim: int) -> Any:
        return v if ndim == 2 else v[:, None, None]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        _, _, xhat, _ = self._statistics(x)
        g, b = (self._on_axis1(params[k], x.ndim) for k in ("gamma", "beta"))
        return xhat * g + b

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        ax, pax = self._stat_axes(x.ndim), self._param_sum_axes(x.ndim)
        _, rstd, xhat, m = self._statistics(x)
        d = gy * self._on_axis1(params["gamma"], x.ndim)
        gx = (rstd / m) * (
            m * d - d.sum(axis=ax, keepdims=True) - xhat * (d * xhat).sum(axis=ax, keepdims=True)
        )
        return gx, {"gamma": (gy * xhat).sum(axis=pax), "beta": gy.sum(axis=pax)}

    # ---- equations ------------------------------------------------------------------

    def _m_tex(self) -> tuple[str, str]:
        return "B", "B"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        X, Xt = w.x_tex, w.x_text
        g, gt, b, bt = w.p_tex("gamma"), w.p_text("gamma"), w.p_tex("beta"), w.p_text("beta")
        m, mt = self._m_tex()
        return (
            Equation(
                r"\boldsymbol{\mu}",
                rf"\frac{{1}}{{{m}}} {X}^\top \mathbf{{1}}",
                f"μ = (1/{mt}) {Xt}ᵀ 1",
                self._where(),
            ),
            Equation(
                r"\boldsymbol{\sigma}^2",
                rf"\frac{{1}}{{{m}}} \left(\left({X} - \mathbf{{1}}\boldsymbol{{\mu}}^\top"
                rf"\right)^{{\odot 2}}\right)^\top \mathbf{{1}}",
                f"σ² = (1/{mt}) (({Xt} − 1μᵀ)^⊙2)ᵀ 1",
                f"the biased variance (1/{mt}, not 1/({mt}−1))",
            ),
            Equation(
                r"\hat{\mathbf{X}}",
                rf"\left({X} - \mathbf{{1}}\boldsymbol{{\mu}}^\top\right)"
                rf"\operatorname{{diag}}\left(\boldsymbol{{\sigma}}^2 + \epsilon\right)^{{-1/2}}",
                f"X̂ = ({Xt} − 1μᵀ) diag(σ² + ε)^(−1/2)",
                f"ε = {self.eps!r}",
            ),
            Equation(
                w.y_tex,
                rf"\hat{{\mathbf{{X}}}}\operatorname{{diag}}\left({g}\right)"
                rf" + \mathbf{{1}}{b}^\top",
                f"{w.y_text} = X̂ diag({gt}) + 1{bt}ᵀ",
            ),
        )

    def _where(self) -> str:
        return "the mean of each feature over the batch"

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        G, Gt = w.gy_tex(), w.gy_text()
        g, gt = w.p_tex("gamma"), w.p_text("gamma")
        m, mt = self._m_tex()
        D = r"\frac{\partial L}{\partial \hat{\mathbf{X}}}"
        r = r"\operatorname{diag}\left(\boldsymbol{\sigma}^2 + \epsilon\right)"
        return (
            Equation(D, rf"{G}\operatorname{{diag}}\left({g}\right)", f"∂L/∂X̂ = ({Gt}) diag({gt})"),
            Equation(
                r"\frac{\partial L}{\partial \boldsymbol{\sigma}^2}",
                rf"-\frac{{1}}{{2}}{r}^{{-3/2}}\left({D} \odot \left({w.x_tex} - \mathbf{{1}}"
                r"\boldsymbol{\mu}^\top\right)\right)^\top \mathbf{1}",
                f"∂L/∂σ² = −½ diag(σ² + ε)^(−3/2) (∂L/∂X̂ ⊙ ({w.x_text} − 1μᵀ))ᵀ 1",
                "Ioffe & Szegedy (2015), Sec. 3",
            ),
            Equation(
                r"\frac{\partial L}{\partial \boldsymbol{\mu}}",
                rf"-{r}^{{-1/2}}\left({D}\right)^\top \mathbf{{1}}",
                "∂L/∂μ = −diag(σ² + ε)^(−1/2) (∂L/∂X̂)ᵀ 1",
                f"Ioffe & Szegedy's second term, ∂ℓ/∂σ² · Σᵢ −2(xᵢ − μ)/{mt}, vanishes "
                "identically because Σᵢ (xᵢ − μ) = 0",
            ),
            Equation(
                w.gx_tex(),
                rf"{D}{r}^{{-1/2}} + \frac{{2}}{{{m}}}\left({w.x_tex} - \mathbf{{1}}"
                r"\boldsymbol{\mu}^\top\right)\operatorname{diag}\left(\frac{\partial L}"
                rf"{{\partial \boldsymbol{{\sigma}}^2}}\right) + \frac{{1}}{{{m}}}\mathbf{{1}}"
                r"\left(\frac{\partial L}{\partial \boldsymbol{\mu}}\right)^\top",
                f"{w.gx_text()} = ∂L/∂X̂ diag(σ² + ε)^(−1/2) + (2/{mt})({w.x_text} − 1μᵀ) "
                f"diag(∂L/∂σ²) + (1/{mt}) 1(∂L/∂μ)ᵀ",
                "Ioffe & Szegedy (2015), Sec. 3, step by step",
            ),
            Equation(
                w.gx_tex(),
                rf"\frac{{1}}{{{m}}}\left({m}{D} - \mathbf{{1}}\mathbf{{1}}^\top{D} - "
                rf"\hat{{\mathbf{{X}}}}\operatorname{{diag}}\left(\mathbf{{1}}^\top\left({D}"
                rf"\odot\hat{{\mathbf{{X}}}}\right)\right)\right){r}^{{-1/2}}",
                f"{w.gx_text()} = (1/{mt})({mt} ∂L/∂X̂ − 11ᵀ ∂L/∂X̂ − X̂ diag(1ᵀ(∂L/∂X̂ ⊙ X̂))) "
                "diag(σ² + ε)^(−1/2)",
                "the same, in compact form: what the generated code computes",
            ),
            Equation(
                w.g_tex("gamma"),
                rf"\left({G} \odot \hat{{\mathbf{{X}}}}\right)^\top \mathbf{{1}}",
                f"{w.g_text('gamma')} = ({Gt} ⊙ X̂)ᵀ 1",
            ),
            Equation(
                w.g_tex("beta"),
                rf"\left({G}\right)^\top \mathbf{{1}}",
                f"{w.g_text('beta')} = ({Gt})ᵀ 1",
            ),
        )


class BatchNorm(_Normalisation):
    """Batch norm over a batch of vectors (training mode: batch statistics)."""

    kind = "batch_norm"


class BatchNorm2d(_Normalisation):
    """Batch norm per channel of ``(c, h, w)`` inputs: statistics over batch, h and w."""

    kind = "batch_norm2d"

    def _rank(self) -> int:
        return 3

    def _m_tex(self) -> tuple[str, str]:
        return "Bhw", "Bhw"

    def _where(self) -> str:
        return "per channel, over the batch and both spatial axes (X reshaped to Bhw × c)"


class LayerNorm(_Normalisation):
    """Layer norm: each example (each token of a ``(T, n)`` sequence) normalised over its
    own ``n`` features, the last axis."""

    kind = "layer_norm"

    def output_shape(self, shape: Shape) -> Shape:
        if not shape or shape[-1] != self.n:
            raise ShapeError(
                f"{self.describe()} normalises a last axis of size {self.n}, but its input "
                f"has shape {shape_text(shape)}"
            )
        return shape

    def _stat_axes(self, ndim: int) -> tuple[int, ...]:
        return (ndim - 1,)

    def _param_sum_axes(self, ndim: int) -> tuple[int, ...]:
        return tuple(range(ndim - 1))

    def _along(self, ndim: int) -> str:
        return ""

    def _on_axis1(self, v: Any, ndim: int) -> Any:
        return v

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        X, Xt = w.x_tex, w.x_text
        g, gt, b, bt = w.p_tex("gamma"), w.p_text("gamma"), w.p_tex("beta"), w.p_text("beta")
        return (
            Equation(
                r"\boldsymbol{\mu}",
                rf"\frac{{1}}{{n}} {X} \mathbf{{1}}",
                f"μ = (1/n) {Xt} 1",
                "one mean per example (a B-vector); a (T, n) sequence: one per token",
            ),
            Equation(
                r"\boldsymbol{\sigma}^2",
                rf"\frac{{1}}{{n}} \left({X} - \boldsymbol{{\mu}}\mathbf{{1}}^\top"
                rf"\right)^{{\odot 2}} \mathbf{{1}}",
                f"σ² = (1/n) ({Xt} − μ1ᵀ)^⊙2 1",
                "the biased variance of each example's features",
            ),
            Equation(
                r"\hat{\mathbf{X}}",
                r"\operatorname{diag}\left(\boldsymbol{\sigma}^2 + \epsilon\right)^{-1/2}"
                rf"\left({X} - \boldsymbol{{\mu}}\mathbf{{1}}^\top\right)",
                f"X̂ = diag(σ² + ε)^(−1/2) ({Xt} − μ1ᵀ)",
                f"ε = {self.eps!r}",
            ),
            Equation(
                w.y_tex,
                rf"\hat{{\mathbf{{X}}}}\operatorname{{diag}}\left({g}\right)"
                rf" + \mathbf{{1}}{b}^\top",
                f"{w.y_text} = X̂ diag({gt}) + 1{bt}ᵀ",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        G, Gt = w.gy_tex(), w.gy_text()
        g, gt = w.p_tex("gamma"), w.p_text("gamma")
        D = r"\frac{\partial L}{\partial \hat{\mathbf{X}}}"
        r = r"\operatorname{diag}\left(\boldsymbol{\sigma}^2 + \epsilon\right)^{-1/2}"
        return (
            Equation(D, rf"{G}\operatorname{{diag}}\left({g}\right)", f"∂L/∂X̂ = ({Gt}) diag({gt})"),
            Equation(
                w.gx_tex(),
                rf"\frac{{1}}{{n}}{r}\left(n{D} - {D}\mathbf{{1}}\mathbf{{1}}^\top - "
                rf"\operatorname{{diag}}\left(\left({D}\odot\hat{{\mathbf{{X}}}}\right)"
                r"\mathbf{1}\right)\hat{\mathbf{X}}\right)",
                f"{w.gx_text()} = (1/n) diag(σ² + ε)^(−1/2) (n ∂L/∂X̂ − ∂L/∂X̂ 11ᵀ − "
                "diag((∂L/∂X̂ ⊙ X̂) 1) X̂)",
                "batch norm's compact rule with the two axes exchanged: the mean and variance "
                "paths of each example",
            ),
            Equation(
                w.g_tex("gamma"),
                rf"\left({G} \odot \hat{{\mathbf{{X}}}}\right)^\top \mathbf{{1}}",
                f"{w.g_text('gamma')} = ({Gt} ⊙ X̂)ᵀ 1",
            ),
            Equation(
                w.g_tex("beta"),
                rf"\left({G}\right)^\top \mathbf{{1}}",
                f"{w.g_text('beta')} = ({Gt})ᵀ 1",
            ),
        )


_IOFFE = (
    "Ioffe & Szegedy, Batch normalization: accelerating deep network training by reducing "
    "internal covariate shift, ICML 2015, Alg. 1 and Sec. 3"
)

LAYERS.add(
    LayerKind(
        "batch_norm",
        BatchNorm,
        "batch_norm(n, eps=1e-5)",
        "batch normalisation of n features, training mode (batch statistics, biased "
        "variance), learnable scale γ and shift β",
        examples=(((2,), {}, (2,)), ((3,), {"eps": 0.1}, (3,))),
        reference=_IOFFE,
        aliases=("batchnorm", "batch_norm1d"),
    )
)
LAYERS.add(
    LayerKind(
        "batch_norm2d",
        BatchNorm2d,
        "batch_norm2d(c, eps=1e-5)",
        "batch normalisation per channel of (c, h, w) inputs, statistics over the batch "
        "and both spatial axes, training mode",
        examples=(((1,), {}, (1, 1, 2)), ((2,), {}, (2, 1, 2))),
        reference=_IOFFE + " (convolutional case: Sec. 3.2)",
        aliases=("batchnorm2d",),
    )
)
LAYERS.add(
    LayerKind(
        "layer_norm",
        LayerNorm,
        "layer_norm(n, eps=1e-5)",
        "layer normalisation over the last axis (n features): each example, or each token "
        "of a (T, n) sequence, learnable γ and β",
        examples=(((2,), {}, (2,)), ((2,), {}, (2, 2))),
        reference="Ba, Kiros & Hinton, Layer normalization, arXiv:1607.06450 (2016)",
        aliases=("layernorm",),
    )
)
