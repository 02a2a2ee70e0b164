r"""Sliding windows: the arithmetic, code and explicit forms shared by convolution and pooling.

A window over the spatial axes of an input of per-example shape :math:`(C, n_1, \dots,
n_N)` has, per axis, a kernel size :math:`k`, a stride :math:`s`, a zero padding
:math:`p` and a dilation :math:`d`; it spans :math:`d(k-1)+1` entries and fits
:math:`\lfloor (n + 2p - d(k-1) - 1)/s\rfloor + 1` times (Dumoulin & Visin, A guide to
convolution arithmetic for deep learning, 2016, Sec. 2.4, relationship 15; PyTorch's
``Conv2d`` documentation). Output position :math:`i` reads input entry
:math:`si + du - p` at kernel offset :math:`u`.

The generated code (``im2col``) views the padded input as an array of windows,
:math:`(B, C, o_1, \dots, o_N, k_1, \dots, k_N)`, with
``numpy.lib.stride_tricks.sliding_window_view`` and strided slicing, without copying;
``col2im`` adds a gradient of that shape back onto the input with one strided slice per
kernel offset (a loop over :math:`\prod k` offsets only, never over the batch or the
pixels). The explicit forms are the same operations on object arrays of SymPy
expressions, written entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symdl.derive.layers.dense import positive_int
from symdl.errors import ShapeError

__all__ = [
    "Window",
    "col2im_code",
    "correlate",
    "dilate",
    "im2col_code",
    "nonnegative_int",
    "pad",
    "sizes",
    "zeros",
]

Explicit = Any


def nonnegative_int(value: object, what: str) -> int:
    """``value`` as an int ≥ 0, or a :class:`ShapeError` saying which argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ShapeError(f"{what} must be a non-negative integer, not {value!r}")
    return int(value)


def sizes(value: object, ndim: int, what: str) -> tuple[int, ...]:
    """A kernel size given as an int or as a tuple of ``ndim`` positive ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise ShapeError(f"{what} must be an int or {ndim} ints, not {tuple(value)!r}")
        return tuple(positive_int(v, what) for v in value)
    return (positive_int(value, what),) * ndim


@dataclass(frozen=True)
class Window:
    """Kernel, stride, padding and dilation per spatial axis."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def span(self) -> tuple[int, ...]:
        """Entries one window covers per axis: :math:`d(k-1)+1`."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def output_size(self, size: tuple[int, ...]) -> tuple[int, ...] | None:
        """Positions per axis, or ``None`` when the window does not fit the padded input."""
        out = tuple(
            (n + 2 * p - e) // s + 1
            for n, p, e, s in zip(size, self.padding, self.span, self.stride)
        )
        fits = all(n + 2 * p >= e for n, p, e in zip(size, self.padding, self.span))
        return out if fits else None


def _axes(ndim: int) -> str:
    return ", ".join(str(2 + a) for a in range(ndim))


def _tuple(values: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def im2col_code(x: str, cols: str, padded: str, window: Window) -> list[str]:
    """Lines binding ``padded`` (the zero-padded input) and ``cols``, a strided view of
    its windows of shape :math:`(B, C, o_1, \\dots, o_N, k_1, \\dots, k_N)`."""
    lines = []
    source = x
    if any(window.padding):
        pads = ", ".join(f"({p}, {p})" for p in window.padding)
        lines.append(f"{padded} = np.pad({x}, ((0, 0), (0, 0), {pads}))")
        source = padded
    else:
        lines.append(f"{padded} = {x}")
    steps = [f"::{s}" if s > 1 else ":" for s in (*window.stride, *window.dilation)]
    while steps and steps[-1] == ":":
        steps.pop()
    every = f"[:, :, {', '.join(steps)}]" if steps else ""
    lines.append(
        f"{cols} = np.lib.stride_tricks.sliding_window_view({source}, "
        f"{_tuple(window.span)}, axis={_tuple(tuple(range(2, 2 + window.ndim)))}){every}"
    )
    return lines


def col2im_code(
    gcols: str,
    target: str,
    window: Window,
    out: tuple[int, ...],
    tmp: str,
    *,
    kernel_first: bool = False,
) -> list[str]:
    r"""Lines adding ``gcols`` onto ``target`` (the padded input's shape, zeros): offset
    :math:`u` of every window lands on input entries :math:`du, du + s, \dots, du +
    s(o-1)`. ``gcols`` has shape :math:`(B, C, o_1, \dots, k_1, \dots)`, or
    :math:`(B, C, k_1, \dots, o_1, \dots)` when ``kernel_first``. Windows that do not
    overlap (:math:`s \ge d(k-1)+1` on every axis) write disjoint entries, so each
    offset is assigned instead of added."""
    n = window.ndim
    names = [f"{tmp}u{a}" for a in range(n)]
    lines = []
    for depth, (name, k) in enumerate(zip(names, window.kernel)):
        lines.append("    " * depth + f"for {name} in range({k}):")
    starts = [u if d == 1 else f"{d} * {u}" for u, d in zip(names, window.dilation)]
    slices = ", ".join(
        f"{a}:{a} + {s * (o - 1) + 1}" + (f":{s}" if s > 1 else "")
        for a, s, o in zip(starts, window.stride, out)
    )
    offset = ", ".join(names)
    source = f"{gcols}[:, :, {offset}]" if kernel_first else f"{gcols}[..., {offset}]"
    disjoint = all(s >= e for s, e in zip(window.stride, window.span))
    lines.append("    " * n + f"{target}[:, :, {slices}] {'=' if disjoint else '+='} {source}")
    return lines


def zeros(shape: tuple[int, ...]) -> Explicit:
    out = np.empty(shape, dtype=object)
    out.fill(sp.S.Zero)
    return out


def pad(x: Explicit, before: tuple[int, ...], after: tuple[int, ...] | None = None) -> Explicit:
    """Zeros around the trailing ``len(before)`` axes of an object array."""
    after = before if after is None else after
    lead = [(0, 0)] * (x.ndim - len(before))
    return np.pad(x, [*lead, *zip(before, after)], constant_values=sp.S.Zero)


def dilate(x: Explicit, factors: tuple[int, ...]) -> Explicit:
    """:math:`f - 1` zeros between neighbours along each of the trailing axes."""
    n = len(factors)
    lead = x.shape[: x.ndim - n]
    shape = (*lead, *(f * (m - 1) + 1 for f, m in zip(factors, x.shape[x.ndim - n :])))
    out = zeros(shape)
    every = (Ellipsis, *(slice(None, None, f) for f in factors))
    out[every] = x
    return out


def correlate(a: Explicit, k: Explicit) -> Explicit:
    r"""Valid cross-correlation of two N-d object arrays: :math:`(a\star k)[i] =
    \sum_j a[i + j]\,k[j]`, for every :math:`i` with :math:`i + j` inside :math:`a`."""
    out_shape = tuple(m - n + 1 for m, n in zip(a.shape, k.shape))
    out = np.empty(out_shape, dtype=object)
    taps = [(j, k[j]) for j in np.ndindex(*k.shape) if k[j] != 0]
    for i in np.ndindex(*out_shape):
        out[i] = sp.Add(*(a[tuple(p + q for p, q in zip(i, j))] * v for j, v in taps))
    return out
