r"""``flatten``: each example's tensor as one vector, between a convolution stack and a
dense layer.

An input of per-example shape :math:`(C, H, W)` (any shape) becomes a vector of
:math:`CHW` entries in row-major order, :math:`Y_{n,\,cHW + hW + w} = X_{n,c,h,w}`, as
``torch.flatten(x, 1)`` and ``numpy.reshape`` do. It only moves entries, so the backward
pass moves them back: :math:`\partial L/\partial\mathbf X = \operatorname{reshape}
(\partial L/\partial\mathbf Y, (B, C, H, W))`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Wiring
from symdl.derive.layers.dense import shape_text
from symdl.errors import ShapeError

__all__ = ["Flatten"]


class Flatten(Block):
    """``flatten``: per example (C, H, W) → (C·H·W,).

    >>> Flatten().output_shape((8, 13, 13))
    (1352,)
    """

    kind = "flatten"
    letter = "H"

    @property
    def args(self) -> tuple[object, ...]:
        return ()

    def output_shape(self, shape: Shape) -> Shape:
        if not shape:
            raise ShapeError("flatten takes a tensor per example, but its input is a scalar")
        return (int(np.prod(shape)),)

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.y_tex,
                rf"\operatorname{{vec}}\left({w.x_tex}\right)",
                f"{w.y_text} = vec({w.x_text})",
                f"each example's {shape_text(shape)} entries as one vector of "
                f"{int(np.prod(shape))}, in row-major order",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        if not w.gx:
            return ()
        return (
            Equation(
                w.gx_tex(),
                rf"\operatorname{{reshape}}\left({w.gy_tex()}\right)",
                f"{w.gx_text()} = reshape({w.gy_text()}, B×{shape_text(shape)})",
                "the entries moved back; nothing is added or scaled",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        return [f"{w.y} = {w.x}.reshape({w.x}.shape[0], {int(np.prod(shape))})"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        return [f"{w.gx} = {w.gy}.reshape({w.x}.shape)"]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return x.reshape(x.shape[0], -1)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        return gy.reshape(x.shape), {}


LAYERS.add(
    LayerKind(
        "flatten",
        Flatten,
        "flatten",
        "each example's tensor as one vector (row-major): (C, H, W) → (C·H·W,)",
        examples=(((), {}, (2, 2, 3)), ((), {}, (3, 4))),
        reference="PyTorch torch.nn.Flatten (start_dim=1)",
    )
)
