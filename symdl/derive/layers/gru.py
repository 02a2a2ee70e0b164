r"""The gated recurrent unit, unrolled over the rows of a ``(T, n_in)`` input.

Cho et al., "Learning phrase representations using RNN encoder–decoder for statistical
machine translation", EMNLP 2014, Sec. 2.3, in PyTorch's convention (``nn.GRU``): the
gates are stacked by rows in the order reset, update, candidate in :math:`W_{xh}\in
\mathbb R^{3H\times n}` and :math:`W_{hh}\in\mathbb R^{3H\times H}`, with an input bias
:math:`b_x` and a recurrent bias :math:`b_h` (both needed: :math:`b^n_h` sits inside the
reset gate's product),

.. math::

    r_t = \sigma(a^r_t),\quad z_t = \sigma(a^z_t),\qquad
    a^{r,z}_t = W^{r,z}_{xh}x_t + b^{r,z}_x + W^{r,z}_{hh}h_{t-1} + b^{r,z}_h,

    n_t = \tanh\big(W^n_{xh}x_t + b^n_x + r_t\odot m_t\big),\quad
    m_t = W^n_{hh}h_{t-1} + b^n_h,\qquad
    h_t = (1 - z_t)\odot n_t + z_t\odot h_{t-1}.

Cho et al. interpolate the same way, :math:`h_t = z\odot h_{t-1} + (1 - z)\odot\tilde h`
(some texts swap :math:`z` and :math:`1 - z`), but apply the reset gate before the
recurrent product, :math:`\tilde h = \tanh(Wx + U(r\odot h_{t-1}))`; PyTorch (and cuDNN)
apply it after, :math:`r\odot(W^n_{hh}h_{t-1} + b^n_h)`, as here. The two are different
functions of the parameters. The output is every :math:`h_t`; :math:`h_0` is learned,
initialised at zero. Backward, with :math:`\Delta_t` the gradient reaching :math:`h_t` from
the output:

.. math::

    \delta h_t = \Delta_t + z_{t+1}\odot\delta h_{t+1} + W_{hh}^\top\delta a^h_{t+1},\qquad
    \delta a^n_t = \delta h_t\odot(1 - z_t)\odot(1 - n_t^2),

    \delta a^z_t = \delta h_t\odot(h_{t-1} - n_t)\odot z_t(1 - z_t),\qquad
    \delta a^r_t = \delta a^n_t\odot m_t\odot r_t(1 - r_t),

with :math:`\delta a^x_t = [\delta a^r_t; \delta a^z_t; \delta a^n_t]` the gradient of the
input projections and :math:`\delta a^h_t = [\delta a^r_t; \delta a^z_t; r_t\odot\delta
a^n_t]` that of the recurrent ones: :math:`\partial L/\partial W_{xh} = \sum_t\delta a^x_t
x_t^\top`, :math:`\partial L/\partial W_{hh} = \sum_t\delta a^h_t h_{t-1}^\top`,
:math:`\partial L/\partial b_x = \sum_t\delta a^x_t`, :math:`\partial L/\partial b_h =
\sum_t\delta a^h_t`, :math:`\partial L/\partial x_t = W_{xh}^\top\delta a^x_t`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int
from symdl.derive.layers.lstm import sigmoid_of
from symdl.derive.layers.recurrent import (
    at_step,
    initial_slot,
    replace_line,
    sequence_length,
    tanh_of,
    weight_slots,
)

__all__ = ["GRU"]


REFERENCE = (
    "Cho et al., Learning phrase representations using RNN encoder-decoder for statistical "
    "machine translation, EMNLP 2014, Sec. 2.3 (PyTorch's nn.GRU convention)"
)


class GRU(Block):
    kind = "gru"
    letter = "H"

    def __init__(self, n_in: int, n_hidden: int) -> None:
        self.n_in = positive_int(n_in, "gru's input size")
        self.n_hidden = positive_int(n_hidden, "gru's hidden size")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n_in, self.n_hidden)

    def output_shape(self, shape: Shape) -> Shape:
        return (sequence_length(self, shape, self.n_in), self.n_hidden)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        w_xh, w_hh, _ = weight_slots(self.n_in, self.n_hidden, 3, "r, z, n")
        rows = 3 * self.n_hidden
        return (
            w_xh,
            w_hh,
            Slot("b_x", (rows,), r"\mathbf{b}_x", "b_x", fan_in=self.n_hidden, doc="input bias"),
            Slot(
                "b_h", (rows,), r"\mathbf{b}_h", "b_h", fan_in=self.n_hidden, doc="recurrent bias"
            ),
            initial_slot("h0", self.n_hidden, "hidden state"),
        )

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        x_t, h_t, h_prev = at_step(w.x_tex, "t"), at_step(w.y_tex, "t"), at_step(w.y_tex, "t-1")
        wx, wh = w.p_tex("W_xh"), w.p_tex("W_hh")
        bx, bh = w.p_tex("b_x"), w.p_tex("b_h")
        y = w.y_text
        return (
            Equation(at_step(w.y_tex, "0"), rf"\mathbf{{1}}{w.p_tex('h0')}^\top", f"{y}_0 = 1h₀ᵀ"),
            Equation(
                r"\left[\mathbf{U}^r_t,\ \mathbf{U}^z_t,\ \mathbf{U}^n_t\right]",
                rf"{x_t}{wx}^\top + \mathbf{{1}}{bx}^\top",
                f"[Uʳ_t, Uᶻ_t, Uⁿ_t] = {w.x_text}_t {w.p_text('W_xh')}ᵀ + 1{w.p_text('b_x')}ᵀ",
                "t = 1, …, T; gate columns in PyTorch's order r, z, n",
            ),
            Equation(
                r"\left[\mathbf{V}^r_t,\ \mathbf{V}^z_t,\ \mathbf{M}_t\right]",
                rf"{h_prev}{wh}^\top + \mathbf{{1}}{bh}^\top",
                f"[Vʳ_t, Vᶻ_t, M_t] = {y}_(t−1) {w.p_text('W_hh')}ᵀ + 1{w.p_text('b_h')}ᵀ",
            ),
            Equation(
                r"\mathbf{R}_t,\ \mathbf{Z}_t",
                r"\sigma(\mathbf{U}^r_t + \mathbf{V}^r_t),\ "
                r"\sigma(\mathbf{U}^z_t + \mathbf{V}^z_t)",
                "R_t, Z_t = σ(Uʳ_t + Vʳ_t), σ(Uᶻ_t + Vᶻ_t)",
            ),
            Equation(
                r"\mathbf{N}_t",
                r"\tanh\left(\mathbf{U}^n_t + \mathbf{R}_t \odot \mathbf{M}_t\right)",
                "N_t = tanh(Uⁿ_t + R_t ⊙ M_t)",
            ),
            Equation(
                h_t,
                rf"(1 - \mathbf{{Z}}_t) \odot \mathbf{{N}}_t + \mathbf{{Z}}_t \odot {h_prev}",
                f"{y}_t = (1 − Z_t) ⊙ N_t + Z_t ⊙ {y}_(t−1)",
                "PyTorch's convention: z keeps the old state",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        wx, wh = w.p_tex("W_xh"), w.p_tex("W_hh")
        d = r"\boldsymbol\delta"
        h_prev = at_step(w.y_tex, "t-1")
        y = w.y_text
        return (
            Equation(
                rf"{d}\mathbf{{H}}_t",
                rf"{at_step(w.gy_tex(), 't')} + \mathbf{{Z}}_{{t+1}} \odot {d}\mathbf{{H}}_{{t+1}}"
                rf" + {d}\mathbf{{V}}_{{t+1}}\,{wh}",
                f"δH_t = ({w.gy_text()})_t + Z_(t+1) ⊙ δH_(t+1) + δV_(t+1) {w.p_text('W_hh')}",
                "t = T, …, 1, with the terms of step T + 1 zero",
            ),
            Equation(
                rf"{d}\mathbf{{U}}^n_t",
                rf"{d}\mathbf{{H}}_t \odot (1 - \mathbf{{Z}}_t) \odot "
                r"(1 - \mathbf{N}_t \odot \mathbf{N}_t)",
                "δUⁿ_t = δH_t ⊙ (1 − Z_t) ⊙ (1 − N_t ⊙ N_t)",
                "candidate",
            ),
            Equation(
                rf"{d}\mathbf{{U}}^z_t",
                rf"{d}\mathbf{{H}}_t \odot ({h_prev} - \mathbf{{N}}_t) \odot \mathbf{{Z}}_t "
                r"\odot (1 - \mathbf{Z}_t)",
                f"δUᶻ_t = δH_t ⊙ ({y}_(t−1) − N_t) ⊙ Z_t ⊙ (1 − Z_t)",
                "update gate",
            ),
            Equation(
                rf"{d}\mathbf{{U}}^r_t",
                rf"{d}\mathbf{{U}}^n_t \odot \mathbf{{M}}_t \odot \mathbf{{R}}_t \odot "
                r"(1 - \mathbf{R}_t)",
                "δUʳ_t = δUⁿ_t ⊙ M_t ⊙ R_t ⊙ (1 − R_t)",
                "reset gate",
            ),
            Equation(
                rf"{d}\mathbf{{V}}_t",
                rf"\left[{d}\mathbf{{U}}^r_t,\ {d}\mathbf{{U}}^z_t,\ \mathbf{{R}}_t \odot "
                rf"{d}\mathbf{{U}}^n_t\right]",
                "δV_t = [δUʳ_t, δUᶻ_t, R_t ⊙ δUⁿ_t]",
                "the recurrent projections' gradient; δU_t = [δUʳ_t, δUᶻ_t, δUⁿ_t]",
            ),
            Equation(
                at_step(w.gx_tex(), "t"),
                rf"{d}\mathbf{{U}}_t\,{wx}",
                f"({w.gx_text()})_t = δU_t {w.p_text('W_xh')}",
            ),
            Equation(
                w.g_tex("W_xh"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{U}}_t^\top {at_step(w.x_tex, 't')}",
                f"{w.g_text('W_xh')} = Σ_t δU_tᵀ {w.x_text}_t",
            ),
            Equation(
                w.g_tex("W_hh"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{V}}_t^\top {h_prev}",
                f"{w.g_text('W_hh')} = Σ_t δV_tᵀ {y}_(t−1)",
            ),
            Equation(
                w.g_tex("b_x"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{U}}_t^\top\mathbf{{1}}",
                f"{w.g_text('b_x')} = Σ_t δU_tᵀ 1",
            ),
            Equation(
                w.g_tex("b_h"),
                rf"\sum_{{t=1}}^{{T}} {d}\mathbf{{V}}_t^\top\mathbf{{1}}",
                f"{w.g_text('b_h')} = Σ_t δV_tᵀ 1",
            ),
            Equation(
                w.g_tex("h0"),
                rf"\left(\mathbf{{Z}}_1 \odot {d}\mathbf{{H}}_1 + {d}\mathbf{{V}}_1\,{wh}"
                r"\right)^\top\mathbf{1}",
                f"{w.g_text('h0')} = (Z_1 ⊙ δH_1 + δV_1 {w.p_text('W_hh')})ᵀ 1",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p, n = w.tmp, w.params, self.n_hidden
        return [
            f"{t}Whh = {p['W_hh']}.T",
            f"{t}bh = {p['b_h']}",
            f"{t}B, {t}T = {w.x}.shape[0], {w.x}.shape[1]",
            # time-major: every step's slice is contiguous; H[t] holds h_t, H[0] = h_0
            f"{t}U = {w.x}.swapaxes(0, 1) @ {p['W_xh']}.T + {p['b_x']}",
            f"{t}S = np.empty_like({t}U)",  # r, z, n after their nonlinearity
            f"{t}M = np.empty(({t}T, {t}B, {n}))",
            f"{t}H = np.empty(({t}T + 1, {t}B, {n}))",
            f"{t}H[0] = {p['h0']}",
            f"for {t}t in range({t}T):",
            f"    {t}v = {t}H[{t}t] @ {t}Whh",
            f"    {t}v += {t}bh",
            f"    {t}u = {t}U[{t}t]",
            f"    {t}s = {t}S[{t}t]",
            f"    {t}u[:, :{2 * n}] += {t}v[:, :{2 * n}]",
            f"    special.expit({t}u[:, :{2 * n}], out={t}s[:, :{2 * n}])",
            f"    {t}M[{t}t] = {t}v[:, {2 * n}:]",
            f"    {t}u[:, {2 * n}:] += {t}s[:, :{n}] * {t}M[{t}t]",
            f"    np.tanh({t}u[:, {2 * n}:], out={t}s[:, {2 * n}:])",
            f"    {t}H[{t}t + 1] = {t}s[:, {2 * n}:] + {t}s[:, {n}:{2 * n}] * "
            f"({t}H[{t}t] - {t}s[:, {2 * n}:])",
            f"{w.y} = {t}H[1:].swapaxes(0, 1)",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p, g, n = w.tmp, w.params, w.grads, self.n_hidden
        r, z, c = f"[:, :{n}]", f"[:, {n}:{2 * n}]", f"[:, {2 * n}:]"
        lines = [
            f"{t}G = {w.gy}.swapaxes(0, 1)",
            f"{t}dU = np.empty_like({t}U)",
            f"{t}dV = np.empty_like({t}U)",
            f"{t}Wh = {p['W_hh']}",
            f"{t}dh = np.zeros(({t}B, {n}))",
            f"for {t}t in range({t}T - 1, -1, -1):",
            f"    {t}s = {t}S[{t}t]",
            f"    {t}du = {t}dU[{t}t]",
            f"    {t}dv = {t}dV[{t}t]",
            f"    {t}dh += {t}G[{t}t]",
            f"    {t}du{c} = {t}dh * (1.0 - {t}s{z}) * (1.0 - {t}s{c} * {t}s{c})",
            f"    {t}du{z} = {t}dh * ({t}H[{t}t] - {t}s{c}) * {t}s{z} * (1.0 - {t}s{z})",
            f"    {t}du{r} = {t}du{c} * {t}M[{t}t] * {t}s{r} * (1.0 - {t}s{r})",
            f"    {t}dv[:, :{2 * n}] = {t}du[:, :{2 * n}]",
            f"    {t}dv{c} = {t}s{r} * {t}du{c}",
            f"    {t}dh = {t}s{z} * {t}dh + {t}dv @ {t}Wh",
            f"{t}dU2 = {t}dU.reshape(-1, {3 * n})",
            f"{t}dV2 = {t}dV.reshape(-1, {3 * n})",
        ]
        if w.gx:
            lines.append(f"{w.gx} = ({t}dU @ {p['W_xh']}).swapaxes(0, 1)")
        lines += [
            f"{g['W_xh']} = {t}dU2.T @ {w.x}.swapaxes(0, 1).reshape({t}dU2.shape[0], -1)",
            f"{g['W_hh']} = {t}dV2.T @ {t}H[:-1].reshape(-1, {n})",
            f"{g['b_x']} = {t}dU2.sum(axis=0)",
            f"{g['b_h']} = {t}dV2.sum(axis=0)",
            f"{g['h0']} = {t}dh.sum(axis=0)",
        ]
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong BPTT passes through the GRU's gates."""
        t, n = w.tmp, self.n_hidden
        r, z, c = f"[:, :{n}]", f"[:, {n}:{2 * n}]", f"[:, {2 * n}:]"
        lines = GRU.backward_code(self, w, shape)  # the right lines, even in a subclass
        update = f"    {t}du{z} = {t}dh * ({t}H[{t}t] - {t}s{c}) * {t}s{z} * (1.0 - {t}s{z})"
        carry = f"    {t}dh = {t}s{z} * {t}dh + {t}dv @ {t}Wh"
        return {
            "the update gate's gradient with n_t − h_(t−1) (the other convention's sign)": (
                replace_line(
                    lines,
                    update,
                    f"    {t}du{z} = {t}dh * ({t}s{c} - {t}H[{t}t]) * {t}s{z} * (1.0 - {t}s{z})",
                )
            ),
            "drops the direct path z_(t+1) ⊙ δh_(t+1) from δh_t": replace_line(
                lines, carry, f"    {t}dh = {t}dv @ {t}Wh"
            ),
            "the candidate's recurrent gradient without the reset gate r_t": replace_line(
                lines, f"    {t}dv{c} = {t}s{r} * {t}du{c}", f"    {t}dv{c} = {t}du{c}"
            ),
        }

    def _states(self, x: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        n, batch = self.n_hidden, x.shape[0]
        h = np.array([params["h0"]] * batch, dtype=object)
        steps = []
        for step in range(x.shape[1]):
            u = x[:, step] @ params["W_xh"].T + params["b_x"][None, :]
            v = h @ params["W_hh"].T + params["b_h"][None, :]
            r = sigmoid_of(u[:, :n] + v[:, :n])
            z = sigmoid_of(u[:, n : 2 * n] + v[:, n : 2 * n])
            m = v[:, 2 * n :]
            cand = tanh_of(u[:, 2 * n :] + r * m)
            h_new = (1 - z) * cand + z * h
            steps.append({"r": r, "z": z, "n": cand, "m": m, "h": h_new, "h_prev": h})
            h = h_new
        return steps

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        return np.stack([s["h"] for s in self._states(x, params)], axis=1)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        steps = self._states(x, params)
        batch = x.shape[0]
        w_xh, w_hh = params["W_xh"], params["W_hh"]
        ones = np.ones(batch, dtype=object)
        gx = np.empty(x.shape, dtype=object)
        g = {
            name: np.zeros(params[name].shape, dtype=object)
            for name in ("W_xh", "W_hh", "b_x", "b_h")
        }
        carry = np.full((batch, self.n_hidden), sp.Integer(0), dtype=object)
        for step in reversed(range(len(steps))):
            s = steps[step]
            dh = gy[:, step] + carry
            dn = dh * (1 - s["z"]) * (1 - s["n"] * s["n"])
            dz = dh * (s["h_prev"] - s["n"]) * s["z"] * (1 - s["z"])
            dr = dn * s["m"] * s["r"] * (1 - s["r"])
            du = np.concatenate((dr, dz, dn), axis=1)
            dv = np.concatenate((dr, dz, s["r"] * dn), axis=1)
            gx[:, step] = du @ w_xh
            g["W_xh"] = g["W_xh"] + du.T @ x[:, step]
            g["W_hh"] = g["W_hh"] + dv.T @ s["h_prev"]
            g["b_x"] = g["b_x"] + du.T @ ones
            g["b_h"] = g["b_h"] + dv.T @ ones
            carry = s["z"] * dh + dv @ w_hh
        g["h0"] = carry.T @ ones
        return gx, g


LAYERS.add(
    LayerKind(
        "gru",
        GRU,
        "gru(n_in, n_hidden)",
        "GRU (PyTorch's convention h_t = (1 − z) ⊙ n + z ⊙ h_(t−1); gates r, z, n stacked) "
        "unrolled over the T rows of a (T, n_in) input, outputs every h_t; learned h0 (zero "
        "at initialisation); backward: BPTT",
        examples=(((1, 1), {}, (2, 1)), ((1, 2), {}, (1, 1))),
        reference=REFERENCE,
    )
)
