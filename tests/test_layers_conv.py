"""conv1d and conv2d: the published form of the backward rule, against independent
references (scipy.signal, direct loops), and planted bugs refuted by both checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

from symdl.derive.layers import LAYERS, Wiring, block_function, check_code, check_rule
from symdl.derive.layers.check import block_wiring
from symdl.derive.layers.conv import Conv1d, Conv2d
from symdl.derive.layers.source import compile_function, indent
from symdl.errors import ShapeError
from symdl.testing import Mismatch, check_layer

# ---- independent references: the definition, written as loops ----------------------------


def conv_loop(x, W, b, s, p, d):
    r"""Z[n,o,i] = b_o + Σ_{c,u} W[o,c,u] X[n,c,s·i + d·u − p], X zero outside."""
    batch, channels, *size = x.shape
    c_out, _, *kernel = W.shape
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p)] * len(size))
    out = [(m + 2 * p - d * (k - 1) - 1) // s + 1 for m, k in zip(size, kernel)]
    y = np.zeros((batch, c_out, *out), dtype=x.dtype)
    for n in range(batch):
        for o in range(c_out):
            for pos in np.ndindex(*out):
                total = 0 if b is None else b[o]
                for c in range(channels):
                    for off in np.ndindex(*kernel):
                        read = tuple(s * i + d * u for i, u in zip(pos, off))
                        total += W[(o, c, *off)] * xp[(n, c, *read)]
                y[(n, o, *pos)] = total
    return y


def conv_backward_loop(x, W, gy, s, p, d):
    """∂L/∂X, ∂L/∂W, ∂L/∂b by the chain rule on the loop above, term by term."""
    batch, channels, *size = x.shape
    c_out, _, *kernel = W.shape
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p)] * len(size))
    gxp = np.zeros(xp.shape, dtype=gy.dtype)
    gW = np.zeros(W.shape, dtype=gy.dtype)
    for n in range(batch):
        for o in range(c_out):
            for pos in np.ndindex(*gy.shape[2:]):
                g = gy[(n, o, *pos)]
                for c in range(channels):
                    for off in np.ndindex(*kernel):
                        read = tuple(s * i + d * u for i, u in zip(pos, off))
                        gxp[(n, c, *read)] += W[(o, c, *off)] * g
                        gW[(o, c, *off)] += xp[(n, c, *read)] * g
    crop = (slice(None), slice(None), *(slice(p, p + m) for m in size))
    return gxp[crop], gW, gy.sum(axis=(0, *range(2, gy.ndim)))


def run_block(block, x, W, b, gy):
    _, run = block_function(block, x.shape[1:])
    params = {"W": W} if b is None else {"W": W, "b": b}
    return run(x, params, {}, gy)


def explicit_rule(block, x, W, b, gy):
    """The block's published-form rule (backward_explicit) on exact integer arrays."""
    obj = lambda a: np.vectorize(sp.Integer, otypes=[object])(a)  # noqa: E731
    params = {"W": obj(W)} if b is None else {"W": obj(W), "b": obj(b)}
    gx, grads = block.backward_explicit(obj(x), params, {}, obj(gy))
    as_int = lambda a: np.vectorize(int, otypes=[np.int64])(a)  # noqa: E731
    return as_int(gx), {k: as_int(v) for k, v in grads.items()}


def build(ndim, *args, **kwargs):
    return (Conv1d if ndim == 1 else Conv2d)(*args, **kwargs)


# ---- (1) input gradient: a full convolution with the flipped kernel ----------------------


