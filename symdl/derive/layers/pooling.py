r"""Max and average pooling (1-D and 2-D), channel by channel, no padding.

On a batch of per-example shape :math:`(C, n_1[, n_2])`, with kernel :math:`k` and stride
:math:`s` (by default :math:`s = k`: windows side by side), each output entry pools one
window :math:`\mathcal W_{i,j} = \{(si + u, sj + v) : 0 \le u < k_1, 0 \le v < k_2\}`:

.. math::

    Y^{\max}_{n,c,i,j} = \max_{(m,q)\in\mathcal W_{i,j}} X_{n,c,m,q},\qquad
    Y^{\text{avg}}_{n,c,i,j} = \frac{1}{k_1k_2}\sum_{(m,q)\in\mathcal W_{i,j}} X_{n,c,m,q}.

Backward, with :math:`\Delta = \partial L/\partial Y`: average pooling spreads each
:math:`\Delta_{n,c,i,j}` evenly over its window, :math:`\partial L/\partial X_{n,c,m,q}
= \frac{1}{k_1k_2}\sum_{(i,j):(m,q)\in\mathcal W_{i,j}}\Delta_{n,c,i,j}`; max pooling
routes it to the window's maximum, :math:`\partial L/\partial X_{n,c,m,q} =
\sum_{(i,j):(m,q)=\operatorname{argmax}\mathcal W_{i,j}}\Delta_{n,c,i,j}` (a sum, since
overlapping windows, :math:`s < k`, can share their maximum). **Ties**: the gradient goes
to the *first* maximal entry of the window in row-major order (``numpy.argmax``), so it is
one element of the subdifferential and the entries of a window still sum to
:math:`\Delta_{n,c,i,j}`. Where the maximum is unique (almost everywhere) this is the
derivative (Goodfellow, Bengio & Courville, Deep Learning, 2016, Sec. 9.3; LeCun et al.,
Gradient-based learning applied to document recognition, 1998, Sec. II).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.base import LAYERS, Block, Equation, LayerKind, Shape, Wiring
from symdl.derive.layers.dense import shape_text
from symdl.derive.layers.windows import Window, col2im_code, im2col_code, sizes, zeros
from symdl.errors import ShapeError

__all__ = ["AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]

_POS = ("i", "j")
_OFF = ("u", "v")
_IN = ("m", "q")


class _Pool(Block):
    ndim: int
    letter = "P"
    _op: str

    def __init__(
        self, k: int | tuple[int, ...], stride: int | tuple[int, ...] | None = None
    ) -> None:
        kernel = sizes(k, self.ndim, f"{self.kind}'s kernel size")
        steps = kernel if stride is None else sizes(stride, self.ndim, f"{self.kind}'s stride")
        self.window = Window(kernel, steps, (0,) * self.ndim, (1,) * self.ndim)

    @property
    def size(self) -> int:
        return int(np.prod(self.window.kernel))

    @property
    def args(self) -> tuple[object, ...]:
        k, s = self.window.kernel, self.window.stride
        return (_one(k), _one(s))

    def describe(self) -> str:
        k, s = self.args
        text = _text(k)
        if self.window.stride != self.window.kernel:
            text += f", stride={_text(s)}"
        return f"{self.kind}({text})"

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1 + self.ndim:
            want = "C×L" if self.ndim == 1 else "C×H×W"
            raise ShapeError(
                f"{self.describe()} takes inputs of shape {want}, but its input has shape "
                f"{shape_text(shape)}"
            )
        out = self.window.output_size(tuple(shape[1:]))
        if out is None:
            raise ShapeError(
                f"{self.describe()}: the window {shape_text(self.window.kernel)} is larger "
                f"than the input {shape_text(tuple(shape[1:]))}"
            )
        return (shape[0], *out)

    def _window_tex(self) -> tuple[str, str]:
        pos, off = _POS[: self.ndim], _OFF[: self.ndim]
        tex = ",\\,".join(f"s{i}+{u}" for i, u in zip(pos, off))
        text = ", ".join(f"s·{i}+{u}" for i, u in zip(pos, off))
        return tex, text

    def _constants(self) -> str:
        k, s = self.args
        return f"k = {_text(k)}, s = {_text(s)}"

    def forward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        pos, off = ",".join(_POS[: self.ndim]), ",".join(_OFF[: self.ndim])
        tex, text = self._window_tex()
        if self._op == "max":
            rhs = rf"\max_{{{off}}} {{{w.x_tex}}}_{{n,c,\,{tex}}}"
            rhs_text = f"max_{{{off}}} {w.x_text}[n,c,{text}]"
        else:
            rhs = rf"\frac{{1}}{{{self.size}}}\sum_{{{off}}} {{{w.x_tex}}}_{{n,c,\,{tex}}}"
            rhs_text = f"(1/{self.size}) Σ_{{{off}}} {w.x_text}[n,c,{text}]"
        return (
            Equation(
                f"{{{w.y_tex}}}_{{n,c,{pos}}}",
                rhs,
                f"{w.y_text}[n,c,{pos}] = {rhs_text}",
                f"each channel separately, {self._constants()}, 0 ≤ {off} ≤ k − 1",
            ),
        )

    # ---- code -------------------------------------------------------------------------

    def _view(self, w: Wiring) -> list[str]:
        return im2col_code(w.x, f"{w.tmp}view", f"{w.tmp}xv", self.window)

    def _scatter(self, w: Wiring, shape: Shape, gcols: str) -> list[str]:
        out = self.output_shape(shape)[1:]
        return [
            f"{w.gx} = np.zeros({w.x}.shape)",
            *col2im_code(gcols, w.gx, self.window, out, w.tmp),
        ]

    def _windows(self, x: Any) -> list[tuple[tuple[int, ...], list[tuple[int, ...]]]]:
        """Each output position (batch, channel, i…) with the input indices it pools."""
        out = self.output_shape(tuple(x.shape[1:]))
        win = self.window
        found = []
        for index in np.ndindex(x.shape[0], *out):
            n, c, *pos = index
            cells = [
                (n, c, *(s * i + u for s, i, u in zip(win.stride, pos, offset)))
                for offset in np.ndindex(*win.kernel)
            ]
            found.append((index, cells))
        return found


class _MaxPool(_Pool):
    _op = "max"

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        pos, at = ",".join(_POS[: self.ndim]), ",".join(_IN[: self.ndim])
        text = self._window_tex()[1]
        return (
            Equation(
                rf"\left({w.gx_tex()}\right)_{{n,c,{at}}}",
                rf"\sum_{{{pos}}} \left({w.gy_tex()}\right)_{{n,c,{pos}}}\,"
                rf"\left[({at}) = \operatorname{{argmax}}_{{\mathcal{{W}}_{{{pos}}}}}"
                rf" {{{w.x_tex}}}_{{n,c}}\right]",
                f"({w.gx_text()})[n,c,{at}] = Σ_{{{pos}}} {w.gy_text()}[n,c,{pos}] · "
                f"[({at}) = argmax over the window ({pos}) of {w.x_text}[n,c,{text}]]",
                "the gradient goes to each window's maximum (the first one in row-major "
                "order on a tie, as numpy.argmax); other entries get 0; overlapping "
                f"windows add; {self._constants()}",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        t, n = w.tmp, self.ndim
        return [
            *self._view(w),
            f"{t}flat = {t}view.reshape({t}view.shape[:{2 + n}] + ({self.size},))",
            f"{t}arg = {t}flat.argmax(axis=-1)",
            f"{w.y} = np.take_along_axis({t}flat, {t}arg[..., None], axis=-1)[..., 0]",
        ]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        t = w.tmp
        kernel = ", ".join(map(str, self.window.kernel)) + ("," if self.ndim == 1 else "")
        return [
            f"{t}routed = np.zeros({t}arg.shape + ({self.size},))",
            f"np.put_along_axis({t}routed, {t}arg[..., None], {w.gy}[..., None], axis=-1)",
            f"{t}gP = {t}routed.reshape({t}arg.shape + ({kernel}))",
            *self._scatter(w, shape, f"{t}gP"),
        ]

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong backward passes people write (see :meth:`Block.variants`)."""
        if not w.gx or self.size == 1:
            return {}
        t = w.tmp
        kernel = ", ".join(map(str, self.window.kernel)) + ("," if self.ndim == 1 else "")
        new = ", ".join(["None"] * self.ndim)
        to_all = f"np.broadcast_to({w.gy}[..., {new}], {w.gy}.shape + ({kernel}))"
        return {
            "sends the gradient to every entry of the window, not only to its maximum": [
                f"{t}gP = {to_all}",
                *self._scatter(w, shape, f"{t}gP"),
            ]
        }

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        y = zeros((x.shape[0], *self.output_shape(tuple(x.shape[1:]))))
        for index, cells in self._windows(x):
            y[index] = sp.Max(*(x[cell] for cell in cells))
        return y

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        gx = zeros(x.shape)
        for index, cells in self._windows(x):
            entries = [x[cell] for cell in cells]
            for j, cell in enumerate(cells):
                # entry j is the first maximum: above every earlier entry, ≥ every later one
                first = sp.Mul(
                    *(sp.Heaviside(entries[j] - e, 0) for e in entries[:j]),
                    *(sp.Heaviside(entries[j] - e, 1) for e in entries[j + 1 :]),
                )
                gx[cell] += gy[index] * first
        return gx, {}


