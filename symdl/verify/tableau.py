"""Neville's tableau for Richardson extrapolation of central differences in t = h²."""

from __future__ import annotations

import numpy as np

__all__ = ["Tableau"]


class Tableau:
    """Neville's tableau in :math:`t = h^2`, grown one (larger) step at a time; keeps the
    last row of extrapolants and rounding bounds and the best candidate per output entry."""

    def __init__(self, levels: int):
        self.levels = levels
        self.t: list[float] = []
        self.values: list[np.ndarray] = []
        self.roundings: list[np.ndarray] = []
        # Filled by the first row; an infinite estimate means no candidate yet.
        self.best_value = np.empty(0)
        self.best_estimate = np.empty(0)
        self.largest_step = 0.0

    @property
    def rows(self) -> int:
        return len(self.t)

    @property
    def ready(self) -> bool:
        return self.rows > 0 and bool(np.all(np.isfinite(self.best_estimate)))

    def add(self, d: np.ndarray, rounding: np.ndarray, half: float) -> np.ndarray:
        """Append the row for :math:`D(h)`; return its smallest estimate per output."""
        m, t = self.rows, half**2
        if m == 0:
            self.best_value, self.best_estimate = np.zeros_like(d), np.full(d.shape, np.inf)
        self.t.append(t)
        self.largest_step = half
        above, above_r = self.values, self.roundings
        row, row_r = [d], [rounding]
        row_best = np.full(d.shape, np.inf)
        for j in range(1, min(m, self.levels - 1) + 1):
            # Nodes m-j..m; c < 0 because the steps grow, so the weights take |·|.
            c = t / (self.t[m - j] - t)
            row.append(row[j - 1] + c * (row[j - 1] - above[j - 1]))
            row_r.append(abs(1 + c) * row_r[j - 1] + abs(c) * above_r[j - 1])
            if j < len(above):
                # Against both order-(j-1) sub-ladders and the order-j ladder one step down:
                # two equal D(h) in a row (a saturated tanh at a huge step) fool the first
                # two comparisons, not the third.
                spread = np.maximum(abs(row[j] - row[j - 1]), abs(row[j] - above[j - 1]))
                spread = np.maximum(spread, abs(row[j] - above[j]))
                row_best = self._offer(row[j], spread + row_r[j], row_best)
        self.values, self.roundings = row, row_r
        return row_best

    def _offer(self, value: np.ndarray, estimate: np.ndarray, row_best: np.ndarray):
        better = estimate < self.best_estimate
        self.best_value = np.where(better, value, self.best_value)
        self.best_estimate = np.where(better, estimate, self.best_estimate)
        return np.minimum(row_best, estimate)