@pytest.mark.parametrize("ndim", [1, 2])
def test_input_gradient_is_full_convolution_with_flipped_kernel(ndim):
    rng = np.random.default_rng(1)
    block = build(ndim, 3, 2, 3 if ndim == 1 else (3, 2))
    size = (7,) if ndim == 1 else (5, 6)
    x = rng.standard_normal((2, 3, *size))
    W = rng.standard_normal((2, 3, *block.window.kernel))
    b = rng.standard_normal(2)
    gy = rng.standard_normal((2, *block.output_shape((3, *size))))
    _, gx, _ = run_block(block, x, W, b, gy)
    flip = (slice(None, None, -1),) * ndim
    by_correlate = np.zeros_like(x)
    by_convolve = np.zeros_like(x)
    for n in range(2):
        for c in range(3):
            for o in range(2):
                by_correlate[n, c] += signal.correlate(gy[n, o], W[o, c][flip], mode="full")
                by_convolve[n, c] += signal.convolve(gy[n, o], W[o, c], mode="full")
    np.testing.assert_allclose(gx, by_correlate, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, by_convolve, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ndim", [1, 2])
def test_published_rule_matches_scipy_full_convolution_exactly(ndim):
    """The rule as the equations state it (backward_explicit), in exact integers."""
    rng = np.random.default_rng(2)
    block = build(ndim, 2, 2, 2)
    size = (5,) if ndim == 1 else (4, 3)
    x = rng.integers(-3, 4, (1, 2, *size))
    W = rng.integers(-3, 4, (2, 2, *block.window.kernel))
    gy = rng.integers(-3, 4, (1, *block.output_shape((2, *size))))
    gx, grads = explicit_rule(block, x, W, np.zeros(2, dtype=int), gy)
    flip = (slice(None, None, -1),) * ndim
    for c in range(2):
        want = sum(signal.correlate(gy[0, o], W[o, c][flip], mode="full") for o in range(2))
        np.testing.assert_array_equal(gx[0, c], want)
    for o in range(2):
        for c in range(2):
            want = signal.correlate(x[0, c], gy[0, o], mode="valid")
            np.testing.assert_array_equal(grads["W"][o, c], want)


# ---- (2) kernel gradient: the cross-correlation of the input with the upstream gradient --


@pytest.mark.parametrize("ndim", [1, 2])
def test_kernel_gradient_is_correlation_of_input_with_upstream_gradient(ndim):
    rng = np.random.default_rng(3)
    block = build(ndim, 2, 3, 2 if ndim == 1 else (2, 3))
    size = (6,) if ndim == 1 else (4, 5)
    x = rng.standard_normal((3, 2, *size))
    W = rng.standard_normal((3, 2, *block.window.kernel))
    gy = rng.standard_normal((3, *block.output_shape((2, *size))))
    _, _, grads = run_block(block, x, W, np.zeros(3), gy)
    want = np.zeros_like(W)
    for o in range(3):
        for c in range(2):
            want[o, c] = sum(signal.correlate(x[n, c], gy[n, o], mode="valid") for n in range(3))
    np.testing.assert_allclose(grads["W"], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["b"], gy.sum(axis=(0, *range(2, gy.ndim))), rtol=1e-12)


# ---- stride, padding, dilation: code and published rule against the loops ----------------

CONFIGS = [
    (1, dict(stride=2)),
    (1, dict(padding=2, dilation=2)),
    (1, dict(stride=3, padding=1, dilation=2)),
    (2, dict(stride=2, padding=1)),
    (2, dict(dilation=2)),
    (2, dict(stride=2, padding=2, dilation=2)),
]


@pytest.mark.parametrize(("ndim", "options"), CONFIGS)
def test_generated_code_matches_loops(ndim, options):
    rng = np.random.default_rng(4)
    block = build(ndim, 2, 3, 3 if ndim == 1 else (2, 3), **options)
    size = (9,) if ndim == 1 else (6, 7)
    s, p, d = block.window.stride[0], block.window.padding[0], block.window.dilation[0]
    x = rng.standard_normal((2, 2, *size))
    W = rng.standard_normal((3, 2, *block.window.kernel))
    b = rng.standard_normal(3)
    want_y = conv_loop(x, W, b, s, p, d)
    gy = rng.standard_normal(want_y.shape)
    y, gx, grads = run_block(block, x, W, b, gy)
    assert y.shape == (2, *block.output_shape((2, *size)))
    np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-12)
    want_gx, want_gW, want_gb = conv_backward_loop(x, W, gy, s, p, d)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["W"], want_gW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["b"], want_gb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("ndim", "options"), CONFIGS)
