"""Inputs for one registered layer (:class:`symdl.derive.layers.Block`): a batch, its
parameters and its data, drawn with shapes the layer's configuration fixes."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from symdl.derive.layers.base import Block, Shape
from symdl.derive.layers.check import draw
from symdl.errors import SymdlError
from symdl.strategies._validate import _check_bounds, _check_int
from symdl.strategies.catalogue import points

__all__ = ["layer_inputs"]


def layer_inputs(
    block: Block,
    shape: Shape,
    *,
    min_batch: int = 1,
    max_batch: int = 4,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts ``{"x": batch, "gy": upstream gradient, "params": {...}, "data": {...}}``
    for ``block`` on per-example input shape ``shape``.

    Input entries of an elementwise activation stay a margin away from its kinks
    (:func:`points`); a max-pooling block (``distinct_inputs``) gets pairwise distinct
    inputs, so its argmax is unique; integer-input blocks (an embedding) get token ids
    below their ``vocabulary``. Parameters are floats in ``[min_value, max_value]``;
    data slots (targets, masks) are drawn as their ``init`` says, from a drawn seed.
    """
    _check_int(min_batch, "min_batch", 1, 10**4)
    _check_int(max_batch, "max_batch", 1, 10**4)
    _check_bounds(min_value, max_value)
    if min_batch > max_batch:
        raise InvalidArgument(f"min_batch={min_batch} > max_batch={max_batch}")
    try:
        out_shape = block.output_shape(tuple(shape))
    except (SymdlError, ValueError) as err:
        raise InvalidArgument(str(err)) from err
    elements = _elements(block, min_value, max_value)
    params = block.parameters(tuple(shape))
    data = block.data(tuple(shape))
    unique = bool(getattr(block, "distinct_inputs", False))

    @st.composite
    def draw_inputs(draw_from: Any) -> dict[str, Any]:
        batch = draw_from(st.integers(min_batch, max_batch))
        if getattr(block, "integer_input", False):
            vocabulary = int(getattr(block, "vocabulary", 1))
            x = draw_from(
                hnp.arrays(
                    np.float64, (batch, *shape), elements=st.integers(0, vocabulary - 1).map(float)
                )
            )
        else:
            x = draw_from(hnp.arrays(np.float64, (batch, *shape), elements=elements, unique=unique))
        values = {
            s.name: draw_from(
                hnp.arrays(np.float64, s.shape, elements=_floats(min_value, max_value))
            )
            for s in params
        }
        rng = np.random.default_rng(draw_from(st.integers(0, 2**32 - 1)))
        targets = {s.name: draw(s, batch, rng) for s in data}
        if block.is_loss:
            gy: Any = 1.0
        else:
            gy = draw_from(hnp.arrays(np.float64, (batch, *out_shape), elements=_floats(-2.0, 2.0)))
        return {"x": x, "gy": gy, "params": values, "data": targets}

    return draw_inputs()


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _elements(block: Block, lo: float, hi: float) -> st.SearchStrategy[float]:
    entry = getattr(block, "entry", None)
    if entry is not None:
        return points(entry, min_value=lo, max_value=hi)
    return _floats(lo, hi)
