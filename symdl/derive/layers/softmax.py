r"""Softmax as a layer: row by row over the last axis.

.. math::

    \mathbf P = \operatorname{softmax}(\mathbf Z),\quad P_{bj} = \frac{e^{Z_{bj}}}
    {\sum_k e^{Z_{bk}}},\qquad
    \frac{\partial L}{\partial\mathbf Z} = \mathbf P\odot\Big(\mathbf G -
    \big((\mathbf G\odot\mathbf P)\mathbf 1\big)\mathbf 1^\top\Big),

with :math:`\mathbf G = \partial L/\partial\mathbf P`: the vector–Jacobian product of the
softmax Jacobian :math:`\operatorname{diag}(p) - pp^\top` of each row, which is symmetric,
so :math:`J^\top g = p\odot g - p\,(p^\top g)`. For an output followed by a loss on
probabilities (``mse``); before a cross-entropy use ``softmax_cross_entropy``, whose
gradient :math:`\mathbf P - \mathbf Y` needs no Jacobian.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Wiring
from symdl.errors import ShapeError

__all__ = ["Softmax", "softmax_explicit", "softmax_vjp_explicit"]


def softmax_explicit(z: Any) -> Any:
    """Row-wise softmax over the last axis of an object array of SymPy expressions."""
    exps = np.vectorize(sp.exp, otypes=[object])(z)
    return exps / exps.sum(axis=-1, keepdims=True)


def softmax_vjp_explicit(p: Any, g: Any) -> Any:
    r""":math:`P\odot(G - ((G\odot P)\mathbf 1)\mathbf 1^\top)` over the last axis."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


def softmax_code(out: str, z: str, tmp: str) -> list[str]:
    """Lines setting ``out`` to the softmax of ``z`` over its last axis (shifted by the
    row maximum, so no exponential overflows)."""
    return [
        f"{tmp}e = np.exp({z} - {z}.max(axis=-1, keepdims=True))",
        f"{out} = {tmp}e / {tmp}e.sum(axis=-1, keepdims=True)",
    ]


class Softmax(Block):
    kind = "softmax"
    letter = "P"

    @property
    def args(self) -> tuple[object, ...]:
        return ()

    def output_shape(self, shape: Shape) -> Shape:
        if not shape:
            raise ShapeError("softmax takes at least a vector per example, but its input is scalar")
        return shape

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.y_tex,
                rf"\operatorname{{softmax}}\left({w.x_tex}\right)",
                f"{w.y_text} = softmax({w.x_text})",
                "row by row over the last axis: exp(z_j)/Σ_k exp(z_k)",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        G, Gt, P, Pt = w.gy_tex(), w.gy_text(), w.y_tex, w.y_text
        return (
            Equation(
                w.gx_tex(),
                rf"{P} \odot \left({G} - \left(\left({G} \odot {P}\right)\mathbf{{1}}\right)"
                r"\mathbf{1}^\top\right)",
                f"{w.gx_text()} = {Pt} ⊙ ({Gt} − (({Gt} ⊙ {Pt}) 1) 1ᵀ)",
                "per row Jᵀg with J = diag(p) − ppᵀ (symmetric)",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        return softmax_code(w.y, w.x, w.tmp)

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        return [
            f"{w.gx} = {w.y} * ({w.gy} - ({w.gy} * {w.y}).sum(axis=-1, keepdims=True))",
        ]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return softmax_explicit(x)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        return softmax_vjp_explicit(softmax_explicit(x), gy), {}


LAYERS.add(
    LayerKind(
        "softmax",
        Softmax,
        "softmax",
        "softmax over the last axis of each example (an output layer of probabilities)",
        examples=(((), {}, (3,)), ((), {}, (2, 2))),
        reference="Bridle, Probabilistic interpretation of feedforward classification "
        "network outputs, Neurocomputing (1990)",
    )
)