def test_published_rule_matches_loops_exactly(ndim, options):
    rng = np.random.default_rng(5)
    block = build(ndim, 2, 2, 2 if ndim == 1 else (2, 3), **options)
    size = (7,) if ndim == 1 else (5, 6)
    s, p, d = block.window.stride[0], block.window.padding[0], block.window.dilation[0]
    x = rng.integers(-3, 4, (2, 2, *size))
    W = rng.integers(-3, 4, (2, 2, *block.window.kernel))
    b = rng.integers(-3, 4, 2)
    gy = rng.integers(-3, 4, (2, *block.output_shape((2, *size))))
    obj = np.vectorize(sp.Integer, otypes=[object])
    y = block.forward_explicit(obj(x), {"W": obj(W), "b": obj(b)}, {})
    np.testing.assert_array_equal(y.astype(np.int64), conv_loop(x, W, b, s, p, d))
    gx, grads = explicit_rule(block, x, W, b, gy)
    want_gx, want_gW, want_gb = conv_backward_loop(x, W, gy, s, p, d)
    np.testing.assert_array_equal(gx, want_gx)
    np.testing.assert_array_equal(grads["W"], want_gW)
    np.testing.assert_array_equal(grads["b"], want_gb)


@given(
    ndim=st.sampled_from([1, 2]),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    extra=st.integers(0, 4),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_configurations_match_loops(ndim, c_in, c_out, k, s, p, d, extra, bias, seed):
    rng = np.random.default_rng(seed)
    block = build(ndim, c_in, c_out, k, stride=s, padding=p, dilation=d, bias=bias)
    side = max(1, d * (k - 1) + 1 - 2 * p) + extra
    size = (side,) * ndim
    x = rng.standard_normal((2, c_in, *size))
    W = rng.standard_normal((c_out, c_in, *(k,) * ndim))
    b = rng.standard_normal(c_out) if bias else None
    want_y = conv_loop(x, W, b, s, p, d)
    gy = rng.standard_normal(want_y.shape)
    y, gx, grads = run_block(block, x, W, b, gy)
    np.testing.assert_allclose(y, want_y, rtol=1e-11, atol=1e-11)
    want_gx, want_gW, want_gb = conv_backward_loop(x, W, gy, s, p, d)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(grads["W"], want_gW, rtol=1e-11, atol=1e-11)
    assert set(grads) == ({"W", "b"} if bias else {"W"})
    if bias:
        np.testing.assert_allclose(grads["b"], want_gb, rtol=1e-11, atol=1e-11)


# ---- both checks on right rules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "shape"),
    [
        (Conv1d(2, 1, 2, stride=3, padding=2), (2, 5)),
        (Conv2d(1, 1, 2, stride=2, dilation=2, bias=False), (1, 5, 5)),
    ],
)
def test_both_checks_pass_beyond_the_registry_examples(block, shape):
    assert check_rule(block, shape).verdict == "proved"
    assert check_code(block, shape).verdict == "verified"


# ---- (4) planted bugs: refuted by the symbolic check and by finite differences ------------


def _replace(lines, old, new):
    assert any(old in line for line in lines), (old, lines)
    return [line.replace(old, new) for line in lines]


class NotFlipped(Conv2d):
    """∂L/∂X with the kernel not flipped (the most common hand-derived mistake)."""

    def backward_explicit(self, x, params, data, gy):
        flipped = dict(params, W=params["W"][:, :, ::-1, ::-1])
        gx, _ = super().backward_explicit(x, flipped, data, gy)
        return gx, super().backward_explicit(x, params, data, gy)[1]

    def backward_code(self, w, shape):
        W = w.params["W"]
        return _replace(
            super().backward_code(w, shape), f"({W}.reshape", f"({W}[:, :, ::-1, ::-1].reshape"
        )


class SwappedChannels(Conv2d):
    """∂L/∂X with the kernel's in- and out-channel axes transposed."""

    def backward_explicit(self, x, params, data, gy):
        swapped = dict(params, W=params["W"].transpose(1, 0, 2, 3))
        gx, _ = super().backward_explicit(x, swapped, data, gy)
        return gx, super().backward_explicit(x, params, data, gy)[1]

    def backward_code(self, w, shape):
        W = w.params["W"]
        return _replace(
            super().backward_code(w, shape),
            f"({W}.reshape",
            f"({W}.transpose(1, 0, 2, 3).reshape",
        )


class BiasWithoutPositions(Conv2d):
    """∂L/∂b summed over the batch at the first output position only."""

    def backward_explicit(self, x, params, data, gy):
        gx, grads = super().backward_explicit(x, params, data, gy)
        grads["b"] = np.array([sp.Add(*gy[:, o, 0, 0]) for o in range(self.c_out)], dtype=object)
        return gx, grads

    def backward_code(self, w, shape):
        lines = super().backward_code(w, shape)
        b = w.grads["b"]
        return [
            f"{b} = {w.gy}[:, :, 0, 0].sum(axis=0)" if line.startswith(b) else line
            for line in lines
        ]


