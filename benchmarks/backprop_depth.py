"""Derivation time of ``backprop(network)`` against the depth of an MLP.

Run: ``python -m benchmarks backprop_depth``. Writes a Markdown table and its JSON.

For depth d = 1, 2, 4, …, 64, the network is ``d`` hidden layers ``dense(16,16) | tanh``
then ``dense(16,4) | softmax_cross_entropy``, given as text; the time is that of
``backprop(text)`` — parsing, shape inference, wiring, the derivation's equations, the
generated module and its compilation — without any check, the minimum over the trials
(every run in one process, after a warm-up at depth 1, with the garbage collector
paused during each run as :mod:`timeit` does). The issue asks that it grow about
linearly with depth: the table gives the time per layer and the ratio of each time to the
previous depth's (2 for linear growth when the depth doubles), and a least-squares fit of
log(time) on log(depth) over depths ≥ 8 (exponent 1 is linear).
"""

from __future__ import annotations

import gc
import math
import time

from benchmarks.config import Config
from benchmarks.table import Table
from symdl.derive.backprop import backprop

DEPTHS = (1, 2, 4, 8, 16, 32, 64)


def network(depth: int, width: int = 16) -> str:
    hidden = " | ".join([f"dense({width},{width}) | tanh"] * depth)
    return f"{hidden} | dense({width},4) | softmax_cross_entropy"


def measure(depth: int, trials: int) -> float:
    text = network(depth)
    best = math.inf
    for _ in range(trials):
        gc.collect()
        gc.disable()  # as timeit does: a collection of SymPy's caches is not derivation time
        try:
            start = time.perf_counter()
            backprop(text)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def run(config: Config) -> list[Table]:
    depths = DEPTHS[:3] if config.quick else DEPTHS
    trials = config.trials or (1 if config.quick else 5)
    measure(1, 1)  # warm-up: imports, the layer registry
    times = {d: measure(d, trials) for d in depths}
    rows = []
    previous = None
    for d in depths:
        t = times[d]
        ratio = "–" if previous is None else f"{t / times[previous]:.2f}"
        rows.append((str(d), str(2 * d + 2), f"{t * 1e3:.1f}", f"{t / d * 1e3:.2f}", ratio))
        previous = d
    big = [d for d in depths if d >= 8] or list(depths)
    exponent = _slope([math.log(d) for d in big], [math.log(times[d]) for d in big])
    return [
        Table(
            "backprop_depth",
            "Derivation time of backprop(network) for MLPs of depth 1 … 64",
            ("depth", "layers", "time (ms)", "ms per depth", "× previous depth"),
            tuple(rows),
            notes=(
                "time: minimum over the trials of backprop(text) (parse, shapes, wiring, "
                "equations, generated module, compilation), no checks",
                f"fitted exponent of time ∝ depth^k over depths {big[0]}…{big[-1]}: "
                f"k = {exponent:.2f} (1 is linear)",
            ),
            data={"times": {str(d): times[d] for d in depths}, "exponent": exponent},
        )
    ]


def _slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return float("nan")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den
