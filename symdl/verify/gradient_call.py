"""What ``gradcheck`` and ``sampled_gradcheck`` share: a user's loss, its claimed gradient
and the input arrays, validated and called once.

float16/float32 inputs are upcast to float64 for the differences (with a
:class:`~symdl.errors.PrecisionWarning` and a note); a differentiated input must be finite;
``f`` must return a scalar; ``grad_f`` is called on the arrays as given and must return one
array per differentiated input.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from symdl.errors import PrecisionWarning, ShapeError, UnsupportedError

__all__ = ["GradientCall", "prepare"]

_LOW = (np.float16, np.float32)


@dataclass(frozen=True)
class GradientCall:
    point: list[np.ndarray]  # the inputs in float64 (the differences' point)
    targets: list[int]  # the differentiated inputs
    claimed: tuple[Any, ...]  # grad_f's arrays, one per target
    allowance: float  # rounding allowance of the claim: ε of its least precise input
    notes: tuple[str, ...]


def prepare(
    name: str,
    f: Callable[..., Any],
    grad_f: Callable[..., Any],
    arrays: Sequence[Any],
    wrt: Sequence[int] | None,
) -> GradientCall:
    """Validate the call of ``name`` (``gradcheck``, …) and evaluate ``grad_f`` once."""
    if not arrays:
        raise ValueError(f"{name} needs at least one input array")
    inputs = [np.asarray(a) for a in arrays]
    notes: list[str] = []
    upcast = [i for i, a in enumerate(inputs) if a.dtype in _LOW]
    if upcast:
        names = ", ".join(f"argument {i} ({inputs[i].dtype})" for i in upcast)
        message = f"{names} upcast to float64 for the finite differences"
        warnings.warn(message, PrecisionWarning, stacklevel=3)
        notes.append(message)
    point = [a.astype(np.float64) if a.dtype.kind in "fiu" else a for a in inputs]
    targets = list(range(len(inputs))) if wrt is None else list(wrt)
    bad = [i for i in targets if not isinstance(i, int) or not 0 <= i < len(inputs)]
    if bad:
        raise ValueError(
            f"wrt={list(wrt or [])} names argument {bad[0]}, but there are "
            f"{len(inputs)} input arrays (indices 0 to {len(inputs) - 1})"
        )
    for i in targets:
        if point[i].dtype.kind == "f" and not np.all(np.isfinite(point[i])):
            at = [int(j) for j in np.argwhere(~np.isfinite(point[i]))[0]]
            raise UnsupportedError(
                f"argument {i} must be finite to take finite differences; it holds "
                f"{point[i][tuple(at)]} at {at}"
            )
    value = np.asarray(f(*point))
    if value.size != 1:
        raise ShapeError(
            f"f must return a scalar (the loss), but it returned shape {value.shape}; "
            "for a vector function check each output, or sum them with weights"
        )
    # the claim is judged with the rounding allowance of the least precise input it was
    # computed from (float32 inputs promote to float64 when they meet a float64 constant)
    allowance = max((float(np.finfo(inputs[i].dtype).eps) for i in upcast), default=0.0)
    claimed = grad_f(*arrays)
    if not isinstance(claimed, (tuple, list)):
        claimed = (claimed,)
    if len(claimed) != len(targets):
        raise ValueError(
            f"grad_f returned {len(claimed)} arrays for {len(targets)} inputs (wrt={targets})"
        )
    return GradientCall(point, targets, tuple(claimed), allowance, tuple(notes))