@pytest.mark.parametrize(
    ("bug", "shape"),
    [
        (NotFlipped(2, 2, 3), (2, 4, 4)),
        (NotFlipped(1, 1, 2, stride=2, padding=1), (1, 3, 3)),
        (SwappedChannels(2, 2, 3), (2, 4, 4)),
        (BiasWithoutPositions(2, 2, 3), (2, 4, 4)),
    ],
    ids=["not-flipped", "not-flipped-strided", "swapped-channels", "bias-one-position"],
)
def test_planted_bugs_are_refuted(bug, shape):
    rule = check_rule(bug, shape)
    assert rule.verdict == "refuted", rule
    code = check_code(bug, shape)
    assert code.verdict == "refuted", code


# ---- configuration, description and shape errors ----------------------------------------


def test_description_round_trips_through_the_registry():
    for block in [
        Conv2d(3, 8, 3),
        Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2),
        Conv1d(1, 4, 5, padding=2, bias=False),
    ]:
        again = LAYERS.get(block.kind)(*block.args, bias=block.bias)
        assert again.describe() == block.describe()
        assert again.window == block.window
    assert Conv2d(3, 8, (3, 5), stride=2).describe() == "conv2d(3, 8, (3, 5), stride=2)"
    assert Conv1d(1, 4, 5, bias=False).describe() == "conv1d(1, 4, 5, bias=False)"


def test_shapes_of_parameters_and_output():
    block = Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2)
    # PyTorch: floor((H + 2p − d(k − 1) − 1)/s) + 1
    assert block.output_shape((3, 28, 28)) == (8, 13, 11)
    assert [(s.name, s.shape) for s in block.parameters((3, 28, 28))] == [
        ("W", (8, 3, 3, 5)),
        ("b", (8,)),
    ]
    assert Conv1d(2, 4, 3).output_shape((2, 3)) == (4, 1)


@pytest.mark.parametrize(
    ("block", "shape", "match"),
    [
        (Conv2d(3, 8, 3), (2, 5, 5), "C = 3"),
        (Conv2d(3, 8, 3), (3, 5), "C×H×W"),
        (Conv1d(3, 8, 3), (3, 5, 5), "C×L"),
        (Conv2d(1, 1, 3, dilation=3), (1, 6, 6), "kernel spans 7×7"),
        (Conv1d(1, 1, 4), (1, 3), "larger than the padded input 3"),
    ],
)
def test_input_that_does_not_fit_is_a_shape_error(block, shape, match):
    with pytest.raises(ShapeError, match=match):
        block.output_shape(shape)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 2, 3), {}, "input channels"),
        ((2, -1, 3), {}, "output channels"),
        ((2, 2, 0), {}, "kernel size"),
        ((2, 2, (3,)), {}, "2 ints"),
        ((2, 2, "3"), {}, "kernel size"),
        ((2, 2, 3), {"stride": 0}, "stride"),
        ((2, 2, 3), {"padding": -1}, "padding"),
        ((2, 2, 3), {"dilation": 1.5}, "dilation"),
        ((2, 2, 3), {"bias": "yes"}, "bias"),
        ((2, 2, True), {}, "kernel size"),
    ],
)
def test_bad_configuration_is_a_clear_error(args, kwargs, match):
    with pytest.raises(ShapeError, match=match):
        Conv2d(*args, **kwargs)


def test_equations_name_the_published_form():
    block = Conv2d(2, 3, 3, stride=2, padding=1)
    w = Wiring(params_tex={"W": "W", "b": "b"}, params_text={"W": "W", "b": "b"})
    forward = block.forward_equations(w, (2, 5, 5))
    assert "s·i+d·u−p" in forward[0].text and "s = 2, d = 1, p = 1" in forward[0].note
    backward = {e.lhs: e for e in block.backward_equations(w, (2, 5, 5))}
    assert len(backward) == 3
    texts = " ".join(e.text + " " + e.note for e in backward.values())
    assert "rot180" in texts and "full convolution" in texts and "cross-correlation" in texts
    assert "crop_1 Σ_o dilate_2(∂L/∂Y)[n,o] ⋆full rot180(W[o,c])" in texts
    no_gx = Wiring(gx="", params_tex=w.params_tex, params_text=w.params_text)
    assert len(block.backward_equations(no_gx, (2, 5, 5))) == 2
    plain = Conv1d(1, 1, 2).backward_equations(w, (1, 4))
    assert "dilate" not in plain[0].text and "crop" not in plain[0].text


