"""Argument checks shared by the strategies: InvalidArgument, never an empty strategy."""

from __future__ import annotations

import numpy as np
from hypothesis.errors import InvalidArgument


def _check_type(kind: type, value: object, name: str) -> None:
    if not isinstance(value, kind):
        raise InvalidArgument(f"{name}={value!r} must be a {kind.__name__}")


def _check_int(value: object, name: str, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidArgument(f"{name}={value!r} must be an int in [{lo}, {hi}]")


def _check_bounds(min_value: object, max_value: object) -> None:
    for name, v in (("min_value", min_value), ("max_value", max_value)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
            raise InvalidArgument(f"{name}={v!r} must be a finite number")
    if min_value > max_value:  # type: ignore[operator]
        raise InvalidArgument(f"min_value={min_value!r} is greater than max_value={max_value!r}")
