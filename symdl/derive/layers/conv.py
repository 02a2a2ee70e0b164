r"""Convolution layers (1-D and 2-D): cross-correlation with stride, zero padding and dilation.

Per example the input has shape :math:`(C_{\text{in}}, n_1[, n_2])` and the kernel
:math:`(C_{\text{out}}, C_{\text{in}}, k_1[, k_2])`, as in PyTorch's ``Conv1d`` and
``Conv2d`` (which, like every deep-learning "convolution", compute a cross-correlation).
With stride :math:`s`, padding :math:`p` and dilation :math:`d`, on a batch,

.. math::

    Z_{n,o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\, X_{n,c,\,si+du-p,\,sj+dv-p}

(:math:`X` is zero outside its extent). With :math:`\Delta = \partial L/\partial Z` and
:math:`\tilde\Delta` the gradient dilated by the stride (:math:`s-1` zeros between
neighbouring positions),

.. math::

    \frac{\partial L}{\partial X_{n,c}} = \operatorname{crop}_p \sum_o
        \tilde\Delta_{n,o} \star_{\text{full}} \operatorname{rot}_{180}(W_{o,c}),\qquad
    \frac{\partial L}{\partial W_{o,c}} = \sum_n X^{(p)}_{n,c} \star \tilde\Delta_{n,o},\qquad
    \frac{\partial L}{\partial b_o} = \sum_{n,i,j}\Delta_{n,o,i,j},

where :math:`\star` is the valid cross-correlation (the kernel gradient read at offsets
:math:`d u`), :math:`\star_{\text{full}}` the full one with the kernel's taps :math:`d`
apart, and :math:`X^{(p)}` the zero-padded input: the input gradient is the *full
convolution of the upstream gradient with the flipped kernel* (equivalently the true
convolution :math:`\tilde\Delta * W`), the kernel gradient the *cross-correlation of the
input with the upstream gradient* (Goodfellow, Bengio & Courville, Deep Learning, 2016,
Sec. 9.5, eqs. 9.11–9.14; Dumoulin & Visin, A guide to convolution arithmetic for deep
learning, 2016, Sec. 4). Input rows past the last window (when :math:`s` does not divide
:math:`n + 2p - d(k-1) - 1`) get gradient 0.

The generated code is im2col: per example the windows as a matrix :math:`\mathbf P_n`
of shape :math:`(C_{\text{in}} k_1 k_2, o_1 o_2)`, then :math:`\mathbf Z_n = \mathbf W
\mathbf P_n + \mathbf b`, :math:`\partial L/\partial\mathbf W = \sum_n
\boldsymbol\Delta_n\mathbf P_n^\top`, :math:`\partial L/\partial\mathbf P_n = \mathbf
W^\top\boldsymbol\Delta_n`, added back onto the input one kernel offset at a time
(col2im); arrays stay (B, C, H, W) in memory, as the neighbouring layers expect. It is
the same sum as the full convolution above, without the :math:`s^2` zeros of the
dilated gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Slot, Wiring
from symdl.derive.layers.dense import positive_int, shape_text
from symdl.derive.layers.windows import (
    Window,
    col2im_code,
    correlate,
    dilate,
    im2col_code,
    nonnegative_int,
    pad,
    sizes,
    zeros,
)
from symdl.errors import ShapeError

__all__ = ["Conv1d", "Conv2d"]

_POS = ("i", "j")
_OFF = ("u", "v")
_IN = ("m", "q")


class _Conv(Block):
    ndim: int
    letter = "Z"

    def __init__(
        self,
        c_in: int,
        c_out: int,
        k: int | tuple[int, ...],
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        *,
        bias: bool = True,
    ) -> None:
        self.c_in = positive_int(c_in, f"{self.kind}'s input channels")
        self.c_out = positive_int(c_out, f"{self.kind}'s output channels")
        self.window = Window(
            sizes(k, self.ndim, f"{self.kind}'s kernel size"),
            (positive_int(stride, f"{self.kind}'s stride"),) * self.ndim,
            (nonnegative_int(padding, f"{self.kind}'s padding"),) * self.ndim,
            (positive_int(dilation, f"{self.kind}'s dilation"),) * self.ndim,
        )
        if not isinstance(bias, bool):
            raise ShapeError(f"{self.kind}'s bias must be True or False, not {bias!r}")
        self.bias = bias

    # ---- configuration ----------------------------------------------------------------

    @property
    def args(self) -> tuple[object, ...]:
        w = self.window
        k = w.kernel[0] if len(set(w.kernel)) == 1 else w.kernel
        return (self.c_in, self.c_out, k, w.stride[0], w.padding[0], w.dilation[0])

    def describe(self) -> str:
        c_in, c_out, k, s, p, d = self.args
        k_text = f"({', '.join(map(str, k))})" if isinstance(k, tuple) else str(k)
        parts = [str(c_in), str(c_out), k_text]
        parts += [
            f"{n}={v}"
            for n, v, default in (("stride", s, 1), ("padding", p, 0), ("dilation", d, 1))
            if v != default
        ]
        if not self.bias:
            parts.append("bias=False")
        return f"{self.kind}({', '.join(parts)})"

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1 + self.ndim or shape[0] != self.c_in:
            want = "C×L" if self.ndim == 1 else "C×H×W"
            raise ShapeError(
                f"{self.describe()} takes inputs of shape {want} with C = {self.c_in}, but "
                f"its input has shape {shape_text(shape)}"
            )
        out = self.window.output_size(tuple(shape[1:]))
        if out is None:
            raise ShapeError(
                f"{self.describe()}: the kernel spans {shape_text(self.window.span)} "
                f"(dilation included), larger than the padded input "
                f"{shape_text(tuple(n + 2 * p for n, p in zip(shape[1:], self.window.padding)))}"
            )
        return (self.c_out, *out)

    def parameters(self, shape: Shape) -> tuple[Slot, ...]:
        fan_in = self.c_in * int(np.prod(self.window.kernel))
        w = Slot(
            "W",
            (self.c_out, self.c_in, *self.window.kernel),
            r"\mathbf{W}",
            "W",
            fan_in=fan_in,
            doc="kernel, (out channels, in channels, *kernel size)",
        )
        if not self.bias:
            return (w,)
        return (w, Slot("b", (self.c_out,), r"\mathbf{b}", "b", fan_in=fan_in, doc="bias"))

    # ---- equations --------------------------------------------------------------------

    def _constants(self) -> str:
        w = self.window
        return f"s = {w.stride[0]}, d = {w.dilation[0]}, p = {w.padding[0]}"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        pos, off = _POS[: self.ndim], _OFF[: self.ndim]
        reads = ",\\,".join(f"s{i} + d{u} - p" for i, u in zip(pos, off))
        reads_text = ", ".join(f"s·{i}+d·{u}−p" for i, u in zip(pos, off))
        bias = f"{{{w.p_tex('b')}}}_{{o}} + " if self.bias else ""
        bias_text = f"{w.p_text('b')}[o] + " if self.bias else ""
        return (
            Equation(
                f"{{{w.y_tex}}}_{{n,o,{','.join(pos)}}}",
                rf"{bias}\sum_{{c,{','.join(off)}}} {{{w.p_tex('W')}}}_{{o,c,{','.join(off)}}}\,"
                rf"{{{w.x_tex}}}_{{n,c,\,{reads}}}",
                f"{w.y_text}[n,o,{','.join(pos)}] = {bias_text}Σ_{{c,{','.join(off)}}} "
                f"{w.p_text('W')}[o,c,{','.join(off)}] {w.x_text}[n,c,{reads_text}]",
                f"cross-correlation as PyTorch's Conv{self.ndim}d, {self._constants()}; "
                f"{w.x_text} is zero outside its extent",
            ),
        )

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        pos, off, idx = _POS[: self.ndim], _OFF[: self.ndim], _IN[: self.ndim]
        g, gt = w.gy_tex(), w.gy_text()
        # braced, so that an index can follow a name that has one (W_{1})
        W, Wt, X, Xt = f"{{{w.p_tex('W')}}}", w.p_text("W"), f"{{{w.x_tex}}}", w.x_text
        s, p = self.window.stride[0], self.window.padding[0]
        # the upstream gradient, dilated by the stride (s − 1 zeros between neighbours)
        if s == 1:
            G, Gt = rf"\left({g}\right)", f"({gt})"
            dilated = ""
        else:
            G = rf"\operatorname{{dilate}}_{{{s}}}\left({g}\right)"
            Gt = f"dilate_{s}({gt})"
            dilated = f"dilate_{s} puts {s - 1} zero(s) between neighbouring positions; "
        crop, crop_t = (rf"\operatorname{{crop}}_{{{p}}}", f"crop_{p} ") if p else ("", "")
        Xp, Xpt = (rf"{X}^{{(p)}}", f"{Xt}⁽ᵖ⁾") if p else (X, Xt)
        shifted_text = ", ".join(f"{m}+p−d·{u}" for m, u in zip(idx, off))
        reads_text = ", ".join(f"s·{i}+d·{u}−p" for i, u in zip(pos, off))
        eqs = []
        if w.gx:
            eqs.append(
                Equation(
                    rf"\left({w.gx_tex()}\right)_{{n,c}}",
                    rf"{crop}\sum_o {G}_{{n,o}}"
                    rf"\star_{{\mathrm{{full}}}}\operatorname{{rot}}_{{180}}\left({W}_{{o,c}}\right)",
                    f"({w.gx_text()})[n,c] = {crop_t}Σ_o {Gt}[n,o] ⋆full rot180({Wt}[o,c])",
                    "the full convolution of the upstream gradient with the flipped kernel"
                    + (" (taps d apart)" if self.window.dilation[0] > 1 else "")
                    + f", channel axes swapped; {dilated}"
                    + (f"crop_{p} drops the padding; " if p else "")
                    + f"entrywise ({w.gx_text()})[n,c,{','.join(idx)}] = "
                    f"Σ_{{o,{','.join(off)}}} {Wt}[o,c,{','.join(off)}] "
                    f"{Gt}[n,o,{shifted_text}] (zero outside); {self._constants()}",
                )
            )
        eqs.append(
            Equation(
                rf"\left({w.g_tex('W')}\right)_{{o,c}}",
                rf"\sum_n {Xp}_{{n,c}} \star {G}_{{n,o}}",
                f"({w.g_text('W')})[o,c] = Σ_n {Xpt}[n,c] ⋆ {Gt}[n,o]",
                "the cross-correlation of the "
                + ("zero-padded " if p else "")
                + "input with the upstream gradient, read at offsets d·u, 0 ≤ u ≤ k − 1; "
                + f"entrywise ({w.g_text('W')})[o,c,{','.join(off)}] = "
                f"Σ_{{n,{','.join(pos)}}} {gt}[n,o,{','.join(pos)}] {Xt}[n,c,{reads_text}]",
            )
        )
        if self.bias:
            eqs.append(
                Equation(
                    rf"\left({w.g_tex('b')}\right)_{{o}}",
                    rf"\sum_{{n,{','.join(pos)}}} \left({g}\right)_{{n,o,{','.join(pos)}}}",
                    f"({w.g_text('b')})[o] = Σ_{{n,{','.join(pos)}}} {gt}[n,o,{','.join(pos)}]",
                    "a sum over the batch and every output position",
                )
            )
        return tuple(eqs)

    # ---- code -------------------------------------------------------------------------

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, win, n = w.tmp, self.window, self.ndim
        out = self.output_shape(shape)[1:]
        ck, positions = self.c_in * int(np.prod(win.kernel)), int(np.prod(out))
        # windows (B, C, o…, k…) → P of shape (B, C·k…, o…): one column per position, so
        # that Z = W P is one matrix product per example and comes out (B, C_out, o…)
        order = ", ".join(map(str, (0, 1, *range(2 + n, 2 + 2 * n), *range(2, 2 + n))))
        lines = [
            *im2col_code(w.x, f"{t}view", f"{t}xp", win),
            f"{t}P = {t}view.transpose({order}).reshape(-1, {ck}, {positions})",
            f"{w.y} = ({w.params['W']}.reshape({self.c_out}, {ck}) @ {t}P)"
            f".reshape(-1, {self.c_out}, {', '.join(map(str, out))})",
        ]
        if self.bias:
            lines.append(f"{w.y} += {w.params['b']}[:, {', '.join(['None'] * n)}]")
        return lines

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, win = w.tmp, self.window
        out = self.output_shape(shape)[1:]
        ck, positions = self.c_in * int(np.prod(win.kernel)), int(np.prod(out))
        kernel = ", ".join(map(str, win.kernel))
        lines = [
            f"{t}D = {w.gy}.reshape(-1, {self.c_out}, {positions})",
            # ∂L/∂W = Σ_n Δ_n P_nᵀ: the correlation of the input with the upstream gradient
            f"{w.grads['W']} = ({t}D @ {t}P.transpose(0, 2, 1)).sum(axis=0)"
            f".reshape({self.c_out}, {self.c_in}, {kernel})",
        ]
        if self.bias:
            lines.append(f"{w.grads['b']} = {t}D.sum(axis=(0, 2))")
        if not w.gx:
            return lines
        # ∂L/∂P = Wᵀ Δ, as (B, C, k…, o…), added back onto the input one offset at a time
        lines += [
            f"{t}gP = ({w.params['W']}.reshape({self.c_out}, {ck}).T @ {t}D)"
            f".reshape(-1, {self.c_in}, {kernel}, {', '.join(map(str, out))})",
            f"{t}gxp = np.zeros({t}xp.shape)",
            *col2im_code(f"{t}gP", f"{t}gxp", win, out, t, kernel_first=True),
        ]
        if any(win.padding):
            crop = ", ".join(f"{p}:{p + m}" for p, m in zip(win.padding, shape[1:]))
            lines.append(f"{w.gx} = {t}gxp[:, :, {crop}]")
        else:
            lines.append(f"{w.gx} = {t}gxp")
        return lines

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong backward passes people write (see :meth:`Block.variants`)."""
        right = self.backward_code(w, shape)
        W, n = w.params["W"], self.ndim
        gP = f"{w.tmp}gP = ({W}.reshape("

        def in_gx(new: str) -> list[str]:
            return [line.replace(gP, f"{w.tmp}gP = ({new}.reshape(") for line in right]

        out: dict[str, list[str]] = {}
        if w.gx and max(self.window.kernel) > 1:
            flip = ", ".join([":", ":"] + ["::-1"] * n)
            out[
                "does not flip the kernel in ∂L/∂X (it is the full convolution of the upstream "
                "gradient with the kernel rotated by 180°)"
            ] = in_gx(f"{W}[{flip}]")
        if w.gx and self.c_in == self.c_out > 1:
            axes = ", ".join(map(str, (1, 0, *range(2, 2 + n))))
            out["swaps the kernel's channel axes in ∂L/∂X (it sums W[o, c] over o)"] = in_gx(
                f"{W}.transpose({axes})"
            )
        if self.bias:
            b = w.grads["b"]
            out["averages ∂L/∂b over the batch and positions instead of summing"] = [
                line.replace(".sum(axis=(0, 2))", ".mean(axis=(0, 2))")
                if line.startswith(b)
                else line
                for line in right
            ]
        return out

    # ---- the explicit rule ------------------------------------------------------------

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        win, W = self.window, params["W"]
        xp = pad(x, win.padding)
        out = self.output_shape(tuple(x.shape[1:]))
        y = zeros((x.shape[0], *out))
        every = tuple(slice(None, None, s) for s in win.stride)
        for n in range(x.shape[0]):
            for o in range(self.c_out):
                total = sum(
                    (
                        correlate(xp[n, c], dilate(W[o, c], win.dilation))[every]
                        for c in range(self.c_in)
                    ),
                    zeros(out[1:]),
                )
                y[n, o] = total + (params["b"][o] if self.bias else 0)
        return y

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        win, W = self.window, params["W"]
        batch, spatial = x.shape[0], tuple(x.shape[2:])
        xp = pad(x, win.padding)
        dgy = dilate(gy, win.stride)  # Δ̃
        taps = tuple(slice(0, e, d) for e, d in zip(win.span, win.dilation))
        gW = zeros(W.shape)
        for o in range(self.c_out):
            for c in range(self.c_in):
                for n in range(batch):
                    gW[o, c] = gW[o, c] + correlate(xp[n, c], dgy[n, o])[taps]
        # full cross-correlation of Δ̃ with the flipped, dilated kernel
        full = pad(dgy, tuple(e - 1 for e in win.span))
        rot180 = (slice(None), slice(None)) + (slice(None, None, -1),) * self.ndim
        flipped = W[rot180]
        gxp = zeros(xp.shape)
        reach = tuple(slice(0, m - e + 1) for m, e in zip(full.shape[2:], win.span))
        for n in range(batch):
            for c in range(self.c_in):
                for o in range(self.c_out):
                    g = correlate(full[n, o], dilate(flipped[o, c], win.dilation))
                    cell = (n, c, *reach)
                    gxp[cell] += g
        crop = (slice(None), slice(None), *(slice(p, p + m) for p, m in zip(win.padding, spatial)))
        grads = {"W": gW}
        if self.bias:
            grads["b"] = np.array([sp.Add(*gy[:, o].flat) for o in range(self.c_out)], dtype=object)
        return gxp[crop], grads


