r"""One step of the vanilla recurrent layer, and the last step of a sequence.

* ``rnn_cell(n_in, n_hidden)``: :math:`h_t = \tanh(W_{xh}x_t + W_{hh}h_{t-1} + b)` for one
  step (:mod:`symdl.derive.layers.recurrent` has the equations and conventions). A block
  has a single input, so the cell's input is the concatenation :math:`[x_t;\,h_{t-1}]`
  (size ``n_in + n_hidden``) and its input gradient is :math:`[\partial L/\partial x_t;\,
  \partial L/\partial h_{t-1}]`, per example, with :math:`\partial L/\partial h_{t-1} =
  W_{hh}^\top\delta a_t` and :math:`\delta a_t = \partial L/\partial h_t\odot(1 - h_t
  \odot h_t)`: one step of backpropagation through time.
* ``last``: the final row of a sequence, ``(T, h) → (h,)``; its gradient is zero at every
  earlier step. ``rnn(3, 4) | last | dense(4, 2) | softmax_cross_entropy`` classifies a
  sequence by its last hidden state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.derive.layers.recurrent import ELMAN, at_step, tanh_of, weight_slots
from symdl.errors import ShapeError

__all__ = ["Last", "RNNCell"]


class RNNCell(Block):
    kind = "rnn_cell"
    letter = "H"

    def __init__(self, n_in: int, n_hidden: int) -> None:
        self.n_in = positive_int(n_in, "rnn_cell's input size")
        self.n_hidden = positive_int(n_hidden, "rnn_cell's hidden size")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n_in, self.n_hidden)

    def input_shape(self) -> Shape:
        return (self.n_in + self.n_hidden,)

    def output_shape(self, shape: Shape) -> Shape:
        if shape != self.input_shape():
            raise ShapeError(
                f"{self.describe()} takes [x_t; h_(t-1)], vectors of size "
                f"{self.n_in} + {self.n_hidden} = {self.n_in + self.n_hidden}, but its "
                f"input has shape {shape_text(shape)}"
            )
        return (self.n_hidden,)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        return weight_slots(self.n_in, self.n_hidden, 1, "")

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        x, xt = w.x_tex, w.x_text
        wx, wh, b = w.p_tex("W_xh"), w.p_tex("W_hh"), w.p_tex("b")
        return (
            Equation(
                r"\left[\mathbf{X}_t,\ \mathbf{H}_{t-1}\right]",
                x,
                f"[X_t, H_(t−1)] = {xt}",
                f"the input's first {self.n_in} columns are x_t, the last {self.n_hidden} "
                "are h_(t−1)",
            ),
            Equation(
                w.y_tex,
                rf"\tanh\left(\mathbf{{X}}_t{wx}^\top + \mathbf{{H}}_{{t-1}}{wh}^\top"
                rf" + \mathbf{{1}}{b}^\top\right)",
                f"{w.y_text} = tanh(X_t {w.p_text('W_xh')}ᵀ + H_(t−1) {w.p_text('W_hh')}ᵀ"
                f" + 1{w.p_text('b')}ᵀ)",
                "per example h_t = tanh(W_xh x_t + W_hh h_(t−1) + b)",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        wx, wh = w.p_tex("W_xh"), w.p_tex("W_hh")
        return (
            Equation(
                r"\boldsymbol\delta\mathbf{A}",
                rf"{w.gy_tex()} \odot \left(1 - {w.y_tex} \odot {w.y_tex}\right)",
                f"δA = {w.gy_text()} ⊙ (1 − {w.y_text} ⊙ {w.y_text})",
                "tanh' = 1 − tanh²",
            ),
            Equation(
                w.gx_tex(),
                rf"\left[\boldsymbol\delta\mathbf{{A}}\,{wx},\ "
                rf"\boldsymbol\delta\mathbf{{A}}\,{wh}\right]",
                f"{w.gx_text()} = [δA {w.p_text('W_xh')}, δA {w.p_text('W_hh')}]",
                "per example ∂L/∂x_t = W_xhᵀδa and ∂L/∂h_(t−1) = W_hhᵀδa",
            ),
            Equation(
                w.g_tex("W_xh"),
                r"\boldsymbol\delta\mathbf{A}^\top\mathbf{X}_t",
                f"{w.g_text('W_xh')} = δAᵀ X_t",
            ),
            Equation(
                w.g_tex("W_hh"),
                r"\boldsymbol\delta\mathbf{A}^\top\mathbf{H}_{t-1}",
                f"{w.g_text('W_hh')} = δAᵀ H_(t−1)",
            ),
            Equation(
                w.g_tex("b"),
                r"\boldsymbol\delta\mathbf{A}^\top\mathbf{1}",
                f"{w.g_text('b')} = δAᵀ 1",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, n = w.tmp, self.n_in
        return [
            f"{t}xt = {w.x}[:, :{n}]",
            f"{t}hp = {w.x}[:, {n}:]",
            f"{w.y} = np.tanh({t}xt @ {w.params['W_xh']}.T + {t}hp @ {w.params['W_hh']}.T"
            f" + {w.params['b']})",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t = w.tmp
        lines = [f"{t}da = {w.gy} * (1.0 - {w.y} * {w.y})"]
        if w.gx:
            lines.append(
                f"{w.gx} = np.concatenate(({t}da @ {w.params['W_xh']}, "
                f"{t}da @ {w.params['W_hh']}), axis=1)"
            )
        lines += [
            f"{w.grads['W_xh']} = {t}da.T @ {t}xt",
            f"{w.grads['W_hh']} = {t}da.T @ {t}hp",
            f"{w.grads['b']} = {t}da.sum(axis=0)",
        ]
        return lines

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        xt, hp = x[:, : self.n_in], x[:, self.n_in :]
        return tanh_of(xt @ params["W_xh"].T + hp @ params["W_hh"].T + params["b"][None, :])

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        xt, hp = x[:, : self.n_in], x[:, self.n_in :]
        h = self.forward_explicit(x, params, data)
        da = gy * (1 - h * h)
        gx = np.concatenate((da @ params["W_xh"], da @ params["W_hh"]), axis=1)
        grads = {
            "W_xh": da.T @ xt,
            "W_hh": da.T @ hp,
            "b": da.T @ np.ones(da.shape[0], dtype=object),
        }
        return gx, grads


class Last(Block):
    kind = "last"
    letter = "H"

    @property
    def args(self) -> tuple[object, ...]:
        return ()

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 2:
            raise ShapeError(
                f"last takes a sequence of shape (T, n) per example, but its input has shape "
                f"{shape_text(shape)}"
            )
        return (shape[1],)

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                w.y_tex,
                at_step(w.x_tex, "T"),
                f"{w.y_text} = {w.x_text}_T",
                "the final step of each example's sequence",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        return (
            Equation(
                at_step(w.gx_tex(), "t"),
                rf"[t = T]\,{w.gy_tex()}",
                f"({w.gx_text()})_t = [t = T] {w.gy_text()}",
                "the earlier steps receive no gradient from this block",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        return [f"{w.y} = {w.x}[:, -1]"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        return [f"{w.gx} = np.zeros_like({w.x})", f"{w.gx}[:, -1] = {w.gy}"]

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return x[:, -1]

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        gx = np.full(x.shape, sp.Integer(0), dtype=object)
        gx[:, -1] = gy
        return gx, {}


LAYERS.add(
    LayerKind(
        "rnn_cell",
        RNNCell,
        "rnn_cell(n_in, n_hidden)",
        "one tanh RNN step h_t = tanh(W_xh x_t + W_hh h_(t−1) + b) on the input [x_t; h_(t−1)]",
        examples=(((1, 2), {}, (3,)), ((2, 1), {}, (3,))),
        reference=ELMAN,
        aliases=("elman_cell",),
    )
)
LAYERS.add(
    LayerKind(
        "last",
        Last,
        "last",
        "the final step of a sequence: (T, n) → (n,)",
        examples=(((), {}, (2, 2)), ((), {}, (3, 1))),
        aliases=("last_step",),
    )
)
