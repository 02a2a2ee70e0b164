"""Strategies for arrays: shapes, structured matrices, probability vectors, and values
for named variables with consistent sizes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from symdl.errors import SymdlError
from symdl.shapes import parse_shape
from symdl.strategies._validate import _check_bounds, _check_int

__all__ = ["KINDS", "matrices", "probability_vectors", "shapes", "variables"]

#: The matrix kinds :func:`matrices` draws.
KINDS = ("general", "invertible", "symmetric", "spd", "orthogonal", "diagonal")


def shapes(
    *, min_dims: int = 0, max_dims: int = 2, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """NumPy shapes of scalars, vectors and matrices (symdl's arrays have at most 2 axes)."""
    for name, v in (("min_dims", min_dims), ("max_dims", max_dims)):
        _check_int(v, name, 0, 2)
    for name, v in (("min_side", min_side), ("max_side", max_side)):
        _check_int(v, name, 1, 10**4)
    if min_dims > max_dims or min_side > max_side:
        raise InvalidArgument(
            f"empty range: dims [{min_dims}, {max_dims}], sides [{min_side}, {max_side}]"
        )
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def _elements(min_value: float, max_value: float) -> st.SearchStrategy[float]:
    return st.floats(
        min_value, max_value, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


def matrices(
    shape: int | tuple[int, int] | st.SearchStrategy[tuple[int, int]],
    *,
    kind: str = "general",
    min_value: float = -10.0,
    max_value: float = 10.0,
    max_condition: float = 1e3,
) -> st.SearchStrategy[np.ndarray]:
    r"""float64 matrices of ``shape`` (an int ``n`` means ``n×n``) and of one ``kind``.

    ``min_value``/``max_value`` bound the entries drawn; the structured kinds are built
    from them and may leave that range:

    - ``general``: the entries as drawn;
    - ``invertible``: the drawn matrix with its singular values raised to at least
      :math:`s_{\max}/\kappa` (the identity when :math:`s_{\max} < 10^{-150}`), so
      :math:`\kappa_2 \le` ``max_condition``;
    - ``symmetric``: :math:`(B + B^\top)/2`, exactly symmetric;
    - ``spd``: :math:`S + (a - \lambda_{\min}(S))I` with :math:`S` symmetric and
      :math:`a = \max((\lambda_{\max} - \lambda_{\min})/(\kappa - 1), 10^{-3})`, so every
      eigenvalue is at least :math:`a`, :math:`\kappa_2 \le` ``max_condition`` and
      Cholesky succeeds;
    - ``orthogonal``: the Q of a QR factorisation with :math:`\operatorname{diag} R \ge 0`
      (orthonormal columns when the shape is tall);
    - ``diagonal``: a diagonal matrix with entries at least 0.05 away from zero.
    """
    if kind not in KINDS:
        raise InvalidArgument(f"kind={kind!r} is not one of {KINDS}")
    _check_bounds(min_value, max_value)
    if not (isinstance(max_condition, (int, float)) and max_condition > 1):
        raise InvalidArgument(f"max_condition must be a number > 1, got {max_condition!r}")
    if isinstance(shape, st.SearchStrategy):
        return shape.flatmap(
            lambda s: matrices(
                s, kind=kind, min_value=min_value, max_value=max_value, max_condition=max_condition
            )
        )
    rows, cols = _matrix_shape(shape, kind)
    drawn = hnp.arrays(np.float64, (rows, cols), elements=_elements(min_value, max_value))
    if kind == "general":
        return drawn
    if kind == "symmetric":
        return drawn.map(lambda b: (b + b.T) / 2)
    if kind == "diagonal":
        side = _elements(0.05, max(abs(min_value), abs(max_value), 0.05))
        signs = st.sampled_from([-1.0, 1.0])
        entry = st.tuples(side, signs).map(lambda t: t[0] * t[1])
        return st.lists(entry, min_size=rows, max_size=rows).map(np.diag)
    if kind == "invertible":
        return drawn.map(lambda b: _invertible(b, max_condition)).filter(
            lambda a: np.linalg.cond(a) <= max_condition
        )
    if kind == "spd":
        return drawn.map(lambda b: _spd(b, max_condition)).filter(
            lambda a: _cholesky_ok(a) and np.linalg.cond(a) <= max_condition
        )
    return drawn.map(_orthogonal).filter(lambda q: _orthonormal(q))


def _matrix_shape(shape: object, kind: str) -> tuple[int, int]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape, shape)
    if (
        not isinstance(shape, tuple)
        or len(shape) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
    ):
        raise InvalidArgument(f"shape must be (rows, cols) of positive ints, got {shape!r}")
    rows, cols = shape
    if kind == "orthogonal" and rows < cols:
        raise InvalidArgument(
            f"an orthogonal {rows}×{cols} matrix needs rows >= cols (orthonormal columns)"
        )
    if kind not in ("general", "orthogonal") and rows != cols:
        raise InvalidArgument(f"kind={kind!r} needs a square shape, got {shape!r}")
    return rows, cols


#: Below this largest singular value an inverse would leave float64; such draws become I.
_TINY = 1e-150


def _invertible(b: np.ndarray, max_condition: float) -> np.ndarray:
    u, s, vt = np.linalg.svd(b)
    if not s[0] > _TINY:
        return np.eye(b.shape[0])
    # a hair inside the bound, so rounding in the product cannot push κ above it
    floor = s[0] / (max_condition * (1 - 1e-6))
    return (u * np.maximum(s, floor)) @ vt


def _spd(b: np.ndarray, max_condition: float) -> np.ndarray:
    s = (b + b.T) / 2
    eig = np.linalg.eigvalsh(s)
    spread = float(eig[-1] - eig[0])
    a = max(spread / ((max_condition - 1) * (1 - 1e-6)), 1e-3)
    return s + (a - float(eig[0])) * np.eye(b.shape[0])


def _cholesky_ok(a: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return False
    return bool(np.array_equal(a, a.T))


def _orthogonal(b: np.ndarray) -> np.ndarray:
    q, r = np.linalg.qr(b)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    return q * signs


def _orthonormal(q: np.ndarray) -> bool:
    n = q.shape[0]
    err = np.abs(q.T @ q - np.eye(q.shape[1]))
    return bool(np.all(err <= 10 * n * np.finfo(np.float64).eps))


def probability_vectors(
    size: int, *, min_probability: float = 0.0
) -> st.SearchStrategy[np.ndarray]:
    r"""1-D probability vectors :math:`p` of ``size`` entries: :math:`p_i \ge`
    ``min_probability`` and :math:`|\sum_i p_i - 1| \le n\varepsilon`.

    Built as :math:`p = m + (1 - nm)\,w/\sum w` from weights :math:`w \in [0, 1]` (uniform
    when every weight is 0), so one-hot vectors are reachable when ``min_probability=0``.
    """
    _check_int(size, "size", 1, 10**6)
    m = min_probability
    if not (isinstance(m, (int, float)) and m >= 0 and size * m <= 1):
        raise InvalidArgument(
            f"min_probability must be in [0, 1/size] = [0, {1 / size}], got {min_probability!r}"
        )
    weights = hnp.arrays(np.float64, (size,), elements=_elements(0.0, 1.0))

    def build(w: np.ndarray) -> np.ndarray:
        total = float(np.sum(w))
        share = w / total if total > 0 else np.full(size, 1.0 / size)
        return m + (1 - size * m) * share

    return weights.map(build).filter(
        lambda p: (
            abs(float(np.sum(p)) - 1) <= size * np.finfo(np.float64).eps and bool(np.all(p >= m))
        )
    )


def variables(
    shapes: Mapping[str, object],
    *,
    assume: Mapping[str, str] | None = None,
    min_size: int = 1,
    max_size: int = 5,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> st.SearchStrategy[dict[str, Any]]:
    """Values for named variables with consistent sizes: ``{"W": "m x n", "x": "n"}``
    draws ``m`` and ``n`` in ``[min_size, max_size]`` once and gives ``W`` an ``m×n``
    array and ``x`` a 1-D array of ``n`` entries; a scalar (shape ``""``) is a float.

    ``assume`` gives kinds: ``positive``/``negative``/``nonzero`` (entries at least 0.05
    from zero, of that sign), a matrix kind of :func:`matrices`, or ``probability``.
    """
    _check_int(min_size, "min_size", 1, 10**4)
    _check_int(max_size, "max_size", min_size, 10**4)
    _check_bounds(min_value, max_value)
    kinds = dict(assume or {})
    try:
        parsed = {
            n: parse_shape(s) if isinstance(s, str) else tuple(s)  # type: ignore[arg-type]
            for n, s in shapes.items()
        }
    except (SymdlError, ValueError, TypeError) as err:
        raise InvalidArgument(str(err)) from err
    dims = sorted({d for s in parsed.values() for d in s if isinstance(d, sp.Symbol)}, key=str)
    for name, kind in kinds.items():
        if name not in parsed:
            parsed[name] = ()
        if kind not in (*KINDS, "positive", "negative", "nonzero", "probability", "spd"):
            raise InvalidArgument(f"unknown kind {kind!r} for {name}")
    sizes = st.fixed_dictionaries({d: st.integers(min_size, max_size) for d in dims})

    def values(chosen: dict[sp.Symbol, int]) -> st.SearchStrategy[dict[str, Any]]:
        parts = {}
        for name, shape in parsed.items():
            concrete = tuple(int(chosen.get(d, d)) for d in shape)
            if len(shape) == 2 and shape[1] == 1:  # a declared vector ("n") is 1-D
                concrete = concrete[:1]
            parts[name] = _value(concrete, kinds.get(name), min_value, max_value)
        return st.fixed_dictionaries(parts)

    return sizes.flatmap(values)


def _value(
    shape: tuple[int, ...], kind: str | None, lo: float, hi: float
) -> st.SearchStrategy[Any]:
    out_shape = shape
    if kind == "probability":
        return probability_vectors(out_shape[0] if out_shape else 1)
    if kind in KINDS and kind != "general":
        return matrices((out_shape[0], out_shape[-1]), kind=kind, min_value=lo, max_value=hi)
    if kind in ("positive", "negative", "nonzero"):
        big = max(abs(lo), abs(hi), 0.1)
        pos = _elements(0.05, big)
        elements = {
            "positive": pos,
            "negative": pos.map(lambda v: -v),
            "nonzero": pos | pos.map(lambda v: -v),
        }[kind]
    else:
        elements = _elements(lo, hi)
    if not out_shape:
        return elements
    return hnp.arrays(np.float64, out_shape, elements=elements)
