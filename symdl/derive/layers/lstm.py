r"""The LSTM with a forget gate, unrolled over the rows of a ``(T, n_in)`` input.

Per example, with the gates stacked by rows in PyTorch's order (input, forget, cell,
output) in :math:`W_{xh}\in\mathbb R^{4H\times n}`, :math:`W_{hh}\in\mathbb R^{4H\times H}`
and one bias :math:`b\in\mathbb R^{4H}` (PyTorch's two biases add up to it):

.. math::

    a_t = W_{xh}x_t + W_{hh}h_{t-1} + b = [a^i_t; a^f_t; a^g_t; a^o_t],\qquad
    i_t = \sigma(a^i_t),\ f_t = \sigma(a^f_t),\ g_t = \tanh(a^g_t),\ o_t = \sigma(a^o_t),

    c_t = f_t\odot c_{t-1} + i_t\odot g_t,\qquad h_t = o_t\odot\tanh(c_t),

(Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 9, 1997; the
forget gate from Gers, Schmidhuber & Cummins, "Learning to forget: continual prediction
with LSTM", Neural Computation 12, 2000). The output is every :math:`h_t`, shape ``(T,
H)``; the initial :math:`h_0` and :math:`c_0` are learned parameters initialised at zero.

The gate gradients (backpropagation through time, :math:`\Delta_t` the gradient reaching
:math:`h_t` from the output, :math:`\delta a_{T+1} = 0`, :math:`\delta c_{T+1} = 0`):

.. math::

    \delta h_t = \Delta_t + W_{hh}^\top\delta a_{t+1},\qquad
    \delta c_t = \delta h_t\odot o_t\odot(1 - \tanh^2 c_t) + \delta c_{t+1}\odot f_{t+1},

    \delta a^o_t = \delta h_t\odot\tanh(c_t)\odot o_t(1 - o_t),\quad
    \delta a^i_t = \delta c_t\odot g_t\odot i_t(1 - i_t),

    \delta a^f_t = \delta c_t\odot c_{t-1}\odot f_t(1 - f_t),\quad
    \delta a^g_t = \delta c_t\odot i_t\odot(1 - g_t^2),

and, summed over time, :math:`\partial L/\partial W_{xh} = \sum_t\delta a_t x_t^\top`,
:math:`\partial L/\partial W_{hh} = \sum_t\delta a_t h_{t-1}^\top`, :math:`\partial
L/\partial b = \sum_t\delta a_t`, :math:`\partial L/\partial x_t = W_{xh}^\top\delta a_t`,
:math:`\partial L/\partial h_0 = W_{hh}^\top\delta a_1` and :math:`\partial L/\partial c_0
= \delta c_1\odot f_1` (the last two summed over the batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int
from symdl.derive.layers.recurrent import (
    at_step,
    initial_slot,
    replace_line,
    sequence_length,
    tanh_of,
    weight_slots,
)
from symdl.nodes import sigmoid

__all__ = ["LSTM"]

REFERENCE = (
    "Hochreiter & Schmidhuber, Long short-term memory, Neural Computation 9 (1997); "
    "Gers, Schmidhuber & Cummins, Learning to forget, Neural Computation 12 (2000)"
)


def sigmoid_of(a: Any) -> Any:
    return np.vectorize(sigmoid, otypes=[object])(a)


class LSTM(Block):
    kind = "lstm"
    letter = "H"

    def __init__(self, n_in: int, n_hidden: int) -> None:
        self.n_in = positive_int(n_in, "lstm's input size")
        self.n_hidden = positive_int(n_hidden, "lstm's hidden size")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n_in, self.n_hidden)

    def output_shape(self, shape: Shape) -> Shape:
        return (sequence_length(self, shape, self.n_in), self.n_hidden)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        return (
            *weight_slots(self.n_in, self.n_hidden, 4, "i, f, g, o"),
            initial_slot("h0", self.n_hidden, "hidden state"),
            initial_slot("c0", self.n_hidden, "cell state"),
        )

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        x_t, h_t, h_prev = at_step(w.x_tex, "t"), at_step(w.y_tex, "t"), at_step(w.y_tex, "t-1")
        wx, wh, b = w.p_tex("W_xh"), w.p_tex("W_hh"), w.p_tex("b")
        y = w.y_text
        return (
            Equation(
                rf"{at_step(w.y_tex, '0')},\ \mathbf{{C}}_0",
                rf"\mathbf{{1}}{w.p_tex('h0')}^\top,\ \mathbf{{1}}{w.p_tex('c0')}^\top",
                f"{y}_0, C_0 = 1{w.p_text('h0')}ᵀ, 1{w.p_text('c0')}ᵀ",
                "the initial states",
            ),
            Equation(
                r"\left[\mathbf{A}^i_t,\ \mathbf{A}^f_t,\ \mathbf{A}^g_t,\ \mathbf{A}^o_t\right]",
                rf"{x_t}{wx}^\top + {h_prev}{wh}^\top + \mathbf{{1}}{b}^\top",
                f"[Aⁱ_t, Aᶠ_t, Aᵍ_t, Aᵒ_t] = {w.x_text}_t {w.p_text('W_xh')}ᵀ + "
                f"{y}_(t−1) {w.p_text('W_hh')}ᵀ + 1{w.p_text('b')}ᵀ",
                "t = 1, …, T; the gates' columns in PyTorch's order i, f, g, o",
            ),
            Equation(
                r"\mathbf{I}_t,\ \mathbf{F}_t,\ \mathbf{G}_t,\ \mathbf{O}_t",
                r"\sigma(\mathbf{A}^i_t),\ \sigma(\mathbf{A}^f_t),\ \tanh(\mathbf{A}^g_t),"
                r"\ \sigma(\mathbf{A}^o_t)",
                "I_t, F_t, G_t, O_t = σ(Aⁱ_t), σ(Aᶠ_t), tanh(Aᵍ_t), σ(Aᵒ_t)",
            ),
            Equation(
                r"\mathbf{C}_t",
                r"\mathbf{F}_t \odot \mathbf{C}_{t-1} + \mathbf{I}_t \odot \mathbf{G}_t",
                "C_t = F_t ⊙ C_(t−1) + I_t ⊙ G_t",
                "the cell state (forget gate: Gers et al. 2000)",
            ),
            Equation(
                h_t,
                r"\mathbf{O}_t \odot \tanh\left(\mathbf{C}_t\right)",
                f"{y}_t = O_t ⊙ tanh(C_t)",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        wx, wh = w.p_tex("W_xh"), w.p_tex("W_hh")
        d = r"\boldsymbol\delta"
        gy_t = at_step(w.gy_tex(), "t")
        return (
            Equation(
                rf"{d}\mathbf{{H}}_t",
                rf"{gy_t} + {d}\mathbf{{A}}_{{t+1}}\,{wh}",
                f"δH_t = ({w.gy_text()})_t + δA_(t+1) {w.p_text('W_hh')}",
                "t = T, …, 1 with δA_(T+1) = 0 and δC_(T+1) = 0",
            ),
            Equation(
                rf"{d}\mathbf{{C}}_t",
                rf"{d}\mathbf{{H}}_t \odot \mathbf{{O}}_t \odot \left(1 - \tanh^2\mathbf{{C}}_t"
                rf"\right) + {d}\mathbf{{C}}_{{t+1}} \odot \mathbf{{F}}_{{t+1}}",
                "δC_t = δH_t ⊙ O_t ⊙ (1 − tanh² C_t) + δC_(t+1) ⊙ F_(t+1)",
            ),
            Equation(
                rf"{d}\mathbf{{A}}^o_t",
                rf"{d}\mathbf{{H}}_t \odot \tanh\mathbf{{C}}_t \odot \mathbf{{O}}_t \odot "
                r"(1 - \mathbf{O}_t)",
                "δAᵒ_t = δH_t ⊙ tanh C_t ⊙ O_t ⊙ (1 − O_t)",
                "output gate",
            ),
            Equation(
                rf"{d}\mathbf{{A}}^i_t",
                rf"{d}\mathbf{{C}}_t \odot \mathbf{{G}}_t \odot \mathbf{{I}}_t \odot "
                r"(1 - \mathbf{I}_t)",
                "δAⁱ_t = δC_t ⊙ G_t ⊙ I_t ⊙ (1 − I_t)",
                "input gate",
            ),
            Equation(
                rf"{d}\mathbf{{A}}^f_t",
                rf"{d}\mathbf{{C}}_t \odot \mathbf{{C}}_{{t-1}} \odot \mathbf{{F}}_t \odot "
                r"(1 - \mathbf{F}_t)",
                "δAᶠ_t = δC_t ⊙ C_(t−1) ⊙ F_t ⊙ (1 − F_t)",
                "forget gate",
            ),
            Equation(
                rf"{d}\mathbf{{A}}^g_t",
                rf"{d}\mathbf{{C}}_t \odot \mathbf{{I}}_t \odot (1 - \mathbf{{G}}_t \odot "
                r"\mathbf{G}_t)",
                "δAᵍ_t = δC_t ⊙ I_t ⊙ (1 − G_t ⊙ G_t)",
                "cell candidate",
            ),
            Equation(
                at_step(w.gx_tex(), "t"),
                rf"{d}\mathbf{{A}}_t\,{wx}",
                f"({w.gx_text()})_t = δA_t {w.p_text('W_xh')}",
                "δA_t = [δAⁱ_t, δAᶠ_t, δAᵍ_t, δAᵒ_t]",
            ),
            Equation(
                w.g_tex("W_xh"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{A}}_t^\top {at_step(w.x_tex, 't')}",
                f"{w.g_text('W_xh')} = Σ_t δA_tᵀ {w.x_text}_t",
            ),
            Equation(
                w.g_tex("W_hh"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{A}}_t^\top {at_step(w.y_tex, 't-1')}",
                f"{w.g_text('W_hh')} = Σ_t δA_tᵀ {w.y_text}_(t−1)",
            ),
            Equation(
                w.g_tex("b"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{A}}_t^\top \mathbf{{1}}",
                f"{w.g_text('b')} = Σ_t δA_tᵀ 1",
            ),
            Equation(
                w.g_tex("h0"),
                rf"\left({d}\mathbf{{A}}_1\,{wh}\right)^\top\mathbf{{1}}",
                f"{w.g_text('h0')} = (δA_1 {w.p_text('W_hh')})ᵀ 1",
            ),
            Equation(
                w.g_tex("c0"),
                rf"\left({d}\mathbf{{C}}_1 \odot \mathbf{{F}}_1\right)^\top\mathbf{{1}}",
                f"{w.g_text('c0')} = (δC_1 ⊙ F_1)ᵀ 1",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p, n = w.tmp, w.params, self.n_hidden
        return [
            f"{t}Whh = {p['W_hh']}.T",
            f"{t}B, {t}T = {w.x}.shape[0], {w.x}.shape[1]",
            # time-major: every step's slice is contiguous; C[t], H[t] hold c_t, h_t
            f"{t}A = {w.x}.swapaxes(0, 1) @ {p['W_xh']}.T + {p['b']}",
            f"{t}S = np.empty_like({t}A)",  # the gates i, f, g, o after their nonlinearity
            f"{t}C = np.empty(({t}T + 1, {t}B, {n}))",
            f"{t}H = np.empty_like({t}C)",
            f"{t}TC = np.empty(({t}T, {t}B, {n}))",
            f"{t}C[0] = {p['c0']}",
            f"{t}H[0] = {p['h0']}",
            # every step writes into the stored arrays (out=): no temporaries per gate
            f"for {t}t in range({t}T):",
            f"    {t}a = {t}A[{t}t]",
            f"    {t}a += {t}H[{t}t] @ {t}Whh",
            f"    {t}s = {t}S[{t}t]",
            f"    special.expit({t}a[:, :{2 * n}], out={t}s[:, :{2 * n}])",
            f"    np.tanh({t}a[:, {2 * n}:{3 * n}], out={t}s[:, {2 * n}:{3 * n}])",
            f"    special.expit({t}a[:, {3 * n}:], out={t}s[:, {3 * n}:])",
            f"    {t}c = np.multiply({t}s[:, {n}:{2 * n}], {t}C[{t}t], out={t}C[{t}t + 1])",
            f"    {t}c += {t}s[:, :{n}] * {t}s[:, {2 * n}:{3 * n}]",
            f"    np.tanh({t}c, out={t}TC[{t}t])",
            f"    np.multiply({t}s[:, {3 * n}:], {t}TC[{t}t], out={t}H[{t}t + 1])",
            f"{w.y} = {t}H[1:].swapaxes(0, 1)",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p, g, n = w.tmp, w.params, w.grads, self.n_hidden
        i, f, gg, o = (
            f"[:, :{n}]",
            f"[:, {n}:{2 * n}]",
            f"[:, {2 * n}:{3 * n}]",
            f"[:, {3 * n}:]",
        )
        lines = [
            f"{t}G = {w.gy}.swapaxes(0, 1)",
            f"{t}dA = np.empty_like({t}A)",
            f"{t}dh = np.zeros(({t}B, {n}))",
            f"{t}dc = np.zeros(({t}B, {n}))",
            f"{t}Wh = {p['W_hh']}",
            f"for {t}t in range({t}T - 1, -1, -1):",
            f"    {t}s = {t}S[{t}t]",
            f"    {t}da = {t}dA[{t}t]",
            f"    {t}dh += {t}G[{t}t]",
            f"    {t}tc = {t}TC[{t}t]",
            f"    {t}dc += {t}dh * {t}s{o} * (1.0 - {t}tc * {t}tc)",
            f"    {t}da{o} = {t}dh * {t}tc * {t}s{o} * (1.0 - {t}s{o})",
            f"    {t}da{i} = {t}dc * {t}s{gg} * {t}s{i} * (1.0 - {t}s{i})",
            f"    {t}da{f} = {t}dc * {t}C[{t}t] * {t}s{f} * (1.0 - {t}s{f})",
            f"    {t}da{gg} = {t}dc * {t}s{i} * (1.0 - {t}s{gg} * {t}s{gg})",
            f"    {t}dh = {t}da @ {t}Wh",
            f"    {t}dc = {t}dc * {t}s{f}",
            f"{t}dA2 = {t}dA.reshape(-1, {4 * n})",
        ]
        if w.gx:
            lines.append(f"{w.gx} = ({t}dA @ {p['W_xh']}).swapaxes(0, 1)")
        lines += [
            f"{g['W_xh']} = {t}dA2.T @ {w.x}.swapaxes(0, 1).reshape({t}dA2.shape[0], -1)",
            f"{g['W_hh']} = {t}dA2.T @ {t}H[:-1].reshape(-1, {n})",
            f"{g['b']} = {t}dA2.sum(axis=0)",
            f"{g['h0']} = {t}dh.sum(axis=0)",
            f"{g['c0']} = {t}dc.sum(axis=0)",
        ]
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong BPTT passes through the LSTM's gates and states."""
        t, n = w.tmp, self.n_hidden
        f = f"[:, {n}:{2 * n}]"
        forget = f"    {t}da{f} = {t}dc * {t}C[{t}t] * {t}s{f} * (1.0 - {t}s{f})"
        lines = LSTM.backward_code(self, w, shape)  # the right lines, even in a subclass
        return {
            "the forget gate's gradient without c_(t−1)": replace_line(
                lines, forget, f"    {t}da{f} = {t}dc * {t}s{f} * (1.0 - {t}s{f})"
            ),
            "drops the cell path δc_(t+1) ⊙ f_(t+1) from δc_t": replace_line(
                lines, f"    {t}dc = {t}dc * {t}s{f}", f"    {t}dc = 0.0 * {t}dc"
            ),
            "drops the recurrent term W_hhᵀ δa_(t+1) from δh_t": replace_line(
                lines, f"    {t}dh = {t}da @ {t}Wh", f"    {t}dh = 0.0 * {t}dh"
            ),
        }

    def _states(self, x: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Each step's gates, states and the state it started from (explicit form)."""
        n, batch = self.n_hidden, x.shape[0]
        h = np.array([params["h0"]] * batch, dtype=object)
        c = np.array([params["c0"]] * batch, dtype=object)
        steps = []
        for step in range(x.shape[1]):
            a = x[:, step] @ params["W_xh"].T + h @ params["W_hh"].T + params["b"][None, :]
            i = sigmoid_of(a[:, :n])
            f = sigmoid_of(a[:, n : 2 * n])
            g = tanh_of(a[:, 2 * n : 3 * n])
            o = sigmoid_of(a[:, 3 * n :])
            c_new = f * c + i * g
            tc = tanh_of(c_new)
            h_new = o * tc
            steps.append({"i": i, "f": f, "g": g, "o": o, "c": c_new, "tc": tc, "h": h_new})
            steps[-1].update(h_prev=h, c_prev=c)
            h, c = h_new, c_new
        return steps

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return np.stack([s["h"] for s in self._states(x, params)], axis=1)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        steps = self._states(x, params)
        batch, n = x.shape[0], self.n_hidden
        w_xh, w_hh = params["W_xh"], params["W_hh"]
        ones = np.ones(batch, dtype=object)
        zero = np.full((batch, n), sp.Integer(0), dtype=object)
        gx = np.empty(x.shape, dtype=object)
        g_xh = np.zeros(w_xh.shape, dtype=object)
        g_hh = np.zeros(w_hh.shape, dtype=object)
        g_b = np.zeros(w_hh.shape[0], dtype=object)
        carry_h, dc_next, f_next = zero, zero, zero
        for step in reversed(range(len(steps))):
            s = steps[step]
            dh = gy[:, step] + carry_h
            dc = dh * s["o"] * (1 - s["tc"] * s["tc"]) + dc_next * f_next
            da = np.concatenate(
                (
                    dc * s["g"] * s["i"] * (1 - s["i"]),
                    dc * s["c_prev"] * s["f"] * (1 - s["f"]),
                    dc * s["i"] * (1 - s["g"] * s["g"]),
                    dh * s["tc"] * s["o"] * (1 - s["o"]),
                ),
                axis=1,
            )
            gx[:, step] = da @ w_xh
            g_xh = g_xh + da.T @ x[:, step]
            g_hh = g_hh + da.T @ s["h_prev"]
            g_b = g_b + da.T @ ones
            carry_h, dc_next, f_next = da @ w_hh, dc, s["f"]
        grads = {
            "W_xh": g_xh,
            "W_hh": g_hh,
            "b": g_b,
            "h0": carry_h.T @ ones,
            "c0": (dc_next * f_next).T @ ones,
        }
        return gx, grads


LAYERS.add(
    LayerKind(
        "lstm",
        LSTM,
        "lstm(n_in, n_hidden)",
        "LSTM with a forget gate (gates i, f, g, o stacked as in PyTorch) unrolled over the T "
        "rows of a (T, n_in) input, outputs every h_t; learned h0, c0 (zero at "
        "initialisation); backward: BPTT",
        examples=(((1, 1), {}, (2, 1)), ((1, 2), {}, (1, 1))),
        reference=REFERENCE,
    )
)
