"""Worked examples: testing your own gradients and layers with symdl.

Run with ``python -m pytest examples -q --symdl-profile=symdl-quick``. Each test is what
a user would write in their own suite; the last one is a deliberately buggy layer
(marked xfail) whose failure output the README shows (``--runxfail`` prints it).
"""

import numpy as np
import pytest
from hypothesis import given
from scipy import special

from symdl.strategies import matrices, points
from symdl.testing import (
    LayerSpec,
    Mismatch,
    assert_derivative_matches,
    assert_gradient_matches,
    check_layer,
)

# ---- 1. a hand-written NumPy softmax-cross-entropy backward -----------------------------

SOFTMAX_CE = LayerSpec(
    "-sum(y * log_softmax(z))",
    shapes={"z": "n", "y": "n"},
    wrt=("z",),
    assume={"y": "probability"},
)


def softmax_ce_forward(z, y):
    shifted = z - z.max()
    log_p = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.sum(y * log_p)


def softmax_ce_backward(grad_output, z, y):
    p = np.exp(z - z.max())
    p /= p.sum()
    return grad_output * (p - y)  # uses sum(y) = 1


def test_softmax_cross_entropy_backward():
    check_layer(softmax_ce_forward, softmax_ce_backward, SOFTMAX_CE)


# ---- 2. a custom activation with a hand-written derivative ------------------------------


def gelu_grad(x):
    """d/dx x·Φ(x) = Φ(x) + x·φ(x)."""
    return special.ndtr(x) + x * np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)


def test_custom_gelu_derivative():
    assert_derivative_matches(gelu_grad, "gelu")


def leaky_relu_grad(x, slope=0.01):
    return np.where(x > 0, 1.0, slope)


@given(points("leaky_relu", min_value=-50.0, max_value=50.0))
def test_leaky_relu_grad_away_from_the_kink(x):
    # points() never comes within 0.05 of the kink at 0, where the derivative is a choice
    assert leaky_relu_grad(x) == (1.0 if x > 0 else 0.01)


# κ ≤ 100: near κ = 1000 gradcheck's finite-difference error bound is currently too tight
# (a correct inv(A).T is refuted by 2e-11 against a bound of 9e-12; reported as a bug)
@given(matrices(3, kind="spd", max_condition=100.0))
def test_logdet_gradient_on_spd_matrices(a):
    assert_gradient_matches(lambda m: np.linalg.slogdet(m)[1], lambda m: np.linalg.inv(m).T, a)


# ---- 3. a PyTorch autograd.Function (skipped without torch) -----------------------------


def test_torch_autograd_function_swish():
    torch = pytest.importorskip("torch")

    class Swish(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * torch.sigmoid(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            s = torch.sigmoid(x)
            return grad_output * (s + x * s * (1 - s))

    def forward(x):
        return Swish.apply(torch.tensor(x, dtype=torch.float64)).numpy()

    def backward(grad_output, x):
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        Swish.apply(xt).backward(torch.tensor(grad_output, dtype=torch.float64))
        return xt.grad.numpy()

    check_layer(forward, backward, LayerSpec("swish(x)", shapes={"x": "n"}))


# ---- 4. batch normalisation: right, and with the mean term forgotten --------------------

EPS = 1e-5
BATCH_NORM = LayerSpec(
    "gamma*(x - mean(x))/sqrt(mean((x - mean(x))**2) + 1e-5) + beta",
    shapes={"x": "n"},
    wrt=("x", "gamma", "beta"),
)


def batch_norm_forward(x, gamma, beta):
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return gamma * (x - mu) / np.sqrt(var + EPS) + beta


def batch_norm_backward(grad_output, x, gamma, beta):
    std = np.sqrt(x.var() + EPS)
    x_hat = (x - x.mean()) / std
    g = grad_output
    dx = gamma / std * (g - g.mean() - x_hat * (g * x_hat).mean())
    return dx, np.sum(g * x_hat), np.sum(g)


def buggy_batch_norm_backward(grad_output, x, gamma, beta):
    std = np.sqrt(x.var() + EPS)
    x_hat = (x - x.mean()) / std
    g = grad_output
    dx = gamma / std * (g - x_hat * (g * x_hat).mean())  # forgot: - g.mean()
    return dx, np.sum(g * x_hat), np.sum(g)


def test_batch_norm_backward():
    check_layer(batch_norm_forward, batch_norm_backward, BATCH_NORM)


@pytest.mark.xfail(raises=Mismatch, strict=True, reason="deliberately buggy: no mean term")
def test_buggy_batch_norm_backward():
    check_layer(batch_norm_forward, buggy_batch_norm_backward, BATCH_NORM)