def test_first_layer_code_skips_the_input_gradient():
    """A network's first layer needs no ∂L/∂X: its lines compute only ∂L/∂W and ∂L/∂b."""
    block = Conv2d(2, 3, 2, stride=2, padding=1)
    w = Wiring(gx="", params={"W": "W", "b": "b"}, grads={"W": "gW", "b": "gb"})
    lines = [*block.forward_code(w, (2, 4, 4)), *block.backward_code(w, (2, 4, 4))]
    assert not any(line.startswith("gx") or "gxp" in line for line in lines)
    source = "\n".join(["def run(x, W, b, gy):", *indent(lines), "    return y, gW, gb"])
    rng = np.random.default_rng(6)
    x, W, b = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((3, 2, 2, 2)), np.ones(3)
    gy = rng.standard_normal((2, 3, 3, 3))
    y, gW, gb = compile_function(source, "run")(x, W, b, gy)
    np.testing.assert_allclose(y, conv_loop(x, W, b, 2, 1, 1), rtol=1e-12)
    _, want_gW, want_gb = conv_backward_loop(x, W, gy, 2, 1, 1)
    np.testing.assert_allclose(gW, want_gW, rtol=1e-12)
    np.testing.assert_allclose(gb, want_gb, rtol=1e-12)


# ---- known wrong variants (Block.variants): refuted, and named for a user's backward ------


@pytest.mark.parametrize(
    ("block", "shape"),
    [(Conv2d(2, 2, 3, stride=2, padding=1), (2, 4, 4)), (Conv1d(2, 2, 2, dilation=2), (2, 6))],
)
def test_every_variant_is_refuted_by_finite_differences(block, shape):
    labels = list(block.variants(block_wiring(block, shape), shape))
    assert len(labels) == 3
    for label in labels:
        bug = copy.copy(block)
        bug.backward_code = lambda w, s, label=label: block.variants(w, s)[label]  # type: ignore[method-assign]
        assert check_code(bug, shape).verdict == "refuted", label


def test_a_users_unflipped_input_gradient_is_named():
    block = Conv2d(1, 1, 2)

    def forward(x, W, b):
        return conv_loop(x, W, b, 1, 0, 1)

    def backward(gy, x, W, b):
        gx, _, gb = conv_backward_loop(x, W[:, :, ::-1, ::-1], gy, 1, 0, 1)
        return gx, conv_backward_loop(x, W, gy, 1, 0, 1)[1], gb

    with pytest.raises(Mismatch) as caught:
        check_layer(forward, backward, block, input_shape=(1, 3, 3), max_examples=20)
    assert any("does not flip the kernel" in d for d in caught.value.report.diagnosis)


def test_equations_index_names_that_already_carry_a_subscript():
    """Inside a network the names are W_{1}, Z_{2}: an index must follow them braced
    (``W_{1}_{o,c}`` is a LaTeX double-subscript error)."""
    import re

    w = Wiring(
        x_tex=r"\mathbf{A}_{1}",
        y_tex=r"\mathbf{Z}_{2}",
        params_tex={"W": r"\mathbf{W}_{2}", "b": r"\mathbf{b}_{2}"},
        params_text={"W": "W₂", "b": "b₂"},
    )
    blocks = [
        (Conv2d(2, 3, 3, stride=2, padding=1), (2, 5, 5)),
        (Conv1d(1, 2, 2, dilation=2), (1, 5)),
        (LAYERS.get("maxpool2d")(2), (2, 4, 4)),
        (LAYERS.get("avgpool1d")(2), (2, 4)),
        (LAYERS.get("flatten")(), (2, 3)),
    ]
    for block, shape in blocks:
        for e in (*block.forward_equations(w, shape), *block.backward_equations(w, shape)):
            for tex in (e.lhs, e.rhs):
                assert not re.search(r"_\{[^{}]*\}_", tex), tex
                assert tex.count("{") == tex.count("}"), tex
