r"""Single-head scaled dot-product self-attention (Vaswani et al. 2017, Sec. 3.2.1).

Per example :math:`\mathbf X\in\mathbb R^{T\times d}` (one token per row), with weights
oriented *in × out* (:math:`\mathbf W_q, \mathbf W_k \in\mathbb R^{d\times d_k}`,
:math:`\mathbf W_v\in\mathbb R^{d\times d_v}`, so :math:`\mathbf Q = \mathbf X\mathbf W_q`
as in the paper; a dense layer's weight is *out × in* instead):

.. math::

    \mathbf Q = \mathbf X\mathbf W_q,\ \mathbf K = \mathbf X\mathbf W_k,\ \mathbf V =
    \mathbf X\mathbf W_v,\quad \mathbf S = \frac{\mathbf Q\mathbf K^\top}{\sqrt{d_k}},\quad
    \mathbf A = \operatorname{softmax}(\mathbf S)\ \text{row by row},\quad
    \mathbf Y = \mathbf A\mathbf V.

Backward, from :math:`\mathbf G = \partial L/\partial\mathbf Y`:

.. math::

    \partial\mathbf V = \mathbf A^\top\mathbf G,\quad \partial\mathbf A = \mathbf G\mathbf
    V^\top,\quad \partial\mathbf S = \mathbf A\odot\big(\partial\mathbf A -
    ((\partial\mathbf A\odot\mathbf A)\mathbf 1)\mathbf 1^\top\big),

    \partial\mathbf Q = \frac{\partial\mathbf S\,\mathbf K}{\sqrt{d_k}},\quad
    \partial\mathbf K = \frac{\partial\mathbf S^\top\mathbf Q}{\sqrt{d_k}},\quad
    \partial\mathbf W_{q,k,v} = \sum_{\text{batch}}\mathbf X^\top\partial\mathbf{Q,K,V},\quad
    \partial\mathbf X = \partial\mathbf Q\,\mathbf W_q^\top + \partial\mathbf K\,\mathbf W_k^\top
    + \partial\mathbf V\,\mathbf W_v^\top

(the input reaches the output along three paths, and their gradients add). With
``causal_attention`` the scores above the diagonal are masked to :math:`-\infty` before
the softmax (token :math:`t` attends to tokens :math:`\le t`); the masked entries of
:math:`\mathbf A` are 0, so the same backward rule holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.derive.layers.softmax import softmax_explicit, softmax_vjp_explicit
from symdl.errors import ShapeError

__all__ = ["Attention", "CausalAttention"]


class Attention(Block):
    kind = "attention"
    letter = "Y"
    causal = False

    def __init__(self, d_model: int, d_k: int, d_v: int) -> None:
        self.d_model = positive_int(d_model, f"{self.kind}'s model width d_model")
        self.d_k = positive_int(d_k, f"{self.kind}'s key width d_k")
        self.d_v = positive_int(d_v, f"{self.kind}'s value width d_v")

    @property
    def args(self) -> tuple[object, ...]:
        return (self.d_model, self.d_k, self.d_v)

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 2 or shape[1] != self.d_model:
            raise ShapeError(
                f"{self.describe()} takes a sequence of shape (T, {self.d_model}) per example, "
                f"but its input has shape {shape_text(shape)}"
            )
        return (shape[0], self.d_v)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        d = self.d_model
        return (
            Slot("Wq", (d, self.d_k), r"\mathbf{W}_q", "W_q", fan_in=d, doc="queries, (in, d_k)"),
            Slot("Wk", (d, self.d_k), r"\mathbf{W}_k", "W_k", fan_in=d, doc="keys, (in, d_k)"),
            Slot("Wv", (d, self.d_v), r"\mathbf{W}_v", "W_v", fan_in=d, doc="values, (in, d_v)"),
        )

    # ---- equations ------------------------------------------------------------------

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        X, Xt = w.x_tex, w.x_text
        eqs = [
            Equation(
                r"\mathbf{Q}",
                f"{X}{w.p_tex('Wq')}",
                f"Q = {Xt} {w.p_text('Wq')}",
                "per example (T × d); weights are in × out",
            ),
            Equation(r"\mathbf{K}", f"{X}{w.p_tex('Wk')}", f"K = {Xt} {w.p_text('Wk')}"),
            Equation(r"\mathbf{V}", f"{X}{w.p_tex('Wv')}", f"V = {Xt} {w.p_text('Wv')}"),
            Equation(
                r"\mathbf{S}",
                rf"\frac{{\mathbf{{Q}}\mathbf{{K}}^\top}}{{\sqrt{{{self.d_k}}}}}"
                + (r" + \mathbf{M}" if self.causal else ""),
                f"S = Q Kᵀ / √{self.d_k}" + (" + M" if self.causal else ""),
                "M_ij = −∞ for j > i (each token sees itself and the past)"
                if self.causal
                else "scaled by 1/√d_k",
            ),
            Equation(
                r"\mathbf{A}",
                r"\operatorname{softmax}\left(\mathbf{S}\right)",
                "A = softmax(S)",
                "row by row",
            ),
            Equation(w.y_tex, r"\mathbf{A}\mathbf{V}", f"{w.y_text} = A V"),
        ]
        return tuple(eqs)

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        G, Gt, X, Xt = w.gy_tex(), w.gy_text(), w.x_tex, w.x_text
        dk = self.d_k

        def d(name: str) -> str:
            return rf"\frac{{\partial L}}{{\partial \mathbf{{{name}}}}}"

        eqs = [
            Equation(d("V"), rf"\mathbf{{A}}^\top {G}", f"∂L/∂V = Aᵀ ({Gt})"),
            Equation(d("A"), rf"{G}\mathbf{{V}}^\top", f"∂L/∂A = ({Gt}) Vᵀ"),
            Equation(
                d("S"),
                rf"\mathbf{{A}} \odot \left({d('A')} - \left(\left({d('A')} \odot \mathbf{{A}}"
                r"\right)\mathbf{1}\right)\mathbf{1}^\top\right)",
                "∂L/∂S = A ⊙ (∂L/∂A − ((∂L/∂A ⊙ A) 1) 1ᵀ)",
                "the softmax's vector–Jacobian product, row by row",
            ),
            Equation(
                d("Q"),
                rf"\frac{{1}}{{\sqrt{{{dk}}}}} {d('S')}\mathbf{{K}}",
                f"∂L/∂Q = (∂L/∂S) K / √{dk}",
            ),
            Equation(
                d("K"),
                rf"\frac{{1}}{{\sqrt{{{dk}}}}} \left({d('S')}\right)^\top\mathbf{{Q}}",
                f"∂L/∂K = (∂L/∂S)ᵀ Q / √{dk}",
            ),
        ]
        for name, letter in (("Wq", "Q"), ("Wk", "K"), ("Wv", "V")):
            eqs.append(
                Equation(
                    w.g_tex(name),
                    rf"{X}^\top {d(letter)}",
                    f"{w.g_text(name)} = {Xt}ᵀ ∂L/∂{letter}",
                    "summed over the batch",
                )
            )
        eqs.append(
            Equation(
                w.gx_tex(),
                rf"{d('Q')}{w.p_tex('Wq')}^\top + {d('K')}{w.p_tex('Wk')}^\top + "
                rf"{d('V')}{w.p_tex('Wv')}^\top",
                f"{w.gx_text()} = ∂L/∂Q {w.p_text('Wq')}ᵀ + ∂L/∂K {w.p_text('Wk')}ᵀ + "
                f"∂L/∂V {w.p_text('Wv')}ᵀ",
                "the three paths from X add",
            )
        )
        return tuple(eqs)

    # ---- code -----------------------------------------------------------------------

    def _scale(self) -> float:
        return 1.0 / math.sqrt(self.d_k)

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, x, p = w.tmp, w.x, w.params
        lines = [
            f"{t}q = {x} @ {p['Wq']}",
            f"{t}k = {x} @ {p['Wk']}",
            f"{t}v = {x} @ {p['Wv']}",
            f"{t}s = ({t}q @ {t}k.transpose(0, 2, 1)) * {self._scale()!r}",
        ]
        if self.causal:
            lines.append(f"{t}s = np.where(np.tri({x}.shape[1], dtype=bool), {t}s, -np.inf)")
        lines += [
            f"{t}e = np.exp({t}s - {t}s.max(axis=-1, keepdims=True))",
            f"{t}a = {t}e / {t}e.sum(axis=-1, keepdims=True)",
            f"{w.y} = {t}a @ {t}v",
        ]
        return lines

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, x, p, g = w.tmp, w.x, w.params, w.grads
        lines = [
            f"{t}dv = {t}a.transpose(0, 2, 1) @ {w.gy}",
            f"{t}da = {w.gy} @ {t}v.transpose(0, 2, 1)",
            f"{t}ds = ({t}a * ({t}da - ({t}da * {t}a).sum(axis=-1, keepdims=True)))"
            f" * {self._scale()!r}",
            f"{t}dq = {t}ds @ {t}k",
            f"{t}dk = {t}ds.transpose(0, 2, 1) @ {t}q",
            f"{t}x2 = {x}.reshape(-1, {self.d_model}).T",
            f"{g['Wq']} = {t}x2 @ {t}dq.reshape(-1, {self.d_k})",
            f"{g['Wk']} = {t}x2 @ {t}dk.reshape(-1, {self.d_k})",
            f"{g['Wv']} = {t}x2 @ {t}dv.reshape(-1, {self.d_v})",
        ]
        if w.gx:
            lines.append(
                f"{w.gx} = {t}dq @ {p['Wq']}.T + {t}dk @ {p['Wk']}.T + {t}dv @ {p['Wv']}.T"
            )
        return lines

    # ---- the explicit rule ----------------------------------------------------------

    def _attend(self, x: Any, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """Q, K, V, A on each example, as object arrays of shape (B, T, ·)."""
        q = np.stack([xb @ params["Wq"] for xb in x])
        k = np.stack([xb @ params["Wk"] for xb in x])
        v = np.stack([xb @ params["Wv"] for xb in x])
        s = np.stack([qb @ kb.T for qb, kb in zip(q, k)]) / sp.sqrt(self.d_k)
        if not self.causal:
            return q, k, v, softmax_explicit(s)
        a = np.zeros(s.shape, dtype=object)
        for b in range(s.shape[0]):
            for i in range(s.shape[1]):
                a[b, i, : i + 1] = softmax_explicit(s[b, i, : i + 1])
        return q, k, v, a

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        _, _, v, a = self._attend(x, params)
        return np.stack([ab @ vb for ab, vb in zip(a, v)])

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        q, k, v, a = self._attend(x, params)
        root = sp.sqrt(self.d_k)
        dv = np.stack([ab.T @ gb for ab, gb in zip(a, gy)])
        da = np.stack([gb @ vb.T for gb, vb in zip(gy, v)])
        ds = softmax_vjp_explicit(a, da)
        dq = np.stack([dsb @ kb for dsb, kb in zip(ds, k)]) / root
        dkey = np.stack([dsb.T @ qb for dsb, qb in zip(ds, q)]) / root
        grads = {
            name: sum(xb.T @ db for xb, db in zip(x, delta))
            for name, delta in (("Wq", dq), ("Wk", dkey), ("Wv", dv))
        }
        gx = dq @ params["Wq"].T + dkey @ params["Wk"].T + dv @ params["Wv"].T
        return gx, grads


class CausalAttention(Attention):
    kind = "causal_attention"
    causal = True


_VASWANI = (
    "Vaswani et al., Attention is all you need, NeurIPS 2017, Sec. 3.2.1 "
    "(scaled dot-product attention) and Sec. 3.2.3 (masking)"
)

LAYERS.add(
    LayerKind(
        "attention",
        Attention,
        "attention(d_model, d_k, d_v)",
        "single-head scaled dot-product self-attention on a (T, d_model) sequence: "
        "softmax(XW_q (XW_k)ᵀ/√d_k) XW_v",
        examples=(((1, 2, 1), {}, (2, 1)), ((2, 1, 1), {}, (2, 2))),
        reference=_VASWANI,
        aliases=("self_attention",),
    )
)
LAYERS.add(
    LayerKind(
        "causal_attention",
        CausalAttention,
        "causal_attention(d_model, d_k, d_v)",
        "single-head self-attention where token t attends only to tokens ≤ t",
        examples=(((1, 2, 1), {}, (2, 1)), ((2, 1, 1), {}, (2, 2))),
        reference=_VASWANI,
        aliases=("masked_attention",),
    )
)
