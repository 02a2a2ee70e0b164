r"""The functions the accuracy benchmark differentiates, each written once for two backends.

Every function takes its flat parameter vector and an array namespace: :data:`NP`
(NumPy, holomorphic where the formula is, so complex step applies) or :data:`MP`
(object arrays of mpmath numbers, for the reference). Catalogue activations and scalar
losses are summed over a vector of points away from their kinks: NumPy code from
``symdl.catalog`` (the stable code a user would ship), the reference from the same
SymPy formula through ``sympy.lambdify(..., "mpmath")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath as mp
import numpy as np
import sympy as sp

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.catalog.entry import X, Z
from symdl.catalog.loss_code import loss_code, loss_expr, targets
from symdl.catalog.losses import LOSSES
from symdl.verify.symbolic import elementary


class _Numpy:
    exp, log, tanh = np.exp, np.log, np.tanh  # ufuncs: not bound as methods
    sum = staticmethod(np.sum)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def logdet(a: Any) -> Any:
        sign, logabs = np.linalg.slogdet(a)
        return logabs + np.log(sign)  # complex-step safe: sign carries the imaginary part

    inv = staticmethod(np.linalg.inv)

    @staticmethod
    def softmax(x: Any) -> Any:
        e = np.exp(x - np.max(x.real))
        return e / np.sum(e)


def _elementwise(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return np.frompyfunc(f, 1, 1)  # type: ignore[no-any-return]


class _Mpmath:
    exp, log, tanh = _elementwise(mp.exp), _elementwise(mp.log), _elementwise(mp.tanh)
    sum = staticmethod(lambda a: sum(np.ravel(a), mp.mpf(0)))

    @staticmethod
    def sigmoid(x: Any) -> Any:
        return _elementwise(lambda v: 1 / (1 + mp.exp(-v)))(x)

    @staticmethod
    def logdet(a: Any) -> Any:
        return mp.log(mp.det(mp.matrix(a.tolist())))

    @staticmethod
    def inv(a: Any) -> Any:
        return np.array(mp.inverse(mp.matrix(a.tolist())).tolist(), dtype=object)

    @staticmethod
    def softmax(x: Any) -> Any:
        e = _Mpmath.exp(x)
        return e / _Mpmath.sum(e)


NP, MP = _Numpy(), _Mpmath()


@dataclass(frozen=True)
class Case:
    """``f(theta, xp)`` with its parameter point ``theta`` (flat float64)."""

    name: str
    f: Callable[[Any, Any], Any]
    theta: np.ndarray

    def numpy(self, theta: np.ndarray) -> Any:
        return self.f(theta, NP)


_rng = np.random.default_rng(2026)
_XD, _BD = _rng.normal(size=3), _rng.normal(size=4)
_XC = _rng.normal(size=(2, 10))
_XL, _H0, _C0, _RL = (_rng.normal(size=n) for n in (2, 3, 3, 3))
_CS, _CI = _rng.normal(size=5), _rng.normal(size=(3, 3))
_A = 3 * np.eye(3) + 0.5 * _rng.normal(size=(3, 3))
# the layers' parameter points, drawn once so every call of `cases` sees the same ones
_DENSE, _KERNEL, _LSTM = (0.5 * _rng.normal(size=n) for n in (12, 12, 60))
_LOGITS = _rng.normal(size=5)
POINTS = np.array([-2.3, -0.7, -0.13, 0.29, 1.7, 4.1])  # ≥ 0.1 from every kink
PROBABILITIES = np.array([0.1, 0.3, 0.7, 0.9])


def dense(theta: Any, xp: Any) -> Any:
    return xp.sum(xp.tanh(theta.reshape(4, 3) @ _XD + _BD) ** 2)


def conv1d(theta: Any, xp: Any) -> Any:
    k = theta.reshape(2, 2, 3)  # out channels × in channels × width
    out = sum(k[:, :, t] @ _XC[:, t : t + 8] for t in range(3))
    return xp.sum(xp.tanh(out) ** 2)


def lstm(theta: Any, xp: Any) -> Any:
    w = theta.reshape(12, 5)  # gates i, f, g, o over [x; h0]
    z = w @ np.concatenate([_XL, _H0])
    i, f, o = xp.sigmoid(z[0:3]), xp.sigmoid(z[3:6]), xp.sigmoid(z[9:12])
    c = f * _C0 + i * xp.tanh(z[6:9])
    return xp.sum(o * xp.tanh(c) * _RL)


def logdet(theta: Any, xp: Any) -> Any:
    return xp.logdet(theta.reshape(3, 3))


def inverse(theta: Any, xp: Any) -> Any:
    return xp.sum(xp.inv(theta.reshape(3, 3)) * _CI)


def softmax(theta: Any, xp: Any) -> Any:
    return xp.sum(xp.softmax(theta) * _CS)


def _catalogue_case(name: str, expr: sp.Expr, var: sp.Symbol, code: Any, points: Any) -> Case:
    scalar = sp.lambdify(var, elementary(expr), modules="mpmath")

    def f(theta: Any, xp: Any) -> Any:
        if xp is MP:
            return sum((scalar(v) for v in theta), mp.mpf(0))
        return np.sum(code(theta))

    return Case(name, f, points)


def cases(*, quick: bool = False) -> list[Case]:
    """Every scalar catalogue activation and loss, then layers and matrix functions;
    ``quick``: sigmoid and the softmax case only."""
    found = []
    for entry in ACTIVATIONS:
        if entry.vector or entry.name == "identity" or (quick and entry.name != "sigmoid"):
            continue
        expr, _ = entry.at()
        found.append(_catalogue_case(entry.name, expr, X, activation_code(entry.name), POINTS))
    for loss in LOSSES:
        if loss.vector or quick:
            continue
        y = targets(loss.name)[-1]
        points = PROBABILITIES if loss.name == "bce" else POINTS
        expr, code = loss_expr(loss.name, y), loss_code(loss.name, y)
        found.append(_catalogue_case(f"{loss.name} (y = {y})", expr, Z, code, points))
    layers = [
        Case("dense tanh layer, W 4×3", dense, _DENSE),
        Case("conv1d, kernel 2×2×3", conv1d, _KERNEL),
        Case("LSTM cell, W 12×5", lstm, _LSTM),
        Case("logdet A, A 3×3", logdet, _A.ravel()),
        Case("Σ C ⊙ inv(A), A 3×3", inverse, _A.ravel()),
        Case("Σ c ⊙ softmax(x), x ∈ ℝ⁵", softmax, _LOGITS),
    ]
    return found + (layers[-1:] if quick else layers)


def reference(case: Case, *, digits: int = 50) -> np.ndarray:
    r"""The gradient at ``case.theta`` from mpmath: central differences at ``digits``
    digits with :math:`h = 10^{-20}`, whose :math:`h^2 f'''/6` and rounding terms are
    both near :math:`10^{-30}` relative; a second step :math:`h/10` must agree."""
    with mp.workdps(digits):
        theta = [mp.mpf(float(v)) for v in case.theta]
        gradient = []
        for i in range(len(theta)):
            estimates = []
            for h in (mp.mpf(10) ** -20, mp.mpf(10) ** -21):
                up, down = list(theta), list(theta)
                up[i] += h
                down[i] -= h
                fu = case.f(np.array(up, dtype=object), MP)
                fd = case.f(np.array(down, dtype=object), MP)
                estimates.append((fu - fd) / (2 * h))
            if abs(estimates[0] - estimates[1]) > mp.mpf(10) ** -25 * (1 + abs(estimates[0])):
                raise ArithmeticError(f"{case.name}: reference not converged at entry {i}")
            gradient.append(float(estimates[1]))
    return np.array(gradient)