class Conv1d(_Conv):
    """``conv1d(c_in, c_out, k, stride=1, padding=0, dilation=1)`` on inputs (C, L).

    >>> Conv1d(2, 4, 3, dilation=2).output_shape((2, 10))
    (4, 6)
    """

    kind = "conv1d"
    ndim = 1


class Conv2d(_Conv):
    """``conv2d(c_in, c_out, k, stride=1, padding=0, dilation=1)`` on inputs (C, H, W);
    ``k`` is an int or ``(kh, kw)``.

    >>> Conv2d(3, 8, 3, stride=2, padding=1).output_shape((3, 28, 28))
    (8, 14, 14)
    """

    kind = "conv2d"
    ndim = 2


_REFERENCE = (
    "Goodfellow, Bengio & Courville, Deep Learning (2016), Sec. 9.5; Dumoulin & Visin, "
    "A guide to convolution arithmetic for deep learning (2016); PyTorch Conv1d/Conv2d"
)

LAYERS.add(
    LayerKind(
        "conv1d",
        Conv1d,
        "conv1d(c_in, c_out, k, stride=1, padding=0, dilation=1)",
        "1-D cross-correlation over (C, L) inputs, kernel (c_out, c_in, k), with bias",
        examples=(
            ((2, 2, 3), {}, (2, 5)),
            ((1, 2, 2), {"stride": 2, "padding": 1, "dilation": 2}, (1, 6)),
        ),
        reference=_REFERENCE,
    )
)
LAYERS.add(
    LayerKind(
        "conv2d",
        Conv2d,
        "conv2d(c_in, c_out, k, stride=1, padding=0, dilation=1)",
        "2-D cross-correlation over (C, H, W) inputs, kernel (c_out, c_in, kh, kw), with bias",
        examples=(
            ((2, 2, 3), {}, (2, 4, 4)),
            ((1, 2, (2, 3)), {"stride": 2, "padding": 1, "dilation": 1}, (1, 3, 4)),
        ),
        reference=_REFERENCE,
    )
)
