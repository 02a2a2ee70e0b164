"""Derivation time of ``backprop(network)`` against the depth of an MLP.

Run: ``python -m benchmarks backprop_depth``. Writes a Markdown table and its JSON.

For depth d = 1, 2, 4, …, 64, the network is ``d`` hidden layers ``dense(16,16) | tanh``
then ``dense(16,4) | softmax_cross_entropy``, given as text; the time is that of
``backprop(text)`` — parsing, shape inference, wiring, the derivation's equations, the
generated module and its compilation — without any check, the minimum over the trials
(every run in one process, after one warm-up run at each depth, with the garbage
collector paused during a depth's trials as :mod:`timeit` does). The issue asks that it
grow about linearly with depth: the table gives the time per layer, the ratio of each
time to the previous depth's (2 for linear growth when the depth doubles), a
least-squares fit of log(time) on log(depth) over depths ≥ 8 (exponent 1 is linear), and
the number of Python function calls one ``backprop(text)`` makes (counted with
:mod:`cProfile`): the work, free of the machine's load and of the allocator. On the
loaded 2-core machine the times show one step of ×3–5 somewhere between depths 8 and 32
(where it falls moved between runs, and timing the same stages one by one did not show
it), and ×1.8–2.1 per doubling on either side of it; the call count has no such step.
"""

from __future__ import annotations

import cProfile
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
    backprop(text)  # warm-up at this depth
    best = math.inf
    gc.collect()
    gc.disable()  # as timeit does: collecting is not derivation time
    try:
        for _ in range(trials):
            start = time.perf_counter()
            backprop(text)
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


def calls(depth: int) -> int:
    """Python function calls made by one ``backprop(text)`` (deterministic work count)."""
    profile = cProfile.Profile()
    profile.runcall(backprop, network(depth))
    return sum(entry.callcount for entry in profile.getstats())


def run(config: Config) -> list[Table]:
    depths = DEPTHS[:3] if config.quick else DEPTHS
    trials = config.trials or (1 if config.quick else 5)
    measure(1, 1)  # warm-up: imports, the layer registry
    times = {d: measure(d, trials) for d in depths}
    counts = {d: calls(d) for d in depths}
    rows = []
    previous = None
    for d in depths:
        t = times[d]
        ratio = "–" if previous is None else f"{t / times[previous]:.2f}"
        rows.append(
            (
                str(d),
                str(2 * d + 2),
                f"{t * 1e3:.1f}",
                f"{t / d * 1e3:.2f}",
                ratio,
                f"{counts[d]:,}",
            )
        )
        previous = d
    big = [d for d in depths if d >= 8] or list(depths)
    logs = [math.log(d) for d in big]
    exponent = _slope(logs, [math.log(times[d]) for d in big])
    call_exponent = _slope(logs, [math.log(counts[d]) for d in big])
    return [
        Table(
            "backprop_depth",
            "Derivation time of backprop(network) for MLPs of depth 1 … 64",
            ("depth", "layers", "time (ms)", "ms per depth", "× previous depth", "Python calls"),
            tuple(rows),
            notes=(
                "time: minimum over the trials of backprop(text) (parse, shapes, wiring, "
                "equations, generated module, compilation), no checks",
                f"fitted exponent of time ∝ depth^k over depths {big[0]}…{big[-1]}: "
                f"k = {exponent:.2f}; of the Python calls: k = {call_exponent:.2f} (1 is linear)",
                "Python calls: function calls of one backprop(text) counted by cProfile, "
                "a deterministic measure of the work, free of the machine's load",
            ),
            data={
                "times": {str(d): times[d] for d in depths},
                "calls": {str(d): counts[d] for d in depths},
                "exponent": exponent,
                "call_exponent": call_exponent,
            },
        )
    ]


def _slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return float("nan")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den
