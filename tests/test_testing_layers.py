"""check_layer against layers of the registry: a user's forward and backward against
symdl's verified layer code, over hypothesis-drawn batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

from symdl.derive.layers import LAYERS
from symdl.strategies import layer_inputs
from symdl.testing import Mismatch, check_layer


def dense_forward(x, W, b):
    return x @ W.T + b


def dense_backward(gy, x, W, b):
    return gy @ W, gy.T @ x, gy.sum(axis=0)


def test_a_correct_dense_layer_passes():
    report = check_layer(dense_forward, dense_backward, LAYERS.get("dense")(3, 2))
    assert report.verdict == "verified"
    assert "dense(3, 2)" in report.claim


def test_a_dict_result_is_accepted():
    def backward(gy, x, W, b):
        return {"x": gy @ W, "W": gy.T @ x, "b": gy.sum(axis=0)}

    assert check_layer(dense_forward, backward, LAYERS.get("dense")(2, 4)).ok


@pytest.mark.parametrize(
    ("backward", "expected"),
    [
        (lambda gy, x, W, b: (gy @ W, gy.T @ x, gy.mean(axis=0)), "averages ∂L/∂b"),
        (lambda gy, x, W, b: (gy @ W, x.T @ gy, gy.sum(axis=0)), "transposed"),
        (lambda gy, x, W, b: (-(gy @ W), gy.T @ x, gy.sum(axis=0)), "wrong sign"),
        (
            lambda gy, x, W, b: (
                gy @ W.T if W.shape[0] == W.shape[1] else gy @ W,
                gy.T @ x,
                gy.sum(axis=0),
            ),
            "Wᵀ where W belongs",
        ),
    ],
)
def test_planted_dense_bugs_are_refuted_and_named(backward, expected):
    with pytest.raises(Mismatch) as caught:
        check_layer(dense_forward, backward, LAYERS.get("dense")(3, 3))
    report = caught.value.report
    assert report.verdict == "refuted"
    assert any(expected in d for d in report.diagnosis), report.diagnosis


def test_a_loss_without_the_batch_mean_is_refuted():
    def forward(x, Y):
        z = x - x.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -(Y * logp).sum() / x.shape[0]

    def backward(gy, x, Y):
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return gy * (p - Y)  # forgets 1/B

    block = LAYERS.get("softmax_cross_entropy")()
    with pytest.raises(Mismatch) as caught:
        check_layer(forward, backward, block, input_shape=(4,))
    assert caught.value.report.counterexample is not None

    def right(gy, x, Y):
        return backward(gy, x, Y) / x.shape[0]

    assert check_layer(forward, right, block, input_shape=(4,)).ok


def test_relu_written_with_ge_passes_because_points_avoid_the_kink():
    block = LAYERS.get("relu")()

    def backward(gy, x):
        return gy * (x >= 0)

    assert check_layer(lambda x: np.maximum(x, 0), backward, block, input_shape=(3,)).ok


def test_an_activation_needs_an_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        check_layer(np.tanh, lambda gy, x: gy, LAYERS.get("tanh")())


def test_a_crashing_backward_is_a_finding_not_a_crash():
    def backward(gy, x, W, b):
        raise RuntimeError("boom")

    with pytest.raises(Mismatch, match="RuntimeError: boom"):
        check_layer(dense_forward, backward, LAYERS.get("dense")(2, 2))


@settings(max_examples=20)
@given(layer_inputs(LAYERS.get("dense")(3, 2), (3,), min_batch=2, max_batch=3))
def test_layer_inputs_have_consistent_shapes(example):
    assert example["x"].shape[1:] == (3,)
    assert 2 <= example["x"].shape[0] <= 3
    assert example["params"]["W"].shape == (2, 3)
    assert example["gy"].shape == (example["x"].shape[0], 2)


@settings(max_examples=30)
@given(layer_inputs(LAYERS.get("relu")(), (4,)))
def test_layer_inputs_keep_away_from_an_activations_kink(example):
    assert np.all(np.abs(example["x"]) >= 0.05)


def test_layer_inputs_reject_a_bad_configuration():
    with pytest.raises(InvalidArgument):
        layer_inputs(LAYERS.get("dense")(3, 2), (4,))
    with pytest.raises(InvalidArgument):
        layer_inputs(LAYERS.get("dense")(3, 2), (3,), min_batch=3, max_batch=2)


def test_a_layer_is_written_as_in_a_network_description():
    import symdl

    block = symdl.layer("dense(3, 2)")
    assert check_layer(dense_forward, dense_backward, block).ok
    with pytest.raises(symdl.ParseError):
        symdl.layer("dense(3, 2) | relu")
    with pytest.raises(symdl.UnknownNameError, match="did you mean 'dense'"):
        symdl.layer("dens(3, 2)")


def _batch_norm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _batch_norm_backward(gy, x, gamma, beta, *, mean_term=True, eps=1e-5):
    m = x.shape[0]
    rstd = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * rstd
    d = gy * gamma
    inner = m * d - xhat * (d * xhat).sum(axis=0)
    if mean_term:
        inner = inner - d.sum(axis=0)
    return rstd / m * inner, (gy * xhat).sum(axis=0), gy.sum(axis=0)


def test_a_batch_norm_backward_that_forgets_the_mean_term_is_named():
    block = symdl_layer("batch_norm(3)")
    assert check_layer(_batch_norm_forward, _batch_norm_backward, block).ok

    def forgets(gy, x, gamma, beta):
        return _batch_norm_backward(gy, x, gamma, beta, mean_term=False)

    with pytest.raises(Mismatch) as caught:
        check_layer(_batch_norm_forward, forgets, block)
    report = caught.value.report
    assert report.counterexample["x"].shape[0] >= 1  # shrunk to a small batch
    assert any("through the mean μ" in d for d in report.diagnosis), report.diagnosis


def symdl_layer(text):
    import symdl

    return symdl.layer(text)


def _conv_forward(x, W, b):
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(x, W.shape[2:], axis=(2, 3))
    return np.einsum("bchwij,ocij->bohw", win, W) + b[None, :, None, None]


def _conv_backward(gy, x, W, b, *, flip=True):
    from numpy.lib.stride_tricks import sliding_window_view

    k = W.shape[2]
    pad = np.pad(gy, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
    kernel = W[:, :, ::-1, ::-1] if flip else W
    gx = np.einsum("bohwij,ocij->bchw", sliding_window_view(pad, (k, k), axis=(2, 3)), kernel)
    gW = np.einsum("bchwij,bohw->ocij", sliding_window_view(x, (k, k), axis=(2, 3)), gy)
    return gx, gW, gy.sum(axis=(0, 2, 3))


def test_a_conv_backward_that_does_not_flip_the_kernel_is_named():
    block = symdl_layer("conv2d(2, 3, 3)")
    assert check_layer(_conv_forward, _conv_backward, block, input_shape=(2, 5, 5)).ok

    def unflipped(gy, x, W, b):
        return _conv_backward(gy, x, W, b, flip=False)

    with pytest.raises(Mismatch) as caught:
        check_layer(_conv_forward, unflipped, block, input_shape=(2, 5, 5))
    assert any("does not flip the kernel" in d for d in caught.value.report.diagnosis)
