r"""Reverse-mode rules for reductions along one axis: row-wise log-sum-exp, softmax, log-softmax.

For an :math:`n \times m` matrix, ``axis=1`` treats each row on its own and ``axis=0``
each column (Vaswani et al., *Attention is all you need*, 2017, §3.2.1, apply the softmax
to each row of :math:`QK^\top/\sqrt{d_k}`). With :math:`\mathbf 1` the all-ones column
and the subscript 1 for axis 1:

==============================================  ===============================================
:math:`y = \operatorname{lse}_1 A` (``n×1``)    :math:`\bar A = (\bar y\,\mathbf 1^\top) \odot
                                                \operatorname{softmax}_1(A)`
:math:`P = \operatorname{softmax}_1 Z`          :math:`\bar Z = P \odot (\bar P - ((\bar P \odot
                                                P)\mathbf 1)\mathbf 1^\top)`
:math:`S = \operatorname{log\_softmax}_1 Z`     :math:`\bar Z = \bar S - \operatorname{softmax}_1(Z)
                                                \odot ((\bar S\mathbf 1)\mathbf 1^\top)`
==============================================  ===============================================

Along axis 0 the sums run down the columns: :math:`\mathbf 1(\mathbf 1^\top M)` replaces
:math:`(M\mathbf 1)\mathbf 1^\top`. Each row (column) is the all-entries rule of
:mod:`symdl.derive.matrix_rules` applied to that row alone, so each rule is an identity
for every size. ``sum`` and ``mean`` along an axis are products with :math:`\mathbf 1`
(:math:`A\mathbf 1`, :math:`\mathbf 1^\top A`) and need no rule of their own.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symdl.derive.matrix_tidy import Tidy, axis_softmax_argument
from symdl.nodes import AxisLogSumExp, axis_log_softmax_argument
from symdl.ops import _softmax_along
from symdl.shapes import shape_of

__all__ = ["axis_composite_share", "axis_logsumexp_share"]

Send = Callable[[sp.Basic, sp.Basic], None]


def axis_logsumexp_share(node: AxisLogSumExp, bar: sp.Basic, t: Tidy) -> sp.Basic:
    r""":math:`\bar A = (\bar y\,\mathbf 1^\top) \odot \operatorname{softmax}_1(A)` for
    :math:`y = \operatorname{lse}_1 A` (and its axis-0 mirror)."""
    return t.hadamard(
        _spread(bar, shape_of(node.arg), node.axis, t), _softmax_along(node.arg, node.axis)
    )


def axis_composite_share(
    real: sp.Basic, node: sp.Basic, inner: sp.Basic, bar: sp.Basic, t: Tidy, send: Send
) -> bool:
    """Send ``inner`` its share when ``real`` is a softmax or log-softmax along an axis.

    ``node`` is the held value of ``real`` (:math:`P` or :math:`S`), ``inner`` the held
    argument :math:`Z`, ``bar`` the adjoint of ``real``. False when ``real`` is neither.
    """
    along = axis_softmax_argument(real)
    if along is not None:
        axis = along[1]
        shift = _spread(_reduce(t.hadamard(bar, node), axis, t), shape_of(node), axis, t)
        send(inner, t.hadamard(node, t.matadd(bar, t.matmul(-1, shift))))
        return True
    along = axis_log_softmax_argument(real) if isinstance(real, sp.MatAdd) else None
    if along is not None:
        axis = along[1]
        shift = _spread(_reduce(bar, axis, t), shape_of(inner), axis, t)
        send(inner, t.matadd(bar, t.matmul(-1, t.hadamard(_softmax_along(inner, axis), shift))))
        return True
    return False


def _spread(v: sp.Basic, shape: tuple[sp.Basic, ...], axis: int, t: Tidy) -> sp.Basic:
    """A column ``v`` repeated along the rows (``v 𝟏ᵀ``, axis 1), or a row down the
    columns (``𝟏 v``, axis 0), to the full ``shape``."""
    rows, cols = shape
    if axis == 1:
        return t.matmul(v, sp.OneMatrix(1, cols))
    return t.matmul(sp.OneMatrix(rows, 1), v)


def _reduce(m: sp.Basic, axis: int, t: Tidy) -> sp.Basic:
    """The sums of ``m`` along ``axis``: ``m 𝟏`` (axis 1) or ``𝟏ᵀ m`` (axis 0)."""
    rows, cols = shape_of(m)
    if axis == 1:
        return t.matmul(m, sp.OneMatrix(cols, 1))
    return t.matmul(sp.OneMatrix(1, rows), m)
