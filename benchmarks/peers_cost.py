"""Cost of one full gradient check, 9 to 99,856 parameters, and the sampled mode's power.

Run: ``python -m benchmarks peers_cost [--budget S]``. Each checker of
:mod:`benchmarks.checkers` checks the correct float64 gradient of the dense tanh layer
(:mod:`benchmarks.bug_problem`, ``W`` d×d for d = 3, 10, 32, 100, 316), timed in this
process. A checker whose time, extrapolated from the previous size as n² (n entries,
each entry's evaluation costing O(n)), would exceed the budget is not run at that size
and the cell gives the estimate. Beside the times, symdl's sampled mode
(:func:`symdl.verify.sampled.sampled_gradcheck`) runs against every planted bug and the
three correct variants at every size: the "detected" column counts bugs flagged, the
"false alarms" column correct gradients flagged.
"""

from __future__ import annotations

import math
import time

from benchmarks.bug_problem import BUGS, CORRECT, Problem
from benchmarks.checkers import checkers, symdl_sampled
from benchmarks.config import Config
from benchmarks.peers import NOT_INSTALLED
from benchmarks.table import Table

DIMS = (3, 10, 32, 100, 316)
REFERENCE = "torch gradcheck"


def run(config: Config) -> list[Table]:
    dims = DIMS[:2] if config.quick else DIMS
    found = checkers()
    seconds: dict[str, dict[int, float]] = {name: {} for name in found}
    estimated: dict[str, dict[int, float]] = {name: {} for name in found}
    calls: dict[str, dict[int, int]] = {name: {} for name in found}
    power: dict[int, tuple[int, int]] = {}
    evaluation: dict[int, float] = {}
    warm = Problem(3, seed=config.seed)
    for check in found.values():
        if check is not None:  # first calls compile (JAX) or import lazily: not timed
            check(warm.loss, warm.grad, warm.W)
    for d in dims:
        n = d * d
        problem = Problem(d, seed=config.seed + d)
        start = time.perf_counter()
        for _ in range(20):
            problem.loss(problem.W)
        evaluation[n] = (time.perf_counter() - start) / 20
        for name, check in found.items():
            if check is None:
                continue
            previous = [m for m in seconds[name] if m < n]
            if previous:
                m = max(previous)
                guess = seconds[name][m] * (n / m) ** _growth(calls[name], m, n)
                if guess > config.budget:
                    estimated[name][n] = guess
                    continue
            if estimated[name]:
                estimated[name][n] = max(estimated[name].values()) * 100
                continue
            problem.calls = 0
            start = time.perf_counter()
            check(problem.loss, problem.grad, problem.W)
            seconds[name][n] = time.perf_counter() - start
            calls[name][n] = problem.calls
        detected = sum(
            symdl_sampled(problem.loss, problem.claim(kind), problem.point(kind)) for kind in BUGS
        )
        alarms = sum(
            symdl_sampled(problem.loss, problem.claim(kind), problem.point(kind))
            for kind in CORRECT
        )
        power[n] = (detected, alarms)
    header = (
        "checker",
        *(f"{d * d:,} entries" for d in dims),
    )
    rows = []
    for name, check in found.items():
        cells = []
        for d in dims:
            n = d * d
            if check is None:
                cells.append(NOT_INSTALLED)
            elif n in seconds[name]:
                ratio = ""
                if seconds.get(REFERENCE, {}).get(n):
                    ratio = f" ({seconds[name][n] / seconds[REFERENCE][n]:.2g}×)"
                cells.append(f"{seconds[name][n]:.3g} s{ratio}")
            else:
                cells.append(f"not run (est. {estimated[name][n]:.0f} s)")
        rows.append((name, *cells))
    rows.append(
        (
            f"symdl sampled: bugs detected (of {len(BUGS)})",
            *(str(power[d * d][0]) for d in dims),
        )
    )
    rows.append(
        (
            f"symdl sampled: false alarms (of {len(CORRECT)})",
            *(str(power[d * d][1]) for d in dims),
        )
    )
    rows.append(("one evaluation of the loss", *(f"{evaluation[d * d]:.2g} s" for d in dims)))
    notes = (
        "Wall time of one check of the correct float64 gradient, in one process, one thread; "
        f"in brackets the ratio to {REFERENCE} (slow mode) at the same size.",
        f"Budget {config.budget:g} s per checker and size: a run whose time, extrapolated "
        "from the last measured size as n^(1+a) (a: growth exponent of the checker's "
        "evaluation count between the last two sizes, 1 for a full check), would exceed it "
        "is not run; the cell gives the estimate.",
        "Bugs planted for the sampled mode: " + ", ".join(BUGS) + ".",
        "Only torch fast_mode, JAX check_grads and symdl sampled cost O(1) evaluations; see "
        "the planted-bug tables for what the first two miss.",
    )
    data = {
        "seconds": seconds,
        "evaluations": calls,
        "estimated": estimated,
        "sampled power": power,
    }
    title = "Cost of one gradient check (wall time) and the sampled mode's detection"
    return [Table("peers_cost", title, header, tuple(rows), notes, data)]


def _growth(calls: dict[int, int], m: int, n: int) -> float:
    """1 + the exponent a of evaluations ∝ size^a seen up to size m (1 before two sizes)."""
    sizes = sorted(k for k in calls if k <= m)
    if len(sizes) < 2:
        return 2.0  # one size seen: assume a full check (n evaluations of O(n) each)
    lo, hi = sizes[-2], sizes[-1]
    a = math.log(max(calls[hi], 1) / max(calls[lo], 1)) / math.log(hi / lo)
    return 1.0 + min(max(a, 0.0), 1.0)
