"""Hand-written NumPy forward and backward passes: the baseline of the backprop benchmark.

What a competent engineer writes by hand for the three networks of
:mod:`benchmarks.backprop_speed`, vectorised over the batch, in float64:

* the MLP: one matrix product per layer and direction, the activation's derivative from
  its output (``1 − a²`` for tanh, ``a > 0`` for relu);
* the CNN: im2col through ``sliding_window_view`` (one matrix product for the kernel's
  gradient, one for the columns' gradient, folded back with one strided add per kernel
  offset), max pooling by ``argmax`` over each window (the gradient goes to the first
  maximum, as in PyTorch);
* the LSTM: the input projection of every step in one matrix product, a loop over time
  with the four gates in one fused ``(B, 4H)`` product, the backward loop storing every
  step's gate gradients so that the weight gradients are one matrix product each.

Every pass returns ``(loss, cache)`` and every backward a dict of gradients keyed as
symdl keys its parameters, plus ``"x"`` (∂L/∂x) when ``with_input`` is set. The loss is
softmax cross-entropy averaged over the batch, ``L = −(1/B) Σ Y ⊙ log softmax(Z)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

Arrays = dict[str, np.ndarray]


def _cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    shift = z - z.max(axis=1, keepdims=True)
    logp = shift - np.log(np.exp(shift).sum(axis=1, keepdims=True))
    return float(-(y * logp).sum() / z.shape[0]), logp


def _cross_entropy_grad(logp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (np.exp(logp) - y) / y.shape[0]


# ---- MLP: dense | act | … | dense | softmax_cross_entropy -------------------------------


def mlp_forward(
    x: np.ndarray, params: Arrays, y: np.ndarray, *, layers: int, activation: str
) -> tuple[float, Any]:
    hs = [x]
    h = x
    for i in range(1, layers):
        z = h @ params[f"W{i}"].T + params[f"b{i}"]
        h = np.tanh(z) if activation == "tanh" else np.maximum(z, 0.0)
        hs.append(h)
    z = h @ params[f"W{layers}"].T + params[f"b{layers}"]
    loss, logp = _cross_entropy(z, y)
    return loss, (hs, logp, y, params, layers, activation)


def mlp_backward(cache: Any, *, with_input: bool) -> Arrays:
    hs, logp, y, params, layers, activation = cache
    grads: Arrays = {}
    g = _cross_entropy_grad(logp, y)
    for i in range(layers, 0, -1):
        grads[f"W{i}"] = g.T @ hs[i - 1]
        grads[f"b{i}"] = g.sum(axis=0)
        if i > 1 or with_input:
            g = g @ params[f"W{i}"]
        if i > 1:
            a = hs[i - 1]
            g = g * (1.0 - a * a) if activation == "tanh" else g * (a > 0)
    if with_input:
        grads["x"] = g
    return grads


# ---- CNN: conv2d | relu | maxpool2d(2) | flatten | dense | softmax_cross_entropy -------


def cnn_forward(x: np.ndarray, params: Arrays, y: np.ndarray, *, pool: int) -> tuple[float, Any]:
    w, b = params["W1"], params["b1"]
    f, c, k, _ = w.shape
    batch = x.shape[0]
    windows = sliding_window_view(x, (k, k), axis=(2, 3))  # (B, C, Ho, Wo, k, k)
    ho, wo = windows.shape[2], windows.shape[3]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(batch * ho * wo, c * k * k)
    z = cols @ w.reshape(f, -1).T + b  # (B·Ho·Wo, F): channels last
    a = np.maximum(z, 0.0).reshape(batch, ho, wo, f)
    hp, wp = ho // pool, wo // pool
    blocks = (
        a[:, : hp * pool, : wp * pool]
        .reshape(batch, hp, pool, wp, pool, f)
        .transpose(0, 1, 3, 5, 2, 4)
        .reshape(batch, hp, wp, f, pool * pool)
    )
    where = blocks.argmax(axis=-1)[..., None]
    pooled = np.take_along_axis(blocks, where, axis=-1)[..., 0]  # (B, Hp, Wp, F)
    flat = pooled.transpose(0, 3, 1, 2).reshape(batch, -1)  # the NCHW order of flatten
    logits = flat @ params["W2"].T + params["b2"]
    loss, logp = _cross_entropy(logits, y)
    return loss, (x.shape, cols, z, where, flat, logp, y, params, pool, (ho, wo, hp, wp))


def cnn_backward(cache: Any, *, with_input: bool) -> Arrays:
    shape, cols, z, where, flat, logp, y, params, pool, (ho, wo, hp, wp) = cache
    w = params["W1"]
    f, c, k, _ = w.shape
    batch = shape[0]
    g = _cross_entropy_grad(logp, y)
    grads: Arrays = {"W2": g.T @ flat, "b2": g.sum(axis=0)}
    g_pooled = (g @ params["W2"]).reshape(batch, f, hp, wp).transpose(0, 2, 3, 1)
    g_blocks = np.zeros((batch, hp, wp, f, pool * pool))
    np.put_along_axis(g_blocks, where, g_pooled[..., None], axis=-1)
    g_a = np.zeros((batch, ho, wo, f))
    g_a[:, : hp * pool, : wp * pool] = (
        g_blocks.reshape(batch, hp, wp, f, pool, pool)
        .transpose(0, 1, 4, 2, 5, 3)
        .reshape(batch, hp * pool, wp * pool, f)
    )
    g_z = g_a.reshape(-1, f) * (z > 0)
    grads["W1"] = (g_z.T @ cols).reshape(w.shape)
    grads["b1"] = g_z.sum(axis=0)
    if with_input:
        g_cols = (g_z @ w.reshape(f, -1)).reshape(batch, ho, wo, c, k, k)
        gx = np.zeros(shape)
        for i in range(k):
            for j in range(k):
                gx[:, :, i : i + ho, j : j + wo] += g_cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        grads["x"] = gx
    # the order of symdl's keys, so that tables list them alike
    return {key: grads[key] for key in ("W1", "b1", "W2", "b2", "x") if key in grads}


# ---- LSTM: lstm | last | dense | softmax_cross_entropy ----------------------------------
# symdl's keys: the LSTM "W_xh1" (4H, D), "W_hh1" (4H, H), "b1" (4H,), gates stacked i, f,
# g, o (as PyTorch), the learned initial states "h01", "c01" (H,); the head "W2", "b2".


def lstm_forward(x: np.ndarray, params: Arrays, y: np.ndarray) -> tuple[float, Any]:
    w_xh, w_hh = params["W_xh1"], params["W_hh1"]
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    projected = x @ w_xh.T + params["b1"]  # (B, T, 4H): every step's input projection at once
    gates = np.empty((steps, batch, 4 * hidden))
    cs = np.empty((steps + 1, batch, hidden))
    hs = np.empty((steps + 1, batch, hidden))
    cs[0], hs[0] = params["c01"], params["h01"]
    tanh_cs = np.empty((steps, batch, hidden))
    for t in range(steps):
        s = projected[:, t] + hs[t] @ w_hh.T
        a = special.expit(s)
        a[:, 2 * hidden : 3 * hidden] = np.tanh(s[:, 2 * hidden : 3 * hidden])
        gates[t] = a
        i, f, g, o = np.split(a, 4, axis=1)
        cs[t + 1] = f * cs[t] + i * g
        tanh_cs[t] = np.tanh(cs[t + 1])
        hs[t + 1] = o * tanh_cs[t]
    logits = hs[steps] @ params["W2"].T + params["b2"]
    loss, logp = _cross_entropy(logits, y)
    return loss, (x, gates, cs, hs, tanh_cs, logp, y, params)


def lstm_backward(cache: Any, *, with_input: bool) -> Arrays:
    x, gates, cs, hs, tanh_cs, logp, y, params = cache
    w_xh, w_hh = params["W_xh1"], params["W_hh1"]
    steps, batch, hidden = tanh_cs.shape
    g = _cross_entropy_grad(logp, y)
    dh = g @ params["W2"]
    dc = np.zeros((batch, hidden))
    d_pre = np.empty((steps, batch, 4 * hidden))  # ∂L/∂(gate pre-activations), per step
    for t in range(steps - 1, -1, -1):
        i, f, gg, o = np.split(gates[t], 4, axis=1)
        tc = tanh_cs[t]
        dc = dc + dh * o * (1.0 - tc * tc)
        d_pre[t, :, :hidden] = dc * gg * i * (1.0 - i)
        d_pre[t, :, hidden : 2 * hidden] = dc * cs[t] * f * (1.0 - f)
        d_pre[t, :, 2 * hidden : 3 * hidden] = dc * i * (1.0 - gg * gg)
        d_pre[t, :, 3 * hidden :] = dh * tc * o * (1.0 - o)
        dc = dc * f
        dh = d_pre[t] @ w_hh
    flat = d_pre.reshape(steps * batch, 4 * hidden)
    grads: Arrays = {
        "W_xh1": flat.T @ x.transpose(1, 0, 2).reshape(steps * batch, -1),
        "W_hh1": flat.T @ hs[:steps].reshape(steps * batch, hidden),
        "b1": flat.sum(axis=0),
        "h01": dh.sum(axis=0),
        "c01": dc.sum(axis=0),
        "W2": g.T @ hs[steps],
        "b2": g.sum(axis=0),
    }
    if with_input:
        grads["x"] = (d_pre @ w_xh).transpose(1, 0, 2)
    return grads