class _AvgPool(_Pool):
    _op = "avg"

    def backward_equations(self, w: Wiring, shape: Shape) -> tuple[Equation, ...]:
        pos, at = ",".join(_POS[: self.ndim]), ",".join(_IN[: self.ndim])
        return (
            Equation(
                rf"\left({w.gx_tex()}\right)_{{n,c,{at}}}",
                rf"\frac{{1}}{{{self.size}}}\sum_{{({pos}):\,({at})\in\mathcal{{W}}_{{{pos}}}}}"
                rf" \left({w.gy_tex()}\right)_{{n,c,{pos}}}",
                f"({w.gx_text()})[n,c,{at}] = (1/{self.size}) Σ over the windows ({pos}) "
                f"holding ({at}) of {w.gy_text()}[n,c,{pos}]",
                "each upstream entry spread evenly over its window; overlapping windows add; "
                f"{self._constants()}",
            ),
        )

    def forward_code(self, w: Wiring, shape: Shape) -> list[str]:
        axes = tuple(range(-self.ndim, 0))
        return [*self._view(w), f"{w.y} = {w.tmp}view.mean(axis={axes if self.ndim > 1 else -1})"]

    def backward_code(self, w: Wiring, shape: Shape) -> list[str]:
        if not w.gx:
            return []
        t = w.tmp
        kernel = ", ".join(map(str, self.window.kernel)) + ("," if self.ndim == 1 else "")
        new = ", ".join(["None"] * self.ndim)
        return [
            f"{t}gP = np.broadcast_to(({w.gy} / {self.size})[..., {new}], "
            f"{w.gy}.shape + ({kernel}))",
            *self._scatter(w, shape, f"{t}gP"),
        ]

    def variants(self, w: Wiring, shape: Shape) -> dict[str, list[str]]:
        """Wrong backward passes people write (see :meth:`Block.variants`)."""
        if not w.gx or self.size == 1:
            return {}
        share = f"({w.gy} / {self.size})"
        return {
            f"passes the whole gradient to every entry (forgets the share 1/{self.size})": [
                line.replace(share, f"({w.gy})") for line in self.backward_code(w, shape)
            ]
        }

    def forward_explicit(self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
        y = zeros((x.shape[0], *self.output_shape(tuple(x.shape[1:]))))
        for index, cells in self._windows(x):
            y[index] = sp.Add(*(x[cell] for cell in cells)) / self.size
        return y

    def backward_explicit(
        self, x: Any, params: Mapping[str, Any], data: Mapping[str, Any], gy: Any
    ) -> tuple[Any, dict[str, Any]]:
        gx = zeros(x.shape)
        share = sp.Rational(1, self.size)
        for index, cells in self._windows(x):
            for cell in cells:
                gx[cell] += share * gy[index]
        return gx, {}


def _one(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else values


def _text(value: object) -> str:
    return f"({', '.join(map(str, value))})" if isinstance(value, tuple) else str(value)


class MaxPool1d(_MaxPool):
    kind = "maxpool1d"
    ndim = 1


class MaxPool2d(_MaxPool):
    """``maxpool2d(k, stride=k)`` on inputs (C, H, W); a remainder no window covers is
    dropped, as in PyTorch.

    >>> MaxPool2d(2).output_shape((8, 27, 26))
    (8, 13, 13)
    """

    kind = "maxpool2d"
    ndim = 2


class AvgPool1d(_AvgPool):
    kind = "avgpool1d"
    ndim = 1


class AvgPool2d(_AvgPool):
    kind = "avgpool2d"
    ndim = 2


_REFERENCE = (
    "Goodfellow, Bengio & Courville, Deep Learning (2016), Sec. 9.3; LeCun, Bottou, "
    "Bengio & Haffner, Gradient-based learning applied to document recognition (1998)"
)

for _cls, _what in (
    (MaxPool1d, "1-D max pooling over (C, L) inputs; gradient to each window's first maximum"),
    (MaxPool2d, "2-D max pooling over (C, H, W) inputs; gradient to each window's first maximum"),
    (AvgPool1d, "1-D average pooling over (C, L) inputs; gradient spread evenly"),
    (AvgPool2d, "2-D average pooling over (C, H, W) inputs; gradient spread evenly"),
):
    _two_d = _cls.ndim == 2
    LAYERS.add(
        LayerKind(
            _cls.kind,
            _cls,
            f"{_cls.kind}(k, stride=k)",
            _what,
            examples=(
                ((2,), {}, (2, 4, 4) if _two_d else (2, 6)),
                ((2,), {"stride": 1}, (1, 3, 4)) if _two_d else ((3,), {"stride": 2}, (1, 7)),
            ),
            reference=_REFERENCE,
        )
    )
