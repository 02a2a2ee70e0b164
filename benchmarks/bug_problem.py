r"""The gradient the bug benchmarks plant their bugs in: a dense tanh layer over a batch.

.. math:: L(W) = \frac{1}{2B}\sum_{b=1}^{B} \lVert \tanh(W x_b) - y_b \rVert^2, \qquad
          \nabla_W L = \frac{1}{B}\,\Delta X^\top, \quad
          \Delta = (\tanh(WX) - Y) \odot (1 - \tanh^2(WX)),

with ``W`` square (``d×d``) so a transposed gradient has the right shape and only its
values are wrong — the silent version of that bug. Everything is computed in the dtype of
``W``, so a float32 ``W`` gives a gradient computed entirely in float32.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BATCH = 8
BUGS = (
    "sign flip of one entry",
    "dropped term in one entry",
    "1% error in one entry",
    "1e-4 error in one entry",
    "1e-6 error in one entry",
    "transposed gradient",
    "factor ½",
    "missing 1/batch",
)
CORRECT = (
    "correct float64 gradient",
    "correct float32 gradient, float64 loss",
    "correct, float32 throughout",
)


class Problem:
    """One random instance of size ``d×d``; counts the calls of :meth:`loss`."""

    def __init__(self, d: int, seed: int):
        rng = np.random.default_rng(seed)
        self.d = d
        self.X = rng.normal(size=(d, BATCH))
        self.Y = 0.5 * rng.normal(size=(d, BATCH))
        self.W = rng.normal(size=(d, d)) / np.sqrt(d)
        self.calls = 0
        g = np.abs(self.grad(self.W))
        # the bug's entry: a random one of the larger half (a sign flip of a zero is no bug)
        candidates = np.argwhere(g >= np.median(g))
        self.i, self.j = (int(k) for k in candidates[rng.integers(len(candidates))])
        t = np.tanh(self.W @ self.X)
        delta = (t - self.Y) * (1 - t * t)
        terms = delta[self.i] * self.X[self.j] / BATCH
        self.term = float(terms[np.argmax(np.abs(terms))])  # the biggest batch term

    def loss(self, W: np.ndarray) -> np.ndarray:
        self.calls += 1
        dt = W.dtype
        r = np.tanh(W @ self.X.astype(dt)) - self.Y.astype(dt)
        return np.sum(r * r) * dt.type(0.5 / BATCH)

    def grad(self, W: np.ndarray) -> np.ndarray:
        dt = W.dtype
        t = np.tanh(W @ self.X.astype(dt))
        delta = (t - self.Y.astype(dt)) * (1 - t * t)
        return delta @ self.X.astype(dt).T * dt.type(1 / BATCH)

    def claim(self, kind: str) -> Callable[[np.ndarray], np.ndarray]:
        """The gradient function with the bug ``kind`` planted (or a correct one)."""
        i, j = self.i, self.j

        def one(change: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
            def wrong(W: np.ndarray) -> np.ndarray:
                g = self.grad(W).copy()
                g[i, j] = change(float(g[i, j]))
                return g

            return wrong

        table: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "sign flip of one entry": one(lambda v: -v),
            "dropped term in one entry": one(lambda v: v - self.term),
            "1% error in one entry": one(lambda v: v * 1.01),
            "1e-4 error in one entry": one(lambda v: v * (1 + 1e-4)),
            "1e-6 error in one entry": one(lambda v: v * (1 + 1e-6)),
            "transposed gradient": lambda W: self.grad(W).T.copy(),
            "factor ½": lambda W: self.grad(W) / 2,
            "missing 1/batch": lambda W: self.grad(W) * BATCH,
        }
        if kind == "correct float32 gradient, float64 loss":
            return lambda W: self.grad(W.astype(np.float32))
        if kind in CORRECT:
            return self.grad
        return table[kind]

    def point(self, kind: str) -> np.ndarray:
        """The parameters handed to the checker: float32 only for "float32 throughout"."""
        return self.W.astype(np.float32) if kind == "correct, float32 throughout" else self.W
