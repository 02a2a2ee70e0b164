r"""Loss blocks: the scalar that ends a network, as a mean over the batch.

* ``softmax_cross_entropy``: :math:`L = -\frac1B\sum_{b,j} Y_{bj}\log\operatorname{softmax}
  (\mathbf z_b)_j`, with :math:`\partial L/\partial\mathbf Z = (\mathbf P - \mathbf Y)/B`
  where :math:`\mathbf P = \operatorname{softmax}(\mathbf Z)` row by row. The rule needs
  each target row to sum to 1 (one-hot or a distribution); in general the gradient is
  :math:`(\mathbf P\,\operatorname{diag}(\mathbf Y\mathbf 1) - \mathbf Y)/B`.
* ``sigmoid_cross_entropy`` (binary cross-entropy on logits): :math:`L = \frac1{Bk}\sum
  \operatorname{softplus}(Z) - Y\odot Z`, gradient :math:`(\sigma(\mathbf Z) - \mathbf
  Y)/(Bk)`.
* ``mse``: :math:`L = \frac1{Bk}\sum(\hat{\mathbf Y} - \mathbf Y)^2`, gradient
  :math:`2(\hat{\mathbf Y} - \mathbf Y)/(Bk)` (the mean over every entry, as PyTorch's
  ``MSELoss``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.errors import ShapeError
from symdl.nodes import sigmoid, softplus

__all__ = ["MeanSquaredError", "SigmoidCrossEntropy", "SoftmaxCrossEntropy"]


class _Loss(Block):
    is_loss = True
    letter = "L"

    @property
    def args(self) -> tuple[object, ...]:
        return ()

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1:
            raise ShapeError(
                f"{self.kind} takes a vector per example, but its input has shape "
                f"{'×'.join(map(str, shape)) or 'scalar'}; flatten it first"
            )
        return ()

    def data(self, shape: Shape) -> tuple[Slot, ...]:
        return (Slot("Y", shape, r"\mathbf{Y}", "Y", init=self._targets, doc="targets"),)

    _targets = "uniform"


class SoftmaxCrossEntropy(_Loss):
    kind = "softmax_cross_entropy"
    _targets = "one_hot"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                r"\mathbf{P}",
                rf"\operatorname{{softmax}}\left({w.x_tex}\right)",
                f"P = softmax({w.x_text})",
                "row by row",
            ),
            Equation(
                "L",
                rf"-\frac{{1}}{{B}}\,\mathbf{{1}}^\top"
                rf"\left({y} \odot \log \mathbf{{P}}\right)\mathbf{{1}}",
                f"L = −(1/B) 1ᵀ({yt} ⊙ log P) 1",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                w.gx_tex(),
                rf"\frac{{1}}{{B}}\left(\mathbf{{P}} - {y}\right)",
                f"{w.gx_text()} = (P − {yt})/B",
                "each target row sums to 1",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, y = w.tmp, w.data["Y"]
        return [
            f"{t}shift = {w.x} - {w.x}.max(axis=1, keepdims=True)",
            f"{t}logp = {t}shift - np.log(np.exp({t}shift).sum(axis=1, keepdims=True))",
            f"{w.y} = -({y} * {t}logp).sum() / {w.x}.shape[0]",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, y = w.tmp, w.data["Y"]
        return [f"{w.gx} = {w.gy} * (np.exp({t}logp) - {y}) / {w.x}.shape[0]"] if w.gx else []

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        total = sp.Integer(0)
        for b in range(x.shape[0]):
            norm = sp.log(sum(sp.exp(v) for v in x[b]))
            total += sum(data["Y"][b, j] * (x[b, j] - norm) for j in range(x.shape[1]))
        return -total / x.shape[0]

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        p = np.empty(x.shape, dtype=object)
        for b in range(x.shape[0]):
            norm = sum(sp.exp(v) for v in x[b])
            for j in range(x.shape[1]):
                p[b, j] = sp.exp(x[b, j]) / norm
        return gy * (p - data["Y"]) / x.shape[0], {}


class SigmoidCrossEntropy(_Loss):
    kind = "sigmoid_cross_entropy"
    _targets = "probabilities"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                "L",
                rf"\frac{{1}}{{Bk}}\,\mathbf{{1}}^\top\left(\operatorname{{softplus}}"
                rf"\left({w.x_tex}\right) - {y} \odot {w.x_tex}\right)\mathbf{{1}}",
                f"L = (1/(Bk)) 1ᵀ(softplus({w.x_text}) − {yt} ⊙ {w.x_text}) 1",
                "binary cross-entropy on logits",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                w.gx_tex(),
                rf"\frac{{1}}{{Bk}}\left(\sigma\left({w.x_tex}\right) - {y}\right)",
                f"{w.gx_text()} = (σ({w.x_text}) − {yt})/(Bk)",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        y = w.data["Y"]
        return [f"{w.y} = (np.logaddexp(0.0, {w.x}) - {y} * {w.x}).sum() / {w.x}.size"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        y = w.data["Y"]
        return [f"{w.gx} = {w.gy} * (special.expit({w.x}) - {y}) / {w.x}.size"] if w.gx else []

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        terms = [softplus(v) - t * v for v, t in zip(x.flat, data["Y"].flat)]
        return sp.Add(*terms) / x.size

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        s = np.vectorize(sigmoid, otypes=[object])(x)
        return gy * (s - data["Y"]) / x.size, {}


class MeanSquaredError(_Loss):
    kind = "mse"
    _targets = "normal"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                "L",
                rf"\frac{{1}}{{Bk}}\left\lVert {w.x_tex} - {y}\right\rVert_F^2",
                f"L = ‖{w.x_text} − {yt}‖²_F / (Bk)",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        y, yt = w.data_tex["Y"], w.data_text["Y"]
        return (
            Equation(
                w.gx_tex(),
                rf"\frac{{2}}{{Bk}}\left({w.x_tex} - {y}\right)",
                f"{w.gx_text()} = 2({w.x_text} − {yt})/(Bk)",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, y = w.tmp, w.data["Y"]
        return [f"{t}r = {w.x} - {y}", f"{w.y} = ({t}r * {t}r).sum() / {w.x}.size"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t = w.tmp
        return [f"{w.gx} = {w.gy} * (2.0 / {w.x}.size) * {t}r"] if w.gx else []

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return sp.Add(*[(v - t) ** 2 for v, t in zip(x.flat, data["Y"].flat)]) / x.size

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        return gy * 2 * (x - data["Y"]) / x.size, {}


def _kind(cls: type[_Loss], doc: str, aliases: tuple[str, ...] = ()) -> None:
    LAYERS.add(
        LayerKind(
            cls.kind,
            cls,
            cls.kind,
            doc,
            examples=(((), {}, (3,)), ((), {}, (2,))),
            aliases=aliases,
        )
    )


_kind(
    SoftmaxCrossEntropy,
    "softmax over each row, then cross-entropy with the targets, mean over the batch",
    ("cross_entropy",),
)
_kind(
    SigmoidCrossEntropy,
    "binary cross-entropy on logits, mean over every entry",
    ("bce_with_logits",),
)
_kind(MeanSquaredError, "mean squared error over every entry", ("mse_loss",))
