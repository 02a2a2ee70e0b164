"""Planted bugs in a 1,000-entry gradient: is each one detected, and is the entry named?

Run: ``python -m benchmarks planted_bugs [--trials N]``. Writes a Markdown table and its
JSON.

The function is ``L(W) = Σ tanh(A W)²`` with ``W`` 25×40 (1,000 entries). Bugs planted in
one random entry of the correct gradient: a sign flip, a dropped term (the entry loses the
contribution of one row of ``A``), and a 1% relative error. A correct gradient computed
entirely in float32 must not be reported wrong.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from benchmarks.config import Config
from benchmarks.table import Table
from symdl import PrecisionWarning, gradcheck


def problem(seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(30, 25)) / 5
    w = rng.normal(size=(25, 40))

    def loss(w):
        return np.sum(np.tanh(a.astype(w.dtype) @ w) ** 2)

    def grad(w):
        z = np.tanh(a.astype(w.dtype) @ w)
        return a.astype(w.dtype).T @ (2 * z * (1 - z**2))

    return a, w.astype(dtype), loss, grad


def planted(kind: str, seed: int) -> tuple[bool, bool]:
    a, w, loss, grad = problem(seed)
    rng = np.random.default_rng(1000 + seed)
    i, j = int(rng.integers(25)), int(rng.integers(40))

    def wrong(w):
        g = grad(w)
        if kind == "sign flip":
            g[i, j] = -g[i, j]
        elif kind == "dropped term":
            z = np.tanh(a @ w)
            k = int(np.argmax(np.abs(a[:, i] * (2 * z * (1 - z**2))[:, j])))
            g[i, j] -= a[k, i] * (2 * z[k, j] * (1 - z[k, j] ** 2))
        else:
            g[i, j] *= 1.01
        return g

    report = gradcheck(loss, wrong, w)
    detected = report.verdict == "refuted"
    named = detected and report.entries[0].index == (i, j)
    return detected, named


def float32_false_alarm(seed: int) -> bool:
    _, w, loss, grad = problem(seed, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        report = gradcheck(loss, grad, w)
    return report.verdict != "verified"


def run(config: Config) -> list[Table]:
    trials = 1 if config.quick else (config.trials or 10)
    rows = []
    for kind in ("sign flip", "dropped term", "1% error"):
        start = time.perf_counter()
        results = [planted(kind, config.seed + s) for s in range(trials)]
        seconds = time.perf_counter() - start
        det = sum(d for d, _ in results)
        named = sum(n for _, n in results)
        rows.append((kind, str(trials), str(det), str(named), f"{seconds:.1f}"))
    start = time.perf_counter()
    alarms = sum(float32_false_alarm(config.seed + s) for s in range(trials))
    seconds = time.perf_counter() - start
    rows.append(
        ("correct float32 gradient (false alarms)", str(trials), str(alarms), "–", f"{seconds:.1f}")
    )
    header = ("bug (1,000-entry gradient)", "trials", "detected", "entry named", "seconds")
    title = "symdl gradcheck: planted bugs in a 1,000-entry gradient (L(W) = Σ tanh(AW)², W 25×40)"
    return [Table("planted_bugs", title, header, tuple(rows))]


def main() -> None:
    for table in run(Config()):
        print(table.markdown())


if __name__ == "__main__":
    main()
