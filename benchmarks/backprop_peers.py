"""The peers of the backprop benchmark: PyTorch CPU autograd and ``jax.jit(jax.grad)``.

The same three networks as :mod:`benchmarks.backprop_hand`, written as a user of each
framework writes them, in float64, with the same parameters (keyed as there):

* PyTorch: ``F.linear``, ``F.conv2d``, ``F.max_pool2d``, ``torch.lstm`` (the native
  CPU LSTM: a loop over time with one fused gate product per step), then
  ``loss.backward()``;
* JAX: ``jnp`` products, ``lax.conv_general_dilated``, ``lax.reduce_window``, an LSTM as
  ``lax.scan`` over time, differentiated by ``jax.jit(jax.grad(loss))``.

Each builder returns a :class:`Runner` (``"x"`` among the gradients when asked), or
``None`` when the peer is not installed. JAX is asked for one
CPU thread (``XLA_FLAGS``) if this module is the first to import it in the process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks import peers

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Runner:
    """One implementation's passes, split so that the benchmark can time them apart.

    ``prepare(x, params, y)`` converts the inputs once (not timed); ``forward(state)``
    returns what ``backward`` needs; ``backward(cache)`` computes the gradients (in
    whatever form the implementation holds them, done when it returns);
    ``gradients(raw)`` turns them into NumPy arrays keyed as symdl's parameters.
    ``fused``: forward and backward are one compiled call (``backward`` does both, so
    only their sum can be timed)."""

    name: str
    prepare: Callable[[np.ndarray, Arrays, np.ndarray], Any]
    forward: Callable[[Any], Any]
    backward: Callable[[Any], Any]
    gradients: Callable[[Any], Arrays]
    fused: bool = False


#: XLA's CPU client reads this once, when JAX first creates it
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def jax_threads() -> str:
    """What JAX computes with in this process: one thread if this module set
    ``XLA_FLAGS`` before JAX was first imported, else XLA's default."""
    if "jax" not in sys.modules:
        return "not imported"
    if ONE_THREAD in os.environ.get("XLA_FLAGS", ""):
        return "one thread (XLA_FLAGS)"
    return "XLA's default threads (JAX was imported before this benchmark)"


def _ask_for_one_thread() -> None:
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + ONE_THREAD).strip()


# ---- PyTorch -----------------------------------------------------------------------------


def torch_runner(kind: str, options: dict[str, Any], *, with_input: bool) -> Runner | None:
    torch = peers.torch()
    if torch is None:
        return None
    functional = torch.nn.functional

    def cross_entropy(z: Any, y: Any) -> Any:
        return -(y * functional.log_softmax(z, dim=1)).sum() / z.shape[0]

    def mlp(x: Any, p: dict[str, Any], y: Any) -> Any:
        h = x
        layers = options["layers"]
        act = torch.tanh if options["activation"] == "tanh" else torch.relu
        for i in range(1, layers):
            h = act(functional.linear(h, p[f"W{i}"], p[f"b{i}"]))
        return cross_entropy(functional.linear(h, p[f"W{layers}"], p[f"b{layers}"]), y)

    def cnn(x: Any, p: dict[str, Any], y: Any) -> Any:
        a = torch.relu(functional.conv2d(x, p["W1"], p["b1"]))
        pooled = functional.max_pool2d(a, options["pool"])
        return cross_entropy(functional.linear(pooled.flatten(1), p["W2"], p["b2"]), y)

    def lstm(x: Any, p: dict[str, Any], y: Any) -> Any:
        states = tuple(p[k].expand(1, x.shape[0], -1) for k in ("h01", "c01"))
        weights = [p["W_xh1"], p["W_hh1"], p["b1"], torch.zeros_like(p["b1"])]
        _, h_last, _ = torch.lstm(x, states, weights, True, 1, 0.0, True, False, True)
        return cross_entropy(functional.linear(h_last[0], p["W2"], p["b2"]), y)

    loss = {"mlp": mlp, "cnn": cnn, "lstm": lstm}[kind]

    def prepare(x: np.ndarray, params: Arrays, y: np.ndarray) -> Any:
        tx = torch.from_numpy(x).requires_grad_(with_input)
        tp = {k: torch.from_numpy(v).requires_grad_(True) for k, v in params.items()}
        return tx, tp, torch.from_numpy(y)

    def forward(state: Any) -> Any:
        tx, tp, ty = state
        for tensor in (tx, *tp.values()):
            tensor.grad = None
        return loss(tx, tp, ty), state

    def backward(cache: Any) -> Any:
        value, state = cache
        value.backward()
        return state

    def gradients(state: Any) -> Arrays:
        tx, tp, _ = state
        grads = {k: v.grad.numpy().copy() for k, v in tp.items()}
        if with_input:
            grads["x"] = tx.grad.numpy().copy()
        return grads

    return Runner("PyTorch autograd", prepare, forward, backward, gradients)


