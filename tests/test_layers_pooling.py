"""Max and average pooling, and flatten: forward and backward against direct loops, the
tie convention, overlapping windows, planted bugs refuted by both checks, shape errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symdl.derive.layers import LAYERS, Wiring, block_function, check_code, check_rule
from symdl.derive.layers.check import block_wiring
from symdl.derive.layers.pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from symdl.derive.layers.reshape import Flatten
from symdl.errors import ShapeError


def windows_loop(size, kernel, stride):
    """For each output position, the input positions its window covers (row-major)."""
    out = [(n - k) // s + 1 for n, k, s in zip(size, kernel, stride)]
    for pos in np.ndindex(*out):
        yield (
            pos,
            [tuple(s * i + u for s, i, u in zip(stride, pos, off)) for off in np.ndindex(*kernel)],
        )


def pool_loop(x, kernel, stride, op):
    """Forward and a backward maker, entry by entry; max ties go to the first entry."""
    batch, channels, *size = x.shape
    out = [(n - k) // s + 1 for n, k, s in zip(size, kernel, stride)]
    y = np.zeros((batch, channels, *out))
    routes = {}
    for n in range(batch):
        for c in range(channels):
            for pos, cells in windows_loop(size, kernel, stride):
                values = [x[(n, c, *cell)] for cell in cells]
                if op == "max":
                    best = 0
                    for j, v in enumerate(values):
                        if v > values[best]:
                            best = j
                    y[(n, c, *pos)] = values[best]
                    routes[(n, c, *pos)] = [((n, c, *cells[best]), 1.0)]
                else:
                    y[(n, c, *pos)] = sum(values) / len(values)
                    routes[(n, c, *pos)] = [((n, c, *cell), 1.0 / len(cells)) for cell in cells]

    def backward(gy):
        gx = np.zeros(x.shape)
        for index, targets in routes.items():
            for cell, share in targets:
                gx[cell] += share * gy[index]
        return gx

    return y, backward


def build(op, ndim, k, stride=None):
    cls = {("max", 1): MaxPool1d, ("max", 2): MaxPool2d, ("avg", 1): AvgPool1d}.get(
        (op, ndim), AvgPool2d
    )
    return cls(k, stride)


CONFIGS = [
    ("max", 1, 2, None, (3, 8)),
    ("max", 1, 3, 2, (2, 9)),
    ("max", 2, 2, None, (3, 6, 4)),
    ("max", 2, (3, 2), (2, 1), (2, 7, 5)),
    ("max", 2, 3, 1, (1, 5, 5)),
    ("avg", 1, 4, 1, (2, 7)),
    ("avg", 2, 2, None, (3, 5, 5)),
    ("avg", 2, (2, 3), 2, (2, 6, 7)),
]


@pytest.mark.parametrize(("op", "ndim", "k", "stride", "shape"), CONFIGS)
def test_code_matches_loops(op, ndim, k, stride, shape):
    rng = np.random.default_rng(0)
    block = build(op, ndim, k, stride)
    x = rng.standard_normal((2, *shape))
    want_y, backward = pool_loop(x, block.window.kernel, block.window.stride, op)
    assert block.output_shape(shape) == want_y.shape[1:]
    gy = rng.standard_normal(want_y.shape)
    _, run = block_function(block, shape)
    y, gx, grads = run(x, {}, {}, gy)
    assert grads == {}
    np.testing.assert_allclose(y, want_y, rtol=1e-14, atol=0)
    np.testing.assert_allclose(gx, backward(gy), rtol=1e-13, atol=1e-15)


@given(
    op=st.sampled_from(["max", "avg"]),
    ndim=st.sampled_from([1, 2]),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    extra=st.integers(0, 4),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_configurations_match_loops(op, ndim, k, s, extra, ties, seed):
    rng = np.random.default_rng(seed)
    block = build(op, ndim, k, s)
    shape = (2, *(k + extra,) * ndim)
    # integer values make ties within a window common, exercising the tie convention
    x = rng.integers(-2, 3, (2, *shape)).astype(float) if ties else rng.standard_normal((2, *shape))
    want_y, backward = pool_loop(x, block.window.kernel, block.window.stride, op)
    gy = rng.standard_normal(want_y.shape)
    y, gx, _ = block_function(block, shape)[1](x, {}, {}, gy)
    np.testing.assert_allclose(y, want_y, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(gx, backward(gy), rtol=1e-13, atol=1e-15)
    # every window passes on all of its upstream gradient
    assert np.isclose(gx.sum(), gy.sum(), rtol=1e-12, atol=1e-12)


def test_max_pool_tie_goes_to_the_first_entry_in_row_major_order():
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])  # two maxima: (0, 1) and (1, 0)
    _, run = block_function(MaxPool2d(2), (1, 2, 2))
    y, gx, _ = run(x, {}, {}, np.array([[[[5.0]]]]))
    assert y.item() == 3.0
    np.testing.assert_array_equal(gx, [[[[0.0, 5.0], [0.0, 0.0]]]])
    flat = np.full((1, 1, 2, 2), 7.0)
    _, gx, _ = run(flat, {}, {}, np.array([[[[1.0]]]]))
    np.testing.assert_array_equal(gx, [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_add_at_a_shared_maximum():
    x = np.array([[[0.0, 1.0, 9.0, 2.0, 0.0]]])  # 9 is the maximum of all three windows
    _, run = block_function(MaxPool1d(3, 1), (1, 5))
    y, gx, _ = run(x, {}, {}, np.array([[[1.0, 10.0, 100.0]]]))
    np.testing.assert_array_equal(y, [[[9.0, 9.0, 9.0]]])
    np.testing.assert_array_equal(gx, [[[0.0, 0.0, 111.0, 0.0, 0.0]]])


def test_explicit_max_rule_follows_the_same_tie_convention():
    a, b, c, d = sp.symbols("a b c d", real=True)
    x = np.array([[[[a, b], [c, d]]]], dtype=object)
    gx, _ = MaxPool2d(2).backward_explicit(x, {}, {}, np.array([[[[1]]]], dtype=object))
    tie = {a: 1, b: 3, c: 3, d: 0}
    np.testing.assert_array_equal(np.vectorize(lambda e: e.subs(tie))(gx), [[[[0, 1], [0, 0]]]])
    all_equal = {a: 2, b: 2, c: 2, d: 2}
    np.testing.assert_array_equal(
        np.vectorize(lambda e: e.subs(all_equal))(gx), [[[[1, 0], [0, 0]]]]
    )


# ---- planted bugs -----------------------------------------------------------------------


class MaxToAll(MaxPool2d):
    """The max-pool gradient sent to every entry of the window instead of its maximum."""

    def backward_explicit(self, x, params, data, gy):
        gx = np.zeros(x.shape, dtype=object)
        gx.fill(sp.S.Zero)
        for index, cells in self._windows(x):
            for cell in cells:
                gx[cell] += gy[index]
        return gx, {}

    def backward_code(self, w, shape):
        spread = AvgPool2d(self.window.kernel, self.window.stride).backward_code(w, shape)
        return [*spread, f"{w.gx} = {w.gx} * {self.size}"]


class AvgWithoutShare(AvgPool2d):
    """Average pooling that passes the whole upstream gradient to each entry (no 1/k²)."""

    def backward_explicit(self, x, params, data, gy):
        gx, _ = super().backward_explicit(x, params, data, gy)
        return gx * self.size, {}

    def backward_code(self, w, shape):
        return [*super().backward_code(w, shape), f"{w.gx} = {w.gx} * {self.size}"]


class MaxLastTie(MaxPool1d):
    """Not a bug where the maximum is unique: routing to the *last* maximal entry."""

    def backward_explicit(self, x, params, data, gy):
        flipped, _ = super().backward_explicit(x[:, :, ::-1], params, data, gy[:, :, ::-1])
        return flipped[:, :, ::-1], {}


@pytest.mark.parametrize(
    ("bug", "shape"),
    [(MaxToAll(2), (2, 4, 4)), (MaxToAll(2, 1), (1, 3, 3)), (AvgWithoutShare(2), (1, 4, 4))],
    ids=["max-to-all", "max-to-all-overlapping", "avg-without-share"],
)
def test_planted_bugs_are_refuted(bug, shape):
    rule = check_rule(bug, shape)
    assert rule.verdict == "refuted", rule
    code = check_code(bug, shape)
    assert code.verdict == "refuted", code


def test_another_tie_convention_is_still_a_derivative_away_from_ties():
    # the check draws distinct values, where every tie convention is the derivative
    assert check_rule(MaxLastTie(2), (1, 4)).verdict == "verified"


# ---- configuration and shapes -----------------------------------------------------------


def test_description_and_defaults():
    assert MaxPool2d(2).describe() == "maxpool2d(2)"
    assert MaxPool2d(2).window.stride == (2, 2)
    assert AvgPool2d((2, 3), 1).describe() == "avgpool2d((2, 3), stride=1)"
    for block in [MaxPool2d(3, 2), AvgPool1d(4), AvgPool2d((2, 3), (1, 2))]:
        again = LAYERS.get(block.kind)(*block.args)
        assert again.describe() == block.describe() and again.window == block.window
    assert MaxPool2d(2).parameters((3, 4, 4)) == ()
    # the remainder that no window covers is dropped, as in PyTorch (floor)
    assert MaxPool2d(2).output_shape((3, 5, 7)) == (3, 2, 3)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MaxPool2d(0), "kernel size"),
        (lambda: MaxPool2d((2, 2, 2)), "2 ints"),
        (lambda: AvgPool1d(2, 0), "stride"),
        (lambda: AvgPool1d(2.0), "kernel size"),
        (lambda: MaxPool2d(2).output_shape((3, 4)), "C×H×W"),
        (lambda: MaxPool1d(2).output_shape((3, 4, 4)), "C×L"),
        (lambda: AvgPool2d(3).output_shape((1, 2, 5)), "larger than the input 2×5"),
    ],
)
def test_bad_configuration_or_input_is_a_clear_error(make, match):
    with pytest.raises(ShapeError, match=match):
        make()


def test_equations_state_the_routing_and_the_tie_convention():
    w = Wiring()
    (back,) = MaxPool2d(2).backward_equations(w, (1, 4, 4))
    assert "argmax" in back.text and "first one in row-major order" in back.note
    (back,) = AvgPool1d(3).backward_equations(w, (1, 6))
    assert "(1/3)" in back.text


# ---- flatten ----------------------------------------------------------------------------


def test_flatten_moves_entries_and_back():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5))
    gy = rng.standard_normal((2, 60))
    y, gx, grads = block_function(Flatten(), (3, 4, 5))[1](x, {}, {}, gy)
    np.testing.assert_array_equal(y, x.reshape(2, 60))
    assert y[1, 2 * 20 + 3 * 5 + 4] == x[1, 2, 3, 4]  # row-major: c·HW + h·W + w
    np.testing.assert_array_equal(gx, gy.reshape(2, 3, 4, 5))
    assert grads == {}
    assert Flatten().output_shape((3, 4, 5)) == (60,)
    assert LAYERS.get("flatten")().describe() == "flatten"
    with pytest.raises(ShapeError, match="scalar"):
        Flatten().output_shape(())


def test_conv_pool_flatten_dense_chain_shapes():
    shape = (1, 28, 28)
    for text, args in [("conv2d", (1, 4, 3)), ("relu", ()), ("maxpool2d", (2,)), ("flatten", ())]:
        shape = LAYERS.get(text)(*args).output_shape(shape)
    assert shape == (4 * 13 * 13,)
    assert LAYERS.get("dense")(676, 10).output_shape(shape) == (10,)


@pytest.mark.parametrize(
    ("block", "shape"),
    [(MaxPool2d(2), (2, 4, 4)), (MaxPool1d(3, 2), (1, 7)), (AvgPool2d(2, 1), (1, 3, 3))],
)
def test_every_variant_is_refuted_by_finite_differences(block, shape):
    labels = list(block.variants(block_wiring(block, shape), shape))
    assert len(labels) == 1
    bug = copy.copy(block)
    bug.backward_code = lambda w, s: block.variants(w, s)[labels[0]]  # type: ignore[method-assign]
    assert check_code(bug, shape).verdict == "refuted"
