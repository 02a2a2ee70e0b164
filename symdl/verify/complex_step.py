r"""The complex-step derivative: the Jacobian from imaginary parts, with no subtraction.

Part of :mod:`symdl.verify.finite` (which re-exports :func:`complex_step` and chooses it
under ``method="auto"`` when ``f``'s code is holomorphic); it uses that module's call
counting and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from symdl.verify.finite import (
    _COMPLEX_STEP,
    _COMPLEX_ULPS,
    _EPS,
    _SHIFT,
    Differences,
    _as_float64,
    _assembled,
    _Calls,
    _floored,
)

__all__ = ["complex_step"]


def complex_step(f: Callable[[np.ndarray], Any], x: Any) -> Differences:
    r"""Complex step :math:`f'(x)_i \approx \operatorname{Im} f(x + i h e_i)/h`.

    For ``f`` holomorphic in its code, :math:`f(x + ih) = f(x) + ih f'(x) - \tfrac{h^2}{2}
    f''(x) - \tfrac{ih^3}{6} f'''(x) + \dots`, so the imaginary part carries :math:`f'` with
    no subtraction. With :math:`h = 10^{-20}\max(1, |x_i|)` the :math:`h^2 f'''/6` term is
    below :math:`\varepsilon|f'|` unless :math:`|f'''| > 10^{24}|f'|/s^2`, so the bound is
    rounding alone,

    .. math:: 8\varepsilon\,\bigl(|J_{o,i}| + \max_k |J_{o,k}| + |f_o(x)|/s_i
              + |(H_o s)_i|\bigr), \qquad s_i = \max(1, |x_i|):

    relative to the entry, to its output's gradient scale, to the smallest slope float64
    values of :math:`f_o` resolve over the length :math:`s_i`, and to what rounding ``x``
    into intermediates costs (``fl(100 * x)`` is off by :math:`\varepsilon\,100|x|`), with
    :math:`H_o s` measured as :math:`(J(x + \delta s) - J(x))/\delta`,
    :math:`\delta = 2^{-20}`. Costs :math:`2 + 2\,\mathrm{size}(x)` calls.

    Raises :class:`UnsupportedError` when ``f`` raises on complex input, returns a real
    dtype (or casts complex to real), or returns non-finite values. Code that is not
    holomorphic (``abs``, ``maximum``, ``real``, comparisons on complex values) gives a
    wrong answer silently; :func:`differences` checks for that, this function cannot.

    >>> d = complex_step(np.exp, 1.0)
    >>> bool(abs(d.value - np.e) <= d.error <= 1e-14 * np.e)
    True

    Reference: W. Squire and G. Trapp, "Using complex variables to estimate derivatives of
    real functions", SIAM Review 40 (1998) 110–112; Martins, Sturdza and Alonso, ACM TOMS
    29 (2003) 245–262.
    """
    x = _as_float64(x)
    scale = np.maximum(1.0, np.abs(x))
    h = _COMPLEX_STEP * scale
    calls = _Calls(f, x, imaginary=True)
    value = _complex_jacobian(calls, h)
    # Rounding x into f's intermediates (fl(100 x), fl(W @ x)) perturbs them by about
    # eps·s, which moves J by about eps·|H s|; J at x + delta·s measures H s.
    shifted = _Calls(f, np.asarray(x + _SHIFT * scale), imaginary=True, out_shape=calls.out_shape)
    conditioning = np.abs(_complex_jacobian(shifted, h) - value) / _SHIFT
    axes = tuple(range(value.ndim - x.ndim, value.ndim))
    gradient_scale = np.max(np.abs(value), axis=axes, keepdims=True) if x.size else 0.0
    # A slope below eps·|f|/s moves f by less than an ulp over the length s: float64 code
    # cannot resolve it, so it floors every entry (tanh'(50) = 4e-43 comes out of NumPy's
    # complex tanh with only 9 correct digits).
    unresolvable = np.multiply.outer(np.abs(calls.at_x.real), 1 / scale)
    error = np.abs(value) + gradient_scale + unresolvable + conditioning
    error = _floored(_COMPLEX_ULPS * _EPS * error, value)
    calls.count += shifted.count
    return Differences(value, error, "complex-step", h, calls.count)


def _complex_jacobian(calls: _Calls, h: np.ndarray) -> np.ndarray:
    x = calls.x
    values = [
        calls.at(index, complex(x[index], h[index])).imag / h[index]
        for index in np.ndindex(x.shape)
    ]
    return _assembled(values, calls.out_shape, x.shape)
