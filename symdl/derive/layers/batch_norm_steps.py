r"""Batch norm's backward pass in the step-by-step form of Ioffe & Szegedy (2015), Sec. 3.

The paper derives :math:`\partial\ell/\partial x_i` through the intermediates
:math:`\partial\ell/\partial\hat x_i`, :math:`\partial\ell/\partial\sigma^2` and
:math:`\partial\ell/\partial\mu`; :class:`~symdl.derive.layers.normalisation.BatchNorm`
states (and its code computes) the equivalent compact form. This module computes the
paper's form line by line, on floats or on SymPy expressions, so the two can be compared
and the term of :math:`\partial\ell/\partial\mu` that vanishes identically can be shown
to vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from symdl.derive.layers.normalisation import DEFAULT_EPS, _eps, _rsqrt, positive_float
from symdl.errors import ShapeError

__all__ = ["BatchNormSteps", "batch_norm_steps"]


@dataclass(frozen=True)
class BatchNormSteps:
    r"""The backward pass of batch norm in the step-by-step form of Ioffe & Szegedy (2015),
    Sec. 3, on a batch ``x`` of shape ``(m, n)``: every intermediate the paper names.

    ``dmean_vanishing`` is the second term of :math:`\partial\ell/\partial\mu`,
    :math:`\partial\ell/\partial\sigma^2\cdot\sum_i -2(x_i-\mu)/m`; it is zero for every
    input because :math:`\sum_i (x_i - \mu) = 0` (kept here so a test can show it)."""

    mean: Any
    var: Any
    xhat: Any
    dxhat: Any
    dvar: Any
    dmean_direct: Any
    dmean_vanishing: Any
    dmean: Any
    dx: Any
    dgamma: Any
    dbeta: Any


def batch_norm_steps(x: Any, gamma: Any, gy: Any, *, eps: float = DEFAULT_EPS) -> BatchNormSteps:
    r"""Ioffe & Szegedy (2015), Sec. 3, line by line, for ``x``, ``gy`` of shape ``(m, n)``:

    .. math::

        \frac{\partial\ell}{\partial\hat x_i} = \frac{\partial\ell}{\partial y_i}\gamma,\quad
        \frac{\partial\ell}{\partial\sigma^2} = \sum_i\frac{\partial\ell}{\partial\hat x_i}
        (x_i-\mu)\cdot\frac{-1}{2}(\sigma^2+\epsilon)^{-3/2},

        \frac{\partial\ell}{\partial\mu} = \Big(\sum_i\frac{\partial\ell}{\partial\hat x_i}
        \cdot\frac{-1}{\sqrt{\sigma^2+\epsilon}}\Big) + \frac{\partial\ell}{\partial\sigma^2}
        \cdot\frac{\sum_i -2(x_i-\mu)}{m},

        \frac{\partial\ell}{\partial x_i} = \frac{\partial\ell}{\partial\hat x_i}\cdot
        \frac{1}{\sqrt{\sigma^2+\epsilon}} + \frac{\partial\ell}{\partial\sigma^2}\cdot
        \frac{2(x_i-\mu)}{m} + \frac{\partial\ell}{\partial\mu}\cdot\frac1m,\quad
        \frac{\partial\ell}{\partial\gamma} = \sum_i\frac{\partial\ell}{\partial y_i}\hat x_i,
        \quad\frac{\partial\ell}{\partial\beta} = \sum_i\frac{\partial\ell}{\partial y_i}.

    Works on float arrays and on object arrays of SymPy expressions (ε then enters as the
    exact value of the float).

    >>> s = batch_norm_steps(np.array([[1.0], [3.0]]), np.array([2.0]), np.array([[1.0], [0.0]]))
    >>> float(s.dmean_vanishing[0]), float(s.dbeta[0])
    (0.0, 1.0)
    """
    x, gy = np.asarray(x), np.asarray(gy)
    if x.ndim != 2 or gy.shape != x.shape or np.shape(gamma) != x.shape[1:]:
        raise ShapeError(
            f"batch_norm_steps takes x and gy of one shape (m, n) and gamma of shape (n,), "
            f"not {np.shape(x)}, {np.shape(gy)}, {np.shape(gamma)}"
        )
    e = _eps(positive_float(eps, "batch_norm_steps's epsilon"), x)
    m = x.shape[0]
    mean = x.sum(axis=0) / m
    var = ((x - mean) * (x - mean)).sum(axis=0) / m
    rstd = _rsqrt(var + e)
    xhat = (x - mean) * rstd
    dxhat = gy * gamma
    dvar = (dxhat * (x - mean)).sum(axis=0) * (-rstd * rstd * rstd / 2)
    dmean_direct = (dxhat * -rstd).sum(axis=0)
    dmean_vanishing = dvar * (-2 * (x - mean)).sum(axis=0) / m
    dmean = dmean_direct + dmean_vanishing
    dx = dxhat * rstd + dvar * 2 * (x - mean) / m + dmean / m
    return BatchNormSteps(
        mean,
        var,
        xhat,
        dxhat,
        dvar,
        dmean_direct,
        dmean_vanishing,
        dmean,
        dx,
        (gy * xhat).sum(axis=0),
        gy.sum(axis=0),
    )
