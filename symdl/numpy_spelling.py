r"""The NumPy spelling of each SymPy function symdl compiles, and the closures' folds.

Each entry maps a SymPy function class to its NumPy source text and the NumPy callable
that runs it. Functions that overflow when written naively have their stable spelling
(``special.expit`` for the sigmoid, ``logaddexp(0, x)`` for softplus, ``slogdet`` for
``log det``); :data:`COMPLEX_OVERRIDES` replaces those that are real-only by their
analytic continuations for complex arguments (the complex-step derivative).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from scipy import special
from sympy.codegen.cfunctions import expm1, log1p

from symdl.kernels import normal_cdf
from symdl.nodes import ndtr, sigmoid, softplus

__all__ = [
    "COMPLEX_OVERRIDES",
    "REAL_FUNCTIONS",
    "constant",
    "fold_add",
    "fold_mul",
    "limit_value",
    "logdet",
    "logsumexp_complex",
]

Env = Mapping[str, Any]


def limit_value(v: sp.Expr) -> float:
    if v is sp.oo:
        return float("inf")
    if v is sp.S.NegativeInfinity:
        return float("-inf")
    if isinstance(v, sp.Expr) and v.is_number and v.is_real and v.is_finite:
        return float(sp.N(v, 20))
    return float("nan")


def constant(value: Any) -> Callable[[Env], Any]:
    return lambda env: value


def logdet(m: np.ndarray) -> Any:
    sign, logabs = np.linalg.slogdet(m)
    if sign <= 0:
        raise FloatingPointError("logdet of a matrix whose determinant is not positive")
    return logabs


def logsumexp_complex(m: np.ndarray, axis: int | None = None) -> Any:
    shift = np.max(m.real, axis=axis, keepdims=axis is not None)
    return shift + np.log(np.sum(np.exp(m - shift), axis=axis, keepdims=axis is not None))


REAL_FUNCTIONS: dict[type, tuple[str, Callable[..., Any]]] = {
    sp.exp: ("np.exp", np.exp),
    sp.log: ("np.log", np.log),
    sp.sin: ("np.sin", np.sin),
    sp.cos: ("np.cos", np.cos),
    sp.tan: ("np.tan", np.tan),
    sp.sinh: ("np.sinh", np.sinh),
    sp.cosh: ("np.cosh", np.cosh),
    sp.tanh: ("np.tanh", np.tanh),
    sp.erf: ("special.erf", special.erf),
    sp.erfc: ("special.erfc", special.erfc),
    ndtr: ("normal_cdf", normal_cdf),
    expm1: ("np.expm1", np.expm1),
    log1p: ("np.log1p", np.log1p),
    sp.Abs: ("np.abs", np.abs),
    sp.sign: ("np.sign", np.sign),
    sp.re: ("np.real", np.real),
    sp.im: ("np.imag", np.imag),
    sp.arg: ("np.angle", np.angle),
    sigmoid: ("special.expit", special.expit),
    softplus: ("np.logaddexp(0, {})", lambda v: np.logaddexp(0, v)),
    sp.Heaviside: ("np.heaviside({}, 0.5)", lambda v, *h: np.heaviside(v, 0.5)),
}
COMPLEX_OVERRIDES: dict[type, tuple[str, Callable[..., Any]]] = {
    sigmoid: ("1/(1 + np.exp(-{}))", lambda v: 1 / (1 + np.exp(-v))),
    softplus: ("np.log1p(np.exp({}))", lambda v: np.log1p(np.exp(v))),
    ndtr: ("special.ndtr", special.ndtr),
}


def fold_add(fns: list[Callable[[Env], Any]], env: Env) -> Any:
    total = fns[0](env)
    for f in fns[1:]:
        total = total + f(env)
    return total


def fold_mul(fns: list[Callable[[Env], Any]], env: Env) -> Any:
    total = fns[0](env)
    for f in fns[1:]:
        total = total * f(env)
    return total
