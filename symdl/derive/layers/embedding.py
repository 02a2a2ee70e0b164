r"""Embedding lookup: integer token ids to rows of a learned table.

Per example, token ids :math:`x\in\{0,\dots,V-1\}^T` pick rows of the table
:math:`\mathbf E\in\mathbb R^{V\times d}`; with :math:`\mathbf O(x)\in\{0,1\}^{T\times V}`
the one-hot rows of the ids,

.. math::

    \mathbf Y = \mathbf O(x)\,\mathbf E,\qquad
    \frac{\partial L}{\partial\mathbf E} = \sum_{\text{batch}}\mathbf O(x)^\top
    \frac{\partial L}{\partial\mathbf Y},

i.e. row :math:`v` of the gradient is the sum of the upstream rows of every position
holding token :math:`v` (a scatter-add: a token repeated in a sequence accumulates, it is
not overwritten). The ids are not differentiated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.errors import ShapeError

__all__ = ["Embedding"]


class Embedding(Block):
    kind = "embedding"
    letter = "E"
    integer_input = True

    def __init__(self, vocab: int, dim: int) -> None:
        self.vocabulary = positive_int(vocab, "embedding's vocabulary size")
        self.dim = positive_int(dim, "embedding's dimension")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.vocabulary, self.dim)

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1:
            raise ShapeError(
                f"{self.describe()} takes a sequence of token ids of shape (T,) per example, "
                f"but its input has shape {shape_text(shape)}"
            )
        return (shape[0], self.dim)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        return (
            Slot(
                "E",
                (self.vocabulary, self.dim),
                r"\mathbf{E}",
                "E",
                doc="the table, one row per token",
            ),
        )

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.y_tex,
                rf"\mathbf{{O}}\left({w.x_tex}\right){w.p_tex('E')}",
                f"{w.y_text} = O({w.x_text}) {w.p_text('E')}",
                f"per example; O(x) is T × {self.vocabulary}, row t the one-hot vector of "
                "token x_t: row t of Y is row x_t of E",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.g_tex("E"),
                rf"\sum_{{\text{{batch}}}}\mathbf{{O}}\left({w.x_tex}\right)^\top {w.gy_tex()}",
                f"{w.g_text('E')} = Σ_batch O({w.x_text})ᵀ ({w.gy_text()})",
                "a scatter-add: every position holding token v adds its upstream row to row "
                "v (repeated tokens accumulate); the ids get no gradient",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, v = w.tmp, self.vocabulary
        return [
            f"{t}ids = {w.x}.astype(np.intp)",
            f"if {t}ids.size and (({t}ids != {w.x}).any() or {t}ids.min() < 0 "
            f"or {t}ids.max() >= {v}):",
            f"    raise ValueError('embedding({v}, {self.dim}) takes integer token ids in "
            f"0..{v - 1}')",
            f"{w.y} = {w.params['E']}[{t}ids]",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, g = w.tmp, w.grads["E"]
        return [
            f"{g} = np.zeros_like({w.params['E']})",
            # np.add.at, not g[ids] += gy: fancy-index assignment keeps one write per row
            f"np.add.at({g}, {t}ids.reshape(-1), {w.gy}.reshape(-1, {self.dim}))",
        ]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        table = params["E"]
        out = np.empty((*x.shape, self.dim), dtype=object)
        for index in np.ndindex(*x.shape):
            out[index] = table[int(x[index])]
        return out

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        """Σ over the batch of O(x)ᵀ G, with O(x) the one-hot rows (no gradient for x)."""
        grad = np.zeros(params["E"].shape, dtype=object)
        for b in range(x.shape[0]):
            one_hot = np.zeros((x.shape[1], self.vocabulary), dtype=object)
            for t in range(x.shape[1]):
                one_hot[t, int(x[b, t])] = 1
            grad = grad + one_hot.T @ gy[b]
        return None, {"E": grad}


LAYERS.add(
    LayerKind(
        "embedding",
        Embedding,
        "embedding(vocab, dim)",
        "lookup of integer token ids (T,) in a vocab × dim table",
        examples=(((3, 2), {}, (4,)), ((2, 3), {}, (3,))),
        reference="Bengio, Ducharme, Vincent & Jauvin, A neural probabilistic language "
        "model, JMLR 3 (2003)",
        aliases=("embed",),
    )
)