# ---- JAX ---------------------------------------------------------------------------------


def jax_runner(kind: str, options: dict[str, Any], *, with_input: bool) -> Runner | None:
    if not peers._load_spec("jax"):
        return None
    _ask_for_one_thread()
    jax = peers.jax()
    if jax is None:
        return None
    jnp, lax = jax.numpy, jax.lax

    def cross_entropy(z: Any, y: Any) -> Any:
        return -(y * jax.nn.log_softmax(z, axis=1)).sum() / z.shape[0]

    def mlp(p: dict[str, Any], x: Any, y: Any) -> Any:
        h = x
        layers = options["layers"]
        act = jnp.tanh if options["activation"] == "tanh" else jax.nn.relu
        for i in range(1, layers):
            h = act(h @ p[f"W{i}"].T + p[f"b{i}"])
        return cross_entropy(h @ p[f"W{layers}"].T + p[f"b{layers}"], y)

    def cnn(p: dict[str, Any], x: Any, y: Any) -> Any:
        z = lax.conv_general_dilated(
            x, p["W1"], (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
        )
        a = jax.nn.relu(z + p["b1"][None, :, None, None])
        k = options["pool"]
        pooled = lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, k, k), (1, 1, k, k), "VALID")
        return cross_entropy(pooled.reshape(x.shape[0], -1) @ p["W2"].T + p["b2"], y)

    def lstm(p: dict[str, Any], x: Any, y: Any) -> Any:
        hidden = p["W_hh1"].shape[1]
        projected = jnp.swapaxes(x @ p["W_xh1"].T + p["b1"], 0, 1)  # (T, B, 4H)

        def cell(carry: Any, s_in: Any) -> Any:
            h, c = carry
            s = s_in + h @ p["W_hh1"].T
            i = jax.nn.sigmoid(s[:, :hidden])
            f = jax.nn.sigmoid(s[:, hidden : 2 * hidden])
            g = jnp.tanh(s[:, 2 * hidden : 3 * hidden])
            o = jax.nn.sigmoid(s[:, 3 * hidden :])
            c = f * c + i * g
            return (o * jnp.tanh(c), c), None

        start = tuple(jnp.broadcast_to(p[k], (x.shape[0], hidden)) for k in ("h01", "c01"))
        (h, _), _ = lax.scan(cell, start, projected)
        return cross_entropy(h @ p["W2"].T + p["b2"], y)

    loss = {"mlp": mlp, "cnn": cnn, "lstm": lstm}[kind]
    grad = jax.jit(jax.grad(loss, argnums=(0, 1) if with_input else 0))

    def prepare(x: np.ndarray, params: Arrays, y: np.ndarray) -> Any:
        return jax.device_put(({k: jnp.asarray(v) for k, v in params.items()}, x, y))

    def gradients(out: Any) -> Arrays:
        grads, gx = out if with_input else (out, None)
        result = {k: np.asarray(v) for k, v in grads.items()}
        if gx is not None:
            result["x"] = np.asarray(gx)
        return result

    return Runner(
        "jax.jit(jax.grad)",
        prepare,
        forward=lambda state: state,
        backward=lambda state: jax.block_until_ready(grad(*state)),
        gradients=gradients,
        fused=True,
    )
