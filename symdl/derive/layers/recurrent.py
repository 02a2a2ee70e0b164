r"""The vanilla recurrent layer unrolled over T steps, and what the recurrent layers share.

Per example, the Elman recurrence (Elman, "Finding structure in time", Cognitive
Science 14, 1990) with :math:`\tanh`:

.. math::

    a_t = W_{xh} x_t + W_{hh} h_{t-1} + b,\qquad h_t = \tanh(a_t),\qquad t = 1,\dots,T.

Weights are ``(hidden, in)`` and ``(hidden, hidden)`` as in PyTorch's ``nn.RNN`` (which
adds a second, redundant bias). On a batch (rows are examples) :math:`\mathbf A_t =
\mathbf X_t\mathbf W_{xh}^\top + \mathbf H_{t-1}\mathbf W_{hh}^\top + \mathbf 1\mathbf
b^\top`.

* ``rnn(n_in, n_hidden)`` unrolls the step over the rows of a per-example input of
  shape ``(T, n_in)`` and outputs every hidden state, shape ``(T, n_hidden)``. The
  initial state :math:`h_0` is a learned parameter, initialised at zero (as in
  PyTorch, where the default initial state is zero); ``learn_initial=False`` fixes
  :math:`h_0 = 0`. Its backward pass is backpropagation through time (Werbos,
  "Backpropagation through time: what it does and how to do it", Proc. IEEE 78, 1990):
  with :math:`\Delta_t = \partial L/\partial h_t` the gradient reaching the output
  directly,

  .. math::

      \delta h_T = \Delta_T,\qquad
      \delta h_t = \Delta_t + W_{hh}^\top\big(\delta h_{t+1}\odot(1 - h_{t+1}^{2})\big),
      \qquad \delta a_t = \delta h_t\odot(1 - h_t^2),

  and each parameter's gradient is summed over time: :math:`\partial L/\partial W_{xh} =
  \sum_t \delta a_t x_t^\top`, :math:`\partial L/\partial W_{hh} = \sum_t \delta a_t
  h_{t-1}^\top`, :math:`\partial L/\partial b = \sum_t\delta a_t`, :math:`\partial
  L/\partial h_0 = W_{hh}^\top\delta a_1` (summed over the batch: :math:`h_0` is shared),
  and :math:`\partial L/\partial x_t = W_{xh}^\top\delta a_t`.

One step alone (``rnn_cell``) and the last step of a sequence (``last``) are in
:mod:`symdl.derive.layers.recurrent_step`; the LSTM and the GRU in
:mod:`~symdl.derive.layers.lstm` and :mod:`~symdl.derive.layers.gru`.

The generated code loops over time only; every step is one matrix product on the whole
batch, and the input projections of all steps are one product before the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.errors import ShapeError

__all__ = ["RNN", "at_step", "replace_line", "sequence_length"]

ELMAN = "Elman, Finding structure in time, Cognitive Science 14 (1990)"
WERBOS = "Werbos, Backpropagation through time: what it does and how to do it, Proc. IEEE 78 (1990)"


def at_step(tex: str, t: str) -> str:
    """``tex`` with the subscript ``t``, braced so that a subscripted name stays valid."""
    return rf"{{{tex}}}_{{{t}}}"


def sequence_length(block: Block, shape: Shape, n_in: int) -> int:
    """T for a per-example input of shape ``(T, n_in)``; a ShapeError naming the block."""
    if len(shape) != 2 or shape[1] != n_in:
        raise ShapeError(
            f"{block.describe()} takes sequences of shape (T, {n_in}) per example, but its "
            f"input has shape {shape_text(shape)}"
        )
    return shape[0]


def replace_line(lines: list[str], old: str, new: str) -> list[str]:
    """``lines`` with the line ``old`` replaced by ``new`` (a wrong variant of a backward)."""
    if old not in lines:
        raise AssertionError(f"no line {old!r} to replace")
    return [new if line == old else line for line in lines]


def tanh_of(a: Any) -> Any:
    """Entrywise tanh of an object array of SymPy expressions."""
    return np.vectorize(sp.tanh, otypes=[object])(a)


def initial_slot(name: str, hidden: int, what: str) -> Slot:
    return Slot(
        name,
        (hidden,),
        rf"\mathbf{{{name[0]}}}_0",
        f"{name[0]}₀",
        init="zeros",
        fan_in=hidden,
        doc=f"learned initial {what}, shared by the batch (initialised at zero)",
    )


def weight_slots(n_in: int, hidden: int, gates: int, gate_names: str) -> tuple[Slot, ...]:
    """The input weights, recurrent weights and bias of ``gates`` stacked gates."""
    rows = gates * hidden
    stacked = f", the gates {gate_names} stacked by rows" if gates > 1 else ""
    return (
        Slot(
            "W_xh",
            (rows, n_in),
            r"\mathbf{W}_{xh}",
            "W_xh",
            fan_in=n_in,
            doc=f"input weights ({rows}, {n_in}){stacked}",
        ),
        Slot(
            "W_hh",
            (rows, hidden),
            r"\mathbf{W}_{hh}",
            "W_hh",
            fan_in=hidden,
            doc=f"recurrent weights ({rows}, {hidden}){stacked}",
        ),
        Slot("b", (rows,), r"\mathbf{b}", "b", fan_in=hidden, doc="bias"),
    )


class RNN(Block):
    kind = "rnn"
    letter = "H"

    def __init__(self, n_in: int, n_hidden: int, *, learn_initial: bool = True) -> None:
        self.n_in = positive_int(n_in, "rnn's input size")
        self.n_hidden = positive_int(n_hidden, "rnn's hidden size")
        if not isinstance(learn_initial, bool):
            raise ValueError(f"learn_initial must be True or False, not {learn_initial!r}")
        self.learn_initial = learn_initial

    @property
    def args(self) -> tuple[object, ...]:
        return (self.n_in, self.n_hidden)

    def output_shape(self, shape: Shape) -> Shape:
        return (sequence_length(self, shape, self.n_in), self.n_hidden)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        slots = weight_slots(self.n_in, self.n_hidden, 1, "")
        if self.learn_initial:
            slots += (initial_slot("h0", self.n_hidden, "hidden state"),)
        return slots

    def _h0_tex(self, w: Wiring) -> tuple[str, str]:
        if self.learn_initial:
            return rf"\mathbf{{1}}{w.p_tex('h0')}^\top", f"1{w.p_text('h0')}ᵀ"
        return r"\mathbf{0}", "0"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        h0, h0_text = self._h0_tex(w)
        x_t, h_t, h_prev = at_step(w.x_tex, "t"), at_step(w.y_tex, "t"), at_step(w.y_tex, "t-1")
        wx, wh, b = w.p_tex("W_xh"), w.p_tex("W_hh"), w.p_tex("b")
        y = w.y_text
        return (
            Equation(at_step(w.y_tex, "0"), h0, f"{y}_0 = {h0_text}", "the initial state"),
            Equation(
                r"\mathbf{A}_t",
                rf"{x_t}{wx}^\top + {h_prev}{wh}^\top + \mathbf{{1}}{b}^\top",
                f"A_t = {w.x_text}_t {w.p_text('W_xh')}ᵀ + {y}_(t−1) {w.p_text('W_hh')}ᵀ"
                f" + 1{w.p_text('b')}ᵀ",
                "t = 1, …, T; row t of each example's sequence",
            ),
            Equation(h_t, r"\tanh\left(\mathbf{A}_t\right)", f"{y}_t = tanh(A_t)"),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        wx, wh = w.p_tex("W_xh"), w.p_tex("W_hh")
        gy_t = at_step(w.gy_tex(), "t")
        h_t, h_prev = at_step(w.y_tex, "t"), at_step(w.y_tex, "t-1")
        eqs = [
            Equation(
                r"\boldsymbol\delta\mathbf{H}_t",
                rf"{gy_t} + \boldsymbol\delta\mathbf{{A}}_{{t+1}}\,{wh}",
                f"δH_t = ({w.gy_text()})_t + δA_(t+1) {w.p_text('W_hh')}",
                "backpropagation through time, t = T, …, 1, with δA_(T+1) = 0; per example "
                "δh_t = ∂L/∂h_t + W_hhᵀ(δh_(t+1) ⊙ (1 − h_(t+1)²))",
            ),
            Equation(
                r"\boldsymbol\delta\mathbf{A}_t",
                rf"\boldsymbol\delta\mathbf{{H}}_t \odot \left(1 - {h_t} \odot {h_t}\right)",
                f"δA_t = δH_t ⊙ (1 − {w.y_text}_t ⊙ {w.y_text}_t)",
                "tanh' = 1 − tanh²",
            ),
            Equation(
                at_step(w.gx_tex(), "t"),
                rf"\boldsymbol\delta\mathbf{{A}}_t\,{wx}",
                f"({w.gx_text()})_t = δA_t {w.p_text('W_xh')}",
            ),
            Equation(
                w.g_tex("W_xh"),
                rf"\sum_{{t=1}}^{{T}} \boldsymbol\delta\mathbf{{A}}_t^\top {at_step(w.x_tex, 't')}",
                f"{w.g_text('W_xh')} = Σ_t δA_tᵀ {w.x_text}_t",
                "summed over time: the weights are shared by every step",
            ),
            Equation(
                w.g_tex("W_hh"),
                rf"\sum_{{t=1}}^{{T}} \boldsymbol\delta\mathbf{{A}}_t^\top {h_prev}",
                f"{w.g_text('W_hh')} = Σ_t δA_tᵀ {w.y_text}_(t−1)",
            ),
            Equation(
                w.g_tex("b"),
                r"\sum_{t=1}^{T} \boldsymbol\delta\mathbf{A}_t^\top \mathbf{1}",
                f"{w.g_text('b')} = Σ_t δA_tᵀ 1",
            ),
        ]
        if self.learn_initial:
            eqs.append(
                Equation(
                    w.g_tex("h0"),
                    rf"\left(\boldsymbol\delta\mathbf{{A}}_1\,{wh}\right)^\top\mathbf{{1}}",
                    f"{w.g_text('h0')} = (δA_1 {w.p_text('W_hh')})ᵀ 1",
                    "h₀ is shared by the batch: a sum over it",
                )
            )
        return tuple(eqs)

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p = w.tmp, w.params
        h0 = p["h0"] if self.learn_initial else "0.0"
        return [
            f"{t}Whh = {p['W_hh']}.T",
            f"{t}B, {t}T = {w.x}.shape[0], {w.x}.shape[1]",
            # time-major: every step's slice is contiguous; H[t] holds h_t, H[0] = h_0
            f"{t}A = {w.x}.swapaxes(0, 1) @ {p['W_xh']}.T + {p['b']}",
            f"{t}H = np.empty(({t}T + 1, {t}B, {self.n_hidden}))",
            f"{t}H[0] = {h0}",
            f"for {t}t in range({t}T):",
            f"    {t}a = {t}A[{t}t]",
            f"    {t}a += {t}H[{t}t] @ {t}Whh",
            f"    np.tanh({t}a, out={t}H[{t}t + 1])",
            f"{w.y} = {t}H[1:].swapaxes(0, 1)",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, p, g = w.tmp, w.params, w.grads
        lines = [
            f"{t}G = {w.gy}.swapaxes(0, 1)",
            f"{t}Wh = {p['W_hh']}",
            f"{t}dA = np.empty_like({t}A)",
            f"{t}dh = np.zeros(({t}B, {self.n_hidden}))",
            f"for {t}t in range({t}T - 1, -1, -1):",
            f"    {t}h = {t}H[{t}t + 1]",
            f"    {t}da = np.multiply({t}G[{t}t] + {t}dh, 1.0 - {t}h * {t}h, out={t}dA[{t}t])",
            f"    {t}dh = {t}da @ {t}Wh",
            f"{t}dA2 = {t}dA.reshape(-1, {self.n_hidden})",
        ]
        if w.gx:
            lines.append(f"{w.gx} = ({t}dA @ {p['W_xh']}).swapaxes(0, 1)")
        lines += [
            f"{g['W_xh']} = {t}dA2.T @ {w.x}.swapaxes(0, 1).reshape({t}dA2.shape[0], -1)",
            f"{g['W_hh']} = {t}dA2.T @ {t}H[:-1].reshape(-1, {self.n_hidden})",
            f"{g['b']} = {t}dA2.sum(axis=0)",
        ]
        if self.learn_initial:
            lines.append(f"{g['h0']} = {t}dh.sum(axis=0)")
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong BPTT passes: the recurrent term dropped, W_hh where W_hhᵀ belongs."""
        t = w.tmp
        right = f"    {t}dh = {t}da @ {t}Wh"
        lines = RNN.backward_code(self, w, shape)  # the right lines, even in a subclass
        return {
            "drops the recurrent term W_hhᵀ δa_(t+1) from δh_t": replace_line(
                lines, right, f"    {t}dh = 0.0 * {t}da"
            ),
            "propagates δh_(t−1) with W_hh instead of W_hhᵀ": replace_line(
                lines, right, f"    {t}dh = {t}da @ {t}Wh.T"
            ),
        }

    def _initial(self, params: Mapping[str, Any], batch: int) -> Any:
        if self.learn_initial:
            return np.array([params["h0"]] * batch, dtype=object)
        return np.full((batch, self.n_hidden), sp.Integer(0), dtype=object)

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        h = self._initial(params, x.shape[0])
        states = []
        for step in range(x.shape[1]):
            a = x[:, step] @ params["W_xh"].T + h @ params["W_hh"].T + params["b"][None, :]
            h = tanh_of(a)
            states.append(h)
        return np.stack(states, axis=1)

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        hs = self.forward_explicit(x, params, data)
        batch, steps = x.shape[0], x.shape[1]
        h0 = self._initial(params, batch)
        w_xh, w_hh = params["W_xh"], params["W_hh"]
        gx = np.empty(x.shape, dtype=object)
        g_xh = np.zeros(w_xh.shape, dtype=object)
        g_hh = np.zeros(w_hh.shape, dtype=object)
        g_b = np.zeros(w_hh.shape[0], dtype=object)
        ones = np.ones(batch, dtype=object)
        carry = np.zeros((batch, self.n_hidden), dtype=object)  # δA_(t+1) W_hh
        for step in reversed(range(steps)):
            dh = gy[:, step] + carry
            da = dh * (1 - hs[:, step] * hs[:, step])
            h_prev = hs[:, step - 1] if step else h0
            gx[:, step] = da @ w_xh
            g_xh = g_xh + da.T @ x[:, step]
            g_hh = g_hh + da.T @ h_prev
            g_b = g_b + da.T @ ones
            carry = da @ w_hh
        grads = {"W_xh": g_xh, "W_hh": g_hh, "b": g_b}
        if self.learn_initial:
            grads["h0"] = carry.T @ ones
        return gx, grads


LAYERS.add(
    LayerKind(
        "rnn",
        RNN,
        "rnn(n_in, n_hidden)",
        "tanh RNN unrolled over the T rows of a (T, n_in) input, outputs every hidden state; "
        "learned initial state h0 (zero at initialisation); backward: BPTT",
        examples=(((1, 2), {}, (2, 1)), ((2, 1), {}, (3, 2))),
        reference=f"{ELMAN}; {WERBOS}",
        aliases=("elman",),
    )
)
